package worker

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// maxLocalWait is the longest a received message may wait in the engine for
// a handler. A message held locally is invisible to the rest of the fleet;
// past this it goes back to the queue unstarted (not an attempt).
const maxLocalWait = time.Second

// pipelineTick is how often the receive credit is recomputed and stale
// waiting messages are released.
const pipelineTick = 100 * time.Millisecond

// creditFactor is how many round trips of work receives may ask for ahead of
// free handler slots. Two leaves room for the round trip's jitter; the
// messages it brings early wait about that long, far below maxLocalWait.
const creditFactor = 2

// pipeline measures what the receive credit is computed from: how fast
// handlers finish, and how long a receive that brings messages takes. With a
// fast handler and SQS 15 ms away, a receive sent only once its slots are
// free leaves every slot idle for a round trip per batch, so throughput is
// capped at concurrency / round trip whatever the handler's speed. Sending
// receives for slots that will be free by the time SQS answers removes that
// cap, and the credit is only what the measured rate will consume within
// creditFactor round trips: a slow handler gets none, so nothing waits long,
// and an idle daemon gets none, so it sends no more long polls than before.
type pipeline struct {
	finished atomic.Int64 // handler completions, ever
	rtt      atomic.Int64 // moving average of a receive's round trip, ns

	// Owned by the loop.
	rate float64 // moving average of completions per second
	last int64
}

// observeRTT records the round trip of a receive that brought messages (an
// empty one may have waited out its long poll, which says nothing about the
// distance to SQS).
func (pl *pipeline) observeRTT(d time.Duration) {
	for {
		old := pl.rtt.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/5
		}
		if pl.rtt.CompareAndSwap(old, next) {
			return
		}
	}
}

// credit is the number of admissions beyond the handler slots for the
// current rate and round trip, at most limit.
func (pl *pipeline) credit(limit, slots, batch int) int {
	// A message received ahead waits until a handler finishes, which can
	// be a whole handler's time when the handlers started together (one
	// receive fills them all). So none for handlers that take over a
	// quarter of the local wait bound on average (slots / rate, by
	// Little's law), however long the round trip: otherwise a slow
	// machine's or a far SQS's round trip gave a 1 s handler a message of
	// credit that waited a second and went back.
	if pl.rate <= 0 || float64(slots)/pl.rate > maxLocalWait.Seconds()/4 {
		return 0
	}
	rtt := time.Duration(pl.rtt.Load()).Seconds()
	// Rounded down: a fraction of a message per round trip is a slow
	// handler, whose prefetched message would wait for most of a run.
	c := math.Floor(creditFactor * pl.rate * rtt)
	if math.IsNaN(c) || c < 0 {
		c = 0
	}
	// Fast handlers (a tenth of a second or less on average, at the
	// measured rate) get at least one batch, even when SQS is so near that
	// the round trip asks for none: then a second receive is in flight
	// while one is slow (a delayed or lost response), instead of every
	// handler waiting on it. What it brings waits a tenth of a second at
	// most, and an idle daemon, whose rate is zero, still gets none.
	if pl.rate*fastHandler.Seconds() >= float64(slots) {
		c = max(c, float64(batch))
	}
	return min(int(c), limit)
}

// hedgeFactor and minHedgeAfter set when a receive is presumed slow: after
// hedgeFactor times the usual round trip of a receive that brings messages,
// and never sooner than minHedgeAfter (SQS's own jitter on a near
// endpoint). In a brown-out a few percent of requests take up to a second;
// without hedging, every such receive idles the handlers it asked for.
const (
	hedgeFactor   = 4
	minHedgeAfter = 25 * time.Millisecond
)

// hedgeAfter is how long a receive may take before its admissions are lent
// out, or 0 for never: only while receives are pipelined (credit above
// zero: the daemon is busy with a fast handler), never for long polls on an
// idle queue, and not before a round trip has been measured.
func (pl *pipeline) hedgeAfter(credit int) time.Duration {
	rtt := time.Duration(pl.rtt.Load())
	if credit <= 0 || rtt <= 0 {
		return 0
	}
	return max(hedgeFactor*rtt, minHedgeAfter)
}

// fastHandler is the mean handler time below which a daemon always gets a
// batch of receive credit.
const fastHandler = 100 * time.Millisecond

// update folds the completions since the last tick into the rate.
func (pl *pipeline) update(elapsed time.Duration) {
	n := pl.finished.Load()
	inst := float64(n-pl.last) / elapsed.Seconds()
	pl.last = n
	// About half a second to follow a change: fast enough for a backlog
	// that arrives, slow enough not to chase one tick's noise.
	pl.rate += (inst - pl.rate) * 0.2
}

// pipelineLoop keeps the receive credit current and sends back messages
// that waited too long for a handler. Standard queues only: on a FIFO queue
// a message waits for its group, not for a slot, and is never prefetched.
func (p *Pool) pipelineLoop(ctx context.Context) {
	t := time.NewTicker(pipelineTick)
	defer t.Stop()
	last := p.now()
	for {
		select {
		case <-ctx.Done():
			p.slots.setCredit(0)
			return
		case <-t.C:
		}
		now := p.now()
		p.pipe.update(now.Sub(last))
		last = now
		p.slots.setCredit(p.pipe.credit(p.maxCredit, p.cfg.Concurrency, p.cfg.BatchSize))
		// A tick early, so that none waits past maxLocalWait between ticks.
		for _, l := range p.leases.staleWaiting(now, maxLocalWait-pipelineTick) {
			p.apply(l, unstarted(0))
		}
	}
}

// hedgeTimer lends out one receive's admissions if it is still outstanding
// when the timer fires, and takes them back when the receive answers.
type hedgeTimer struct {
	mu         sync.Mutex
	t          *time.Timer
	lent, done bool
}

// startHedge arms the hedge of a standard-queue receive of n admissions, or
// returns nil when receives are not pipelined now.
func (p *Pool) startHedge(n int) *hedgeTimer {
	if p.cfg.FIFO {
		return nil
	}
	after := p.pipe.hedgeAfter(p.slots.creditNow())
	if after <= 0 {
		return nil
	}
	h := &hedgeTimer{}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t = time.AfterFunc(after, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.done && p.slots.hedge(n, p.maxCredit) {
			h.lent = true
			p.metrics.ReceivesHedged.Inc()
		}
	})
	// Taken back when the receive answers, whatever it brought.
	return h
}

// finish disarms the hedge once the receive has answered, before its end
// is reported to the slots, and says whether its admissions had been lent
// (then its round trip says nothing about the usual one).
func (h *hedgeTimer) finish(s *slots, n int) bool {
	if h == nil {
		return false
	}
	h.t.Stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	if h.lent {
		s.unhedge(n)
	}
	return h.lent
}
