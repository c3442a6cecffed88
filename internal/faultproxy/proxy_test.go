package faultproxy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/internal/faults"
	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
)

// backoff is the client's fixed wait between attempts: long enough to be
// told from no wait at all, short enough for a fast test.
const backoff = 20 * time.Millisecond

// client is the real SDK client with the standard retryer (3 attempts), a
// fixed backoff and no retry quota, pointed at the proxy.
func client(url string) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return backoff, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func listen(t *testing.T, emu *fauxqs.Server, fc faults.Config, onReceive func([]string, time.Time)) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", Config{Upstream: emu.Endpoint(), Faults: fc, OnReceive: onReceive})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func send(t *testing.T, c *sqs.Client, url string) error {
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")})
	return err
}

func errorCode(err error) string {
	var code interface{ ErrorCode() string }
	if errors.As(err, &code) {
		return code.ErrorCode()
	}
	return ""
}

// TestEachFaultAsTheSDKSeesIt drives the real SDK client through the proxy
// to the real emulator, one fault kind at a time, and checks what the
// client got, whether SQS acted, and what the proxy counted.
func TestEachFaultAsTheSDKSeesIt(t *testing.T) {
	emu := fauxqs.Start(t)

	t.Run("throttle", func(t *testing.T) {
		url := emu.CreateQueue(t, "throttle", nil)
		p := listen(t, emu, faults.Config{Seed: 1, Rules: []faults.Rule{{Kind: faults.Throttle, Rate: 1, Op: "SendMessage"}}}, nil)
		err := send(t, client(p.URL), url)
		if got := errorCode(err); got != "RequestThrottled" {
			t.Fatalf("err = %v, want RequestThrottled", err)
		}
		if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
			t.Errorf("the SDK does not classify %v as a throttle", err)
		}
		if v, nv, _ := emu.Counts(t, url); v+nv != 0 {
			t.Errorf("a throttled send was acted on: %d messages", v+nv)
		}
		s := p.Stats().Ops["SendMessage"]
		// Three attempts, all throttled; the first two retried, after the
		// client's backoff.
		if s.Requests != 3 || s.Retries != 2 || s.Throttled != 3 || s.RetriesAfterThrottle != 2 || s.Faults["throttle"] != 3 {
			t.Errorf("stats %+v; want 3 requests, 2 retries, 3 throttled, 2 retries after a throttle", s)
		}
		if s.BackoffAfterThrottleS < backoff.Seconds() || s.BackoffMaxS > 5 {
			t.Errorf("backoff after throttle mean %.3fs max %.3fs; want at least the client's %s", s.BackoffAfterThrottleS, s.BackoffMaxS, backoff)
		}
		if got := s.RetriesPerThrottle(); got < 0.66 || got > 0.67 {
			t.Errorf("retries per throttle %.3f, want 2/3", got)
		}
	})

	t.Run("server error", func(t *testing.T) {
		url := emu.CreateQueue(t, "server-error", nil)
		p := listen(t, emu, faults.Config{Seed: 1, Rules: []faults.Rule{{Kind: faults.ServerError, Rate: 1}}}, nil)
		err := send(t, client(p.URL), url)
		if got := errorCode(err); got != "InternalError" {
			t.Fatalf("err = %v, want InternalError", err)
		}
		if v, nv, _ := emu.Counts(t, url); v+nv != 0 {
			t.Errorf("a refused send was acted on: %d messages", v+nv)
		}
		if s := p.Stats().Ops["SendMessage"]; s.Requests != 3 || s.Retries != 2 || s.Throttled != 0 || s.Faults["server_error"] != 3 {
			t.Errorf("stats %+v; want 3 requests, 2 retries, no throttle", s)
		}
	})

	for _, tc := range []struct {
		kind  faults.Kind
		acted int // messages SQS enqueued for the three attempts
	}{{faults.Reset, 0}, {faults.Lost, 3}} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			url := emu.CreateQueue(t, tc.kind.String(), nil)
			p := listen(t, emu, faults.Config{Seed: 1, Rules: []faults.Rule{{Kind: tc.kind, Rate: 1, Op: "SendMessage"}}}, nil)
			err := send(t, client(p.URL), url)
			if err == nil || errorCode(err) != "" {
				t.Fatalf("err = %v, want a connection error with no API error code", err)
			}
			if v, nv, _ := emu.Counts(t, url); v+nv != tc.acted {
				t.Errorf("%d messages enqueued, want %d", v+nv, tc.acted)
			}
			if s := p.Stats().Ops["SendMessage"]; s.Requests != 3 || s.Retries != 2 || s.Faults[tc.kind.String()] != 3 {
				t.Errorf("stats %+v; want 3 requests, 2 retries, 3 %s", s, tc.kind)
			}
		})
	}

	t.Run("delay and latency", func(t *testing.T) {
		url := emu.CreateQueue(t, "delay", nil)
		const latency = 30 * time.Millisecond
		p := listen(t, emu, faults.Config{Seed: 1, Latency: latency, MaxDelay: 50 * time.Millisecond,
			Rules: []faults.Rule{{Kind: faults.Delay, Rate: 1}}}, nil)
		start := time.Now()
		if err := send(t, client(p.URL), url); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < latency {
			t.Errorf("call took %s, less than the added latency %s", took, latency)
		}
		if v, _, _ := emu.Counts(t, url); v != 1 {
			t.Errorf("%d messages, want 1", v)
		}
		if s := p.Stats().Ops["SendMessage"]; s.Requests != 1 || s.Retries != 0 || s.Faults["delay"] != 1 {
			t.Errorf("stats %+v; want 1 delayed request", s)
		}
	})

	t.Run("receive observed, lost receive reported apart", func(t *testing.T) {
		url := emu.CreateQueue(t, "observed", nil)
		// The proxy reports a receive once its response has left, so the
		// client may have it first: wait for the report.
		observed := make(chan []string, 10)
		var lostMu sync.Mutex
		var lost [][]string
		p, err := Listen("127.0.0.1:0", Config{Upstream: emu.Endpoint(), Faults: faults.Config{Seed: 1},
			OnReceive: func(ids []string, at time.Time) { observed <- ids },
			OnLostReceive: func(ids []string, at time.Time) {
				lostMu.Lock()
				defer lostMu.Unlock()
				lost = append(lost, ids)
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		next := func() []string {
			select {
			case ids := <-observed:
				return ids
			case <-time.After(10 * time.Second):
				t.Fatal("no receive observed within 10s")
				return nil
			}
		}
		admin := emu.SQS(t)
		c := client(p.URL)
		sendAndReceive := func(body string) string {
			out, err := admin.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
			if err != nil {
				t.Fatal(err)
			}
			recv, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1, VisibilityTimeout: 60})
			if err != nil || len(recv.Messages) != 1 {
				t.Fatalf("receive: %v, %+v", err, recv)
			}
			return aws.ToString(out.MessageId)
		}
		first := sendAndReceive("m1")
		if got := next(); !slices.Equal(got, []string{first}) {
			t.Errorf("observed %v, want %v", got, []string{first})
		}

		// A lost receive hides the message (SQS acted) and is not observed
		// as delivered, but reported as lost with what it carried.
		out2, err := admin.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m2")})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Model().SetRules(faults.Rule{Kind: faults.Lost, Rate: 1, Op: "ReceiveMessage"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1, VisibilityTimeout: 60}); err == nil {
			t.Fatal("a lost receive succeeded")
		}
		if v, nv, _ := emu.Counts(t, url); v != 0 || nv != 2 {
			t.Errorf("after a lost receive: %d visible, %d in flight; want 0 and 2", v, nv)
		}
		// The SDK's three attempts were all lost; only the first carried
		// the message (it then was hidden), so one report.
		lostMu.Lock()
		if want := [][]string{{aws.ToString(out2.MessageId)}}; !slices.EqualFunc(lost, want, slices.Equal) {
			t.Errorf("lost receives reported %v, want %v", lost, want)
		}
		lostMu.Unlock()
		// The next report is that of the next delivered receive, not of
		// the lost ones.
		if err := p.Model().SetRules(); err != nil {
			t.Fatal(err)
		}
		third := sendAndReceive("m3")
		if got := next(); !slices.Equal(got, []string{third}) {
			t.Errorf("after lost receives, observed %v; want only the next delivered one, %v", got, []string{third})
		}
	})
}

func TestSDKAttempt(t *testing.T) {
	for _, tc := range []struct {
		h            string
		attempt, max int
	}{
		{"attempt=1; max=3", 1, 3},
		{"attempt=2; max=3; ttl=20260101T000000Z", 2, 3},
		{"attempt=4", 4, 0},
		{"", 0, 0},
		{"attempt=x; max=", 0, 0},
	} {
		a, m := sdkAttempt(tc.h)
		if a != tc.attempt || m != tc.max {
			t.Errorf("sdkAttempt(%q) = %d, %d; want %d, %d", tc.h, a, m, tc.attempt, tc.max)
		}
	}
}

func TestReport(t *testing.T) {
	s := Stats{Seed: 9, Ops: map[string]OpStats{
		"ReceiveMessage": {Requests: 10, Retries: 2, Throttled: 2, RetriesAfterThrottle: 2, Faults: map[string]int{"throttle": 2}},
	}}
	s.Total = s.Ops["ReceiveMessage"]
	rep := s.Report()
	for _, want := range []string{"seed 9", "ReceiveMessage", "throttle 2", "1.00 per throttle", "total"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no upstream":   {},
		"relative":      {Upstream: "localhost:4566"},
		"bad fault cfg": {Upstream: "http://127.0.0.1:1", Faults: faults.Config{Rules: []faults.Rule{{Kind: faults.Delay, Rate: 1}}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

// An upstream that does not answer gives the client a 502, which the SDK
// retries, and each attempt is counted as an upstream error.
func TestUpstreamDown(t *testing.T) {
	s, err := Listen("127.0.0.1:0", Config{Upstream: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = send(t, client(s.URL), "http://127.0.0.1:1/000000000000/q")
	var status interface{ HTTPStatusCode() int }
	if !errors.As(err, &status) || status.HTTPStatusCode() != 502 {
		t.Fatalf("err = %v, want a 502", err)
	}
	if got := s.Stats().Ops["SendMessage"]; got.Requests != 3 || got.UpstreamErrors != 3 {
		t.Errorf("stats %+v; want 3 requests, 3 upstream errors", got)
	}
}
