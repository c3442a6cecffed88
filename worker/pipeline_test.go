package worker

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// With SQS a round trip away and a fast handler, a receive sent only once
// its slots are free leaves the handlers idle for a round trip per batch:
// throughput is capped at concurrency / round trip. Receives sent ahead for
// slots that will be free by the time SQS answers remove the cap, while the
// messages they bring wait only briefly, receives stay full, and an idle
// daemon sends no more receives than one per poller per wait. On
// testing/synctest's clock, so the round trip is exact and the figures do
// not depend on this machine's speed.
func TestReceivesArePipelinedAtRoundTripLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 15 * time.Millisecond // distantQueue's
		q, ids, cfg := distantQueue(t, 2000)
		cfg.FlushInterval = 50 * time.Millisecond
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error { return nil })
		start := time.Now()
		q.waitFor(t, time.Minute, "every message deleted", func() bool { return q.allDeleted(ids) })
		took := time.Since(start)
		rate := float64(len(ids)) / took.Seconds()
		bound := float64(cfg.Concurrency) / rtt.Seconds() // without pipelining, at best
		t.Logf("%d messages in %s: %.0f/s (concurrency/RTT bound %.0f/s)", len(ids), took, rate, bound)
		if rate < 1.5*bound {
			t.Errorf("%.0f messages/s with a %s round trip at concurrency %d; want well above the unpipelined bound %.0f/s", rate, rtt, cfg.Concurrency, bound)
		}
		h.checkOutcomes(len(ids), 0, 0) // none sent back for waiting too long
		if w := maxObserved(t, h.metrics.LocalWait); w > 4*rtt {
			t.Errorf("a message waited up to %s for a handler, want a few round trips at most", w)
		}
		if perMsg := float64(len(q.callsOf(opReceive, opDelete, opChangeVisibility))) / float64(len(ids)); perMsg > 0.22 {
			t.Errorf("%.3f requests per message, want at most 0.22 (full receives and deletes)", perMsg)
		}
		h.stop()
	})
}

// A slow handler gets no receive credit: the rate it finishes at would not
// consume a prefetched message within a round trip, so none waits long.
func TestSlowHandlersGetNoPrefetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, ids, cfg := distantQueue(t, 60)
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			time.Sleep(time.Second)
			return nil
		})
		q.waitFor(t, time.Minute, "every message deleted", func() bool { return q.allDeleted(ids) })
		h.checkOutcomes(len(ids), 0, 0)
		if w := maxObserved(t, h.metrics.LocalWait); w > 100*time.Millisecond {
			t.Errorf("a message waited up to %s for a handler; a slow handler's messages must not be prefetched", w)
		}
		h.stop()
	})
}

// An idle daemon sends no more receives than without pipelining: the credit
// follows the rate handlers finish at, which is zero.
func TestIdleDaemonSendsOneLongPollAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t) // long polls of 5 s
		cfg := testConfig(q)
		cfg.Concurrency = 10
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error { return nil })
		time.Sleep(time.Minute)
		synctest.Wait()
		// One receive of 10 in flight at a time: 12 per minute of 5 s polls.
		if n := len(q.callsOf(opReceive)); n > 13 {
			t.Errorf("%d receives in an idle minute, want at most 13", n)
		}
		h.stop()
	})
}

// distantQueue is a queue of n messages whose every call takes a 15 ms
// round trip (on synctest's clock), and a configuration of concurrency 10
// for it.
func distantQueue(t *testing.T, n int) (*fakeQueue, []string, Config) {
	q := newFakeQueue(t)
	ids := q.putN(n)
	q.setHooks(func(c fakeCall) { time.Sleep(15 * time.Millisecond) }, nil)
	cfg := testConfig(q)
	cfg.Concurrency = 10
	cfg.VisibilityTimeout = 30 * time.Second
	return q, ids, cfg
}

// maxObserved is the upper bound of the highest histogram bucket that has
// an observation (+Inf if one is above the last bound).
func maxObserved(t *testing.T, h prometheus.Histogram) time.Duration {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	hist := m.GetHistogram()
	prev := uint64(0)
	top := 0.0
	for _, b := range hist.GetBucket() {
		if b.GetCumulativeCount() > prev {
			top = b.GetUpperBound()
		}
		prev = b.GetCumulativeCount()
	}
	if hist.GetSampleCount() > prev {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(top * float64(time.Second))
}

// When handlers slow down suddenly, messages received ahead for them would
// wait; past the local wait limit they go back to the queue unstarted (for
// other instances), and run later, once each.
func TestPrefetchedMessagesWaitingTooLongGoBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, ids, cfg := distantQueue(t, 400)
		start := time.Now()
		calls := newCallCounter()
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			calls.record(m)
			if time.Since(start) > 150*time.Millisecond && time.Since(start) < 5*time.Second {
				time.Sleep(3 * time.Second) // the downstream slows down
			}
			return nil
		})
		q.waitFor(t, 2*time.Minute, "every message deleted", func() bool { return q.allDeleted(ids) })
		if w := maxObserved(t, h.metrics.LocalWait); w > maxLocalWait {
			t.Errorf("a message waited up to %s for a handler, want at most %s", w, maxLocalWait)
		}
		if released := h.completed(OutcomeRetry); released == 0 {
			t.Error("no prefetched message was sent back; the test did not build up a credit before the slowdown")
		}
		for _, id := range ids {
			if n := calls.calls(id); n != 1 {
				t.Errorf("message %s ran %d times, want 1", id, n)
			}
		}
		h.stop()
	})
}

// At shutdown, messages received ahead and still waiting for a handler go
// back at once: no handler starts after shutdown begins.
func TestShutdownReleasesPrefetchedMessagesUnstarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, ids, cfg := distantQueue(t, 2000)
		var runs, late atomic.Int64
		var stopping atomic.Bool
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			if stopping.Load() {
				late.Add(1)
			}
			if runs.Add(1) > 300 {
				<-ctx.Done() // the downstream hangs: prefetched messages queue up
				return ctx.Err()
			}
			return nil
		})
		wait.For(t, time.Minute, "handlers hung with messages waiting for them", func() bool { return runs.Load() >= 310 && len(h.p.work) > 0 })
		stopping.Store(true)
		h.stop()
		if n := late.Load(); n != 0 {
			t.Errorf("%d handlers started after shutdown began, want 0", n)
		}
		for _, id := range ids {
			if !q.msg(id).Deleted && !q.visibleNow(id) {
				t.Errorf("message %s neither deleted nor visible after shutdown: stranded", id)
			}
		}
	})
}

// The credit: round trips of work at the measured rate, and at least a
// batch for handlers that take a tenth of a second or less, even with SQS
// so near that the round trip asks for nothing; none for slow handlers or an
// idle daemon.
func TestPipelineCredit(t *testing.T) {
	for _, tt := range []struct {
		name string
		rate float64 // completions per second
		rtt  time.Duration
		want int
	}{
		{"idle", 0, 15 * time.Millisecond, 0},
		{"fast handlers, SQS near", 2000, time.Millisecond, 10},
		{"fast handlers, SQS 15 ms away", 2000, 15 * time.Millisecond, 60},
		{"fast handlers, capped", 100000, 15 * time.Millisecond, 100},
		{"1 s handlers at concurrency 10", 10, 15 * time.Millisecond, 0},
		{"100 ms handlers at concurrency 10", 100, time.Millisecond, 10},
		// A busy machine (or a far SQS) makes the round trip long enough
		// for a slow handler's rate to ask for a message; handlers started
		// together finish together, so it would wait a whole handler's time.
		{"1 s handlers, round trip 100 ms", 10, 100 * time.Millisecond, 0},
		{"200 ms handlers, round trip 100 ms", 50, 100 * time.Millisecond, 10},
	} {
		var pl pipeline
		pl.rate = tt.rate
		pl.rtt.Store(int64(tt.rtt))
		if got := pl.credit(100, 10, 10); got != tt.want {
			t.Errorf("%s: credit %d, want %d", tt.name, got, tt.want)
		}
	}
}

// In a brown-out a few percent of receives take up to a second to answer.
// Each holds the admissions it asked for, so a handful of them at once
// would idle every handler until they answer; once a receive takes several
// round trips longer than usual, its admissions are lent to other receives.
// Here every receive sent during a tenth of a second is held for a second:
// handlers must keep working through that second.
func TestSlowReceivesDoNotIdleTheHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, ids, cfg := distantQueue(t, 2000)
		start := time.Now()
		var heldFrom, heldTo = start.Add(300 * time.Millisecond), start.Add(400 * time.Millisecond)
		var held atomic.Int64
		q.setHooks(func(c fakeCall) {
			time.Sleep(15 * time.Millisecond)
			if now := time.Now(); c.Op == opReceive && !now.Before(heldFrom) && now.Before(heldTo) {
				held.Add(1)
				time.Sleep(time.Second)
			}
		}, nil)
		var during atomic.Int64 // handler calls while the held receives were out
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			if now := time.Now(); now.After(heldTo.Add(100*time.Millisecond)) && now.Before(heldFrom.Add(time.Second)) {
				during.Add(1)
			}
			return nil
		})
		q.waitFor(t, time.Minute, "every message deleted", func() bool { return q.allDeleted(ids) })
		// About 600 a second go through at this round trip; without lending,
		// none would in the 0.8 s the held receives hold every admission
		// (and no further receive would be sent to be held).
		if n := during.Load(); n < 100 {
			t.Errorf("%d handler calls while %d receives were held for a second, want the handlers kept busy", n, held.Load())
		}
		if held.Load() < 3 {
			t.Errorf("only %d receives were held; lending should have let more go out during the tenth of a second", held.Load())
		}
		if n := testutil.ToFloat64(h.metrics.ReceivesHedged); n < 1 {
			t.Errorf("sqsfleet_receives_hedged_total = %v, want the held receives counted", n)
		}
		if w := maxObserved(t, h.metrics.LocalWait); w > maxLocalWait {
			t.Errorf("a message waited up to %s for a handler, want at most %s", w, maxLocalWait)
		}
		h.stop()
	})
}

// Lent admissions are bounded, and taken back in full when the slow receive
// answers.
func TestLendingIsBoundedAndUndone(t *testing.T) {
	s := newSlots(10)
	s.setCredit(10)
	n, err := s.acquire(context.Background(), 10)
	if err != nil || n != 10 {
		t.Fatalf("acquire = %d, %v", n, err)
	}
	if !s.hedge(n, 15) {
		t.Fatal("a first hedge within the limit was refused")
	}
	if s.hedge(n, 15) {
		t.Error("a hedge past the limit was lent")
	}
	if s.free != 20 || s.total != 30 || s.pending != 0 {
		t.Errorf("after lending: free %d total %d pending %d; want 20, 30, 0", s.free, s.total, s.pending)
	}
	s.unhedge(n)
	s.received()
	s.release(n)
	if s.free != 20 || s.total != 20 || s.pending != 0 || s.hedged != 0 {
		t.Errorf("after taking back: free %d total %d pending %d hedged %d; want 20, 20, 0, 0", s.free, s.total, s.pending, s.hedged)
	}
}
