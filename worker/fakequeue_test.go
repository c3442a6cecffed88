package worker

// The engine's SQS in tests: fakeQueue is worker.Queue (and, through dlq,
// worker.DeadLetterQueue) on top of the shared strict double
// internal/sqstest, so every engine test runs against SQS's documented
// rules (12 h from receive, several FIFO messages per group per receive,
// FIFO deduplication, no deduplication id on standard queues, batch limits).
// It translates as worker/awssqs does (whole seconds, truncated; a zero
// receive visibility omitted, so the queue's default applies; the same
// lease-lost error codes) and adds what engine tests need on top: an
// injected clock, whole-call and per-entry failures at the Queue interface,
// hooks around every call, long polls the test can end or hang, and a record
// of every call so tests can check what the engine asked for and when.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faults"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
)

// Operation names in the fake's call record, fault tables and hooks.
const (
	opReceive          = "Receive"
	opDelete           = "Delete"
	opChangeVisibility = "ChangeVisibility"
	opSend             = "Send" // the dead-letter queue
)

// sqsMaxVisibility is the longest visibility SQS accepts.
const sqsMaxVisibility = sqstest.MaxVisibility

// testClock is sqstest's manual clock: the engine and the double read it,
// and Advance wakes the double's long polls.
type testClock = sqstest.ManualClock

func newTestClock() *testClock {
	return sqstest.NewManualClock(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC))
}

// fakeCall is the record of one call to the fake.
type fakeCall struct {
	Seq     int       // 1-based, in the order calls began
	Op      string    // opReceive, opDelete, opChangeVisibility, opSend
	Start   time.Time // wall clock when the call began
	End     time.Time // wall clock when it returned
	QStart  time.Time // the queue's clock when the call began
	CtxDone bool      // the caller's context was already done on entry

	Max        int           // Receive
	Visibility time.Duration // Receive
	Got        []*Message    // Receive: what it returned

	Receipts []string           // Delete
	Changes  []VisibilityChange // ChangeVisibility

	DeadLetter *DeadLetter // Send

	Errs []error // per-entry results of a batch call
	Err  error   // whole-call error
}

// entryErr is the result of entry i, counting a whole-call failure.
func (c fakeCall) entryErr(i int) error {
	if c.Err != nil {
		return c.Err
	}
	if i < len(c.Errs) {
		return c.Errs[i]
	}
	return nil
}

// fakeMsgState is a snapshot of one message for assertions.
type fakeMsgState struct {
	ID              string
	ReceiveCount    int
	Receipt         string
	Deleted         bool
	VisibleAt       time.Time
	FirstReceivedAt time.Time
}

type putOpt func(*sqstest.SendInput)

func withAttrs(a map[string]Attribute) putOpt {
	return func(in *sqstest.SendInput) { in.Attributes = toDoubleAttrs(a) }
}

// withPriorReceives makes the message look delivered n times already, so its
// next delivery has ReceiveCount n+1.
func withPriorReceives(n int) putOpt { return func(in *sqstest.SendInput) { in.PriorReceives = n } }

// withGroup sets the message group and deduplication ids. SQS refuses a
// deduplication id on a standard queue, so a test that needs one uses a
// FIFO fake (newFakeFIFOQueue); a group id alone is a fair-queue message.
func withGroup(group, dedup string) putOpt {
	return func(in *sqstest.SendInput) { in.GroupID, in.DeduplicationID = group, dedup }
}

type delivery struct {
	id string
	at time.Time // the queue's clock at delivery
}

type fakeQueue struct {
	t        testing.TB // nil: report problems by panicking (newFIFOQueue without t)
	queueURL string
	dlqURL   string
	fifo     bool
	waitTime time.Duration // how long an empty Receive long-polls

	srvOnce sync.Once
	srv     *sqstest.Server
	model   *faults.Model

	mu        sync.Mutex
	now       func() time.Time
	clock     *testClock // nil: real time
	used      bool       // the double exists; the clock is fixed
	stale     sqstest.StaleDelete
	changed   chan struct{} // closed and replaced on every call and state change
	interrupt chan struct{} // closed and replaced when long polls must look again
	// The engine sees receipt handles "ID#ReceiveCount", which tests can
	// name; the fake maps them to the double's opaque ones.
	byReceipt  map[string]delivery
	toDouble   map[string]string
	fromDouble map[string]string
	receipts   map[string][]string // message id -> receipt handles, in delivery order
	calls      []fakeCall
	faults     map[string]error   // whole-call faults that last until cleared
	oneShot    map[string][]error // whole-call faults for the next calls, in order
	entryFault func(op, msgID, receipt string) error
	before     func(c fakeCall)
	after      func(c fakeCall)
	expired    bool // every long poll ends at once, empty
	endGen     int  // bumped to end the long polls under way, empty
	hung       bool // receives hang, delivering nothing, until their context ends
}

// newFakeQueue is a standard queue "jobs" with a standard dead-letter queue.
func newFakeQueue(t testing.TB) *fakeQueue {
	return newFake(t, "jobs")
}

// newFakeFIFOQueue is a FIFO queue "jobs.fifo" with content-based
// deduplication and a FIFO dead-letter queue (without it: SQS's rule that a
// FIFO send needs a deduplication id then applies to the dead letters).
func newFakeFIFOQueue(t testing.TB) *fakeQueue {
	return newFake(t, "jobs.fifo")
}

func newFake(t testing.TB, name string) *fakeQueue {
	const base = "https://sqs.eu-west-1.amazonaws.com/123456789012/"
	dlq, fifo := strings.CutSuffix(name, ".fifo")
	dlq += "-dlq"
	if fifo {
		dlq += ".fifo"
	}
	return &fakeQueue{
		t:          t,
		queueURL:   base + name,
		dlqURL:     base + dlq,
		fifo:       fifo,
		waitTime:   5 * time.Second,
		now:        time.Now,
		stale:      sqstest.StaleDeleteInvalid,
		changed:    make(chan struct{}),
		interrupt:  make(chan struct{}),
		byReceipt:  map[string]delivery{},
		toDouble:   map[string]string{},
		fromDouble: map[string]string{},
		receipts:   map[string][]string{},
		faults:     map[string]error{},
		oneShot:    map[string][]error{},
	}
}

func (q *fakeQueue) errorf(format string, args ...any) {
	if q.t == nil {
		panic(fmt.Sprintf(format, args...))
	}
	q.t.Helper()
	q.t.Errorf(format, args...)
}

func (q *fakeQueue) fatalf(format string, args ...any) {
	if q.t == nil {
		panic(fmt.Sprintf(format, args...))
	}
	q.t.Helper()
	q.t.Fatalf(format, args...)
}

// double returns the strict SQS behind the fake, creating it (and the two
// queues) on first use with the clock chosen by then.
func (q *fakeQueue) double() *sqstest.Server {
	q.srvOnce.Do(func() {
		q.mu.Lock()
		q.used = true
		var clock sqstest.Clock
		if q.clock != nil {
			clock = q.clock
		}
		stale := q.stale
		q.mu.Unlock()
		q.model = faults.MustNew(faults.Config{Seed: 1})
		q.srv = sqstest.New(sqstest.Config{Clock: clock, Faults: q.model, StaleDelete: stale,
			URLBase: "https://sqs.eu-west-1.amazonaws.com", Account: "123456789012", Region: "eu-west-1"})
		attrs := map[string]string{}
		if q.fifo {
			attrs = map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}
		}
		q.srv.MustCreateQueue(nameOf(q.dlqURL), attrs)
		q.srv.MustCreateQueue(nameOf(q.queueURL), attrs)
	})
	return q.srv
}

func nameOf(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// faultModel is the double's fault model (throttling, 5xx, lost responses by
// SQS action name: "ReceiveMessage", "DeleteMessageBatch",
// "ChangeMessageVisibilityBatch", "SendMessage"); it injects nothing until a
// test sets rules.
func (q *fakeQueue) faultModel() *faults.Model {
	q.double()
	return q.model
}

// server is the strict double itself, for assertions the fake lacks.
func (q *fakeQueue) server() *sqstest.Server { return q.double() }

// useClock drives visibility timeouts by c instead of real time: messages
// only become visible again when the test advances c. Call it before the
// queue is first used.
func (q *fakeQueue) useClock(c *testClock) {
	q.mu.Lock()
	used := q.used
	q.now, q.clock = c.Now, c
	q.mu.Unlock()
	if used {
		q.fatalf("fake sqs: useClock after the queue was first used")
	}
	c.Subscribe(q.bump)
}

// staleDeletesIgnored makes a delete with the receipt handle of an earlier
// receive succeed without deleting, which AWS documents as possible ("the
// request will still succeed, but the message might not be deleted"); by
// default such an entry fails with ReceiptHandleIsInvalid. Call it before
// the queue is first used.
func (q *fakeQueue) staleDeletesIgnored() {
	q.mu.Lock()
	q.stale = sqstest.StaleDeleteIgnored
	q.mu.Unlock()
}

func (q *fakeQueue) clockNow() time.Time {
	q.mu.Lock()
	now := q.now
	q.mu.Unlock()
	return now()
}

// dlq returns the fake's dead-letter queue; its sends are recorded with the
// queue's calls, so their order against deletes can be checked.
func (q *fakeQueue) dlq() DeadLetterQueue { return fakeDLQ{q} }

type fakeDLQ struct{ q *fakeQueue }

func (d fakeDLQ) Send(ctx context.Context, dl *DeadLetter) error { return d.q.sendDeadLetter(ctx, dl) }

func toDoubleAttrs(a map[string]Attribute) map[string]sqstest.MessageAttribute {
	if len(a) == 0 {
		return nil
	}
	out := make(map[string]sqstest.MessageAttribute, len(a))
	for k, v := range a {
		out[k] = sqstest.MessageAttribute{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: slices.Clone(v.BinaryValue)}
	}
	return out
}

func fromDoubleAttrs(a map[string]sqstest.MessageAttribute) map[string]Attribute {
	if len(a) == 0 {
		return nil
	}
	out := make(map[string]Attribute, len(a))
	for k, v := range a {
		out[k] = Attribute{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: slices.Clone(v.BinaryValue)}
	}
	return out
}

// put enqueues a message and returns its ID. A FIFO queue needs a group
// (withGroup); without one the fake uses group "g".
func (q *fakeQueue) put(body string, opts ...putOpt) string {
	in := sqstest.SendInput{Body: body}
	for _, o := range opts {
		o(&in)
	}
	if q.fifo && in.GroupID == "" {
		in.GroupID = "g"
	}
	srv := q.double()
	r, err := srvSend(srv, q.queueURL, in)
	if err != nil {
		q.fatalf("fake sqs: put %q: %v", body, err)
		return ""
	}
	if r.Duplicate {
		q.fatalf("fake sqs: put %q: dropped as a duplicate by FIFO deduplication", body)
	}
	q.bump()
	return r.MessageID
}

func srvSend(srv *sqstest.Server, url string, in sqstest.SendInput) (r sqstest.SendResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return srv.MustSend(url, in), nil
}

func (q *fakeQueue) putN(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = q.put(fmt.Sprintf("body %d", i))
	}
	return ids
}

// setFault makes every call of op fail with err until setFault(op, nil).
// A Receive long-polling when the fault is set fails at once.
func (q *fakeQueue) setFault(op string, err error) {
	q.mu.Lock()
	if err == nil {
		delete(q.faults, op)
	} else {
		q.faults[op] = err
	}
	q.interruptLocked()
	q.bumpLocked()
	q.mu.Unlock()
}

// failNext makes the next len(errs) calls of op fail with errs, in order.
func (q *fakeQueue) failNext(op string, errs ...error) {
	q.mu.Lock()
	q.oneShot[op] = append(q.oneShot[op], errs...)
	q.mu.Unlock()
}

// setEntryFault injects per-entry failures of Delete and ChangeVisibility:
// f is asked about every entry whose receipt handle the fake handed out and
// returns the entry's error, or nil to let SQS decide. f runs with the fake
// locked, so it must not call the fake.
func (q *fakeQueue) setEntryFault(f func(op, msgID, receipt string) error) {
	q.mu.Lock()
	q.entryFault = f
	q.mu.Unlock()
}

// setHooks installs functions called, outside the fake's lock, with the
// record of each call: before when it begins (after its fault is decided)
// and after when its effects are applied, just before it returns. Either may
// block to hold the call.
func (q *fakeQueue) setHooks(before, after func(c fakeCall)) {
	q.mu.Lock()
	q.before, q.after = before, after
	q.mu.Unlock()
}

// expireLongPolls ends every Receive under way, and any later one, at once
// with no messages, as when the long-poll wait runs out. The engine lets
// pending receives finish at shutdown; tests call this to not wait for them.
func (q *fakeQueue) expireLongPolls() {
	q.mu.Lock()
	q.expired = true
	q.interruptLocked()
	q.bumpLocked()
	q.mu.Unlock()
}

// endLongPolls ends the Receives under way now, empty, as when their wait
// runs out; later ones long-poll as usual.
func (q *fakeQueue) endLongPolls() {
	q.mu.Lock()
	q.endGen++
	q.interruptLocked()
	q.bumpLocked()
	q.mu.Unlock()
}

// hangReceives makes every Receive, under way or later, deliver nothing and
// ignore its long-poll wait, returning only when its context ends: a
// connection that silently died.
func (q *fakeQueue) hangReceives() {
	q.mu.Lock()
	q.hung = true
	q.interruptLocked()
	q.bumpLocked()
	q.mu.Unlock()
}

func (q *fakeQueue) bump() {
	q.mu.Lock()
	q.bumpLocked()
	q.mu.Unlock()
}

func (q *fakeQueue) bumpLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *fakeQueue) interruptLocked() {
	close(q.interrupt)
	q.interrupt = make(chan struct{})
}

func (q *fakeQueue) checkBatch(op string, n int) {
	if n < 1 || n > 10 {
		q.errorf("fake sqs: %s batch with %d entries; SQS takes 1 to 10", op, n)
	}
}

// begin records a call and decides its whole-call fault.
func (q *fakeQueue) begin(ctx context.Context, c fakeCall) (int, error) {
	q.mu.Lock()
	c.Seq = len(q.calls) + 1
	c.Start = time.Now()
	c.QStart = q.now()
	c.CtxDone = ctx.Err() != nil
	var err error
	if errs := q.oneShot[c.Op]; len(errs) > 0 {
		err, q.oneShot[c.Op] = errs[0], errs[1:]
	} else if e := q.faults[c.Op]; e != nil {
		err = e
	} else if c.Op != opReceive && ctx.Err() != nil {
		err = ctx.Err()
	}
	idx := len(q.calls)
	q.calls = append(q.calls, c)
	before := q.before
	q.bumpLocked()
	q.mu.Unlock()
	if before != nil {
		before(c)
	}
	return idx, err
}

// end completes the record of call idx and runs the after hook with it.
func (q *fakeQueue) end(idx int, fill func(c *fakeCall)) {
	q.mu.Lock()
	c := &q.calls[idx]
	if fill != nil {
		fill(c)
	}
	c.End = time.Now()
	rec, after := *c, q.after
	q.bumpLocked()
	q.mu.Unlock()
	if after != nil {
		after(rec)
	}
}

// seconds is what worker/awssqs sends for d: whole seconds, truncated.
func seconds(d time.Duration) int { return int(d / time.Second) }

func (q *fakeQueue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*Message, error) {
	if max < 1 || max > 10 {
		q.errorf("fake sqs: Receive asked for %d messages; SQS takes 1 to 10", max)
	}
	if visibility < 0 || visibility > sqsMaxVisibility {
		q.errorf("fake sqs: Receive asked for visibility %s", visibility)
	}
	srv := q.double()
	idx, err := q.begin(ctx, fakeCall{Op: opReceive, Max: max, Visibility: visibility})
	in := sqstest.ReceiveInput{MaxMessages: max, AttemptID: ReceiveAttemptID(ctx)}
	// The SDK omits a zero VisibilityTimeout: the queue's default applies.
	if s := seconds(visibility); s > 0 {
		in.VisibilitySeconds = sqstest.Seconds(s)
	}
	q.mu.Lock()
	gen := q.endGen
	q.mu.Unlock()
	deadline := time.Now().Add(q.waitTime)
	var got []*Message
	for err == nil {
		q.mu.Lock()
		err = q.faults[opReceive]
		hung, ended := q.hung, q.expired || q.endGen != gen
		interrupt := q.interrupt
		q.mu.Unlock()
		if err == nil {
			err = ctx.Err()
		}
		if err != nil || (ended && !hung) {
			break
		}
		if hung {
			select {
			case <-ctx.Done():
			case <-interrupt:
			}
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		// The double long-polls, for what is left of the fake's wait (a
		// deadline, as WaitTimeSeconds is whole seconds); the fake stops it
		// when a test interrupts.
		pollCtx, cancel := context.WithTimeout(ctx, left)
		go func() {
			select {
			case <-interrupt:
				cancel()
			case <-pollCtx.Done():
			}
		}()
		in.WaitSeconds = sqstest.Seconds(min(int(math.Ceil(left.Seconds())), sqstest.MaxWaitSeconds))
		msgs, derr := srv.ReceiveMessage(pollCtx, q.queueURL, in)
		pollErr := pollCtx.Err()
		cancel()
		if derr != nil && ctx.Err() == nil && pollErr != nil {
			// Interrupted (look again) or out of time (the loop ends).
			continue
		}
		if derr != nil {
			err = fmt.Errorf("fake sqs: receive: %w", derr)
			break
		}
		got = q.delivered(srv, msgs)
		break
	}
	q.end(idx, func(c *fakeCall) { c.Got, c.Err = got, err })
	if err != nil {
		return nil, err
	}
	return got, nil
}

// delivered converts what the double returned and remembers each receipt.
func (q *fakeQueue) delivered(srv *sqstest.Server, msgs []sqstest.Message) []*Message {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]*Message, len(msgs))
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range msgs {
		st, _ := srv.Message(q.queueURL, m.MessageID)
		rh, seen := q.fromDouble[m.ReceiptHandle] // a retried attempt id returns the same handle
		if !seen {
			rh = fmt.Sprintf("%s#%d", m.MessageID, m.ReceiveCount())
			q.fromDouble[m.ReceiptHandle], q.toDouble[rh] = rh, m.ReceiptHandle
			q.byReceipt[rh] = delivery{m.MessageID, st.ReceivedAt}
			q.receipts[m.MessageID] = append(q.receipts[m.MessageID], rh)
		}
		a := m.Attributes
		out[i] = &Message{
			ID:               m.MessageID,
			ReceiptHandle:    rh,
			Body:             m.Body,
			QueueURL:         q.queueURL,
			ReceiveCount:     m.ReceiveCount(),
			SentAt:           millis(a["SentTimestamp"]),
			FirstReceivedAt:  millis(a["ApproximateFirstReceiveTimestamp"]),
			SenderID:         a["SenderId"],
			GroupID:          a["MessageGroupId"],
			DeduplicationID:  a["MessageDeduplicationId"],
			SystemAttributes: maps.Clone(a),
			Attributes:       fromDoubleAttrs(m.MessageAttributes),
		}
	}
	return out
}

func millis(s string) time.Time {
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// toMillis is a time as SQS reports it: milliseconds since the epoch.
func toMillis(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli())
}

func leaseLost(why, receipt string) error {
	return fmt.Errorf("fake sqs: %s (receipt handle %q): %w", why, receipt, ErrLeaseLost)
}

// entryError is what worker/awssqs makes of a failed batch entry: the codes
// that mean the receipt handle is dead wrap ErrLeaseLost.
func entryError(f sqstest.BatchResultError) error {
	switch f.Code {
	case "ReceiptHandleIsInvalid", "AWS.SimpleQueueService.ReceiptHandleIsInvalid",
		"MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight":
		return fmt.Errorf("fake sqs: %s: %s: %w", f.Code, f.Message, ErrLeaseLost)
	case "InvalidParameterValue":
		if strings.Contains(strings.ToLower(f.Message), "receipt handle") {
			return fmt.Errorf("fake sqs: %s: %s: %w", f.Code, f.Message, ErrLeaseLost)
		}
	}
	return fmt.Errorf("fake sqs: %s: %s", f.Code, f.Message)
}

// batch runs one Delete or ChangeVisibility: entry faults first, for the
// receipts the fake handed out, then one batch call to the double with the
// rest, entry ids "0".."n-1" as worker/awssqs sends them.
func (q *fakeQueue) batch(op string, receipts []string, send func(entries []sqstest.BatchEntry) ([]string, []sqstest.BatchResultError, error), mk func(i int) sqstest.BatchEntry) ([]error, error) {
	errs := make([]error, len(receipts))
	var entries []sqstest.BatchEntry
	q.mu.Lock()
	for i, r := range receipts {
		if d, ok := q.byReceipt[r]; ok && q.entryFault != nil {
			if e := q.entryFault(op, d.id, r); e != nil {
				errs[i] = e
				continue
			}
		}
		e := mk(i)
		e.ID = fmt.Sprint(i)
		if d, ok := q.toDouble[r]; ok {
			e.ReceiptHandle = d
		}
		entries = append(entries, e)
	}
	q.mu.Unlock()
	if len(entries) == 0 {
		return errs, nil
	}
	_, failed, err := send(entries)
	if err != nil {
		return nil, fmt.Errorf("fake sqs: %s batch: %w", op, err)
	}
	for _, f := range failed {
		var i int
		fmt.Sscan(f.ID, &i)
		errs[i] = entryError(f)
	}
	return errs, nil
}

func (q *fakeQueue) Delete(ctx context.Context, receipts []string) ([]error, error) {
	q.checkBatch(opDelete, len(receipts))
	srv := q.double()
	idx, err := q.begin(ctx, fakeCall{Op: opDelete, Receipts: slices.Clone(receipts)})
	var errs []error
	if err == nil {
		errs, err = q.batch(opDelete, receipts, func(es []sqstest.BatchEntry) ([]string, []sqstest.BatchResultError, error) {
			return srv.DeleteMessageBatch(ctx, q.queueURL, es)
		}, func(i int) sqstest.BatchEntry { return sqstest.BatchEntry{ReceiptHandle: receipts[i]} })
	}
	q.end(idx, func(c *fakeCall) { c.Errs, c.Err = slices.Clone(errs), err })
	return errs, err
}

func (q *fakeQueue) ChangeVisibility(ctx context.Context, changes []VisibilityChange) ([]error, error) {
	q.checkBatch(opChangeVisibility, len(changes))
	srv := q.double()
	idx, err := q.begin(ctx, fakeCall{Op: opChangeVisibility, Changes: slices.Clone(changes)})
	var errs []error
	if err == nil {
		receipts := make([]string, len(changes))
		for i, c := range changes {
			receipts[i] = c.ReceiptHandle
		}
		errs, err = q.batch(opChangeVisibility, receipts, func(es []sqstest.BatchEntry) ([]string, []sqstest.BatchResultError, error) {
			return srv.ChangeMessageVisibilityBatch(ctx, q.queueURL, es)
		}, func(i int) sqstest.BatchEntry {
			return sqstest.BatchEntry{ReceiptHandle: changes[i].ReceiptHandle, VisibilitySeconds: seconds(changes[i].Timeout)}
		})
	}
	q.end(idx, func(c *fakeCall) { c.Errs, c.Err = slices.Clone(errs), err })
	return errs, err
}

func (q *fakeQueue) sendDeadLetter(ctx context.Context, dl *DeadLetter) error {
	cp := *dl
	cp.Attributes = maps.Clone(dl.Attributes)
	srv := q.double()
	idx, err := q.begin(ctx, fakeCall{Op: opSend, DeadLetter: &cp})
	if err == nil {
		_, err = srv.SendMessage(ctx, q.dlqURL, sqstest.SendInput{Body: cp.Body, Attributes: toDoubleAttrs(cp.Attributes),
			GroupID: cp.GroupID, DeduplicationID: cp.DeduplicationID})
		if err != nil {
			err = fmt.Errorf("fake sqs: send to the dead-letter queue: %w", err)
		}
	}
	q.end(idx, func(c *fakeCall) { c.Err = err })
	return err
}

// callsOf returns the record of every call of the given ops (all when none).
func (q *fakeQueue) callsOf(ops ...string) []fakeCall {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []fakeCall
	for _, c := range q.calls {
		if len(ops) == 0 || slices.Contains(ops, c.Op) {
			out = append(out, c)
		}
	}
	return out
}

// lastSeq is the Seq of the latest call so far.
func (q *fakeQueue) lastSeq() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.calls)
}

func (q *fakeQueue) msg(id string) fakeMsgState {
	st, ok := q.double().Message(q.queueURL, id)
	if !ok {
		q.fatalf("fake sqs: no message %q", id)
		return fakeMsgState{}
	}
	q.mu.Lock()
	rh := q.fromDouble[st.ReceiptHandle]
	q.mu.Unlock()
	return fakeMsgState{
		ID: st.MessageID, ReceiveCount: st.ReceiveCount, Receipt: rh, Deleted: st.Deleted,
		VisibleAt: st.HiddenUntil, FirstReceivedAt: toMillis(st.FirstReceive),
	}
}

// visibleNow reports whether message id can be received right now.
func (q *fakeQueue) visibleNow(id string) bool {
	s := q.msg(id)
	return !s.Deleted && !s.VisibleAt.After(q.clockNow())
}

// deliveredAt is the queue's clock when receipt was handed out.
func (q *fakeQueue) deliveredAt(receipt string) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	d, ok := q.byReceipt[receipt]
	if !ok {
		q.fatalf("fake sqs: receipt %q never issued", receipt)
		return time.Time{}
	}
	return d.at
}

func (q *fakeQueue) deleted(id string) bool { return q.msg(id).Deleted }

func (q *fakeQueue) allDeleted(ids []string) bool {
	for _, id := range ids {
		if !q.deleted(id) {
			return false
		}
	}
	return true
}

// deadLetters returns what the dead-letter queue holds, in send order: a
// send SQS accepted but dropped (a FIFO duplicate) is not there.
func (q *fakeQueue) deadLetters() []*DeadLetter {
	var out []*DeadLetter
	for _, m := range q.double().Peek(q.dlqURL) {
		out = append(out, &DeadLetter{Body: m.Body, Attributes: fromDoubleAttrs(m.Attributes),
			GroupID: m.GroupID, DeduplicationID: m.DeduplicationID})
	}
	return out
}

// visEntry is one ChangeVisibility entry for a receipt handle.
type visEntry struct {
	Seq     int
	Start   time.Time
	QStart  time.Time
	Timeout time.Duration
	Err     error
}

func (q *fakeQueue) visChanges(receipt string) []visEntry {
	var out []visEntry
	for _, c := range q.callsOf(opChangeVisibility) {
		for i, ch := range c.Changes {
			if ch.ReceiptHandle == receipt {
				out = append(out, visEntry{c.Seq, c.Start, c.QStart, ch.Timeout, c.entryErr(i)})
			}
		}
	}
	return out
}

// extendedAfter counts the successful visibility changes of receipt made
// by calls after call seq.
func (q *fakeQueue) extendedAfter(receipt string, seq int) int {
	n := 0
	for _, e := range q.visChanges(receipt) {
		if e.Seq > seq && e.Err == nil {
			n++
		}
	}
	return n
}

// deleteAttempts lists the Delete calls that carried receipt, with the
// entry's result.
func (q *fakeQueue) deleteAttempts(receipt string) []visEntry {
	var out []visEntry
	for _, c := range q.callsOf(opDelete) {
		for i, r := range c.Receipts {
			if r == receipt {
				out = append(out, visEntry{Seq: c.Seq, Start: c.Start, QStart: c.QStart, Err: c.entryErr(i)})
			}
		}
	}
	return out
}

// receiptsOf lists the receipt handles message id was delivered with, in
// delivery order (not the order the Receive calls began: an older long
// poll can get a later delivery).
func (q *fakeQueue) receiptsOf(id string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.receipts[id])
}

// waitFor blocks until cond holds, re-checking it whenever the fake sees a
// call or a state change. It must run on the test goroutine.
func (q *fakeQueue) waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	srv := q.double()
	for {
		q.mu.Lock()
		changed := q.changed
		q.mu.Unlock()
		srvChanged := srv.Changed()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-srvChanged:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// testGate is a one-way door for blocking handlers; open is idempotent.
type testGate struct {
	once sync.Once
	ch   chan struct{}
}

func newTestGate() *testGate { return &testGate{ch: make(chan struct{})} }

func (g *testGate) open()              { g.once.Do(func() { close(g.ch) }) }
func (g *testGate) C() <-chan struct{} { return g.ch }
func (g *testGate) isOpen() bool {
	select {
	case <-g.ch:
		return true
	default:
		return false
	}
}
func (g *testGate) wait(ctx context.Context) error {
	select {
	case <-g.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestFakeQueue checks the fake itself, so engine tests can trust it.
func TestFakeQueue(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	q.useClock(clock)
	ctx := context.Background()
	id := q.put("hello", withAttrs(map[string]Attribute{"k": {DataType: "String", StringValue: "v"}}))

	got, err := q.Receive(ctx, 10, 30*time.Second)
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive = %v, %v; want one message", got, err)
	}
	m1 := got[0]
	if m1.ID != id || m1.ReceiveCount != 1 || m1.Body != "hello" || m1.Attributes["k"].StringValue != "v" {
		t.Fatalf("first delivery = %+v", m1)
	}

	// Hidden: a Receive long-polls until the clock passes the visibility.
	done := make(chan []*Message)
	go func() {
		got, _ := q.Receive(ctx, 1, 30*time.Second)
		done <- got
	}()
	q.waitFor(t, time.Second, "second Receive to start", func() bool { return len(q.callsOf(opReceive)) == 2 })
	clock.Advance(30 * time.Second)
	got = <-done
	if len(got) != 1 || got[0].ReceiveCount != 2 || got[0].ReceiptHandle == m1.ReceiptHandle {
		t.Fatalf("redelivery = %+v; want ReceiveCount 2 with a new receipt handle", got)
	}
	m2 := got[0]

	// The old receipt handle is stale for every operation.
	errs, err := q.ChangeVisibility(ctx, []VisibilityChange{{m1.ReceiptHandle, time.Second}, {m2.ReceiptHandle, time.Minute}})
	if err != nil || !errorsIsLeaseLost(errs[0]) || errs[1] != nil {
		t.Fatalf("ChangeVisibility(stale, current) = %v, %v; want [lease lost, nil]", errs, err)
	}
	if errs, err := q.Delete(ctx, []string{m1.ReceiptHandle}); err != nil || !errorsIsLeaseLost(errs[0]) {
		t.Fatalf("Delete(stale) = %v, %v; want lease lost", errs, err)
	}

	// Per-entry and whole-call faults.
	q.setEntryFault(func(op, msgID, receipt string) error {
		if op == opDelete {
			return fmt.Errorf("InternalError")
		}
		return nil
	})
	if errs, _ := q.Delete(ctx, []string{m2.ReceiptHandle}); errs[0] == nil || errorsIsLeaseLost(errs[0]) {
		t.Fatalf("Delete with entry fault = %v; want a non-lease error", errs)
	}
	q.setEntryFault(nil)
	q.failNext(opDelete, fmt.Errorf("throttled"))
	if _, err := q.Delete(ctx, []string{m2.ReceiptHandle}); err == nil {
		t.Fatal("Delete with one-shot fault succeeded")
	}
	if errs, err := q.Delete(ctx, []string{m2.ReceiptHandle}); err != nil || errs[0] != nil {
		t.Fatalf("Delete(current) = %v, %v", errs, err)
	}
	if !q.deleted(id) {
		t.Fatal("message not deleted")
	}
	// Deleting again with the latest handle succeeds, as on SQS; with the
	// handle of an earlier receive it is refused.
	if errs, err := q.Delete(ctx, []string{m2.ReceiptHandle}); err != nil || errs[0] != nil {
		t.Fatalf("second Delete = %v, %v; want success", errs, err)
	}
	if errs, _ := q.Delete(ctx, []string{m1.ReceiptHandle}); !errorsIsLeaseLost(errs[0]) {
		t.Fatalf("Delete(stale) after delete = %v; want lease lost", errs)
	}
	if n := len(q.callsOf(opDelete)); n != 6 {
		t.Fatalf("recorded %d Delete calls, want 6", n)
	}

	// A receive with a done context fails at once, recording that.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.Receive(cctx, 1, time.Second); err == nil {
		t.Fatal("Receive with a cancelled context succeeded")
	}
	if c := q.callsOf(opReceive); !c[len(c)-1].CtxDone {
		t.Fatal("Receive with a cancelled context not recorded as such")
	}
}

func errorsIsLeaseLost(err error) bool { return errors.Is(err, ErrLeaseLost) }

// logCallsOnFailure logs the fake's call record when t fails: which receipt
// (its "ID#count" tail) was received, extended or deleted when, and with
// what result. Timing failures are hard to read without it.
func (q *fakeQueue) logCallsOnFailure(t testing.TB) {
	t.Cleanup(func() {
		calls := q.callsOf()
		if !t.Failed() || len(calls) == 0 {
			return
		}
		tail := func(rh string) string { return rh[max(0, len(rh)-6):] }
		start := calls[0].Start
		for _, c := range calls {
			var b strings.Builder
			for _, m := range c.Got {
				b.WriteString(tail(m.ReceiptHandle) + " ")
			}
			for i, ch := range c.Changes {
				fmt.Fprintf(&b, "%s=%s", tail(ch.ReceiptHandle), ch.Timeout)
				if e := c.entryErr(i); e != nil {
					fmt.Fprintf(&b, "(%v)", e)
				}
				b.WriteString(" ")
			}
			for i, r := range c.Receipts {
				b.WriteString(tail(r))
				if e := c.entryErr(i); e != nil {
					fmt.Fprintf(&b, "(%v)", e)
				}
				b.WriteString(" ")
			}
			t.Logf("%4d %-16s %8v..%8v err=%v %s", c.Seq, c.Op, c.Start.Sub(start).Round(time.Millisecond),
				c.End.Sub(start).Round(time.Millisecond), c.Err, b.String())
		}
	})
}

// sibling returns another queue, name, in the same double, of the same type
// and sharing q's dead-letter queue (as several sources often share one DLQ;
// SQS deduplicates FIFO sends per queue, so their dead letters meet there).
// Its calls are recorded apart; call it after useClock.
func (q *fakeQueue) sibling(name string) *fakeQueue {
	srv := q.double()
	s := newFake(q.t, name)
	s.dlqURL, s.waitTime = q.dlqURL, q.waitTime
	q.mu.Lock()
	s.now, s.clock, s.stale = q.now, q.clock, q.stale
	q.mu.Unlock()
	if s.fifo != q.fifo {
		q.fatalf("fake sqs: sibling %s is not of %s's type", name, nameOf(q.queueURL))
	}
	s.srvOnce.Do(func() {
		s.used, s.srv, s.model = true, srv, q.model
		attrs := map[string]string{}
		if s.fifo {
			attrs = map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}
		}
		srv.MustCreateQueue(name, attrs)
	})
	if s.clock != nil {
		s.clock.Subscribe(s.bump)
	}
	return s
}
