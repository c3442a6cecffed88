package faults

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// served counts the requests that reached the inner handler, which answers
// every GetQueueUrl as SQS would.
type served struct{ n atomic.Int32 }

func (s *served) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.n.Add(1)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write([]byte(`{"QueueUrl":"http://sqs.test/000000000000/q"}`))
}

// client is the real SDK client with its standard retryer, minus the waits
// between attempts and the retry quota, so a test sees every attempt fast.
func client(url string, attempts int) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("k", "s", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	})
}

func start(t *testing.T, rules ...Rule) (*Model, *served, *sqs.Client) {
	m := MustNew(Config{Seed: 1, Rules: rules, MaxDelay: 20 * time.Millisecond})
	inner := &served{}
	srv := httptest.NewServer(Middleware(m, TargetOperation, SQSThrottled, SQSInternalError, inner))
	t.Cleanup(srv.Close)
	return m, inner, client(srv.URL, 3)
}

func call(c *sqs.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("q")})
	return err
}

func TestMiddlewareThrottleIsASDKThrottle(t *testing.T) {
	m, inner, c := start(t, Rule{Kind: Throttle, Rate: 1})
	err := call(c)
	var code interface{ ErrorCode() string }
	if !errors.As(err, &code) || code.ErrorCode() != "RequestThrottled" {
		t.Fatalf("err = %v, want the RequestThrottled error code", err)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK's retryer does not see %v as a throttle", err)
	}
	if got := m.Stats()["GetQueueUrl"]; got.Requests != 3 || got.Faults[Throttle] != 3 || inner.n.Load() != 0 {
		t.Errorf("stats %+v, inner saw %d; want 3 attempts, all throttled, none served", got, inner.n.Load())
	}
}

func TestMiddlewareServerErrorIsRetried(t *testing.T) {
	m, inner, c := start(t, Rule{Kind: ServerError, Rate: 1})
	err := call(c)
	var code interface{ ErrorCode() string }
	if !errors.As(err, &code) || code.ErrorCode() != "InternalError" {
		t.Fatalf("err = %v, want InternalError", err)
	}
	if got := m.Stats()["GetQueueUrl"].Requests; got != 3 || inner.n.Load() != 0 {
		t.Errorf("%d attempts, inner saw %d; want 3 and 0", got, inner.n.Load())
	}
}

func TestMiddlewareResetAndLost(t *testing.T) {
	for _, tc := range []struct {
		kind       Kind
		wantServed int32
	}{{Reset, 0}, {Lost, 3}} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			_, inner, c := start(t, Rule{Kind: tc.kind, Rate: 1})
			err := call(c)
			if err == nil {
				t.Fatal("call succeeded")
			}
			var code interface{ ErrorCode() string }
			if errors.As(err, &code) {
				t.Errorf("err = %v carries an API error code; want a connection error", err)
			}
			// A lost response was acted on every time; a reset never.
			if got := inner.n.Load(); got != tc.wantServed {
				t.Errorf("inner handler ran %d times, want %d", got, tc.wantServed)
			}
		})
	}
}

func TestMiddlewareDelayServes(t *testing.T) {
	m, inner, c := start(t, Rule{Kind: Delay, Rate: 1})
	if err := call(c); err != nil {
		t.Fatal(err)
	}
	if inner.n.Load() != 1 || m.Stats()["GetQueueUrl"].Faults[Delay] != 1 {
		t.Errorf("delayed request: served %d, stats %+v", inner.n.Load(), m.Stats())
	}
}
