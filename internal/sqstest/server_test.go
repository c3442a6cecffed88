package sqstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faults"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
)

var t0 = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

func newDouble(t *testing.T, cfg sqstest.Config) (*sqstest.Server, *sqstest.ManualClock) {
	t.Helper()
	clock := sqstest.NewManualClock(t0)
	cfg.Clock = clock
	return sqstest.New(cfg), clock
}

func bg() context.Context { return context.Background() }

func recv(t *testing.T, s *sqstest.Server, url string, max, vis int) []sqstest.Message {
	t.Helper()
	got, err := s.ReceiveMessage(bg(), url, sqstest.ReceiveInput{MaxMessages: max, VisibilitySeconds: sqstest.Seconds(vis), WaitSeconds: sqstest.Seconds(0)})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return got
}

func code(err error) string {
	var e *sqstest.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func bodies(ms []sqstest.Message) string {
	var b []string
	for _, m := range ms {
		b = append(b, m.Body)
	}
	return strings.Join(b, " ")
}

// SQS: "If you try to extend the visibility timeout beyond 12 hours, your
// request is rejected", counting from the receive. fauxqs accepts it.
func TestVisibilityLimitCountsFromTheReceive(t *testing.T) {
	s, clock := newDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	s.MustSend(url, sqstest.SendInput{Body: "x"})
	m := recv(t, s, url, 1, 60)[0]
	clock.Advance(30 * time.Second)
	if err := s.ChangeMessageVisibility(bg(), url, m.ReceiptHandle, 43000); err != nil {
		t.Fatalf("receive+30s, ask 43000s: %v", err)
	}
	clock.Advance(11*time.Hour - 30*time.Second)
	if err := s.ChangeMessageVisibility(bg(), url, m.ReceiptHandle, 3601); code(err) != "InvalidParameterValue" ||
		!strings.Contains(err.Error(), "beyond the limit") {
		t.Errorf("receive+11h, ask 1h01m more: err = %v; want InvalidParameterValue, beyond the limit", err)
	}
	if err := s.ChangeMessageVisibility(bg(), url, m.ReceiptHandle, 3600); err != nil {
		t.Errorf("receive+11h, ask exactly the 1h left: %v", err)
	}
	if err := s.ChangeMessageVisibility(bg(), url, m.ReceiptHandle, 43201); code(err) != "InvalidParameterValue" {
		t.Errorf("43201 s: err = %v; want InvalidParameterValue", err)
	}
	// A new receive starts a new 12 hours.
	clock.Advance(time.Hour)
	m2 := recv(t, s, url, 1, 60)[0]
	if err := s.ChangeMessageVisibility(bg(), url, m2.ReceiptHandle, 43200); err != nil {
		t.Errorf("fresh receive, 12h: %v", err)
	}
	if _, err := s.ReceiveMessage(bg(), url, sqstest.ReceiveInput{VisibilitySeconds: sqstest.Seconds(43201)}); code(err) != "InvalidParameterValue" {
		t.Errorf("receive with VisibilityTimeout 43201: %v", err)
	}
}

func TestReceiptHandlesChangeOnEveryReceiveAndGoStale(t *testing.T) {
	for _, policy := range []sqstest.StaleDelete{sqstest.StaleDeleteIgnored, sqstest.StaleDeleteInvalid} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			s, _ := newDouble(t, sqstest.Config{StaleDelete: policy})
			url := s.MustCreateQueue("q", nil)
			s.MustSend(url, sqstest.SendInput{Body: "x"})
			m1 := recv(t, s, url, 1, 30)[0]
			if err := s.ChangeMessageVisibility(bg(), url, m1.ReceiptHandle, 0); err != nil {
				t.Fatal(err)
			}
			// Visible again, the current handle is refused: not in flight.
			if err := s.ChangeMessageVisibility(bg(), url, m1.ReceiptHandle, 10); code(err) != "AWS.SimpleQueueService.MessageNotInflight" {
				t.Errorf("change of a visible message: %v; want MessageNotInflight", err)
			}
			m2 := recv(t, s, url, 1, 30)[0]
			if m2.ReceiveCount() != 2 || m2.ReceiptHandle == m1.ReceiptHandle || m2.MessageID != m1.MessageID {
				t.Fatalf("second receive: count %d, same handle %v", m2.ReceiveCount(), m2.ReceiptHandle == m1.ReceiptHandle)
			}
			_, failed, err := s.ChangeMessageVisibilityBatch(bg(), url, []sqstest.BatchEntry{
				{ID: "old", ReceiptHandle: m1.ReceiptHandle, VisibilitySeconds: 10},
				{ID: "new", ReceiptHandle: m2.ReceiptHandle, VisibilitySeconds: 10},
				{ID: "bogus", ReceiptHandle: "never-issued", VisibilitySeconds: 10},
			})
			if err != nil || len(failed) != 2 || failed[0].ID != "old" || failed[0].Code != "ReceiptHandleIsInvalid" ||
				failed[1].ID != "bogus" || failed[1].Code != "ReceiptHandleIsInvalid" || !failed[0].SenderFault {
				t.Errorf("batch with stale, current, bogus: failed %+v, %v", failed, err)
			}
			ok, failed, err := s.DeleteMessageBatch(bg(), url, []sqstest.BatchEntry{{ID: "old", ReceiptHandle: m1.ReceiptHandle}})
			switch policy {
			case sqstest.StaleDeleteIgnored:
				// AWS: "the request will still succeed, but the message
				// might not be deleted".
				if err != nil || len(ok) != 1 || len(failed) != 0 {
					t.Errorf("stale delete: ok %v failed %v err %v; want success", ok, failed, err)
				}
			case sqstest.StaleDeleteInvalid:
				if err != nil || len(failed) != 1 || failed[0].Code != "ReceiptHandleIsInvalid" {
					t.Errorf("stale delete: failed %v err %v; want ReceiptHandleIsInvalid", failed, err)
				}
			}
			if a, _ := s.GetQueueAttributes(bg(), url, []string{"All"}); a["ApproximateNumberOfMessagesNotVisible"] != "1" {
				t.Errorf("after a stale delete the message is gone: %v", a)
			}
			if err := s.DeleteMessage(bg(), url, m2.ReceiptHandle); err != nil {
				t.Errorf("current delete: %v", err)
			}
			if err := s.ChangeMessageVisibility(bg(), url, m2.ReceiptHandle, 10); code(err) != "ReceiptHandleIsInvalid" {
				t.Errorf("change after delete: %v", err)
			}
		})
	}
}

func fifo(t *testing.T, s *sqstest.Server, name string, contentDedup bool) string {
	t.Helper()
	return s.MustCreateQueue(name+".fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": fmt.Sprint(contentDedup)})
}

// SQS returns several messages of one group per receive (fauxqs: one) and
// locks a group while any of its messages is in flight.
func TestFIFOSeveralOfAGroupPerReceiveAndGroupLock(t *testing.T) {
	s, clock := newDouble(t, sqstest.Config{})
	url := fifo(t, s, "f", true)
	for _, b := range []string{"a1", "b1", "a2", "a3", "b2"} {
		s.MustSend(url, sqstest.SendInput{Body: b, GroupID: b[:1]})
	}
	got := recv(t, s, url, 3, 30)
	if bodies(got) != "a1 b1 a2" {
		t.Fatalf("first receive of 3: %q, want the oldest three in order", bodies(got))
	}
	// Both groups are locked while a1, b1, a2 are in flight.
	if more := recv(t, s, url, 10, 30); len(more) != 0 {
		t.Fatalf("groups not locked: got %q", bodies(more))
	}
	// a1 back to visible while a2 is still in flight: group a stays locked.
	if err := s.ChangeMessageVisibility(bg(), url, got[0].ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	if more := recv(t, s, url, 10, 30); len(more) != 0 {
		t.Fatalf("group a with a2 in flight delivered %q", bodies(more))
	}
	clock.Advance(31 * time.Second)
	all := recv(t, s, url, 10, 30)
	if bodies(all) != "a1 b1 a2 a3 b2" {
		t.Fatalf("after the visibility timeout: %q, want all five in order", bodies(all))
	}
	if all[0].ReceiveCount() != 2 || all[3].ReceiveCount() != 1 {
		t.Errorf("receive counts a1 %d, a3 %d; want 2 and 1", all[0].ReceiveCount(), all[3].ReceiveCount())
	}
	if all[0].Attributes["MessageGroupId"] != "a" || all[0].Attributes["SequenceNumber"] == "" || all[0].Attributes["MessageDeduplicationId"] == "" {
		t.Errorf("FIFO system attributes: %v", all[0].Attributes)
	}
	// FIFO: a handle whose visibility ran out cannot delete.
	clock.Advance(31 * time.Second)
	if err := s.DeleteMessage(bg(), url, all[0].ReceiptHandle); code(err) != "ReceiptHandleIsInvalid" {
		t.Errorf("FIFO delete after the visibility timeout: %v; want ReceiptHandleIsInvalid", err)
	}
}

// SQS: a send whose deduplication id was seen in the last 5 minutes is
// accepted and never delivered, even after the first one was deleted.
func TestFIFODeduplicationWindow(t *testing.T) {
	s, clock := newDouble(t, sqstest.Config{})
	url := fifo(t, s, "d", false)
	first, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "one", GroupID: "g", DeduplicationID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	m := recv(t, s, url, 10, 30)
	if err := s.DeleteMessage(bg(), url, m[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Minute)
	dup, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "two", GroupID: "other", DeduplicationID: "k"})
	if err != nil || !dup.Duplicate || dup.MessageID != first.MessageID {
		t.Fatalf("duplicate within 5 min: %+v, %v; want accepted with the first id", dup, err)
	}
	if got := recv(t, s, url, 10, 30); len(got) != 0 {
		t.Fatalf("duplicate delivered: %q", bodies(got))
	}
	clock.Advance(time.Minute)
	if r, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "three", GroupID: "g", DeduplicationID: "k"}); err != nil || r.Duplicate {
		t.Fatalf("after 5 min: %+v, %v; want a new message", r, err)
	}
	if got := recv(t, s, url, 10, 30); bodies(got) != "three" {
		t.Fatalf("after the window: %q", bodies(got))
	}
	if _, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "no id", GroupID: "g"}); code(err) != "InvalidParameterValue" {
		t.Errorf("no dedup id without content-based deduplication: %v", err)
	}

	c := fifo(t, s, "c", true)
	s.MustSend(c, sqstest.SendInput{Body: "same", GroupID: "g1"})
	if r := s.MustSend(c, sqstest.SendInput{Body: "same", GroupID: "g2"}); !r.Duplicate {
		t.Error("content-based: the same body in another group was not deduplicated")
	}
	if r := s.MustSend(c, sqstest.SendInput{Body: "other", GroupID: "g1"}); r.Duplicate {
		t.Error("content-based: another body was deduplicated")
	}
	if got := recv(t, s, c, 10, 30); bodies(got) != "same other" {
		t.Errorf("content-based receive: %q", bodies(got))
	}
}

func TestFIFOReceiveRequestAttemptID(t *testing.T) {
	s, clock := newDouble(t, sqstest.Config{})
	url := fifo(t, s, "r", true)
	for _, b := range []string{"a", "b", "c"} {
		s.MustSend(url, sqstest.SendInput{Body: b, GroupID: b})
	}
	in := sqstest.ReceiveInput{MaxMessages: 2, VisibilitySeconds: sqstest.Seconds(30), AttemptID: "try-1", WaitSeconds: sqstest.Seconds(0)}
	first, err := s.ReceiveMessage(bg(), url, in)
	if err != nil || len(first) != 2 {
		t.Fatal(first, err)
	}
	clock.Advance(20 * time.Second)
	again, err := s.ReceiveMessage(bg(), url, in)
	if err != nil || len(again) != 2 || again[0].ReceiptHandle != first[0].ReceiptHandle || again[1].ReceiptHandle != first[1].ReceiptHandle ||
		again[0].ReceiveCount() != 1 {
		t.Fatalf("retry with the same attempt id: %+v, %v; want the same messages and handles, count 1", again, err)
	}
	// The retry reset the visibility: 20 s later they are still hidden.
	clock.Advance(20 * time.Second)
	if got := recv(t, s, url, 10, 30); bodies(got) != "c" {
		t.Errorf("after the retry's reset: %q, want only c", bodies(got))
	}
	if err := s.DeleteMessage(bg(), url, first[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReceiveMessage(bg(), url, in); code(err) != "InvalidParameterValue" {
		t.Errorf("retry after one of its messages was deleted: %v; want InvalidParameterValue", err)
	}
	clock.Advance(5 * time.Minute)
	if got, err := s.ReceiveMessage(bg(), url, in); err != nil || bodies(got) != "b c" {
		t.Errorf("the same id after 5 minutes is a new receive: %q, %v", bodies(got), err)
	}
}

func TestSendRulesByQueueType(t *testing.T) {
	s, _ := newDouble(t, sqstest.Config{})
	std := s.MustCreateQueue("std", nil)
	// Fair queues (2025): a standard queue takes MessageGroupId and returns it.
	s.MustSend(std, sqstest.SendInput{Body: "x", GroupID: "tenant-1"})
	if m := recv(t, s, std, 1, 30); m[0].Attributes["MessageGroupId"] != "tenant-1" {
		t.Errorf("standard queue group id: %v", m[0].Attributes)
	}
	_, err := s.SendMessage(bg(), std, sqstest.SendInput{Body: "x", GroupID: "g", DeduplicationID: "d"})
	if code(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "not valid for this queue type") {
		t.Errorf("dedup id on a standard queue: %v", err)
	}
	f := fifo(t, s, "f", true)
	if _, err := s.SendMessage(bg(), f, sqstest.SendInput{Body: "x"}); code(err) != "MissingParameter" {
		t.Errorf("FIFO without group: %v", err)
	}
	if _, err := s.SendMessage(bg(), f, sqstest.SendInput{Body: "x", GroupID: "g", DelaySeconds: 5}); code(err) != "InvalidParameterValue" {
		t.Errorf("FIFO with a per-message delay: %v", err)
	}
}

func TestPerCallLimits(t *testing.T) {
	s, _ := newDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("small", map[string]string{"MaximumMessageSize": "1024"})
	for name, in := range map[string]sqstest.ReceiveInput{
		"11 messages": {MaxMessages: 11},
		"wait 21":     {WaitSeconds: sqstest.Seconds(21)},
		"wait -1":     {WaitSeconds: sqstest.Seconds(-1)},
		"vis -1":      {VisibilitySeconds: sqstest.Seconds(-1)},
	} {
		if _, err := s.ReceiveMessage(bg(), url, in); code(err) != "InvalidParameterValue" {
			t.Errorf("receive %s: %v", name, err)
		}
	}
	entries := func(n int) []sqstest.BatchEntry {
		var es []sqstest.BatchEntry
		for i := range n {
			es = append(es, sqstest.BatchEntry{ID: fmt.Sprint("e", i), ReceiptHandle: "x"})
		}
		return es
	}
	for name, tc := range map[string]struct {
		es   []sqstest.BatchEntry
		want string
	}{
		"11 entries":  {entries(11), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		"no entries":  {nil, "AWS.SimpleQueueService.EmptyBatchRequest"},
		"repeated id": {[]sqstest.BatchEntry{{ID: "a", ReceiptHandle: "x"}, {ID: "a", ReceiptHandle: "y"}}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		"bad id":      {[]sqstest.BatchEntry{{ID: "a b", ReceiptHandle: "x"}}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		"81-char id":  {[]sqstest.BatchEntry{{ID: strings.Repeat("a", 81), ReceiptHandle: "x"}}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
	} {
		if _, _, err := s.DeleteMessageBatch(bg(), url, tc.es); code(err) != tc.want {
			t.Errorf("delete batch %s: %v, want %s", name, err, tc.want)
		}
		if _, _, err := s.ChangeMessageVisibilityBatch(bg(), url, tc.es); code(err) != tc.want {
			t.Errorf("visibility batch %s: %v, want %s", name, err, tc.want)
		}
	}
	if _, _, err := s.DeleteMessageBatch(bg(), url, entries(10)); err != nil {
		t.Errorf("10 entries refused: %v", err)
	}
	for name, in := range map[string]sqstest.SendInput{
		"body over the queue's size": {Body: strings.Repeat("x", 1025)},
		"attributes over the size": {Body: strings.Repeat("x", 1000), Attributes: map[string]sqstest.MessageAttribute{
			"k": {DataType: "String", StringValue: strings.Repeat("v", 30)}}},
		"delay 901":       {Body: "x", DelaySeconds: 901},
		"empty attribute": {Body: "x", Attributes: map[string]sqstest.MessageAttribute{"k": {DataType: "String"}}},
		"bad type":        {Body: "x", Attributes: map[string]sqstest.MessageAttribute{"k": {DataType: "Text", StringValue: "v"}}},
		"AWS. name":       {Body: "x", Attributes: map[string]sqstest.MessageAttribute{"AWS.k": {DataType: "String", StringValue: "v"}}},
	} {
		if _, err := s.SendMessage(bg(), url, in); code(err) != "InvalidParameterValue" {
			t.Errorf("send %s: %v", name, err)
		}
	}
	if _, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "bad \x00 char"}); code(err) != "InvalidMessageContents" {
		t.Errorf("NUL in body: %v", err)
	}
	if _, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: strings.Repeat("x", 1024)}); err != nil {
		t.Errorf("body of exactly the limit: %v", err)
	}
	var big []sqstest.SendBatchEntry
	for i := range 2 {
		big = append(big, sqstest.SendBatchEntry{ID: fmt.Sprint(i), SendInput: sqstest.SendInput{Body: strings.Repeat("x", 600)}})
	}
	if _, _, err := s.SendMessageBatch(bg(), url, big); code(err) != "AWS.SimpleQueueService.BatchRequestTooLong" {
		t.Errorf("batch over the size in total: %v", err)
	}
}

func TestDelayAndLongPollWakes(t *testing.T) {
	s, clock := newDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	s.MustSend(url, sqstest.SendInput{Body: "later", DelaySeconds: 10})
	if got := recv(t, s, url, 1, 30); len(got) != 0 {
		t.Fatal("a delayed message was delivered early")
	}
	if a, _ := s.GetQueueAttributes(bg(), url, []string{"ApproximateNumberOfMessagesDelayed"}); a["ApproximateNumberOfMessagesDelayed"] != "1" {
		t.Errorf("delayed count: %v", a)
	}
	done := make(chan []sqstest.Message)
	go func() {
		got, _ := s.ReceiveMessage(bg(), url, sqstest.ReceiveInput{WaitSeconds: sqstest.Seconds(20)})
		done <- got
	}()
	start := time.Now()
	clock.Advance(10 * time.Second)
	if got := <-done; bodies(got) != "later" {
		t.Fatalf("long poll across the delay: %q", bodies(got))
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the long poll did not wake on the clock: %v", took)
	}
	// A send wakes a long poll at once.
	go func() {
		got, _ := s.ReceiveMessage(bg(), url, sqstest.ReceiveInput{WaitSeconds: sqstest.Seconds(20)})
		done <- got
	}()
	s.MustSend(url, sqstest.SendInput{Body: "now"})
	if got := <-done; bodies(got) != "now" {
		t.Fatalf("long poll across a send: %q", bodies(got))
	}
}

// With the real clock a long poll wakes when a message's visibility runs
// out, without anybody announcing it.
func TestLongPollWakesOnRealVisibilityTimeout(t *testing.T) {
	s := sqstest.New(sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	s.MustSend(url, sqstest.SendInput{Body: "x"})
	if got := recv(t, s, url, 1, 1); len(got) != 1 {
		t.Fatal("no message")
	}
	start := time.Now()
	got, err := s.ReceiveMessage(bg(), url, sqstest.ReceiveInput{WaitSeconds: sqstest.Seconds(10)})
	if err != nil || len(got) != 1 || got[0].ReceiveCount() != 2 {
		t.Fatalf("long poll: %+v, %v", got, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("woke after %v, want about 1s", took)
	}
}

func TestRedriveAndQueueAttributes(t *testing.T) {
	s, clock := newDouble(t, sqstest.Config{})
	url, dlq := s.MustCreateQueueWithDLQ("src.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "5"}, 2)
	a, err := s.GetQueueAttributes(bg(), url, []string{"All"})
	if err != nil || a["FifoQueue"] != "true" || a["ContentBasedDeduplication"] != "true" || a["VisibilityTimeout"] != "5" ||
		a["MaximumMessageSize"] != "1048576" || !strings.Contains(a["RedrivePolicy"], `"maxReceiveCount":2`) ||
		!strings.HasSuffix(a["QueueArn"], ":src.fifo") {
		t.Fatalf("attributes %v, %v", a, err)
	}
	s.MustSend(url, sqstest.SendInput{Body: "x", GroupID: "g"})
	for i := range 2 {
		if got := recv(t, s, url, 1, 5); len(got) != 1 {
			t.Fatalf("receive %d: nothing", i+1)
		}
		clock.Advance(5 * time.Second)
	}
	if got := recv(t, s, url, 1, 5); len(got) != 0 {
		t.Fatalf("third receive past maxReceiveCount 2 delivered %q", bodies(got))
	}
	if got := recv(t, s, dlq, 1, 5); bodies(got) != "x" {
		t.Fatalf("DLQ: %q", bodies(got))
	}
	// A FIFO source needs a FIFO dead-letter queue.
	std := s.MustCreateQueue("std-dlq", nil)
	_ = std
	if _, err := s.CreateQueue(bg(), "bad.fifo", map[string]string{"FifoQueue": "true",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:std-dlq","maxReceiveCount":3}`}); code(err) != "InvalidParameterValue" {
		t.Errorf("FIFO source with a standard DLQ: %v", err)
	}
	if _, err := s.GetQueueURL(bg(), "missing"); code(err) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("missing queue: %v", err)
	}
}

func TestFaultsInTheGoAPI(t *testing.T) {
	m := faults.MustNew(faults.Config{Seed: 1})
	s, _ := newDouble(t, sqstest.Config{Faults: m})
	url := s.MustCreateQueue("q", nil)

	_ = m.SetRules(faults.Rule{Kind: faults.Throttle, Rate: 1, Op: "SendMessage"})
	if _, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "x"}); code(err) != "RequestThrottled" {
		t.Errorf("throttled send: %v", err)
	}
	_ = m.SetRules(faults.Rule{Kind: faults.Lost, Rate: 1, Op: "SendMessage"})
	if _, err := s.SendMessage(bg(), url, sqstest.SendInput{Body: "y"}); !errors.Is(err, sqstest.ErrResponseLost) {
		t.Errorf("lost send: %v", err)
	}
	_ = m.SetRules(faults.Rule{Kind: faults.Lost, Rate: 1, Op: "ReceiveMessage"})
	if _, err := s.ReceiveMessage(bg(), url, sqstest.ReceiveInput{VisibilitySeconds: sqstest.Seconds(30)}); !errors.Is(err, sqstest.ErrResponseLost) {
		t.Errorf("lost receive: %v", err)
	}
	_ = m.SetRules()
	// The throttled send did nothing; the lost send enqueued "y"; the lost
	// receive hid it and counted a receive.
	a, _ := s.GetQueueAttributes(bg(), url, []string{"All"})
	if a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Errorf("after the faults: %v", a)
	}
	calls := s.Calls("SendMessage")
	if len(calls) != 2 || calls[0].Fault != faults.Throttle || calls[1].Fault != faults.Lost {
		t.Errorf("recorded sends: %+v", calls)
	}
	if st := m.Stats()["ReceiveMessage"]; st.Faults[faults.Lost] != 1 {
		t.Errorf("model stats: %+v", st)
	}
}

func TestGetQueueAttributesNames(t *testing.T) {
	s, _ := newDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	a, err := s.GetQueueAttributes(bg(), url, []string{"VisibilityTimeout", "RedriveAllowPolicy"})
	if err != nil || a["VisibilityTimeout"] != "30" || len(a) != 1 {
		t.Errorf("known names: %v, %v", a, err)
	}
	if _, err := s.GetQueueAttributes(bg(), url, []string{"Colour"}); code(err) != "InvalidAttributeName" {
		t.Errorf("unknown name: %v", err)
	}
}
