package sqstest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/faults"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
)

// The rules below are where the double is stricter than fauxqs 2.4.1; each
// test says what fauxqs does instead. They run through the real SDK client,
// so the error codes are the ones the adapter sees.

func strictDouble(t *testing.T, cfg sqstest.Config) (*sqstest.Server, *sqs.Client, *sqstest.ManualClock) {
	clock := sqstest.NewManualClock(t0)
	cfg.Clock = clock
	cfg.MaxWait = 2 * time.Second
	s := sqstest.New(cfg)
	return s, sqstest.NewClient(s.Start(t)), clock
}

// fauxqs accepts any ChangeMessageVisibility up to 43200 s from now.
func TestHTTPVisibilityBeyond12HoursFromReceive(t *testing.T) {
	s, c, clock := strictDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	s.MustSend(url, sqstest.SendInput{Body: "x"})
	out, err := c.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 600})
	if err != nil || len(out.Messages) != 1 {
		t.Fatal(out, err)
	}
	clock.Advance(time.Minute)
	_, err = c.ChangeMessageVisibility(cctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: &url,
		ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 43200})
	if apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "beyond the limit") {
		t.Errorf("receive+1m, ask 12h: %v; want InvalidParameterValue (SQS counts 12 h from the receive)", err)
	}
	b, err := c.ChangeMessageVisibilityBatch(cctx(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url,
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{{Id: aws.String("e"), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 43140}}})
	if err != nil || len(b.Successful) != 1 {
		t.Errorf("receive+1m, ask 12h-1m in a batch: %+v, %v", b, err)
	}
}

// fauxqs returns one message per group per receive.
func TestHTTPFIFOSeveralMessagesOfAGroup(t *testing.T) {
	s, c, _ := strictDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("f.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for _, b := range []string{"1", "2", "3"} {
		if _, err := c.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || len(out.Messages) != 3 {
		t.Fatalf("one receive: %d messages, %v; want the group's 3", len(out.Messages), err)
	}
}

// fauxqs accepts a deduplication id on a standard queue, and drops the
// group id of a fair-queue message on receive.
func TestHTTPStandardQueueGroupAndDeduplicationIDs(t *testing.T) {
	s, c, _ := strictDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("std", nil)
	_, err := c.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
	if apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "MessageDeduplicationId") {
		t.Errorf("dedup id on a standard queue: %v", err)
	}
	if _, err := c.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("tenant")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId}})
	if err != nil || len(out.Messages) != 1 || out.Messages[0].Attributes["MessageGroupId"] != "tenant" {
		t.Errorf("fair queue receive: %+v, %v", out, err)
	}
}

// fauxqs deletes with any handle it knows. AWS documents that an old handle
// "will still succeed, but the message might not be deleted".
func TestHTTPStaleDeleteSucceedsWithoutDeleting(t *testing.T) {
	s, c, clock := strictDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	s.MustSend(url, sqstest.SendInput{Body: "x"})
	first, _ := c.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 5})
	clock.Advance(5 * time.Second)
	second, _ := c.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 5})
	if len(first.Messages) != 1 || len(second.Messages) != 1 {
		t.Fatal("no two deliveries")
	}
	out, err := c.DeleteMessageBatch(cctx(t), &sqs.DeleteMessageBatchInput{QueueUrl: &url,
		Entries: []types.DeleteMessageBatchRequestEntry{{Id: aws.String("old"), ReceiptHandle: first.Messages[0].ReceiptHandle}}})
	if err != nil || len(out.Successful) != 1 {
		t.Fatalf("stale delete: %+v, %v", out, err)
	}
	if _, inFlight, _ := s.Counts(url); inFlight != 1 {
		t.Errorf("the stale delete removed the message")
	}
}

// Throttling reaches the SDK as SQS's RequestThrottled, which its retryer
// treats as a throttle; a lost SendMessage response makes the SDK retry a
// send that was applied, so a standard queue holds the message twice.
func TestHTTPFaults(t *testing.T) {
	m := faults.MustNew(faults.Config{Seed: 3})
	s := sqstest.New(sqstest.Config{Faults: m})
	// The SDK's standard retryer without its waits, so retries are fast.
	c := sqstest.NewClient(s.Start(t), func(o *sqs.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			so.RateLimiter = ratelimit.None
		})
	})
	url := s.MustCreateQueue("q", nil)
	_ = m.SetRules(faults.Rule{Kind: faults.Throttle, Rate: 1, Op: "GetQueueAttributes"})
	_, err := c.GetQueueAttributes(cctx(t), &sqs.GetQueueAttributesInput{QueueUrl: &url})
	if apiCode(err) != "RequestThrottled" || retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("throttled: %v", err)
	}
	if n := m.Stats()["GetQueueAttributes"].Requests; n != 3 {
		t.Errorf("%d attempts, want the SDK's 3", n)
	}

	_ = m.SetRules(faults.Rule{Kind: faults.Lost, Rate: 0.5, Op: "SendMessage"})
	ok := 0
	for range 20 {
		if _, err := c.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); err == nil {
			ok++
		}
	}
	_ = m.SetRules()
	st := m.Stats()["SendMessage"]
	visible, _, _ := s.Counts(url)
	if lostCalls := len(slices.DeleteFunc(s.Calls("SendMessage"), func(c sqstest.Call) bool {
		return c.Fault != faults.Lost || !errors.Is(c.Err, sqstest.ErrResponseLost)
	})); lostCalls != st.Faults[faults.Lost] {
		t.Errorf("%d sends recorded as lost, the model counted %d", lostCalls, st.Faults[faults.Lost])
	}
	// Every attempt was acted on, whether its response was lost or not.
	if visible != st.Requests || st.Faults[faults.Lost] == 0 || visible <= ok {
		t.Errorf("%d sends succeeded, %d attempts (%d lost), %d messages; want one message per attempt, more than the successes",
			ok, st.Requests, st.Faults[faults.Lost], visible)
	}
}
