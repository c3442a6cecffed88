package worker

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// runState is what Run started and its shutdown steps stop, in this order.
// The steps are README.md's shutdown list (Operations), one method each;
// keep the two in the same order.
type runState struct {
	pipeline      sync.WaitGroup // the receive pipeline (standard queues)
	stopExtending context.CancelFunc
	extender      sync.WaitGroup
	cancelPolls   context.CancelFunc // cuts off receives still pending
	polled        chan struct{}      // closed when every poller has returned
	drained       chan struct{}      // closed when every dispatched handler has returned
}

// Hurry shortens a shutdown already under way, as a second SIGTERM does:
// running handlers are cancelled at once instead of at ShutdownTimeout.
func (p *Pool) Hurry() { p.hurryOnce.Do(func() { close(p.hurry) }) }

// stopReceiving is step 1: no receive starts, no received message starts
// a handler, and Stats reports Draining (so /readyz turns 503).
func (p *Pool) stopReceiving(r *runState) {
	p.draining.Store(true)
	// From here on no handler starts, so waiting on handlers below cannot
	// race with a dispatch adding to it.
	p.dispatchMu.Lock()
	p.dispatchClosed = true
	if p.work != nil {
		// Handler goroutines finish what was dispatched, then end.
		close(p.work)
	}
	p.dispatchMu.Unlock()
	r.pipeline.Wait() // no credit, no stale release racing the drain below
	p.log.Info("stopped receiving; waiting for running handlers and pending receives",
		zap.Int("inflight", p.leases.len()), zap.Duration("shutdown_timeout", p.cfg.ShutdownTimeout))
}

// waitForHandlers is step 2: running handlers (and receives still pending)
// get up to ShutdownTimeout to finish; Hurry ends the wait at once.
func (p *Pool) waitForHandlers(r *runState) {
	r.drained = make(chan struct{})
	go func() { p.handlers.Wait(); close(r.drained) }()
	wait := time.NewTimer(p.cfg.ShutdownTimeout)
	defer wait.Stop()
	pollsDone, handlersDone := r.polled, r.drained
	for pollsDone != nil || handlersDone != nil {
		select {
		case <-pollsDone:
			pollsDone = nil
		case <-handlersDone:
			handlersDone = nil
		case <-wait.C:
			p.log.Warn("shutdown timeout reached; cancelling running handlers", zap.Int("inflight", p.leases.len()))
			return
		case <-p.hurry:
			p.log.Warn("second signal; cancelling running handlers", zap.Int("inflight", p.leases.len()))
			return
		}
	}
}

// cancelHandlers is step 3: the handlers still running have their context
// cancelled (an exec handler's process group is killed) and AbandonGrace to
// return.
func (p *Pool) cancelHandlers(r *runState) {
	p.cancelWork()
	grace := time.NewTimer(p.cfg.AbandonGrace)
	defer grace.Stop()
	select {
	case <-r.drained:
	case <-grace.C:
	}
}

// releaseUnfinished is step 4: every message without an outcome is made
// visible again (visibility 0), so another instance takes it at once.
func (p *Pool) releaseUnfinished(r *runState) {
	// Stop heartbeats before the forced release, so no extension can land
	// after the visibility-0 change and hide the message again.
	r.stopExtending()
	r.extender.Wait()
	for _, l := range p.leases.snapshot() {
		if !l.settled.Load() {
			p.log.Warn("handler did not return; releasing its message",
				zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount))
		}
		// Deletes already queued are claimed, and left to the final flush.
		p.apply(l, outcome{action: actRelease, reason: reasonShutdown})
	}
}

// endPendingReceives is step 5: a receive still pending gets AbandonGrace
// to return (what it brings is released at once, see poll), then is cut
// off.
func (p *Pool) endPendingReceives(r *runState) {
	// A pending receive returns as soon as a message is visible, so
	// anything just released comes straight back to it and is released
	// again; give it a moment to do so before cutting it off.
	cutoff := time.NewTimer(p.cfg.AbandonGrace)
	select {
	case <-r.polled:
	case <-cutoff.C:
		p.log.Warn("cutting off a receive still pending after the shutdown timeout; a message it was about to get may stay invisible until its visibility timeout")
	}
	cutoff.Stop()
	r.cancelPolls()
	<-r.polled
}

// flushPending is step 6: the deletes and visibility changes still queued,
// the releases of step 4 among them, are sent, and Run waits for SQS's
// answers.
func (p *Pool) flushPending() {
	p.deletes.close()
	p.visibility.close()
}
