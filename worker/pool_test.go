package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// testBackoff gives whole-second retry delays, so the visibility changes the
// engine sends (rounded to seconds) equal Delay exactly: 3s, 6s, 12s, ...
var testBackoff = Backoff{Base: 4 * time.Second, Max: time.Minute, Rand: fixedRand(0.5)}

// testConfig is a Config with short durations for tests; Handler is set by
// startPool.
func testConfig(q *fakeQueue) Config {
	return Config{
		Queue:             q,
		DeadLetter:        q.dlq(),
		QueueURL:          q.queueURL,
		Concurrency:       4,
		VisibilityTimeout: time.Second,
		HandlerTimeout:    30 * time.Second,
		MaxAttempts:       5,
		Backoff:           testBackoff,
		ShutdownTimeout:   2 * time.Second,
		AbandonGrace:      500 * time.Millisecond,
		FlushInterval:     5 * time.Millisecond,
		PollBackoff:       Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, Rand: fixedRand(0)},
		ReceiveTimeout:    10 * time.Second, // above the fake's 5s long poll
	}
}

type poolHarness struct {
	t       *testing.T
	q       *fakeQueue
	p       *Pool
	metrics *Metrics
	logs    *observer.ObservedLogs

	cancel   context.CancelFunc
	runDone  chan struct{}
	runErr   error
	stopOnce sync.Once
}

// startPool runs a Pool on q with cfg and h until the test ends.
func startPool(t *testing.T, q *fakeQueue, cfg Config, h HandlerFunc) *poolHarness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg.Logger = zap.New(core)
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	cfg.Handler = h
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ph := &poolHarness{t: t, q: q, p: p, metrics: cfg.Metrics, logs: logs, cancel: cancel, runDone: make(chan struct{})}
	go func() {
		ph.runErr = p.Run(ctx)
		close(ph.runDone)
	}()
	t.Cleanup(func() {
		ph.stop()
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("engine log: %s %q %v", e.Level, e.Message, e.ContextMap())
			}
		}
	})
	return ph
}

// stop cancels Run's context, ends the fake's long polls (which the engine
// lets finish) and waits for Run to return.
func (h *poolHarness) stop() {
	h.t.Helper()
	h.stopOnce.Do(func() {
		h.cancel()
		h.q.expireLongPolls()
		select {
		case <-h.runDone:
			if h.runErr != nil {
				h.t.Errorf("Run = %v, want nil", h.runErr)
			}
		case <-time.After(15 * time.Second):
			h.t.Errorf("Run did not return within 15s of cancel")
		}
	})
}

func (h *poolHarness) running() bool {
	select {
	case <-h.runDone:
		return false
	default:
		return true
	}
}

// waitDeleteRefused waits for the log of a delete refused for a lost lease,
// which the engine writes after it counted (or not) the lost lease.
func (h *poolHarness) waitDeleteRefused() {
	h.t.Helper()
	const msg = "delete refused: the visibility lease was lost, so the message will be delivered again"
	wait.For(h.t, 5*time.Second, fmt.Sprintf("the log %q", msg), func() bool { return h.logs.FilterMessage(msg).Len() > 0 })
}

// waitRun waits for Run to return, within d.
func (h *poolHarness) waitRun(d time.Duration) time.Duration {
	h.t.Helper()
	start := time.Now()
	select {
	case <-h.runDone:
		return time.Since(start)
	case <-time.After(d):
		h.t.Fatalf("Run did not return within %s", d)
		return 0
	}
}

func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("unsupported metric %v", m.Desc())
	return 0
}

func (h *poolHarness) completed(outcome string) int {
	return int(metricValue(h.t, h.metrics.Completed.WithLabelValues(outcome)))
}
func (h *poolHarness) inflight() int   { return int(metricValue(h.t, h.metrics.InFlight)) }
func (h *poolHarness) leasesLost() int { return int(metricValue(h.t, h.metrics.LeasesLost)) }

// checkOutcomes compares the completed counters. It waits a little for
// them: the engine takes a message out of the in-flight set just before it
// counts its outcome, so they can lag what waitSettled saw.
func (h *poolHarness) checkOutcomes(success, retry, dead int) {
	h.t.Helper()
	want := []int{success, retry, dead}
	var got []int
	if !wait.Until(2*time.Second, func() bool {
		got = []int{h.completed(OutcomeSuccess), h.completed(OutcomeRetry), h.completed(OutcomeDeadLetter)}
		return slices.Equal(got, want)
	}) {
		h.t.Errorf("completed{success,retry,dead_letter}: -want +got\n-%v\n+%v", want, got)
	}
}

// waitSettled waits until no message is in flight in the engine. (Busy
// slots may remain: a pending long poll holds them.)
func (h *poolHarness) waitSettled() {
	h.t.Helper()
	wait.ForState(h.t, 5*time.Second, "in-flight back to 0", func() (bool, string) {
		gauge, stats := h.inflight(), h.p.Stats()
		return gauge == 0 && stats.InFlight == 0, fmt.Sprintf("gauge %d, stats %+v", gauge, stats)
	})
}

// callCounter counts handler calls per message ID.
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
	rc map[string][]int // receive counts seen
}

func newCallCounter() *callCounter {
	return &callCounter{n: map[string]int{}, rc: map[string][]int{}}
}

func (c *callCounter) record(m *Message) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[m.ID]++
	c.rc[m.ID] = append(c.rc[m.ID], m.ReceiveCount)
	return c.n[m.ID]
}

func (c *callCounter) calls(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

func (c *callCounter) receiveCounts(id string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.rc[id])
}

func (c *callCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// outcomeVisibility is the visibility the engine set for a receipt when it
// decided its outcome: the last change for it (extensions only happen before).
func outcomeVisibility(t *testing.T, q *fakeQueue, receipt string) (time.Duration, bool) {
	t.Helper()
	ch := q.visChanges(receipt)
	if len(ch) == 0 {
		return 0, false
	}
	return ch[len(ch)-1].Timeout, true
}

// ctxEnd is when and how a handler's context ended.
type ctxEnd struct {
	after time.Duration
	err   error
}

// awaitCtxEnd blocks until ctx ends and says how long that took and why.
func awaitCtxEnd(ctx context.Context) ctxEnd {
	start := time.Now()
	<-ctx.Done()
	return ctxEnd{time.Since(start), ctx.Err()}
}

// check fails t unless the context ran out at its deadline, want after it
// was handed over.
func (e ctxEnd) check(t *testing.T, want time.Duration) {
	t.Helper()
	if e.err != context.DeadlineExceeded || e.after != want {
		t.Errorf("handler context ended after %s with %v; want DeadlineExceeded at %s", e.after, e.err, want)
	}
}

func TestPoolHappyPath(t *testing.T) {
	q := newFakeQueue(t)
	const n = 25
	ids := q.putN(n)
	calls := newCallCounter()
	cfg := testConfig(q)
	cfg.Concurrency = 5
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		calls.record(m)
		return nil
	})
	q.waitFor(t, 5*time.Second, "every message deleted", func() bool { return q.allDeleted(ids) })
	h.waitSettled()

	for _, id := range ids {
		if got := calls.calls(id); got != 1 {
			t.Errorf("message %s handled %d times, want 1", id, got)
		}
	}
	deletes := q.callsOf(opDelete)
	entries := 0
	for _, c := range deletes {
		entries += len(c.Receipts)
		if len(c.Receipts) > 10 {
			t.Errorf("Delete call with %d entries", len(c.Receipts))
		}
	}
	if entries != n {
		t.Errorf("Delete entries = %d, want %d (one per message)", entries, n)
	}
	h.checkOutcomes(n, 0, 0)
	if got := metricValue(t, h.metrics.Received); got != n {
		t.Errorf("received = %v, want %d", got, n)
	}
	if got := q.callsOf(opChangeVisibility, opSend); len(got) != 0 {
		t.Errorf("unexpected calls: %+v", got)
	}
	// Busy may count slots a pending long poll holds, never more than all.
	if s := h.p.Stats(); s.InFlight != 0 || s.Busy > s.Concurrency || s.LastPoll.IsZero() || s.Wedged != "" {
		t.Errorf("Stats after the work = %+v", s)
	}
}

// TestPoolDeletesInFullBatchesAndFlushesAtShutdown: with a long flush
// interval deletes go out ten at a time, and the rest are flushed before Run
// returns.
func TestPoolDeletesInFullBatchesAndFlushesAtShutdown(t *testing.T) {
	q := newFakeQueue(t)
	ids := q.putN(25)
	calls := newCallCounter()
	cfg := testConfig(q)
	cfg.Concurrency = 10
	cfg.FlushInterval = time.Hour
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		calls.record(m)
		return nil
	})
	wait.For(t, 5*time.Second, "25 handler calls", func() bool { return calls.total() == 25 })
	q.waitFor(t, 5*time.Second, "two full Delete batches", func() bool { return len(q.callsOf(opDelete)) == 2 })
	h.stop()
	var sizes []int
	for _, c := range q.callsOf(opDelete) {
		sizes = append(sizes, len(c.Receipts))
	}
	if want := []int{10, 10, 5}; !slices.Equal(sizes, want) {
		t.Errorf("Delete batch sizes: -want +got\n-%v\n+%v", want, sizes)
	}
	if !q.allDeleted(ids) {
		t.Error("not every message deleted by the time Run returned")
	}
	h.checkOutcomes(25, 0, 0)
	if h.inflight() != 0 {
		t.Errorf("in-flight gauge = %d after Run, want 0", h.inflight())
	}
}

// TestPoolNeverHoldsMoreThanFreeSlots: messages asked for by receives under
// way plus handlers running never exceed Concurrency.
func TestPoolNeverHoldsMoreThanFreeSlots(t *testing.T) {
	const conc, n = 3, 10
	q := newFakeQueue(t)
	ids := q.putN(n)
	var (
		mu                sync.Mutex
		asking, running   int
		peakRun, maxAsked int
	)
	check := func(where string) {
		if asking+running > conc {
			t.Errorf("%s: %d messages asked for by receives under way + %d handlers running > %d slots", where, asking, running, conc)
		}
	}
	q.setHooks(func(c fakeCall) {
		if c.Op != opReceive {
			return
		}
		mu.Lock()
		asking += c.Max
		maxAsked = max(maxAsked, c.Max)
		check("receive")
		mu.Unlock()
	}, func(c fakeCall) {
		if c.Op != opReceive {
			return
		}
		mu.Lock()
		asking -= c.Max
		mu.Unlock()
	})
	started := make(chan string, n)
	release := make(chan struct{})
	cfg := testConfig(q)
	cfg.Concurrency = conc
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		mu.Lock()
		running++
		peakRun = max(peakRun, running)
		check("handler start")
		mu.Unlock()
		started <- m.ID
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	waitStart := func() {
		t.Helper()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("handler did not start")
		}
	}
	for range conc {
		waitStart()
	}
	for i := range n {
		release <- struct{}{}
		if i+conc < n {
			waitStart()
		}
	}
	q.waitFor(t, 5*time.Second, "every message deleted", func() bool { return q.allDeleted(ids) })
	h.waitSettled()
	mu.Lock()
	defer mu.Unlock()
	if peakRun != conc {
		t.Errorf("peak handlers running = %d, want %d", peakRun, conc)
	}
	if maxAsked > conc {
		t.Errorf("a Receive asked for %d messages with %d slots", maxAsked, conc)
	}
}

// TestPoolRetryDelayFollowsReceiveCount: a failed attempt hides the message
// for Backoff.Delay(ReceiveCount); RetryAfter asks for its own delay.
func TestPoolRetryDelay(t *testing.T) {
	q := newFakeQueue(t)
	plain := []string{
		q.put("first delivery"),
		q.put("second delivery", withPriorReceives(1)),
		q.put("third delivery", withPriorReceives(2)),
	}
	after42 := q.put("retry after 42s")
	afterHuge := q.put("retry after a day")
	afterNeg := q.put("retry after -5s")
	calls := newCallCounter()
	cfg := testConfig(q)
	cfg.Concurrency = 6
	cfg.MaxAttempts = 10
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		calls.record(m)
		switch m.ID {
		case after42:
			return RetryAfter(errors.New("429"), 42*time.Second)
		case afterHuge:
			return RetryAfter(errors.New("503"), 24*time.Hour)
		case afterNeg:
			if m.ReceiveCount == 1 {
				return RetryAfter(errors.New("confused"), -5*time.Second)
			}
			return RetryAfter(errors.New("park it"), time.Hour)
		}
		return fmt.Errorf("attempt %d failed", m.ReceiveCount)
	})
	// By receipt handle: the delivery the outcome belongs to.
	want := map[string]time.Duration{
		plain[0] + "#1": testBackoff.Delay(1), // 3s
		plain[1] + "#2": testBackoff.Delay(2), // 6s
		plain[2] + "#3": testBackoff.Delay(3), // 12s
		after42 + "#1":  42 * time.Second,
		afterNeg + "#1": 0, // clamped, and so delivered again at once
		afterNeg + "#2": time.Hour,
	}
	q.waitFor(t, 5*time.Second, "an outcome for every delivery", func() bool {
		for r := range want {
			if _, ok := outcomeVisibility(t, q, r); !ok {
				return false
			}
		}
		return true
	})
	q.waitFor(t, 5*time.Second, "the day-long retry's outcome", func() bool {
		_, ok := outcomeVisibility(t, q, afterHuge+"#1")
		return ok
	})
	h.waitSettled()
	for r, w := range want {
		if got, _ := outcomeVisibility(t, q, r); got != w {
			t.Errorf("delivery %s: visibility set to %s, want %s", r, got, w)
		}
	}
	// Capped by the window counted from the receive (TestRetryDelayCappedFromReceive
	// checks that with time passing); here the handler took milliseconds.
	if got, _ := outcomeVisibility(t, q, afterHuge+"#1"); got > MaxHold || got < MaxHold-2*time.Second {
		t.Errorf("retry after a day: visibility set to %s, want just under %s", got, MaxHold)
	}
	for _, id := range []string{plain[0], plain[1], plain[2], after42, afterHuge, afterNeg} {
		if q.deleted(id) {
			t.Errorf("message %s deleted after a failed attempt", id)
		}
		wantCalls := 1
		if id == afterNeg {
			wantCalls = 2
		}
		if n := calls.calls(id); n != wantCalls {
			t.Errorf("message %s handled %d times, want %d", id, n, wantCalls)
		}
	}
	if testBackoff.Delay(1) != 3*time.Second || testBackoff.Delay(3) != 12*time.Second {
		t.Errorf("testBackoff no longer gives whole seconds: %s, %s", testBackoff.Delay(1), testBackoff.Delay(3))
	}
	h.checkOutcomes(0, len(want)+1, 0) // and the day-long one
	if got := len(q.callsOf(opDelete, opSend)); got != 0 {
		t.Errorf("%d Delete/Send calls after retryable failures, want 0", got)
	}
}

// TestPoolRetriesUntilMaxAttempts follows one message through every attempt
// on a queue whose clock the test moves: each retry delay is Delay(attempt)
// and the last failure sends it to the DLQ and deletes it.
func TestPoolRetriesUntilMaxAttempts(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	q.useClock(clock)
	id := q.put("doomed")
	// When the engine hides the message for its retry delay, let that time
	// pass on the queue's clock so the next delivery comes at once.
	q.setHooks(nil, func(c fakeCall) {
		if c.Op == opChangeVisibility && c.Err == nil && c.Changes[0].Timeout > time.Second {
			clock.Advance(c.Changes[0].Timeout)
		}
	})
	calls := newCallCounter()
	cfg := testConfig(q)
	cfg.MaxAttempts = 3
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		calls.record(m)
		return errors.New("downstream unavailable")
	})
	q.waitFor(t, 5*time.Second, "the message deleted", func() bool { return q.deleted(id) })
	h.waitSettled()

	if got, want := calls.receiveCounts(id), []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("handler saw receive counts %v, want %v", got, want)
	}
	receipts := q.receiptsOf(id)
	var delays []time.Duration
	for _, r := range receipts[:2] {
		d, _ := outcomeVisibility(t, q, r)
		delays = append(delays, d)
	}
	if want := []time.Duration{3 * time.Second, 6 * time.Second}; !slices.Equal(delays, want) {
		t.Errorf("retry delays: -want +got\n-%v\n+%v", want, delays)
	}
	dls := q.deadLetters()
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	rec := parseFailure(t, dls[0])
	if rec.Reason != "max_attempts" || rec.Attempts != 3 || rec.Error != "downstream unavailable" {
		t.Errorf("failure record = %+v, want reason max_attempts, 3 attempts, the handler's error", rec)
	}
	if first := q.msg(id).FirstReceivedAt; !rec.FirstReceivedAt.Equal(first) {
		t.Errorf("first_received_at = %s, want the first delivery's %s", rec.FirstReceivedAt, first)
	}
	checkSendThenDelete(t, q, receipts[2])
	h.checkOutcomes(0, 2, 1)
}

// wireFailure mirrors the documented JSON of the failure attribute.
type wireFailure struct {
	Error           string    `json:"error"`
	Reason          string    `json:"reason"`
	Attempts        int       `json:"attempts"`
	QueueURL        string    `json:"queue_url"`
	MessageID       string    `json:"message_id"`
	FirstReceivedAt time.Time `json:"first_received_at"`
	FailedAt        time.Time `json:"failed_at"`
	// Present only when attributes were dropped for the record.
	DroppedAttributes []string `json:"dropped_attributes"`
}

func parseFailure(t *testing.T, dl *DeadLetter) wireFailure {
	t.Helper()
	a, ok := dl.Attributes[FailureAttribute]
	if !ok {
		t.Fatalf("dead letter has no %s attribute: %v", FailureAttribute, dl.Attributes)
	}
	if a.DataType != "String" {
		t.Errorf("%s DataType = %q, want String", FailureAttribute, a.DataType)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(a.StringValue), &keys); err != nil {
		t.Fatalf("failure record %q: %v", a.StringValue, err)
	}
	wantKeys := []string{"attempts", "error", "failed_at", "first_received_at", "message_id", "queue_url", "reason"}
	if _, ok := keys["dropped_attributes"]; ok {
		wantKeys = slices.Insert(wantKeys, 1, "dropped_attributes")
	}
	if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, wantKeys) {
		t.Errorf("failure record keys: -want +got\n-%v\n+%v", wantKeys, got)
	}
	dec := json.NewDecoder(strings.NewReader(a.StringValue))
	dec.DisallowUnknownFields()
	var rec wireFailure
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("failure record %q: %v", a.StringValue, err)
	}
	return rec
}

// checkSendThenDelete checks that the DLQ send came before the delete of
// receipt, and that the delete happened once and succeeded.
func checkSendThenDelete(t *testing.T, q *fakeQueue, receipt string) {
	t.Helper()
	sends := q.callsOf(opSend)
	dels := q.deleteAttempts(receipt)
	if len(sends) == 0 || len(dels) != 1 || dels[0].Err != nil {
		t.Fatalf("sends %d, deletes of %s %+v; want a send then one successful delete", len(sends), receipt, dels)
	}
	if last := sends[len(sends)-1]; last.Seq > dels[0].Seq || last.Err != nil {
		t.Errorf("dead-letter send (call %d, err %v) not before the delete (call %d)", last.Seq, last.Err, dels[0].Seq)
	}
}

func TestPoolDeadLetter(t *testing.T) {
	attrs := map[string]Attribute{
		"tenant": {DataType: "String", StringValue: "acme"},
		"n":      {DataType: "Number", StringValue: "7"},
		"blob":   {DataType: "Binary", BinaryValue: []byte{1, 2, 3}},
	}
	tests := []struct {
		name           string
		prior          int // deliveries before this one
		handlerTimeout time.Duration
		err            func(ctx context.Context) error
		wantCalled     bool
		wantReason     string
		wantAttempts   int
		wantError      string // exact, or a prefix when it ends in "..."
	}{{
		name:       "permanent on first attempt",
		err:        func(context.Context) error { return Permanent(fmt.Errorf("malformed order: %w", errors.New("no id"))) },
		wantCalled: true, wantReason: "permanent", wantAttempts: 1,
		wantError: "malformed order: no id",
	}, {
		// Retrying cannot change a body, and the record tells a wrong
		// envelope apart from a handler's own verdict.
		name: "body not in the configured envelope",
		err: func(context.Context) error {
			return PermanentReason(fmt.Errorf("envelope sns: %w: no Message", ErrEnvelope), "envelope")
		},
		wantCalled: true, wantReason: "envelope", wantAttempts: 1,
		wantError: "envelope sns: not in the expected envelope: no Message",
	}, {
		name: "permanent with a reason of its own, wrapped",
		err: func(context.Context) error {
			return fmt.Errorf("step: %w", PermanentReason(errors.New("object gone"), "payload_missing"))
		},
		wantCalled: true, wantReason: "payload_missing", wantAttempts: 1,
		wantError: "step: object gone",
	}, {
		name:       "permanent with an empty reason",
		err:        func(context.Context) error { return PermanentReason(errors.New("bad"), "") },
		wantCalled: true, wantReason: "permanent", wantAttempts: 1,
		wantError: "bad",
	}, {
		name:       "failure on the last attempt",
		prior:      2,
		err:        func(context.Context) error { return errors.New("still failing") },
		wantCalled: true, wantReason: "max_attempts", wantAttempts: 3,
		wantError: "still failing",
	}, {
		name:       "retry-after on the last attempt",
		prior:      2,
		err:        func(context.Context) error { return RetryAfter(errors.New("busy"), time.Minute) },
		wantCalled: true, wantReason: "max_attempts", wantAttempts: 3,
		wantError: "busy (retry after 1m0s)",
	}, {
		name:           "timeout on the last attempt",
		prior:          2,
		handlerTimeout: 50 * time.Millisecond,
		err:            func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		wantCalled:     true, wantReason: "max_attempts", wantAttempts: 3,
		wantError: "handler timed out after 50ms: context deadline exceeded",
	}, {
		// Twice max_attempts leaves headroom for receives that were not
		// attempts and that this process cannot know of.
		name:       "delivered more than twice max attempts: a crash loop",
		prior:      6,
		err:        func(context.Context) error { return nil },
		wantCalled: false, wantReason: "crash_loop", wantAttempts: 7,
		wantError: "delivered 7 times without a recorded outcome, more than 6 (twice max_attempts 3); not running it again",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A deduplication id comes only from a FIFO queue: SQS refuses
			// one on a standard queue.
			q := newFakeFIFOQueue(t)
			id := q.put("payload", withAttrs(attrs), withGroup("group-1", "dedup-1"), withPriorReceives(tt.prior))
			calls := newCallCounter()
			cfg := testConfig(q)
			cfg.MaxAttempts = 3
			if tt.handlerTimeout > 0 {
				cfg.HandlerTimeout = tt.handlerTimeout
			}
			before := time.Now()
			h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
				calls.record(m)
				return tt.err(ctx)
			})
			q.waitFor(t, 5*time.Second, "the message deleted", func() bool { return q.deleted(id) })
			h.waitSettled()
			after := time.Now()

			if called := calls.calls(id) > 0; called != tt.wantCalled {
				t.Errorf("handler called = %v, want %v", called, tt.wantCalled)
			}
			dls := q.deadLetters()
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			dl := dls[0]
			// A FIFO DLQ: the group kept, a deduplication id of its own.
			if dl.Body != "payload" || dl.GroupID != "group-1" || dl.DeduplicationID == "" || dl.DeduplicationID == "dedup-1" {
				t.Errorf("dead letter body/group/dedup = %q/%q/%q", dl.Body, dl.GroupID, dl.DeduplicationID)
			}
			for k, v := range attrs {
				if got := dl.Attributes[k]; got.DataType != v.DataType || got.StringValue != v.StringValue || !slices.Equal(got.BinaryValue, v.BinaryValue) {
					t.Errorf("attribute %s = %+v, want %+v", k, got, v)
				}
			}
			if len(dl.Attributes) != len(attrs)+1 {
				t.Errorf("dead letter has %d attributes, want %d", len(dl.Attributes), len(attrs)+1)
			}
			rec := parseFailure(t, dl)
			if rec.Reason != tt.wantReason || rec.Attempts != tt.wantAttempts || rec.QueueURL != q.queueURL || rec.MessageID != id {
				t.Errorf("failure record = %+v; want reason %s, attempts %d, queue %s, message %s",
					rec, tt.wantReason, tt.wantAttempts, q.queueURL, id)
			}
			if rec.Error != tt.wantError {
				t.Errorf("failure record error = %q, want %q", rec.Error, tt.wantError)
			}
			if first := q.msg(id).FirstReceivedAt; !rec.FirstReceivedAt.Equal(first) {
				t.Errorf("first_received_at = %s, want %s", rec.FirstReceivedAt, first)
			}
			if rec.FailedAt.Before(before) || rec.FailedAt.After(after) {
				t.Errorf("failed_at = %s, want between %s and %s", rec.FailedAt, before, after)
			}
			if raw := dl.Attributes[FailureAttribute].StringValue; !strings.Contains(raw, `Z","failed_at"`) || !strings.HasSuffix(raw, `Z"}`) {
				t.Errorf("times in the failure record not in UTC: %s", raw)
			}
			checkSendThenDelete(t, q, q.msg(id).Receipt)
			h.checkOutcomes(0, 0, 1)
		})
	}
}

func TestPoolDeadLetterDropsAnAttributeWhenFull(t *testing.T) {
	q := newFakeQueue(t)
	attrs := map[string]Attribute{}
	for _, k := range []string{"k3", "k9", "k0", "k5", "k1", "k8", "k2", "k7", "k4", "k6"} {
		attrs[k] = Attribute{DataType: "String", StringValue: "v-" + k}
	}
	id := q.put("x", withAttrs(attrs))
	h := startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		return Permanent(errors.New("nope"))
	})
	q.waitFor(t, 5*time.Second, "the message deleted", func() bool { return q.deleted(id) })
	h.waitSettled()
	dl := q.deadLetters()[0]
	want := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", FailureAttribute}
	if got := slices.Sorted(maps.Keys(dl.Attributes)); !slices.Equal(got, want) {
		t.Errorf("dead letter attributes: -want +got\n-%v\n+%v", want, got)
	}
	if rec := parseFailure(t, dl); rec.Reason != "permanent" || rec.Error != "nope" {
		t.Errorf("failure record = %+v", rec)
	}
	if n := h.logs.FilterField(zap.Strings("dropped_attributes", []string{"k9"})).Len(); n != 1 {
		t.Errorf("logged the dropped attribute %d times, want 1", n)
	}
}

func TestBuildDeadLetter(t *testing.T) {
	rec := FailureRecord{Error: "e", Reason: "permanent", Attempts: 2, MessageID: "m"}
	t.Run("replaces an old record without dropping", func(t *testing.T) {
		attrs := map[string]Attribute{FailureAttribute: {DataType: "String", StringValue: `{"old":true}`}}
		for i := range 9 {
			attrs[fmt.Sprintf("a%d", i)] = Attribute{DataType: "String", StringValue: "v"}
		}
		m := &Message{Body: "b", Attributes: attrs}
		dl, dropped, _ := buildDeadLetter(m, rec, DefaultMaxMessageSize, false)
		if len(dropped) != 0 {
			t.Errorf("dropped %q, want nothing", dropped)
		}
		if len(dl.Attributes) != 10 || strings.Contains(dl.Attributes[FailureAttribute].StringValue, "old") {
			t.Errorf("attributes = %v", dl.Attributes)
		}
		if attrs[FailureAttribute].StringValue != `{"old":true}` {
			t.Error("buildDeadLetter changed the message's own attributes")
		}
	})
	t.Run("drops the last name when full", func(t *testing.T) {
		attrs := map[string]Attribute{}
		for _, k := range []string{"b", "Z", "a", "zz", "y", "c", "d", "e", "f", "g"} {
			attrs[k] = Attribute{DataType: "String", StringValue: k}
		}
		dl, dropped, _ := buildDeadLetter(&Message{Attributes: attrs}, rec, DefaultMaxMessageSize, false)
		if len(dropped) != 1 || dropped[0] != "zz" {
			t.Errorf("dropped %q, want zz", dropped)
		}
		if got := parseFailure(t, dl).DroppedAttributes; !slices.Equal(got, []string{"zz"}) {
			t.Errorf("record names dropped attributes %q, want [zz]: a redrive must know what it cannot restore", got)
		}
		if _, ok := dl.Attributes["zz"]; ok || len(dl.Attributes) != 10 || len(attrs) != 10 {
			t.Errorf("attributes = %v (message's own: %d)", dl.Attributes, len(attrs))
		}
	})
	t.Run("carries the trace header, names nothing dropped when nothing was", func(t *testing.T) {
		m := &Message{Body: "b", SystemAttributes: map[string]string{TraceHeaderAttribute: "Root=1-5759e988-bd862e3fe1be46a994272793"}}
		dl, _, _ := buildDeadLetter(m, rec, DefaultMaxMessageSize, false)
		if dl.TraceHeader != m.SystemAttributes[TraceHeaderAttribute] {
			t.Errorf("TraceHeader = %q, want the message's AWSTraceHeader", dl.TraceHeader)
		}
		if strings.Contains(dl.Attributes[FailureAttribute].StringValue, "dropped_attributes") {
			t.Errorf("record %s names dropped attributes although none were", dl.Attributes[FailureAttribute].StringValue)
		}
	})
	t.Run("keeps the tail of a long error", func(t *testing.T) {
		long := strings.Repeat("x", 10000) + "THE END"
		r := rec
		r.Error = tail(long, maxErrorText)
		dl, _, _ := buildDeadLetter(&Message{}, r, DefaultMaxMessageSize, false)
		var got wireFailure
		if err := json.Unmarshal([]byte(dl.Attributes[FailureAttribute].StringValue), &got); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(got.Error, "THE END") || len(got.Error) > maxErrorText+len("…") {
			t.Errorf("error text of %d bytes, ending %q", len(got.Error), got.Error[len(got.Error)-10:])
		}
	})
	t.Run("fits the size limit: error text shortened, then attributes dropped, body kept", func(t *testing.T) {
		const limit = 4096
		attrs := map[string]Attribute{
			"a": {DataType: "String", StringValue: strings.Repeat("a", 500)},
			"b": {DataType: "String", StringValue: strings.Repeat("b", 500)},
		}
		r := rec
		r.Error = strings.Repeat("e\"", 2000) + "LAST WORDS" // escapes make the JSON longer than the text
		body := strings.Repeat("x", 2000)

		dl, dropped, recDropped := buildDeadLetter(&Message{Body: body, Attributes: attrs}, r, limit, false)
		if recDropped || len(dropped) != 0 {
			t.Fatalf("dropped %v, record dropped %v; want only the error text shortened", dropped, recDropped)
		}
		if got := messageSize(dl.Body, dl.Attributes); got > limit || dl.Body != body {
			t.Errorf("size %d > %d, or body changed", got, limit)
		}
		var got wireFailure
		if err := json.Unmarshal([]byte(dl.Attributes[FailureAttribute].StringValue), &got); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(got.Error, "LAST WORDS") || len(got.Error) < minErrorText {
			t.Errorf("error text %d bytes, want the tail kept", len(got.Error))
		}

		body = strings.Repeat("x", limit-900) // too little room for both attributes and a record
		dl, dropped, recDropped = buildDeadLetter(&Message{Body: body, Attributes: attrs}, r, limit, false)
		if recDropped || len(dropped) == 0 || dropped[0] != "b" || dl.Attributes[FailureAttribute].StringValue == "" {
			t.Errorf("dropped %v (record dropped %v); want b dropped first and the record kept", dropped, recDropped)
		}
		if got := parseFailure(t, dl).DroppedAttributes; !slices.Equal(got, dropped) {
			t.Errorf("record names dropped attributes %q, want %q", got, dropped)
		}
		if got := messageSize(dl.Body, dl.Attributes); got > limit || dl.Body != body {
			t.Errorf("size %d > %d, or body changed", got, limit)
		}

		body = strings.Repeat("x", limit-10) // not even a bare record fits
		dl, _, recDropped = buildDeadLetter(&Message{Body: body, Attributes: attrs}, r, limit, false)
		if !recDropped || dl.Body != body {
			t.Errorf("record dropped %v; want the body sent alone", recDropped)
		}
		if _, ok := dl.Attributes[FailureAttribute]; ok {
			t.Error("record attached although it cannot fit")
		}
	})
}

// TestPoolDeadLetterSendFails: the message is kept (not deleted) and comes
// back after a backoff; nothing is lost.
func TestPoolDeadLetterSendFails(t *testing.T) {
	q := newFakeQueue(t)
	q.setFault(opSend, errors.New("AccessDenied"))
	id := q.put("x", withPriorReceives(1))
	h := startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		return Permanent(errors.New("bad"))
	})
	q.waitFor(t, 5*time.Second, "the message released", func() bool {
		_, ok := outcomeVisibility(t, q, id+"#2")
		return ok
	})
	h.waitSettled()
	if got, want := mustVis(t, q, id+"#2"), testBackoff.Delay(2); got != want {
		t.Errorf("visibility after the failed send = %s, want Backoff.Delay(2) = %s", got, want)
	}
	if s := q.msg(id); s.Deleted || len(q.callsOf(opDelete)) != 0 {
		t.Error("message deleted although the dead-letter send failed")
	}
	if n := len(q.callsOf(opSend)); n != 1 {
		t.Errorf("%d send attempts, want 1", n)
	}
	h.checkOutcomes(0, 1, 0)
}

func mustVis(t *testing.T, q *fakeQueue, receipt string) time.Duration {
	t.Helper()
	d, ok := outcomeVisibility(t, q, receipt)
	if !ok {
		t.Fatalf("no visibility change for %s", receipt)
	}
	return d
}

// TestPoolNoDeadLetterQueue: a message that failed for good stays on the
// queue, hidden for Backoff.Max, and is never deleted.
func TestPoolNoDeadLetterQueue(t *testing.T) {
	q := newFakeQueue(t)
	perm := q.put("permanent")
	last := q.put("last attempt", withPriorReceives(2))
	over := q.put("over-delivered", withPriorReceives(3))
	cfg := testConfig(q)
	cfg.DeadLetter = nil
	cfg.MaxAttempts = 3
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		if m.ID == perm {
			return Permanent(errors.New("bad"))
		}
		return errors.New("failing")
	})
	q.waitFor(t, 5*time.Second, "every message released", func() bool {
		for _, id := range []string{perm, last, over} {
			if _, ok := outcomeVisibility(t, q, q.msg(id).Receipt); !ok {
				return false
			}
		}
		return true
	})
	h.waitSettled()
	for _, id := range []string{perm, last, over} {
		if got := mustVis(t, q, q.msg(id).Receipt); got != testBackoff.Max {
			t.Errorf("message %s: visibility %s, want Backoff.Max %s", id, got, testBackoff.Max)
		}
		if q.deleted(id) {
			t.Errorf("message %s deleted with no DLQ", id)
		}
	}
	if n := len(q.callsOf(opDelete, opSend)); n != 0 {
		t.Errorf("%d delete/send calls, want 0", n)
	}
	h.checkOutcomes(0, 3, 0)
}

// TestPoolHeartbeat: a handler running 3.5 visibility timeouts keeps its
// message hidden through batched extensions and is handled exactly once;
// extensions stop when it returns.
func TestPoolHeartbeat(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		slow := q.put("slow")
		long := q.put("longer")
		calls := newCallCounter()
		releaseLong := newTestGate()
		cfg := testConfig(q)
		cfg.Concurrency = 2
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			calls.record(m)
			switch m.ID {
			case slow:
				select {
				case <-time.After(3500 * time.Millisecond): // the work
				case <-ctx.Done():
					return ctx.Err()
				}
				return nil
			default:
				return releaseLong.wait(ctx)
			}
		})
		q.waitFor(t, 10*time.Second, "the slow message deleted", func() bool { return q.deleted(slow) })
		slowDeleted := q.deleteAttempts(slow + "#1")[0].Seq
		// Let the longer handler's message be extended twice more, to see that
		// the finished one is left alone meanwhile.
		q.waitFor(t, 5*time.Second, "two more extensions of the longer message", func() bool {
			return q.extendedAfter(long+"#1", slowDeleted) >= 2
		})
		releaseLong.open()
		q.waitFor(t, 5*time.Second, "the longer message deleted", func() bool { return q.deleted(long) })
		h.waitSettled()

		for _, id := range []string{slow, long} {
			if n := calls.calls(id); n != 1 {
				t.Errorf("message %s handled %d times, want 1", id, n)
			}
			if rc := q.msg(id).ReceiveCount; rc != 1 {
				t.Errorf("message %s delivered %d times, want 1: its visibility lapsed", id, rc)
			}
		}
		ext := q.visChanges(slow + "#1")
		ok := 0
		for _, e := range ext {
			if e.Err != nil {
				t.Errorf("extension failed: %v", e.Err)
			}
			if e.Seq > slowDeleted {
				t.Errorf("slow message extended (call %d) after it was deleted (call %d)", e.Seq, slowDeleted)
			}
			if e.Timeout != cfg.VisibilityTimeout {
				t.Errorf("extension asked for %s, want the visibility timeout %s", e.Timeout, cfg.VisibilityTimeout)
			}
			ok++
		}
		if ok < 3 {
			t.Errorf("slow message extended %d times in 3.5 visibility timeouts, want at least 3", ok)
		}
		// Both were received together, so their extensions share calls.
		shared := 0
		for _, c := range q.callsOf(opChangeVisibility) {
			if len(c.Changes) == 2 {
				shared++
			}
		}
		if shared == 0 {
			t.Error("no ChangeVisibility call carried both messages: extensions are not batched")
		}
		if got := metricValue(t, h.metrics.VisibilityExtension); int(got) < ok {
			t.Errorf("extensions metric = %v, want at least %d", got, ok)
		}
		h.checkOutcomes(2, 0, 0)
	})
}

// TestPoolHeartbeatStopsAtHandlerLimit: a handler that ignores its timeout
// has its message extended no further than HandlerTimeout plus the settle
// margin; then the message is delivered again.
func TestPoolHeartbeatStopsAtHandlerLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		id := q.put("x")
		release := newTestGate()
		ended := make(chan ctxEnd, 1)
		cfg := testConfig(q)
		cfg.HandlerTimeout = 1500 * time.Millisecond
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			if m.ReceiveCount > 1 {
				return nil
			}
			ended <- awaitCtxEnd(ctx)
			<-release.C() // ignores its context
			return errors.New("too late")
		})
		t.Cleanup(release.open)
		q.waitFor(t, 10*time.Second, "a second delivery, deleted", func() bool { return q.msg(id).ReceiveCount == 2 && q.deleted(id) })
		release.open()
		wait.For(t, 5*time.Second, "the first attempt settled", func() bool { return h.completed(OutcomeRetry) == 1 })
		h.waitSettled()

		select {
		case e := <-ended:
			e.check(t, cfg.HandlerTimeout)
		default:
			t.Error("the first handler's context never ended")
		}
		first := id + "#1"
		limit := q.deliveredAt(first).Add(cfg.HandlerTimeout + settleMargin(cfg.VisibilityTimeout))
		extended := 0
		for _, e := range q.visChanges(first) {
			if e.Err != nil {
				continue
			}
			extended++
			if until := e.QStart.Add(e.Timeout); until.After(limit) {
				t.Errorf("extension to %s is %s past receive + handler timeout + settle margin",
					until.Format("15:04:05.000"), until.Sub(limit))
			}
		}
		if extended < 2 {
			t.Errorf("%d successful extensions, want at least 2 before the limit", extended)
		}
		h.checkOutcomes(1, 1, 0)
	})
}

// TestPoolHeartbeatLeaseLost: ErrLeaseLost on one entry of an extension
// counts a lost lease and stops extending that message only.
func TestPoolHeartbeatLeaseLost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		lost := q.put("lost")
		kept := q.put("kept")
		var fired atomic.Bool
		q.setEntryFault(func(op, msgID, receipt string) error {
			if op == opChangeVisibility && receipt == lost+"#1" && fired.CompareAndSwap(false, true) {
				return leaseLost("MessageNotInflight", receipt)
			}
			return nil
		})
		release := newTestGate()
		cfg := testConfig(q)
		cfg.Concurrency = 3 // one slot free for the redelivery
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			if m.ReceiveCount > 1 {
				return nil
			}
			return release.wait(ctx)
		})
		wait.For(t, 5*time.Second, "a lost lease counted", func() bool { return h.leasesLost() >= 1 })
		var lostSeq int
		for _, e := range q.visChanges(lost + "#1") {
			if e.Err != nil {
				lostSeq = e.Seq
			}
		}
		q.waitFor(t, 5*time.Second, "two more extensions of the other message", func() bool {
			return q.extendedAfter(kept+"#1", lostSeq) >= 2
		})
		for _, e := range q.visChanges(lost + "#1") {
			if e.Seq > lostSeq {
				t.Errorf("message extended again (call %d) after its lease was lost (call %d)", e.Seq, lostSeq)
			}
		}
		if n := h.leasesLost(); n != 1 {
			t.Errorf("leases lost = %d, want 1", n)
		}
		// Unextended, the message came back and was handled by another delivery.
		q.waitFor(t, 5*time.Second, "the redelivered message deleted", func() bool { return q.deleted(lost) })
		release.open()
		q.waitFor(t, 5*time.Second, "the other message deleted", func() bool { return q.deleted(kept) })
		h.waitSettled()
		h.waitDeleteRefused() // logged after the stale delete was counted, if it was
		if n := h.leasesLost(); n != 1 {
			t.Errorf("leases lost = %d after the stale delete, want 1: one message lost its lease once", n)
		}
		if got := q.deleteAttempts(lost + "#1"); len(got) != 1 || !errors.Is(got[0].Err, ErrLeaseLost) {
			t.Errorf("stale delete attempts = %+v, want one refused with ErrLeaseLost and not retried", got)
		}
		h.checkOutcomes(2, 0, 0)
	})
}

func TestPoolHandlerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		id := q.put("x")
		ended := make(chan ctxEnd, 1)
		cfg := testConfig(q)
		cfg.HandlerTimeout = 200 * time.Millisecond
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			ended <- awaitCtxEnd(ctx)
			return ctx.Err()
		})
		var e ctxEnd
		select {
		case e = <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("handler context never ended")
		}
		e.check(t, cfg.HandlerTimeout)
		q.waitFor(t, 5*time.Second, "the message released", func() bool { _, ok := outcomeVisibility(t, q, id+"#1"); return ok })
		h.waitSettled()
		if got, want := mustVis(t, q, id+"#1"), testBackoff.Delay(1); got != want {
			t.Errorf("visibility after timeout = %s, want Backoff.Delay(1) = %s", got, want)
		}
		if n := len(q.callsOf(opSend, opDelete)); n != 0 {
			t.Errorf("%d send/delete calls after a timeout, want 0", n)
		}
		h.checkOutcomes(0, 1, 0)
		if logged := h.logs.FilterMessage("handler failed; will retry").All(); len(logged) != 1 ||
			!strings.Contains(fmt.Sprint(logged[0].ContextMap()["error"]), "handler timed out after 200ms") {
			t.Errorf("the retry was not logged as a handler timeout: %v", logged)
		}
	})
}

func TestPoolPanickingHandler(t *testing.T) {
	q := newFakeQueue(t)
	boom := q.put("boom")
	calm := q.put("calm")
	h := startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		if m.ID == boom {
			panic("handler bug")
		}
		return nil
	})
	q.waitFor(t, 5*time.Second, "the panicked message released and the other deleted", func() bool {
		_, ok := outcomeVisibility(t, q, boom+"#1")
		return ok && q.deleted(calm)
	})
	if got, want := mustVis(t, q, boom+"#1"), testBackoff.Delay(1); got != want {
		t.Errorf("visibility after panic = %s, want %s", got, want)
	}
	// The daemon survives and keeps working.
	later := q.put("later")
	q.waitFor(t, 5*time.Second, "a later message deleted", func() bool { return q.deleted(later) })
	if !h.running() {
		t.Fatal("Run returned after a handler panic")
	}
	h.waitSettled()
	h.checkOutcomes(2, 1, 0)
	if n := h.logs.FilterMessage("handler failed; will retry").Len(); n != 1 {
		t.Errorf("%d retry logs, want 1", n)
	}
}

// TestPoolShutdownWaitsForHandlers: handlers that finish within
// ShutdownTimeout have their messages deleted, and Run returns as soon as
// they have.
func TestPoolShutdownWaitsForHandlers(t *testing.T) {
	q := newFakeQueue(t)
	ids := q.putN(3)
	started := make(chan struct{}, 3)
	release := newTestGate()
	cfg := testConfig(q)
	cfg.Concurrency = 3 // all slots busy: no receive pending at shutdown
	cfg.ShutdownTimeout = 10 * time.Second
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		started <- struct{}{}
		return release.wait(ctx)
	})
	for range 3 {
		<-started
	}
	cancelSeq := q.lastSeq()
	h.cancel()
	wait.For(t, 5*time.Second, "Stats().Draining", func() bool { return h.p.Stats().Draining })
	release.open()
	if took := h.waitRun(5 * time.Second); took > 2*time.Second {
		t.Errorf("Run took %s after the handlers finished", took)
	}
	for _, c := range q.callsOf(opReceive) {
		if c.Seq > cancelSeq {
			t.Errorf("Receive (call %d) after cancel", c.Seq)
		}
	}
	if !q.allDeleted(ids) {
		t.Error("messages of handlers that finished during shutdown not deleted")
	}
	if n := len(q.callsOf(opChangeVisibility)); n != 0 {
		t.Errorf("%d visibility changes, want 0", n)
	}
	h.checkOutcomes(3, 0, 0)
}

// TestPoolNoReceiveAfterCancel: the engine lets a long poll pending at
// shutdown finish; when it comes back empty, its poller must not start
// another one (with a free slot and no minimum gap left to sleep).
func TestPoolNoReceiveAfterCancel(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	cfg := testConfig(q)
	cfg.Concurrency = 2
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.Now = clock.Now
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error { return nil })
	q.waitFor(t, 5*time.Second, "a long poll", func() bool { return len(q.callsOf(opReceive)) > 0 })
	clock.Advance(2 * minEmptyPoll) // the poll has waited long: no pause after it
	cancelSeq := q.lastSeq()
	h.cancel()
	wait.For(t, 5*time.Second, "Stats().Draining", func() bool { return h.p.Stats().Draining })
	q.endLongPolls()
	if took := h.waitRun(8 * time.Second); took > 2*time.Second {
		t.Errorf("Run took %s after the pending long poll ended", took)
	}
	for _, c := range q.callsOf(opReceive) {
		if c.Seq > cancelSeq {
			t.Errorf("Receive (call %d, max %d) started after cancel", c.Seq, c.Max)
		}
	}
}

// TestPoolNoReceiveAfterCancelRace: handlers finishing just after cancel
// free slots while the pollers wait for one; no poller may start a receive.
func TestPoolNoReceiveAfterCancelRace(t *testing.T) {
	for i := range 20 {
		q := newFakeQueue(t)
		q.putN(2)
		started := make(chan struct{}, 2)
		release := newTestGate()
		cfg := testConfig(q)
		cfg.Concurrency = 2
		cfg.Pollers = 2
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			started <- struct{}{}
			return release.wait(ctx)
		})
		<-started
		<-started
		cancelSeq := q.lastSeq()
		h.cancel()
		release.open() // slots come free while the pollers wait for one
		h.waitRun(5 * time.Second)
		for _, c := range q.callsOf(opReceive) {
			if c.Seq > cancelSeq {
				t.Fatalf("iteration %d: Receive (call %d, max %d) started after cancel", i, c.Seq, c.Max)
			}
		}
	}
}

// TestPoolShutdownTimeoutCancelsHandlers: handlers still running at
// ShutdownTimeout get their context cancelled and their messages released
// with visibility 0; one that finished before is deleted.
func TestPoolShutdownTimeoutCancelsHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		quick := q.put("quick")
		stuck := q.put("stuck")
		started := make(chan struct{}, 2)
		releaseQuick := newTestGate()
		cancelled := make(chan error, 1)
		cfg := testConfig(q)
		cfg.Concurrency = 2
		cfg.ShutdownTimeout = 300 * time.Millisecond
		cfg.AbandonGrace = 5 * time.Second
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			started <- struct{}{}
			if m.ID == quick {
				return releaseQuick.wait(ctx)
			}
			<-ctx.Done()
			cancelled <- ctx.Err()
			return fmt.Errorf("interrupted: %w", ctx.Err())
		})
		<-started
		<-started
		h.cancel()
		releaseQuick.open()
		took := h.waitRun(5 * time.Second)
		select {
		case err := <-cancelled:
			if err != context.Canceled {
				t.Errorf("stuck handler's context ended with %v, want Canceled", err)
			}
		default:
			t.Fatal("stuck handler's context was not cancelled")
		}
		if took < cfg.ShutdownTimeout-10*time.Millisecond || took > cfg.ShutdownTimeout+2*time.Second {
			t.Errorf("Run returned %s after cancel; want just after ShutdownTimeout %s, not AbandonGrace", took, cfg.ShutdownTimeout)
		}
		if !q.deleted(quick) {
			t.Error("message finished within ShutdownTimeout not deleted")
		}
		if got := mustVis(t, q, stuck+"#1"); got != 0 {
			t.Errorf("cancelled message visibility %s, want 0", got)
		}
		if !q.visibleNow(stuck) {
			t.Error("cancelled message not back on the queue")
		}
		h.checkOutcomes(1, 1, 0)
		if h.inflight() != 0 {
			t.Errorf("in-flight gauge = %d, want 0", h.inflight())
		}
	})
}

// TestPoolShutdownAbandonsStuckHandler: a handler that ignores its context
// has its message released (visibility 0) after AbandonGrace, and Run
// returns; when the handler returns later nothing more happens.
func TestPoolShutdownAbandonsStuckHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		id := q.put("x")
		started := make(chan struct{}, 1)
		release := newTestGate()
		cfg := testConfig(q)
		cfg.Concurrency = 1
		cfg.ShutdownTimeout = 100 * time.Millisecond
		cfg.AbandonGrace = 200 * time.Millisecond
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			started <- struct{}{}
			<-release.C()
			return nil
		})
		t.Cleanup(release.open)
		<-started
		h.cancel()
		if took := h.waitRun(5 * time.Second); took < cfg.ShutdownTimeout+cfg.AbandonGrace-10*time.Millisecond || took > 2*time.Second {
			t.Errorf("Run returned after %s, want just after ShutdownTimeout + AbandonGrace", took)
		}
		if got := mustVis(t, q, id+"#1"); got != 0 {
			t.Errorf("abandoned message visibility %s, want 0", got)
		}
		if !q.visibleNow(id) {
			t.Error("abandoned message not visible again")
		}
		h.checkOutcomes(0, 1, 0)
		if h.inflight() != 0 || h.p.Stats().InFlight != 0 {
			t.Errorf("in flight after Run: gauge %d, stats %d", h.inflight(), h.p.Stats().InFlight)
		}
		// The handler finally returns success: the message was already given
		// back, so it must not be deleted under another consumer's feet.
		release.open()
		wait.For(t, 5*time.Second, "the late handler to finish", func() bool { return h.p.slots.busy() == 0 })
		if n := len(q.callsOf(opDelete)); n != 0 {
			t.Errorf("%d deletes after the message was released", n)
		}
		h.checkOutcomes(0, 1, 0)
	})
}

// TestPoolHurry: Hurry during shutdown cancels handlers at once instead of
// at ShutdownTimeout.
func TestPoolHurry(t *testing.T) {
	q := newFakeQueue(t)
	id := q.put("x")
	started := make(chan struct{}, 1)
	cancelled := make(chan struct{})
	cfg := testConfig(q)
	cfg.Concurrency = 1
	cfg.ShutdownTimeout = time.Minute
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		started <- struct{}{}
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	})
	<-started
	h.cancel()
	wait.For(t, 5*time.Second, "Stats().Draining", func() bool { return h.p.Stats().Draining })
	h.p.Hurry()
	h.p.Hurry() // a third signal is harmless
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("Hurry did not cancel the running handler")
	}
	h.waitRun(5 * time.Second)
	if got := mustVis(t, q, id+"#1"); got != 0 {
		t.Errorf("visibility %s, want 0", got)
	}
	h.checkOutcomes(0, 1, 0)
}

// TestPoolShutdownReleasesMessagesOnTheWire: messages a receive returns
// after shutdown began are released at once, not handled.
func TestPoolShutdownReleasesMessagesOnTheWire(t *testing.T) {
	q := newFakeQueue(t)
	ids := q.putN(2)
	inReceive := make(chan struct{})
	deliver := newTestGate()
	var once sync.Once
	q.setHooks(nil, func(c fakeCall) {
		if c.Op == opReceive && len(c.Got) > 0 {
			once.Do(func() { close(inReceive); <-deliver.C() })
		}
	})
	calls := newCallCounter()
	h := startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		calls.record(m)
		return nil
	})
	t.Cleanup(deliver.open)
	<-inReceive
	h.cancel()
	deliver.open()
	h.waitRun(5 * time.Second)
	if n := calls.total(); n != 0 {
		t.Errorf("handler called %d times after shutdown began", n)
	}
	for _, id := range ids {
		if got := mustVis(t, q, id+"#1"); got != 0 {
			t.Errorf("message %s visibility %s, want 0", id, got)
		}
		if !q.visibleNow(id) {
			t.Errorf("message %s not visible again", id)
		}
	}
	h.checkOutcomes(0, 2, 0)
	if h.inflight() != 0 {
		t.Errorf("in-flight gauge = %d, want 0", h.inflight())
	}
}

// TestPoolShutdownPendingReceive: a long poll under way at shutdown is let
// finish and what it brings is given back; a receive that hangs is cut off
// after ShutdownTimeout + AbandonGrace, whether or not a handler is stuck too.
func TestPoolShutdownPendingReceive(t *testing.T) {
	t.Run("finishes and gives back", func(t *testing.T) {
		q := newFakeQueue(t)
		calls := newCallCounter()
		cfg := testConfig(q)
		cfg.Concurrency = 2
		cfg.ShutdownTimeout = 10 * time.Second
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			calls.record(m)
			return nil
		})
		q.waitFor(t, 5*time.Second, "a long poll", func() bool { return len(q.callsOf(opReceive)) > 0 })
		h.cancel()
		wait.For(t, 5*time.Second, "Stats().Draining", func() bool { return h.p.Stats().Draining })
		id := q.put("arrives during shutdown")
		if took := h.waitRun(5 * time.Second); took > 2*time.Second {
			t.Errorf("Run took %s; the pending receive returned at once", took)
		}
		if calls.total() != 0 {
			t.Error("a message received during shutdown was handled")
		}
		if got := mustVis(t, q, id+"#1"); got != 0 || !q.visibleNow(id) {
			t.Errorf("message received during shutdown: visibility %s, want released at once", got)
		}
	})
	for _, stuckHandler := range []bool{false, true} {
		t.Run(fmt.Sprintf("hung receive, stuck handler %v", stuckHandler), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := newFakeQueue(t)
				started := make(chan struct{}, 1)
				release := newTestGate()
				cfg := testConfig(q)
				cfg.Concurrency = 2
				cfg.ShutdownTimeout = 100 * time.Millisecond
				cfg.AbandonGrace = 200 * time.Millisecond
				if stuckHandler {
					q.put("stuck")
				}
				h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
					started <- struct{}{}
					<-release.C() // ignores its context
					return nil
				})
				t.Cleanup(release.open)
				if stuckHandler {
					<-started
				}
				q.hangReceives()
				q.waitFor(t, 5*time.Second, "a receive under way", func() bool {
					for _, c := range q.callsOf(opReceive) {
						if c.End.IsZero() {
							return true
						}
					}
					return false
				})
				h.cancel()
				took := h.waitRun(cfg.ReceiveTimeout + 5*time.Second)
				// ShutdownTimeout, AbandonGrace for handlers, AbandonGrace more
				// for the receive to return what was released; not the
				// receive's own timeout.
				if limit := cfg.ShutdownTimeout + 2*cfg.AbandonGrace + time.Second; took > limit {
					t.Errorf("Run took %s with a hung receive, want at most %s (ShutdownTimeout + 2 AbandonGrace + slack)", took, limit)
				}
				if h.logs.FilterMessageSnippet("cutting off a receive").Len() != 1 {
					t.Error("the hung receive was not reported")
				}
			})
		})
	}
}

// TestPoolReceiveErrorsBackOff: during an outage the pollers back off
// instead of spinning, and recover when SQS does.
func TestPoolReceiveErrorsBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		cfg := testConfig(q)
		cfg.Concurrency = 20 // ten slots for each poller's long poll
		cfg.Pollers = 2
		cfg.PollBackoff = Backoff{Base: 20 * time.Millisecond, Max: 80 * time.Millisecond, Rand: fixedRand(0)}
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error { return nil })
		q.waitFor(t, 5*time.Second, "both pollers long-polling", func() bool { return len(q.callsOf(opReceive)) >= 2 })

		outage := time.Now()
		q.setFault(opReceive, errors.New("service unavailable"))
		failedIn := func() int {
			n := 0
			for _, c := range q.callsOf(opReceive) {
				if c.Err != nil && !c.Start.Before(outage) {
					n++
				}
			}
			return n
		}
		q.waitFor(t, 5*time.Second, "ten failed receives", func() bool { return failedIn() >= 10 })
		healed := time.Now()
		q.setFault(opReceive, nil)
		n := failedIn()

		// Each poller's calls in the window are at least Delay(1), Delay(2), ...
		// apart (its first failure is the long poll that started before it).
		window := healed.Sub(outage)
		perPoller, waited := 1, time.Duration(0)
		for k := 1; ; k++ {
			waited += cfg.PollBackoff.Delay(k)
			if waited > window {
				break
			}
			perPoller++
		}
		if bound := cfg.Pollers * perPoller; n > bound {
			t.Errorf("%d receives in a %s outage, want at most %d with backoff", n, window, bound)
		}
		if !h.running() {
			t.Fatal("Run returned during a receive outage")
		}
		id := q.put("after the outage")
		q.waitFor(t, 5*time.Second, "a message handled after the outage", func() bool { return q.deleted(id) })
		if !h.running() {
			t.Fatal("Run returned")
		}
		if lp := h.p.Stats().LastPoll; !lp.After(healed) {
			t.Errorf("LastPoll %s not after recovery at %s", lp, healed)
		}
		if n := h.logs.FilterMessage("receive failed; backing off").Len(); n == 0 || n > 2 {
			t.Errorf("logged the receive failure %d times, want 1 (rate limited)", n)
		}
	})
}

// TestPoolStatsWedged: Wedged is set when every slot is held by a handler
// past its timeout, on the pool's clock.
func TestPoolStatsWedged(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	ids := q.putN(2)
	started := make(chan struct{}, 2)
	release := newTestGate()
	cfg := testConfig(q)
	cfg.Concurrency = 2
	cfg.HandlerTimeout = time.Minute
	cfg.AbandonGrace = time.Second
	cfg.ReceiveTimeout = time.Hour
	cfg.Now = clock.Now
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		started <- struct{}{}
		if m.ID == ids[0] {
			return release.wait(ctx)
		}
		<-release.C() // ignores its context
		return nil
	})
	t.Cleanup(release.open)
	<-started
	<-started
	overdue := cfg.HandlerTimeout + settleMargin(cfg.VisibilityTimeout) + cfg.AbandonGrace
	if s := h.p.Stats(); s.Wedged != "" || s.InFlight != 2 || s.Busy != 2 || s.Concurrency != 2 {
		t.Errorf("Stats at start = %+v", s)
	}
	clock.Advance(overdue)
	if s := h.p.Stats(); s.Wedged != "" || s.OldestActive != overdue {
		t.Errorf("Stats at the overdue mark = %+v, want not wedged, oldest %s", s, overdue)
	}
	clock.Advance(time.Second)
	s := h.p.Stats()
	if !strings.Contains(s.Wedged, "all 2 handler slots busy past handler timeout") {
		t.Errorf("Stats().Wedged = %q, want every slot busy past the handler timeout", s.Wedged)
	}
	release.open()
	h.waitSettled()
	if s := h.p.Stats(); s.Wedged != "" {
		t.Errorf("still wedged after the handlers returned: %q", s.Wedged)
	}
}

// TestPoolStatsWedgedReceive: a receive that has not returned long after
// ReceiveTimeout (on the pool's clock) is reported too.
func TestPoolStatsWedgedReceive(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	inReceive := make(chan struct{})
	unblock := newTestGate()
	var once sync.Once
	q.setHooks(func(c fakeCall) {
		if c.Op == opReceive {
			once.Do(func() { close(inReceive); <-unblock.C() }) // a hung connection
		}
	}, nil)
	cfg := testConfig(q)
	cfg.Concurrency = 1
	cfg.ReceiveTimeout = time.Hour // never reached in real time
	cfg.Now = clock.Now
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error { return nil })
	t.Cleanup(unblock.open)
	<-inReceive
	if s := h.p.Stats(); s.Wedged != "" {
		t.Errorf("wedged at once: %q", s.Wedged)
	}
	clock.Advance(2*cfg.ReceiveTimeout + time.Second)
	if s := h.p.Stats(); !strings.Contains(s.Wedged, "no receive has returned") {
		t.Errorf("Stats().Wedged = %q, want a hung receive", s.Wedged)
	}
	unblock.open()
}

// TestPoolDeleteRetries: a delete that fails for a passing reason is
// retried; one refused with ErrLeaseLost is not; one failing every time is
// retried, its message kept hidden, for deleteRetryFor, then given up,
// leaving the message for redelivery. On testing/synctest's clock.
func TestPoolDeleteRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		flaky := q.put("flaky")
		stale := q.put("stale")
		broken := q.put("broken")
		fine := q.put("fine")
		var flakyFailed atomic.Bool
		q.setEntryFault(func(op, msgID, receipt string) error {
			if op != opDelete || !strings.HasSuffix(receipt, "#1") {
				return nil
			}
			switch msgID {
			case flaky:
				if flakyFailed.CompareAndSwap(false, true) {
					return errors.New("InternalError")
				}
			case stale:
				return leaseLost("ReceiptHandleIsInvalid", receipt)
			case broken:
				return errors.New("InternalError")
			}
			return nil
		})
		cfg := testConfig(q)
		cfg.VisibilityTimeout = time.Minute
		start := time.Now()
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error { return nil })
		const givenUp = "delete failed; the message will be delivered again"
		q.waitFor(t, 2*deleteRetryFor, "the deletes settled", func() bool {
			return q.deleted(flaky) && q.deleted(fine) && h.logs.FilterMessage(givenUp).Len() > 0
		})
		if held := time.Since(start); held < deleteRetryFor {
			t.Errorf("gave up the broken delete after %s, want at least %s", held, deleteRetryFor)
		}
		if n := q.msg(broken).ReceiveCount; n != 1 {
			t.Errorf("broken delivered %d times while its delete was retried, want 1 (kept hidden)", n)
		}
		// Given up, it comes back at its visibility timeout and runs again.
		q.waitFor(t, 2*cfg.VisibilityTimeout, "broken redelivered and deleted", func() bool { return q.deleted(broken) })
		h.waitSettled()
		h.waitDeleteRefused()
		if got := q.deleteAttempts(flaky + "#1"); len(got) != 2 || got[1].Err != nil {
			t.Errorf("flaky delete attempts = %+v, want a failure then a success", got)
		}
		if got := q.deleteAttempts(stale + "#1"); len(got) != 1 {
			t.Errorf("stale delete attempted %d times, want 1", len(got))
		}
		if got := q.deleteAttempts(broken + "#1"); len(got) < 3 {
			t.Errorf("broken delete attempted %d times, want retries", len(got))
		}
		if n := h.leasesLost(); n != 1 {
			t.Errorf("leases lost = %d, want 1", n)
		}
		// stale came back after its visibility timeout and ran again.
		q.waitFor(t, 2*cfg.VisibilityTimeout, "stale redelivered and deleted", func() bool { return q.deleted(stale) })
		h.checkOutcomes(4, 0, 0)
		h.stop()
	})
}

// TestPoolDeleteOutageDuringLoad: two full DeleteMessageBatch calls fail
// together (throttling) while every flush slot is busy; the retries must
// still go out and the pool must not wedge.
func TestPoolDeleteOutageDuringLoad(t *testing.T) {
	q := newFakeQueue(t)
	ids := q.putN(20)
	q.failNext(opDelete, errors.New("ThrottlingException"), errors.New("ThrottlingException"))
	var deletes atomic.Int64
	bothIn := newTestGate()
	q.setHooks(func(c fakeCall) {
		if c.Op != opDelete {
			return
		}
		switch deletes.Add(1) {
		case 1:
			select { // hold the first call until the second is in flight
			case <-bothIn.C():
			case <-time.After(5 * time.Second):
			}
		case 2:
			bothIn.open()
		}
	}, nil)
	calls := newCallCounter()
	cfg := testConfig(q)
	cfg.Concurrency = 20 // two parallel flushes
	cfg.FlushInterval = time.Hour
	cfg.ShutdownTimeout = time.Second
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		calls.record(m)
		return nil
	})
	wait.For(t, 5*time.Second, "20 handler calls", func() bool { return calls.total() == 20 })
	q.waitFor(t, 5*time.Second, "every message deleted after the retry", func() bool { return q.allDeleted(ids) })
	h.waitSettled()
	h.checkOutcomes(20, 0, 0)
}
