package worker

import (
	"context"
	"crypto/rand"
	"time"

	"go.uber.org/zap"
)

// minEmptyPoll is the least time between two receives of one poller that came
// back empty. Long polls already wait; this only matters with wait_time 0,
// where it turns a busy loop into one request a second.
const minEmptyPoll = time.Second

// poll is one receiver: it takes free slots, asks SQS for at most that many
// messages, and starts a handler for each.
func (p *Pool) poll(stop, hard context.Context) {
	held := 0       // slots taken for a receive that failed and will be retried (FIFO)
	attemptID := "" // FIFO: ReceiveRequestAttemptId, kept across retries of a failed receive
	defer func() { p.slots.release(held) }()
	for {
		n := held
		if n == 0 {
			var err error
			if n, err = p.slots.acquire(stop, p.cfg.BatchSize); err != nil {
				return
			}
		} else {
			p.slots.receiving()
		}
		held = 0
		// With the slots in hand, so that no other poller's receive can
		// slip past a limit reached meanwhile: finished messages waiting
		// for their delete hold no slot, and this is what bounds them.
		// And not once shutdown has begun: the slots may have come from
		// credit or a lent admission just before it, and a receive sent now
		// would hide messages from the rest of the fleet for nothing.
		if p.pendingDeletes.wait(stop) != nil || stop.Err() != nil {
			p.slots.received()
			p.slots.release(n)
			return
		}
		rctx, cancel := context.WithTimeout(hard, p.cfg.ReceiveTimeout)
		if p.cfg.FIFO {
			// As AWS recommends for FIFO queues: a receive retried with the
			// same attempt id returns the same messages instead of hiding
			// them behind a lost response (and locking their groups).
			if attemptID == "" {
				attemptID = rand.Text()
			}
			rctx = WithReceiveAttemptID(rctx, attemptID)
		}
		start := p.now()
		p.receiving.Add(1)
		hedge := p.startHedge(n)
		msgs, err := p.cfg.Queue.Receive(rctx, n, p.cfg.VisibilityTimeout)
		hedged := hedge.finish(p.slots, n)
		p.receiving.Add(-1)
		p.slots.received()
		p.lastReturn.Store(p.now().UnixNano())
		cancel()
		if err != nil {
			if p.cfg.FIFO && stop.Err() == nil {
				held = n // the retry must ask for the same number
			} else {
				p.slots.release(n)
			}
			if stop.Err() != nil {
				return
			}
			// Failures are counted across pollers: in an outage every
			// poller fails, and the count reaching the long delays after a
			// few failures of any of them keeps the daemon's request rate
			// down however many pollers it runs. One failure among
			// successes (a 5xx in a brown-out) costs that poller only the
			// short first delay, while the others carry on.
			failures := int(p.receiveFailures.Add(1))
			d := p.cfg.PollBackoff.Delay(failures)
			p.errLog.Error("receive failed; backing off", zap.Error(err),
				zap.Int("consecutive_failures", failures), zap.Duration("backoff", d))
			if !sleep(stop, d) {
				return
			}
			continue
		}
		p.receiveFailures.Store(0)
		attemptID = ""
		now := p.now()
		if len(msgs) > 0 && !hedged {
			p.pipe.observeRTT(now.Sub(start))
		}
		p.lastPoll.Store(now.UnixNano())
		p.metrics.LastPoll.Set(float64(now.UnixNano()) / 1e9)
		if len(msgs) > n { // SQS never does this; if it did, we would hold unslotted messages
			p.log.Error("receive returned more messages than asked", zap.Int("asked", n), zap.Int("got", len(msgs)))
			p.slots.release(n)
			for _, m := range msgs {
				p.apply(p.track(m, start, now), unstarted(0))
			}
			continue
		}
		p.slots.release(n - len(msgs))
		leases := make([]*lease, 0, len(msgs))
		for _, m := range msgs {
			l := p.track(m, start, now)
			if stop.Err() != nil {
				// Shutdown began while this receive was pending: give the
				// message straight back rather than start work on it.
				p.apply(l, unstarted(0))
				p.slots.release(1)
				continue
			}
			leases = append(leases, l)
		}
		p.dispatch(leases)
		if stop.Err() != nil {
			return
		}
		if len(msgs) == 0 {
			if wait := minEmptyPoll - p.now().Sub(start); wait > 0 && !sleep(stop, wait) {
				return
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// track registers a received message with the extender. sent is when its
// receive was sent: SQS received it no earlier, so its visibility and the
// 12-hour window are counted from there, never late.
func (p *Pool) track(m *Message, sent, arrived time.Time) *lease {
	m.ReceivedAt = sent
	if m.FirstReceivedAt.IsZero() {
		m.FirstReceivedAt = sent
	}
	// Until its handler starts (a FIFO message may wait behind its group),
	// only the 12-hour cap applies; start narrows it.
	l := &lease{m: m, receivedAt: sent, arrived: arrived, expires: sent.Add(p.cfg.VisibilityTimeout)}
	p.leases.add(l)
	p.metrics.Received.Inc()
	p.metrics.InFlight.Inc()
	return l
}
