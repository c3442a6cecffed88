package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/worker"
)

// A mixed DLQ: records of three reasons from two source queues, two error
// texts that differ only in ids and numbers, and a message SQS moved
// itself. Stats counts them, folds the two texts into one class, and leaves
// every message in the DLQ, visible again at once.
func TestStatsMixedDLQ(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	orders, redriveDLQ := emu.CreateQueueWithDLQ(t, "orders", 1)
	billing := emu.CreateQueue(t, "billing", nil)
	dlqURL := redriveDLQ
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	put(t, c, dlqURL,
		failed{body: `{"order":1}`, record: record("permanent", orders, `exec sh: exit status 65: order "A-17" rejected`, t0)},
		failed{body: `{"order":2}`, record: record("permanent", orders, `exec sh: exit status 65: order "B-99" rejected`, t0.Add(time.Hour))},
		failed{body: `{"order":3}`, record: record("max_attempts", orders, "POST http://10.0.0.7:8080/work: status 503 after 30.5s (request 9f8e7d6c5b4a39281706)", t0.Add(2*time.Hour))},
		failed{body: `{"bill":4}`, record: record("max_attempts", billing, "POST http://10.0.0.9:8080/work: status 503 after 12s (request 0a1b2c3d4e5f60718293)", t0.Add(3*time.Hour))},
		failed{body: `{"bill":5}`, record: record("crash_loop", billing, "delivered 11 times without a recorded outcome", t0.Add(4*time.Hour))},
	)
	// SQS's own redrive: received past maxReceiveCount 1 on orders.
	sqsRedrive(t, c, orders, `{"order":6}`)

	d := mustOpen(t, c, dlqURL)
	st, err := d.Stats(testCtx(t), StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Examined != 6 || st.Sampled() {
		t.Fatalf("examined %d (stop %q), want all 6", st.Examined, st.Stop)
	}
	want := map[string]int{"permanent": 2, "max_attempts": 2, "crash_loop": 1, "sqs_redrive": 1}
	for _, g := range st.ByReason {
		if want[g.Key] != g.Count {
			t.Errorf("reason %s: %d, want %d", g.Key, g.Count, want[g.Key])
		}
	}
	if len(st.ByReason) != 4 {
		t.Errorf("reasons %v, want 4", st.ByReason)
	}
	// fauxqs sets no DeadLetterQueueSourceArn (sqstest does, as SQS).
	if len(st.BySource) != 3 || st.BySource[0].Key != orders || st.BySource[0].Count != 3 {
		t.Errorf("sources %+v, want orders 3, billing 2, unknown 1", st.BySource)
	}
	if len(st.ByClass) != 4 {
		t.Errorf("error classes %+v: want 4 (ids, numbers and quoted values folded)", st.ByClass)
	}
	for _, g := range st.ByClass {
		if strings.HasPrefix(g.Key, "POST") && (g.Count != 2 || !g.Oldest.Equal(t0.Add(2*time.Hour)) || !g.Newest.Equal(t0.Add(3*time.Hour))) {
			t.Errorf("class %+v: want 2, oldest %s, newest %s", g, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
		}
	}
	if out := report(t, st); !strings.Contains(out, "none deleted") || strings.Contains(out, "SAMPLE") {
		t.Errorf("stats output:\n%s", out)
	}
	// Released, not deleted: all six are receivable again at once.
	wantReleased(t, c, dlqURL, 6, "stats")
}

// Selective redrive by reason: the permanent failures go back to the
// queue each came from, with their own attributes and without the record;
// the others stay in the DLQ, visible at once, untouched.
func TestRedriveByReason(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	orders := emu.CreateQueue(t, "orders", nil)
	billing := emu.CreateQueue(t, "billing", nil)
	dlqURL := emu.CreateQueue(t, "shared-dlq", nil)
	now := time.Now().UTC()
	rec := record("permanent", billing, "bad invoice", now)
	rec.DroppedAttributes = []string{"zz-trace"}
	put(t, c, dlqURL,
		failed{body: "o1", attrs: map[string]string{"tenant": "t1"}, record: record("permanent", orders, "bad order", now)},
		failed{body: "b1", attrs: map[string]string{"tenant": "t2"}, record: rec},
		failed{body: "o2", record: record("max_attempts", orders, "timeout", now)},
		failed{body: "o3", record: record("crash_loop", orders, "crashed", now)},
	)
	d := mustOpen(t, c, dlqURL)
	sum, err := d.Redrive(testCtx(t), RedriveOptions{Filter: Filter{Reasons: []string{"permanent"}}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Moved != 2 || sum.Skipped[skipNotSelected] != 2 || sum.FailedCount() != 0 || sum.Stop != StopEmpty {
		t.Fatalf("summary %+v: want 2 moved, 2 not selected, to the end of the DLQ", sum)
	}
	if sum.MovedTo[orders] != 1 || sum.MovedTo[billing] != 1 || sum.NotRestored["zz-trace"] != 1 {
		t.Errorf("moved to %v, not restored %v", sum.MovedTo, sum.NotRestored)
	}
	if out := report(t, sum); !strings.Contains(out, "zz-trace") {
		t.Errorf("summary does not name the attribute it could not restore:\n%s", out)
	}
	for queue, want := range map[string]string{orders: "o1", billing: "b1"} {
		got := drain(t, c, queue, true)
		if len(got) != 1 || aws.ToString(got[0].Body) != want {
			t.Fatalf("%s holds %d messages, want exactly %q", queue, len(got), want)
		}
		m := got[0]
		if _, ok := m.MessageAttributes[worker.FailureAttribute]; ok {
			t.Errorf("%s: the failure record went along", want)
		}
		if m.MessageAttributes["tenant"].StringValue == nil {
			t.Errorf("%s: attributes %v, want tenant kept", want, m.MessageAttributes)
		}
	}
	left := bodies(drain(t, c, dlqURL, false))
	if len(left) != 2 || left["o2"].Body == nil || left["o3"].Body == nil {
		t.Errorf("DLQ holds %v after the redrive, want o2 and o3, visible at once", left)
	}
}

// --match selects by error text or body; --to overrides the source, and a
// message SQS moved itself (no record, and fauxqs sets no
// DeadLetterQueueSourceArn) moves only with --to.
func TestRedriveByMatchAndTo(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	orders, dlqURL := emu.CreateQueueWithDLQ(t, "orders", 1)
	fixed := emu.CreateQueue(t, "orders-fixed", nil)
	now := time.Now().UTC()
	put(t, c, dlqURL,
		failed{body: `{"customer":42}`, record: record("max_attempts", orders, "connection refused: db-7", now)},
		failed{body: `{"customer":43}`, record: record("max_attempts", orders, "connection refused: db-8", now)},
		failed{body: `{"customer":44}`, record: record("max_attempts", orders, "validation failed", now)},
	)
	sqsRedrive(t, c, orders, `{"customer":45}`)
	d := mustOpen(t, c, dlqURL)
	// Without --to, the record-less message has no known source.
	sum, err := d.Redrive(testCtx(t), RedriveOptions{Filter: Filter{Match: regexp.MustCompile(`refused|"customer":45`)}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Moved != 2 || sum.Failed[failNoSource] != 1 || sum.Skipped[skipNotSelected] != 1 {
		t.Fatalf("summary %+v: want 2 moved, 1 failed for no source, 1 not selected", sum)
	}
	if got := bodies(drain(t, c, orders, true)); len(got) != 2 || got[`{"customer":42}`].Body == nil {
		t.Errorf("orders holds %v, want customers 42 and 43", got)
	}
	d = mustOpen(t, c, dlqURL)
	sum, err = d.Redrive(testCtx(t), RedriveOptions{Filter: Filter{Reasons: []string{ReasonSQSRedrive}}, To: fixed})
	if err != nil || sum.Moved != 1 {
		t.Fatalf("redrive --reason sqs_redrive --to: %+v, %v", sum, err)
	}
	if got := drain(t, c, fixed, true); len(got) != 1 || aws.ToString(got[0].Body) != `{"customer":45}` {
		t.Errorf("orders-fixed holds %d messages, want the one SQS had moved", len(got))
	}
	if left := drain(t, c, dlqURL, false); len(left) != 1 {
		t.Errorf("DLQ holds %d, want 1 (customer 44)", len(left))
	}
}

// FIFO: the group goes along, the destination gets a fresh deduplication
// id, so a message whose original was sent a moment ago (content-based
// deduplication, same body) is not dropped as a duplicate.
func TestRedriveFIFO(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	fifo := map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}
	source := emu.CreateQueue(t, "payments.fifo", fifo)
	dlqURL := emu.CreateQueue(t, "payments-dlq.fifo", map[string]string{"FifoQueue": "true"})
	standard := emu.CreateQueue(t, "standard", nil)
	// The original went through the source a moment ago: its content hash
	// is in the source's five-minute deduplication window.
	if _, err := c.SendMessage(testCtx(t), &sqs.SendMessageInput{QueueUrl: &source, MessageBody: aws.String("pay 1"), MessageGroupId: aws.String("acct-1")}); err != nil {
		t.Fatal(err)
	}
	drain(t, c, source, true)
	now := time.Now().UTC()
	put(t, c, dlqURL,
		failed{body: "pay 1", group: "acct-1", record: record("permanent", source, "declined", now)},
		failed{body: "pay 2", group: "acct-2", record: record("permanent", source, "declined", now)},
	)
	d := mustOpen(t, c, dlqURL)
	if _, err := d.Redrive(testCtx(t), RedriveOptions{To: standard}); !isInputError(err) {
		t.Errorf("FIFO DLQ to a standard --to: err %v, want an input error", err)
	}
	sum, err := d.Redrive(testCtx(t), RedriveOptions{})
	if err != nil || sum.Moved != 2 {
		t.Fatalf("redrive: %+v, %v", sum, err)
	}
	got := bodies(drain(t, c, source, true))
	if len(got) != 2 {
		t.Fatalf("source holds %v, want both: a redriven message was dropped as a duplicate", got)
	}
	if g := got["pay 1"].Attributes["MessageGroupId"]; g != "acct-1" {
		t.Errorf("pay 1 in group %q, want acct-1", g)
	}
	if len(drain(t, c, dlqURL, false)) != 0 {
		t.Error("the DLQ still holds messages that were moved")
	}
}

func isInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// Interrupted half-way (SIGINT cancels the context): the messages moved are
// in the source once, the others in the DLQ, visible at once; nothing lost,
// nothing doubled.
func TestRedriveInterruptedLosesNothing(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	source, dlqURL := emu.CreateQueueWithDLQ(t, "jobs", 5) // 5: never reached, each message is received from jobs once
	const n = 20
	var msgs []failed
	for i := range n {
		msgs = append(msgs, failed{body: fmt.Sprint("job-", i), record: record("max_attempts", source, "boom", time.Now())})
	}
	put(t, c, dlqURL, msgs...)
	d := mustOpen(t, c, dlqURL)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	sum, err := d.Redrive(ctx, RedriveOptions{Rate: 200, Progress: &cancelAfter{n: 7, cancel: cancel}})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted() || sum.Moved != 7 {
		t.Fatalf("summary %+v: want interrupted after 7 moved", sum)
	}
	moved := bodies(drain(t, c, source, true))
	left := bodies(drain(t, c, dlqURL, false))
	if len(moved) != 7 || len(left) != n-7 {
		t.Fatalf("source holds %d, DLQ %d (visible now); want 7 and %d", len(moved), len(left), n-7)
	}
	for b := range moved {
		if _, dup := left[b]; dup {
			t.Errorf("%s is in both queues", b)
		}
	}
}

// A dry run sends nothing, deletes nothing, and leaves every message
// visible.
func TestRedriveDryRunChangesNothing(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	source, dlqURL := emu.CreateQueueWithDLQ(t, "jobs", 5) // 5: never reached, each message is received from jobs once
	put(t, c, dlqURL,
		failed{body: "a", record: record("permanent", source, "x", time.Now())},
		failed{body: "b", record: record("max_attempts", source, "y", time.Now())},
	)
	d := mustOpen(t, c, dlqURL)
	sum, err := d.Redrive(testCtx(t), RedriveOptions{DryRun: true, Filter: Filter{Reasons: []string{"permanent"}}})
	if err != nil || sum.Moved != 1 || sum.MovedTo[source] != 1 || sum.Skipped[skipNotSelected] != 1 {
		t.Fatalf("dry run: %+v, %v; want 1 would move to the source, 1 not selected", sum, err)
	}
	if out := report(t, sum); !strings.Contains(out, "would move") {
		t.Errorf("summary does not say it was a dry run:\n%s", out)
	}
	if got := drain(t, c, source, false); len(got) != 0 {
		t.Errorf("the dry run sent %d messages", len(got))
	}
	left := drain(t, c, dlqURL, false)
	if len(left) != 2 {
		t.Fatalf("DLQ hands out %d messages after the dry run, want both at once", len(left))
	}
	for _, m := range left {
		var rec worker.FailureRecord
		if err := json.Unmarshal([]byte(aws.ToString(m.MessageAttributes[worker.FailureAttribute].StringValue)), &rec); err != nil || rec.Reason == "" {
			t.Errorf("message %s lost its record: %v", aws.ToString(m.Body), err)
		}
	}
}

// A huge DLQ is sampled: the scan stops at --limit and says so.
func TestStatsSamplesUpToTheLimit(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	dlqURL := emu.CreateQueue(t, "big-dlq", nil)
	var msgs []failed
	for i := range 25 {
		msgs = append(msgs, failed{body: fmt.Sprint(i), record: record("permanent", "q", fmt.Sprintf("id %d failed", i), time.Now())})
	}
	put(t, c, dlqURL, msgs...)
	d := mustOpen(t, c, dlqURL)
	st, err := d.Stats(testCtx(t), StatsOptions{Limit: 12})
	if err != nil {
		t.Fatal(err)
	}
	if st.Examined != 12 || !st.Sampled() || st.Approximate != 25 || len(st.ByClass) != 1 {
		t.Errorf("stats %+v: want 12 examined of 25, sampled, one class", st)
	}
	if out := report(t, st); !strings.Contains(out, "SAMPLE") {
		t.Errorf("output does not say it is a sample:\n%s", out)
	}
	wantReleased(t, c, dlqURL, 25, "stats")
}

// A --dlq that is not a queue is the user's mistake.
func TestOpenNotAQueue(t *testing.T) {
	emu := fauxqs.Start(t)
	_, err := Open(testCtx(t), emu.SQS(t), "http://sqs.us-east-1.localhost:1/000000000000/no-such-queue")
	if !isInputError(err) || !strings.Contains(err.Error(), "no such queue") {
		t.Errorf("err = %v, want an input error saying no such queue", err)
	}
}

// Show prints one JSON object per selected message and consumes nothing.
func TestShowJSONLines(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	dlqURL := emu.CreateQueue(t, "dlq", nil)
	put(t, c, dlqURL,
		failed{body: `{"a":1}`, attrs: map[string]string{"k": "v"}, record: record("permanent", "src", "no", time.Now())},
		failed{body: `{"a":2}`, record: record("max_attempts", "src", "again", time.Now())},
	)
	d := mustOpen(t, c, dlqURL)
	var out bytes.Buffer
	res, err := d.Show(testCtx(t), ShowOptions{Filter: Filter{Reasons: []string{"permanent"}}}, &out)
	if err != nil || res.Shown != 1 || res.Examined != 2 {
		t.Fatalf("show: %+v, %v", res, err)
	}
	var m ShownMessage
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", out.String(), err)
	}
	if m.Body != `{"a":1}` || m.Failure == nil || m.Failure.Reason != "permanent" || m.Attributes["k"].StringValue != "v" {
		t.Errorf("shown %+v", m)
	}
	if _, ok := m.Attributes[worker.FailureAttribute]; ok {
		t.Error("the raw record is among the attributes; it is decoded into failure")
	}
	wantReleased(t, c, dlqURL, 2, "show")
}

// A redrive to the DLQ itself would receive what it sends until its time
// limit: refused up front.
func TestRedriveToItselfRefused(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	dlqURL := emu.CreateQueue(t, "loop-dlq", nil)
	d := mustOpen(t, c, dlqURL)
	if _, err := d.Redrive(testCtx(t), RedriveOptions{To: dlqURL}); !isInputError(err) || !strings.Contains(err.Error(), "DLQ itself") {
		t.Errorf("err = %v, want an input error: the DLQ itself", err)
	}
}

// On a FIFO DLQ a scan sees the head of each group only (a held message
// hides its group); the output says so, and everything is released.
func TestStatsFIFOSaysWhatItCannotSee(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	dlqURL := emu.CreateQueue(t, "f-dlq.fifo", map[string]string{"FifoQueue": "true"})
	put(t, c, dlqURL,
		failed{body: "a1", group: "a", record: record("permanent", "q", "x", time.Now())},
		failed{body: "a2", group: "a", record: record("permanent", "q", "x", time.Now())},
		failed{body: "b1", group: "b", record: record("permanent", "q", "x", time.Now())},
	)
	d := mustOpen(t, c, dlqURL)
	st, err := d.Stats(testCtx(t), StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// fauxqs hands out one message per group per receive, SQS up to ten.
	if st.Examined < 2 || st.Examined > 3 {
		t.Errorf("examined %d, want the head of each group (2 here, 3 on SQS)", st.Examined)
	}
	if out := report(t, st); !strings.Contains(out, "FIFO: a scan sees only the first messages of each message group") {
		t.Errorf("output does not warn about FIFO groups:\n%s", out)
	}
	if got := drain(t, c, dlqURL, true); len(got) != 3 {
		t.Errorf("after stats %d messages could be received and deleted, want 3", len(got))
	}
}
