package fauxqs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// These tests pin down the emulator behaviour documented in doc.go, which
// the engine's design relies on. If a fauxqs upgrade breaks one, update the
// documentation (and check the engine) rather than just the assertion.

func TestQueueURLs(t *testing.T) {
	t.Parallel()
	a := Start(t)
	b := Start(t)
	if a.Port() == b.Port() {
		t.Fatalf("two emulators share port %d", a.Port())
	}

	urlA := a.CreateQueue(t, "urls", nil)
	if want := fmt.Sprintf("http://sqs.us-east-1.localhost:%d/000000000000/urls", a.Port()); urlA != want {
		t.Fatalf("queue URL = %q, want %q", urlA, want)
	}
	urlB := b.CreateQueue(t, "urls", nil)
	t.Logf("queue URLs: %s and %s", urlA, urlB)

	// The client always talks to its BaseEndpoint; the emulator resolves
	// the queue from region and name only, so foreign URLs reach it too.
	c := b.SQS(t)
	for _, u := range []string{
		urlA, // carries the other emulator's port
		"https://sqs.us-east-1.amazonaws.com/123456789012/urls",
		"http://127.0.0.1:1/whatever/urls",
	} {
		if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(u)}); err != nil {
			t.Fatalf("SendMessage via %s: %v", u, err)
		}
	}
	if v, _, _ := b.Counts(t, urlB); v != 3 {
		t.Fatalf("emulator B has %d visible messages, want 3", v)
	}
	if v, _, _ := a.Counts(t, urlA); v != 0 {
		t.Fatalf("emulator A has %d visible messages, want 0", v)
	}
	// A different region in the host is a different queue.
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{
		QueueUrl:    aws.String("https://sqs.eu-west-1.amazonaws.com/000000000000/urls"),
		MessageBody: aws.String("x"),
	})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("SendMessage to eu-west-1 URL: err = %v, want QueueDoesNotExist", err)
	}
}

func TestSendReceiveAndBatches(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	url, _ := s.CreateQueueWithDLQ(t, "work", 5)

	Send(t, c, url, "first", map[string]types.MessageAttributeValue{
		"kind":  {DataType: aws.String("String"), StringValue: aws.String("order")},
		"count": {DataType: aws.String("Number"), StringValue: aws.String("42")},
		"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
	})
	Send(t, c, url, "second", nil)

	msgs := receiveN(t, c, url, 2, 0)
	first, second := msgs["first"], msgs["second"]
	if got := aws.ToString(first.MessageAttributes["kind"].StringValue); got != "order" {
		t.Errorf("attribute kind = %q", got)
	}
	if got := aws.ToString(first.MessageAttributes["count"].StringValue); got != "42" {
		t.Errorf("attribute count = %q", got)
	}
	if got := first.MessageAttributes["blob"].BinaryValue; !bytes.Equal(got, []byte{0, 1, 2, 255}) {
		t.Errorf("attribute blob = %v", got)
	}
	if aws.ToString(first.MD5OfMessageAttributes) == "" {
		t.Error("no MD5OfMessageAttributes")
	}
	if len(second.MessageAttributes) != 0 {
		t.Errorf("second message has attributes %v", second.MessageAttributes)
	}
	for _, m := range msgs {
		if n := receiveCount(t, m); n != 1 {
			t.Errorf("%s: ApproximateReceiveCount = %d, want 1", aws.ToString(m.Body), n)
		}
	}

	cmv, err := c.ChangeMessageVisibilityBatch(ctx(t), &sqs.ChangeMessageVisibilityBatchInput{
		QueueUrl: aws.String(url),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("release"), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0},
			{Id: aws.String("extend"), ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 600},
			{Id: aws.String("bogus"), ReceiptHandle: aws.String("not-a-receipt-handle"), VisibilityTimeout: 10},
		},
	})
	if err != nil {
		t.Fatalf("ChangeMessageVisibilityBatch: %v", err)
	}
	t.Logf("ChangeMessageVisibilityBatch: successful=%v failed=%v", batchIDs(cmv.Successful), failures(cmv.Failed))
	if got := batchIDs(cmv.Successful); !sameSet(got, "release", "extend") {
		t.Errorf("ChangeMessageVisibilityBatch successful = %v", got)
	}
	if len(cmv.Failed) != 1 || aws.ToString(cmv.Failed[0].Id) != "bogus" ||
		aws.ToString(cmv.Failed[0].Code) != "ReceiptHandleIsInvalid" || !cmv.Failed[0].SenderFault {
		t.Errorf("ChangeMessageVisibilityBatch failed = %v, want bogus: ReceiptHandleIsInvalid (sender fault)", failures(cmv.Failed))
	}
	if v, nv, _ := s.Counts(t, url); v != 1 || nv != 1 {
		t.Errorf("after release/extend: visible=%d notVisible=%d, want 1 and 1", v, nv)
	}

	again := receiveN(t, c, url, 1, 0)["first"]
	if n := receiveCount(t, again); n != 2 {
		t.Errorf("ApproximateReceiveCount after a second receive = %d, want 2", n)
	}
	// The first receive's handle died with the re-receive.
	stale, err := c.ChangeMessageVisibilityBatch(ctx(t), &sqs.ChangeMessageVisibilityBatchInput{
		QueueUrl: aws.String(url),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("stale"), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 10},
		},
	})
	if err != nil {
		t.Fatalf("ChangeMessageVisibilityBatch with stale handle: %v", err)
	}
	if len(stale.Failed) != 1 || aws.ToString(stale.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("stale handle: failed = %v, want ReceiptHandleIsInvalid", failures(stale.Failed))
	}

	del, err := c.DeleteMessageBatch(ctx(t), &sqs.DeleteMessageBatchInput{
		QueueUrl: aws.String(url),
		Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("first"), ReceiptHandle: again.ReceiptHandle},
			{Id: aws.String("second"), ReceiptHandle: second.ReceiptHandle},
			{Id: aws.String("bogus"), ReceiptHandle: aws.String("not-a-receipt-handle")},
		},
	})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	t.Logf("DeleteMessageBatch: successful=%v failed=%v", batchIDs(del.Successful), failures(del.Failed))
	// fauxqs never reports per-entry delete failures, not even for garbage.
	if got := batchIDs(del.Successful); !sameSet(got, "first", "second", "bogus") || len(del.Failed) != 0 {
		t.Errorf("DeleteMessageBatch successful=%v failed=%v, want all three successful", got, failures(del.Failed))
	}
	if v, nv, d := s.Counts(t, url); v+nv+d != 0 {
		t.Errorf("after delete: visible=%d notVisible=%d delayed=%d, want empty", v, nv, d)
	}
}

func TestLongPollReturnsOnSend(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	url := s.CreateQueue(t, "longpoll", nil)

	poll := startLongPoll(t, s, c, url, ctx(t), 0)
	sent := time.Now()
	Send(t, c, url, "wake up", nil)
	select {
	case r := <-poll:
		if r.err != nil {
			t.Fatalf("long poll: %v", r.err)
		}
		if len(r.out.Messages) != 1 {
			t.Fatalf("long poll returned %d messages", len(r.out.Messages))
		}
		t.Logf("long poll returned %v after the send", time.Since(sent))
	case <-time.After(5 * time.Second):
		t.Fatal("a 20s long poll did not return within 5s of a send")
	}
}

func TestCancelledLongPollStrandsMessage(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	url := s.CreateQueue(t, "cancelled", nil)

	pollCtx, cancel := context.WithCancel(ctx(t))
	// VisibilityTimeout 1 so a message taken by the abandoned poll comes
	// back quickly.
	poll := startLongPoll(t, s, c, url, pollCtx, 1)
	cancel()
	if r := <-poll; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled long poll: out=%v err=%v", r.out, r.err)
	}

	Send(t, c, url, "after cancel", nil)
	v, nv, _ := s.Counts(t, url)
	t.Logf("after a cancelled long poll, a sent message is visible=%d notVisible=%d", v, nv)
	if v != 0 || nv != 1 {
		t.Errorf("visible=%d notVisible=%d: the emulator no longer hands messages to abandoned long polls; update doc.go", v, nv)
	}

	// Whatever happened, the message must come back.
	m := receiveN(t, c, url, 1, 0)["after cancel"]
	t.Logf("message came back with ApproximateReceiveCount %d", receiveCount(t, m))
}

func TestVisibilityTimeoutAndReceiveCount(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	url := s.CreateQueue(t, "visibility", map[string]string{"VisibilityTimeout": "300"})

	Send(t, c, url, "m", nil)
	first := receiveN(t, c, url, 1, 1)["m"]
	if n := receiveCount(t, first); n != 1 {
		t.Errorf("first ApproximateReceiveCount = %d", n)
	}
	// With the queue's 300s the message would stay away; the request's 1s
	// must bring it back long before this 10s long poll ends.
	start := time.Now()
	out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		WaitTimeSeconds:             10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("per-request VisibilityTimeout 1 not honoured: nothing within %v", time.Since(start))
	}
	t.Logf("message reappeared after %v", time.Since(start))
	if n := receiveCount(t, out.Messages[0]); n != 2 {
		t.Errorf("second ApproximateReceiveCount = %d, want 2", n)
	}
}

func TestCountersAreLazy(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	// A queue-level timeout of 0 expires a receive at once, which shows the
	// laziness without waiting. (The Go SDK cannot ask for 0 per request: it
	// omits a zero ReceiveMessageInput.VisibilityTimeout.)
	url := s.CreateQueue(t, "lazy", map[string]string{"VisibilityTimeout": "0"})
	Send(t, c, url, "m", nil)
	receiveN(t, c, url, 1, 0)

	v, nv, _ := s.Counts(t, url)
	t.Logf("expired in-flight message counted as visible=%d notVisible=%d", v, nv)
	if v != 0 || nv != 1 {
		t.Errorf("visible=%d notVisible=%d: counters are no longer lazy; update doc.go and Counts", v, nv)
	}
	if m := receiveN(t, c, url, 1, 0)["m"]; receiveCount(t, m) != 2 {
		t.Errorf("ApproximateReceiveCount = %d, want 2", receiveCount(t, m))
	}
}

func TestRedriveToDLQ(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	url, dlq := s.CreateQueueWithDLQ(t, "redrive", 2)

	attrs := s.attributes(t, url, types.QueueAttributeNameRedrivePolicy)
	policy := attrs[string(types.QueueAttributeNameRedrivePolicy)]
	t.Logf("GetQueueAttributes RedrivePolicy = %s", policy)
	want := `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:redrive-dlq","maxReceiveCount":2}`
	if policy != want {
		t.Errorf("RedrivePolicy = %s, want %s", policy, want)
	}

	Send(t, c, url, "poison", nil)
	for i := 1; i <= 2; i++ {
		m := receiveN(t, c, url, 1, 0)["poison"]
		if n := receiveCount(t, m); n != i {
			t.Errorf("receive %d: ApproximateReceiveCount = %d", i, n)
		}
		// Release at once, as a failing handler's nack would.
		if _, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			t.Fatalf("ChangeMessageVisibility: %v", err)
		}
	}
	if v, _, _ := s.Counts(t, dlq); v != 0 {
		t.Errorf("message in DLQ before the receive that exceeds maxReceiveCount")
	}
	out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 0 {
		t.Errorf("receive after maxReceiveCount returned %d messages, want none", len(out.Messages))
	}
	if v, nv, d := s.Counts(t, url); v+nv+d != 0 {
		t.Errorf("source queue still holds visible=%d notVisible=%d delayed=%d", v, nv, d)
	}
	m := receiveN(t, c, dlq, 1, 0)["poison"]
	t.Logf("in the DLQ, ApproximateReceiveCount = %d", receiveCount(t, m))
	if n := receiveCount(t, m); n != 4 {
		t.Errorf("DLQ ApproximateReceiveCount = %d, want 4 (3 receives on the source, 1 on the DLQ)", n)
	}
}

func TestStopDuringLongPoll(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.SQS(t)
	url := s.CreateQueue(t, "outage", nil)

	// Without retries, to see what the emulator itself does to the poll.
	poll := startLongPoll(t, s, c, url, ctx(t), 0, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	stopped := time.Now()
	s.Stop()
	select {
	case r := <-poll:
		n := -1
		if r.out != nil {
			n = len(r.out.Messages)
		}
		t.Logf("long poll ended %v after Stop: messages=%d err=%v", time.Since(stopped), n, r.err)
		// The connection is dropped without a response, as in a real
		// network failure; the SDK would retry into "connection refused".
		if r.err == nil {
			t.Errorf("long poll during Stop succeeded with %d messages, want a transport error", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll still running 5s after Stop")
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, WithPersistence(t.TempDir()))
	c := s.SQS(t)
	url, dlq := s.CreateQueueWithDLQ(t, "durable", 5)
	Send(t, c, url, "in flight", nil)
	receiveN(t, c, url, 1, 300)
	Send(t, c, url, "kept", map[string]types.MessageAttributeValue{
		"kind": {DataType: aws.String("String"), StringValue: aws.String("order")},
	})
	port := s.Port()

	s.Stop()
	s.Stop() // idempotent
	_, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{}, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		t.Fatal("emulator still answers after Stop")
	}

	s.Restart(t)
	if s.Port() != port {
		t.Fatalf("port changed from %d to %d", port, s.Port())
	}
	got, err := c.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("durable")})
	if err != nil {
		t.Fatalf("queue lost across restart: %v", err)
	}
	if aws.ToString(got.QueueUrl) != url {
		t.Errorf("queue URL changed from %s to %s", url, aws.ToString(got.QueueUrl))
	}
	if p := s.attributes(t, url, types.QueueAttributeNameRedrivePolicy)["RedrivePolicy"]; p == "" {
		t.Error("RedrivePolicy lost across restart")
	}
	if v, _, _ := s.Counts(t, dlq); v != 0 {
		t.Errorf("DLQ has %d messages", v)
	}
	v, nv, _ := s.Counts(t, url)
	t.Logf("after restart: visible=%d notVisible=%d", v, nv)
	if v != 1 || nv != 1 {
		t.Errorf("after restart: visible=%d notVisible=%d, want 1 and 1", v, nv)
	}
	m := receiveN(t, c, url, 1, 0)["kept"]
	if got := aws.ToString(m.MessageAttributes["kind"].StringValue); got != "order" {
		t.Errorf("attribute kind after restart = %q", got)
	}
}

func TestRestartWithoutPersistenceForgets(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.CreateQueue(t, "ephemeral", nil)
	s.Restart(t)
	_, err := s.SQS(t).GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("ephemeral")})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("GetQueueUrl after restart: err = %v, want QueueDoesNotExist", err)
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	s := Start(t, WithPort(freePort(t)))
	want := map[string]string{
		"AWS_ENDPOINT_URL_SQS":      s.Endpoint(),
		"AWS_REGION":                "us-east-1",
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	got := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := bytes.Cut([]byte(kv), []byte("="))
		got[string(k)] = string(v)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	if s.Endpoint() != "http://127.0.0.1:"+strconv.Itoa(s.Port()) {
		t.Errorf("Endpoint() = %s", s.Endpoint())
	}
}

// TestNoOrphanAfterKill runs Start in a child test process, SIGKILLs that
// process, and checks the emulator goes away by itself: no cleanup code runs
// after SIGKILL, so only the stdin EOF contract can stop it.
func TestNoOrphanAfterKill(t *testing.T) {
	if os.Getenv("SQSFLEET_FAUXQS_CHILD") == "1" {
		s := Start(t)
		fmt.Println("port", s.Port())
		select {} // wait to be killed
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphanAfterKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SQSFLEET_FAUXQS_CHILD=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var p int
			if _, err := fmt.Sscanf(sc.Text(), "port %d", &p); err == nil {
				ports <- p
				return
			}
		}
		close(ports)
	}()
	var port int
	select {
	case p, ok := <-ports:
		if !ok {
			t.Fatalf("child exited without starting the emulator; stderr:\n%s", stderr.String())
		}
		port = p
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not start the emulator; stderr:\n%s", stderr.String())
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if !listening(addr) {
		t.Fatalf("emulator not listening on %s", addr)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "the orphaned emulator to exit", func() bool { return !listening(addr) })
}

// --- helpers ---

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// receiveN receives until it has n messages, keyed by body, and fails if
// they do not arrive within a few seconds. visibility 0 means the queue's.
func receiveN(t *testing.T, c *sqs.Client, url string, n int, visibility int32) map[string]types.Message {
	t.Helper()
	got := map[string]types.Message{}
	if !wait.Until(10*time.Second, func() bool {
		if len(got) >= n {
			return true
		}
		out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         int32(n - len(got)),
			WaitTimeSeconds:             1,
			VisibilityTimeout:           visibility,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.Body)] = m
		}
		return len(got) >= n
	}) {
		t.Fatalf("received %d of %d messages from %s", len(got), n, url)
	}
	return got
}

func receiveCount(t *testing.T, m types.Message) int {
	t.Helper()
	n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if err != nil {
		t.Fatalf("ApproximateReceiveCount of %q: %v", aws.ToString(m.Body), err)
	}
	return n
}

type pollResult struct {
	out *sqs.ReceiveMessageOutput
	err error
}

// startLongPoll starts a 20s long poll and returns once the emulator has
// (as good as certainly) parked it, without sleeping: the request has been
// written, and two later requests on other connections have been answered
// by the single-threaded emulator.
func startLongPoll(t *testing.T, s *Server, c *sqs.Client, url string, pollCtx context.Context, visibility int32, opts ...func(*sqs.Options)) <-chan pollResult {
	t.Helper()
	wrote := make(chan struct{})
	var once sync.Once
	pollCtx = httptrace.WithClientTrace(pollCtx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) },
	})
	res := make(chan pollResult, 1)
	go func() {
		out, err := c.ReceiveMessage(pollCtx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			WaitTimeSeconds:             20,
			VisibilityTimeout:           visibility,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		}, opts...)
		res <- pollResult{out, err}
	}()
	select {
	case <-wrote:
	case r := <-res:
		t.Fatalf("long poll ended before it was sent: %v", r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("long poll request was not written within 10s")
	}
	s.Counts(t, url)
	s.Counts(t, url)
	return res
}

func batchIDs[E types.ChangeMessageVisibilityBatchResultEntry | types.DeleteMessageBatchResultEntry](entries []E) []string {
	var ids []string
	for _, e := range entries {
		switch e := any(e).(type) {
		case types.ChangeMessageVisibilityBatchResultEntry:
			ids = append(ids, aws.ToString(e.Id))
		case types.DeleteMessageBatchResultEntry:
			ids = append(ids, aws.ToString(e.Id))
		}
	}
	return ids
}

func failures(entries []types.BatchResultErrorEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s: %s (sender fault %v): %s",
			aws.ToString(e.Id), aws.ToString(e.Code), e.SenderFault, aws.ToString(e.Message)))
	}
	return out
}

func sameSet(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}
