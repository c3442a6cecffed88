package worker

// An in-memory SQS for the engine's tests: visibility timeouts on a real or
// injected clock, receive counts, receipt handles that change on every
// receive and go stale when the message is received again or deleted,
// whole-call and per-entry failure injection, hooks around every call, and a
// record of every call so tests can check what the engine asked for and when.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
)

// Operation names in the fake's call record, fault tables and hooks.
const (
	opReceive          = "Receive"
	opDelete           = "Delete"
	opChangeVisibility = "ChangeVisibility"
	opSend             = "Send" // the dead-letter queue
)

// sqsMaxVisibility is the longest visibility SQS accepts.
const sqsMaxVisibility = 12 * time.Hour

// testClock is an injectable clock. Advance runs the registered hooks, so a
// fake queue on this clock wakes its long polls when time moves.
type testClock struct {
	mu    sync.Mutex
	t     time.Time
	hooks []func()
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	hooks := slices.Clone(c.hooks)
	c.mu.Unlock()
	for _, h := range hooks {
		h()
	}
}

func (c *testClock) onAdvance(f func()) {
	c.mu.Lock()
	c.hooks = append(c.hooks, f)
	c.mu.Unlock()
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

type fakeMsg struct {
	id, body         string
	attrs            map[string]Attribute
	groupID, dedupID string
	sentAt           time.Time

	receiveCount    int
	firstReceivedAt time.Time
	visibleAt       time.Time // queue clock
	receipt         string    // the only receipt handle SQS accepts now
	deleted         bool
	deliveredAt     map[string]time.Time // receipt -> queue clock at delivery
	receipts        []string             // in delivery order
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

type putOpt func(*fakeMsg)

func withAttrs(a map[string]Attribute) putOpt { return func(m *fakeMsg) { m.attrs = maps.Clone(a) } }

// withPriorReceives makes the message look delivered n times already, so its
// next delivery has ReceiveCount n+1.
func withPriorReceives(n int) putOpt { return func(m *fakeMsg) { m.receiveCount = n } }

func withGroup(group, dedup string) putOpt {
	return func(m *fakeMsg) { m.groupID, m.dedupID = group, dedup }
}

type fakeQueue struct {
	t        testing.TB
	queueURL string
	waitTime time.Duration // how long an empty Receive long-polls

	mu         sync.Mutex
	now        func() time.Time
	realClock  bool
	changed    chan struct{} // closed and replaced on every call and state change
	nextID     int
	msgs       []*fakeMsg
	byReceipt  map[string]*fakeMsg
	calls      []fakeCall
	dead       []*DeadLetter
	faults     map[string]error   // whole-call faults that last until cleared
	oneShot    map[string][]error // whole-call faults for the next calls, in order
	entryFault func(op, msgID, receipt string) error
	before     func(c fakeCall)
	after      func(c fakeCall)
	expired    bool // every long poll ends at once, empty
	endGen     int  // bumped to end the long polls under way, empty
	hung       bool // receives hang, delivering nothing, until their context ends
}

func newFakeQueue(t testing.TB) *fakeQueue {
	return &fakeQueue{
		t:         t,
		queueURL:  "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
		waitTime:  5 * time.Second,
		now:       time.Now,
		realClock: true,
		changed:   make(chan struct{}),
		byReceipt: make(map[string]*fakeMsg),
		faults:    make(map[string]error),
		oneShot:   make(map[string][]error),
	}
}

// useClock drives visibility timeouts by c instead of real time: messages
// only become visible again when the test advances c.
func (q *fakeQueue) useClock(c *testClock) {
	q.mu.Lock()
	q.now, q.realClock = c.Now, false
	q.mu.Unlock()
	c.onAdvance(q.bump)
}

// dlq returns the fake's dead-letter queue; its sends are recorded with the
// queue's calls, so their order against deletes can be checked.
func (q *fakeQueue) dlq() DeadLetterQueue { return fakeDLQ{q} }

type fakeDLQ struct{ q *fakeQueue }

func (d fakeDLQ) Send(ctx context.Context, dl *DeadLetter) error { return d.q.send(ctx, dl) }

// put enqueues a message and returns its ID.
func (q *fakeQueue) put(body string, opts ...putOpt) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	m := &fakeMsg{
		id:          fmt.Sprintf("m%03d", q.nextID),
		body:        body,
		sentAt:      q.now(),
		deliveredAt: make(map[string]time.Time),
	}
	for _, o := range opts {
		o(m)
	}
	if m.receiveCount > 0 {
		m.firstReceivedAt = m.sentAt
	}
	q.msgs = append(q.msgs, m)
	q.bumpLocked()
	return m.id
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
// f is asked about every entry whose receipt handle the fake knows and
// returns the entry's error, or nil to let the fake decide. f runs with the
// fake locked, so it must not call the fake.
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
	q.bumpLocked()
	q.mu.Unlock()
}

// endLongPolls ends the Receives under way now, empty, as when their wait
// runs out; later ones long-poll as usual.
func (q *fakeQueue) endLongPolls() {
	q.mu.Lock()
	q.endGen++
	q.bumpLocked()
	q.mu.Unlock()
}

// hangReceives makes every Receive, under way or later, deliver nothing and
// ignore its long-poll wait, returning only when its context ends: a
// connection that silently died.
func (q *fakeQueue) hangReceives() {
	q.mu.Lock()
	q.hung = true
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

func (q *fakeQueue) checkBatch(op string, n int) {
	if n < 1 || n > 10 {
		q.t.Errorf("fake sqs: %s batch with %d entries; SQS takes 1 to 10", op, n)
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

// finishLocked completes the record of call idx; the caller unlocks and
// then runs the returned hook, if any, with the returned record.
func (q *fakeQueue) finishLocked(idx int, fill func(c *fakeCall)) (fakeCall, func(fakeCall)) {
	c := &q.calls[idx]
	if fill != nil {
		fill(c)
	}
	c.End = time.Now()
	q.bumpLocked()
	return *c, q.after
}

func (q *fakeQueue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*Message, error) {
	if max < 1 || max > 10 {
		q.t.Errorf("fake sqs: Receive asked for %d messages; SQS takes 1 to 10", max)
	}
	if visibility < 0 || visibility > sqsMaxVisibility {
		q.t.Errorf("fake sqs: Receive asked for visibility %s", visibility)
	}
	idx, err := q.begin(ctx, fakeCall{Op: opReceive, Max: max, Visibility: visibility})
	q.mu.Lock()
	gen := q.endGen
	q.mu.Unlock()
	longPoll := time.NewTimer(q.waitTime)
	defer longPoll.Stop()
	for {
		q.mu.Lock()
		if err == nil {
			err = q.faults[opReceive]
		}
		if err == nil {
			err = ctx.Err()
		}
		var got []*Message
		if err == nil && !q.hung {
			got = q.receiveLocked(max, visibility)
		}
		if err != nil || len(got) > 0 || ((q.expired || q.endGen != gen) && !q.hung) {
			rec, after := q.finishLocked(idx, func(c *fakeCall) { c.Got, c.Err = got, err })
			q.mu.Unlock()
			if after != nil {
				after(rec)
			}
			if err != nil {
				return nil, err
			}
			return got, nil
		}
		changed := q.changed
		var wake *time.Timer
		var wakeC <-chan time.Time
		if next, ok := q.nextVisibleLocked(); ok && q.realClock {
			wake = time.NewTimer(next.Sub(q.now()))
			wakeC = wake.C
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-changed:
		case <-wakeC:
		case <-longPoll.C:
			q.mu.Lock()
			if q.hung {
				q.mu.Unlock()
				continue
			}
			rec, after := q.finishLocked(idx, nil)
			q.mu.Unlock()
			if after != nil {
				after(rec)
			}
			return nil, nil
		}
		if wake != nil {
			wake.Stop()
		}
	}
}

func (q *fakeQueue) receiveLocked(max int, visibility time.Duration) []*Message {
	now := q.now()
	var got []*Message
	for _, m := range q.msgs {
		if len(got) == max {
			break
		}
		if m.deleted || m.visibleAt.After(now) {
			continue
		}
		m.receiveCount++
		if m.firstReceivedAt.IsZero() {
			m.firstReceivedAt = now
		}
		m.receipt = fmt.Sprintf("%s#%d", m.id, m.receiveCount)
		m.visibleAt = now.Add(visibility)
		m.deliveredAt[m.receipt] = now
		m.receipts = append(m.receipts, m.receipt)
		q.byReceipt[m.receipt] = m
		got = append(got, &Message{
			ID:              m.id,
			ReceiptHandle:   m.receipt,
			Body:            m.body,
			QueueURL:        q.queueURL,
			ReceiveCount:    m.receiveCount,
			SentAt:          m.sentAt,
			FirstReceivedAt: m.firstReceivedAt,
			GroupID:         m.groupID,
			DeduplicationID: m.dedupID,
			Attributes:      maps.Clone(m.attrs),
			SystemAttributes: map[string]string{
				"ApproximateReceiveCount": fmt.Sprint(m.receiveCount),
			},
		})
	}
	return got
}

// nextVisibleLocked is when the next hidden message becomes visible.
func (q *fakeQueue) nextVisibleLocked() (time.Time, bool) {
	now := q.now()
	var next time.Time
	for _, m := range q.msgs {
		if !m.deleted && m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next, !next.IsZero()
}

func leaseLost(why, receipt string) error {
	return fmt.Errorf("fake sqs: %s (receipt handle %q): %w", why, receipt, ErrLeaseLost)
}

// lookupLocked finds the message of a receipt handle and runs the entry fault.
func (q *fakeQueue) lookupLocked(op, receipt string) (*fakeMsg, error) {
	m := q.byReceipt[receipt]
	if m == nil {
		return nil, leaseLost("ReceiptHandleIsInvalid: never issued", receipt)
	}
	if q.entryFault != nil {
		if err := q.entryFault(op, m.id, receipt); err != nil {
			return nil, err
		}
	}
	if m.deleted {
		return nil, leaseLost("ReceiptHandleIsInvalid: message deleted", receipt)
	}
	if m.receipt != receipt {
		return nil, leaseLost("ReceiptHandleIsInvalid: message received again", receipt)
	}
	return m, nil
}

func (q *fakeQueue) Delete(ctx context.Context, receipts []string) ([]error, error) {
	q.checkBatch(opDelete, len(receipts))
	idx, err := q.begin(ctx, fakeCall{Op: opDelete, Receipts: slices.Clone(receipts)})
	q.mu.Lock()
	var errs []error
	if err == nil {
		errs = make([]error, len(receipts))
		for i, r := range receipts {
			m, e := q.lookupLocked(opDelete, r)
			if e == nil {
				m.deleted = true
			}
			errs[i] = e
		}
	}
	rec, after := q.finishLocked(idx, func(c *fakeCall) { c.Errs, c.Err = slices.Clone(errs), err })
	q.mu.Unlock()
	if after != nil {
		after(rec)
	}
	return errs, err
}

func (q *fakeQueue) ChangeVisibility(ctx context.Context, changes []VisibilityChange) ([]error, error) {
	q.checkBatch(opChangeVisibility, len(changes))
	idx, err := q.begin(ctx, fakeCall{Op: opChangeVisibility, Changes: slices.Clone(changes)})
	q.mu.Lock()
	var errs []error
	if err == nil {
		now := q.now()
		errs = make([]error, len(changes))
		for i, ch := range changes {
			m, e := q.lookupLocked(opChangeVisibility, ch.ReceiptHandle)
			switch {
			case e != nil:
			case !m.visibleAt.After(now):
				e = leaseLost("MessageNotInflight", ch.ReceiptHandle)
			case ch.Timeout < 0 || ch.Timeout > sqsMaxVisibility:
				e = fmt.Errorf("fake sqs: InvalidParameterValue: visibility timeout %s", ch.Timeout)
			default:
				m.visibleAt = now.Add(ch.Timeout)
			}
			errs[i] = e
		}
	}
	rec, after := q.finishLocked(idx, func(c *fakeCall) { c.Errs, c.Err = slices.Clone(errs), err })
	q.mu.Unlock()
	if after != nil {
		after(rec)
	}
	return errs, err
}

func (q *fakeQueue) send(ctx context.Context, dl *DeadLetter) error {
	cp := *dl
	cp.Attributes = maps.Clone(dl.Attributes)
	idx, err := q.begin(ctx, fakeCall{Op: opSend, DeadLetter: &cp})
	q.mu.Lock()
	if err == nil {
		q.dead = append(q.dead, &cp)
	}
	rec, after := q.finishLocked(idx, func(c *fakeCall) { c.Err = err })
	q.mu.Unlock()
	if after != nil {
		after(rec)
	}
	return err
}

// calls returns the record of every call of the given ops (all when none).
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
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		if m.id == id {
			return fakeMsgState{
				ID: m.id, ReceiveCount: m.receiveCount, Receipt: m.receipt, Deleted: m.deleted,
				VisibleAt: m.visibleAt, FirstReceivedAt: m.firstReceivedAt,
			}
		}
	}
	q.t.Fatalf("fake sqs: no message %q", id)
	return fakeMsgState{}
}

// visibleNow reports whether message id can be received right now.
func (q *fakeQueue) visibleNow(id string) bool {
	s := q.msg(id)
	q.mu.Lock()
	defer q.mu.Unlock()
	return !s.Deleted && !s.VisibleAt.After(q.now())
}

// deliveredAt is the queue's clock when receipt was handed out.
func (q *fakeQueue) deliveredAt(receipt string) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.byReceipt[receipt]
	if m == nil {
		q.t.Fatalf("fake sqs: receipt %q never issued", receipt)
		return time.Time{}
	}
	return m.deliveredAt[receipt]
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

func (q *fakeQueue) deadLetters() []*DeadLetter {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dead)
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
	for _, m := range q.msgs {
		if m.id == id {
			return slices.Clone(m.receipts)
		}
	}
	return nil
}

// waitFor blocks until cond holds, re-checking it whenever the fake sees a
// call or a state change. It must run on the test goroutine.
func (q *fakeQueue) waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		q.mu.Lock()
		changed := q.changed
		q.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// eventually polls cond until it holds or timeout passes. For conditions the
// fake does not see change (metrics, Stats).
func eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(time.Millisecond)
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
	if errs, _ := q.Delete(ctx, []string{m2.ReceiptHandle}); !errorsIsLeaseLost(errs[0]) {
		t.Fatalf("second Delete = %v; want lease lost", errs)
	}
	if n := len(q.callsOf(opDelete)); n != 5 {
		t.Fatalf("recorded %d Delete calls, want 5", n)
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
