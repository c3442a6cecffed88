package awssqs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// client builds the adapter's SQS client the way the daemon does, with the
// meter in its middleware stack, pointed at the emulator.
func client(emu *fauxqs.Server, meter *awssqs.Meter) *sqs.Client {
	return clientAt(emu.Endpoint(), meter)
}

func clientAt(endpoint string, meter *awssqs.Meter) *sqs.Client {
	return awssqs.NewClient(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}, meter)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// backend is an SQS the adapter's contract runs against: the emulator, and
// the strict test double through its HTTP protocol (go-cloud's drivertest
// pattern: one suite, every implementation).
type backend struct {
	endpoint    string
	url, dlqURL string
	counts      func(t *testing.T, url string) (visible, inFlight int)
}

func TestQueueContract(t *testing.T) {
	t.Run("fauxqs", func(t *testing.T) {
		emu := fauxqs.Start(t)
		url, dlqURL := emu.CreateQueueWithDLQ(t, "contract", 7)
		queueContract(t, backend{emu.Endpoint(), url, dlqURL, func(t *testing.T, url string) (int, int) {
			v, nv, _ := emu.Counts(t, url)
			return v, nv
		}})
	})
	t.Run("sqstest", func(t *testing.T) {
		s := sqstest.New(sqstest.Config{MaxWait: 2 * time.Second})
		url, dlqURL := s.MustCreateQueueWithDLQ("contract", nil, 7)
		queueContract(t, backend{s.Start(t), url, dlqURL, func(t *testing.T, url string) (int, int) {
			v, nv, _ := s.Counts(url)
			return v, nv
		}})
	})
}

func queueContract(t *testing.T, b backend) {
	url, dlqURL := b.url, b.dlqURL
	meter := awssqs.NewMeter(prometheus.NewRegistry())
	c := clientAt(b.endpoint, meter)
	q := awssqs.NewQueue(c, url, time.Second)

	before := time.Now().Add(-time.Second)
	id := fauxqs.Send(t, c, url, "héllo {\"x\":1}", map[string]types.MessageAttributeValue{
		"kind": {DataType: aws.String("String"), StringValue: aws.String("order")},
		"n":    {DataType: aws.String("Number"), StringValue: aws.String("42")},
		"blob": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
	})

	msgs, err := q.Receive(ctx(t), 10, 5*time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive = %d messages, %v; want 1", len(msgs), err)
	}
	m := msgs[0]
	if m.ID != id || m.Body != "héllo {\"x\":1}" || m.ReceiveCount != 1 || m.QueueURL != url {
		t.Errorf("message = %+v", m)
	}
	if m.SentAt.Before(before) || m.SentAt.After(time.Now().Add(time.Second)) {
		t.Errorf("SentAt = %v, want about now", m.SentAt)
	}
	if m.FirstReceivedAt.IsZero() || m.ReceiptHandle == "" {
		t.Errorf("FirstReceivedAt %v, receipt %q", m.FirstReceivedAt, m.ReceiptHandle)
	}
	if got := m.Attributes["kind"]; got.DataType != "String" || got.StringValue != "order" {
		t.Errorf("kind attribute = %+v", got)
	}
	if got := m.Attributes["n"]; got.DataType != "Number" || got.StringValue != "42" {
		t.Errorf("n attribute = %+v", got)
	}
	if got := m.Attributes["blob"]; got.DataType != "Binary" || string(got.BinaryValue) != "\x00\x01\x02\xff" {
		t.Errorf("blob attribute = %+v", got)
	}

	// The visibility asked for on receive is honoured: nothing visible now.
	if again, err := q.Receive(ctx(t), 10, 5*time.Second); err != nil || len(again) != 0 {
		t.Fatalf("second Receive = %d messages, %v; want none while hidden", len(again), err)
	}

	// Visibility 0 returns the message at once, with a new receipt handle;
	// the old one is then refused per entry as a lost lease.
	errs, err := q.ChangeVisibility(ctx(t), []worker.VisibilityChange{{ReceiptHandle: m.ReceiptHandle, Timeout: 0}})
	if err != nil || errs[0] != nil {
		t.Fatalf("ChangeVisibility = %v, %v", errs, err)
	}
	msgs, err = q.Receive(ctx(t), 10, 5*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != 2 {
		t.Fatalf("Receive after release = %+v, %v; want the message again with count 2", msgs, err)
	}
	m2 := msgs[0]
	errs, err = q.ChangeVisibility(ctx(t), []worker.VisibilityChange{
		{ReceiptHandle: m.ReceiptHandle, Timeout: 10 * time.Second},  // stale
		{ReceiptHandle: m2.ReceiptHandle, Timeout: 10 * time.Second}, // current
	})
	if err != nil {
		t.Fatalf("ChangeVisibility: %v", err)
	}
	if !errors.Is(errs[0], worker.ErrLeaseLost) {
		t.Errorf("stale receipt: err = %v, want ErrLeaseLost", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("current receipt: err = %v, want nil", errs[1])
	}

	// Send to the DLQ keeps body and attributes, binary included.
	dlq := awssqs.NewQueue(c, dlqURL, time.Second)
	err = dlq.Send(ctx(t), &worker.DeadLetter{Body: m2.Body, Attributes: map[string]worker.Attribute{
		"blob":             m2.Attributes["blob"],
		"sqsfleet-failure": {DataType: "String", StringValue: `{"error":"boom"}`},
	}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	dl, err := dlq.Receive(ctx(t), 10, 5*time.Second)
	if err != nil || len(dl) != 1 {
		t.Fatalf("DLQ Receive = %d, %v", len(dl), err)
	}
	if dl[0].Body != m2.Body || string(dl[0].Attributes["blob"].BinaryValue) != "\x00\x01\x02\xff" ||
		dl[0].Attributes["sqsfleet-failure"].StringValue != `{"error":"boom"}` {
		t.Errorf("DLQ message = %+v", dl[0])
	}

	errs, err = q.Delete(ctx(t), []string{m2.ReceiptHandle})
	if err != nil || errs[0] != nil {
		t.Fatalf("Delete = %v, %v", errs, err)
	}
	if v, nv := b.counts(t, url); v != 0 || nv != 0 {
		t.Errorf("after delete: visible %d, in flight %d; want 0, 0", v, nv)
	}

	// Every call above went through the meter, once per request.
	for op, want := range map[string]float64{"ReceiveMessage": 4, "ChangeMessageVisibilityBatch": 2, "DeleteMessageBatch": 1, "SendMessage": 1} {
		if got := meter.Requests(op); got < want {
			t.Errorf("meter %s = %v, want >= %v", op, got, want)
		}
	}
	if meter.LastSuccess().IsZero() {
		t.Error("meter.LastSuccess is zero after successful calls")
	}
}

func TestLookupRedrive(t *testing.T) {
	t.Run("fauxqs", func(t *testing.T) {
		emu := fauxqs.Start(t)
		url, dlqURL := emu.CreateQueueWithDLQ(t, "redrive", 9)
		lookupRedrive(t, emu.Endpoint(), url, dlqURL, emu.CreateQueue(t, "plain", nil))
	})
	t.Run("sqstest", func(t *testing.T) {
		s := sqstest.New(sqstest.Config{})
		url, dlqURL := s.MustCreateQueueWithDLQ("redrive", nil, 9)
		lookupRedrive(t, s.Start(t), url, dlqURL, s.MustCreateQueue("plain", nil))
	})
}

func lookupRedrive(t *testing.T, endpoint, url, dlqURL, plain string) {
	c := clientAt(endpoint, nil)
	red, err := awssqs.LookupRedrive(ctx(t), c, url)
	if err != nil {
		t.Fatalf("LookupRedrive: %v", err)
	}
	if red == nil || red.MaxReceiveCount != 9 || !strings.HasSuffix(red.DLQArn, ":redrive-dlq") {
		t.Fatalf("redrive = %+v", red)
	}
	// The resolved URL reaches the same queue as the one created.
	if path(red.DLQURL) != path(dlqURL) {
		t.Errorf("DLQ URL = %s, want %s", red.DLQURL, dlqURL)
	}
	if red, err := awssqs.LookupRedrive(ctx(t), c, plain); err != nil || red != nil {
		t.Errorf("queue without policy: %+v, %v; want nil, nil", red, err)
	}
	_, err = awssqs.LookupRedrive(ctx(t), c, strings.Replace(plain, "plain", "missing", 1))
	if code := awssqs.ErrorCode(err); err == nil || !strings.Contains(code, "NonExistentQueue") && code != "QueueDoesNotExist" {
		t.Errorf("missing queue: err %v, code %q", err, code)
	}
}

func path(u string) string { return u[strings.LastIndex(u, "/"):] }

func TestMeterCountsFailures(t *testing.T) {
	emu := fauxqs.Start(t)
	url := emu.CreateQueue(t, "meter", nil)
	meter := awssqs.NewMeter(nil)
	c := client(emu, meter)
	q := awssqs.NewQueue(c, url, 0)
	emu.Stop()
	if _, err := q.Receive(ctx(t), 1, time.Second); err == nil {
		t.Fatal("Receive with the emulator down succeeded")
	}
	if !meter.LastSuccess().IsZero() {
		t.Error("LastSuccess set although nothing succeeded")
	}
	// A standard queue's receive is a single attempt (the poller retries it).
	if got := meter.Requests("ReceiveMessage"); got != 1 {
		t.Errorf("receive requests = %v, want 1", got)
	}
	// The SDK retries a delete: every attempt is a billed request and counted.
	if _, err := q.Delete(ctx(t), []string{"rh-1"}); err == nil {
		t.Fatal("Delete with the emulator down succeeded")
	}
	if got := meter.Requests("DeleteMessageBatch"); got < 2 {
		t.Errorf("delete requests = %v, want every retry counted (>= 2)", got)
	}
}
