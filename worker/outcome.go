package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Reasons in failure records and logs.
const (
	reasonPermanent   = "permanent"
	reasonMaxAttempts = "max_attempts"
	reasonCrashLoop   = "crash_loop"
	reasonRetry       = "retry"     // a failed attempt, back after a delay
	reasonShutdown    = "shutdown"  // its handler was cancelled by shutdown: not an attempt
	reasonUnstarted   = "unstarted" // given back without running: not an attempt
)

type action uint8

const (
	actDelete     action = iota // done: delete, batched
	actRelease                  // back to the queue after delay
	actDeadLetter               // send to the DLQ, then delete
)

// outcome is what decide concludes for one message: data, so that the
// limits (max attempts, the 12-hour window) are applied in decide alone and
// apply only carries it out.
type outcome struct {
	action   action
	delay    time.Duration // actRelease: visibility to set, inside the window
	reason   string
	attempts int
	cause    error
}

// decide is the one place that turns a handler's result into an outcome.
//
//	nil                       -> delete (batched)
//	cancelled by shutdown     -> visibility 0, not an attempt
//	Permanent                 -> dead-letter, then delete
//	attempts >= max_attempts  -> dead-letter, then delete
//	RetryAfter                -> visibility = the asked delay
//	other error               -> visibility = backoff for this attempt
//
// Attempts are the receive count less the receives this process gave back
// without running the handler (see releaseLog). Every delay is capped by
// the 12-hour window counted from the receive, in whole seconds.
func (p *Pool) decide(l *lease, err error) outcome {
	m := l.m
	att := p.attempts(m)
	switch {
	case err == nil:
		return outcome{action: actDelete, attempts: att}
	case p.workCtx.Err() != nil:
		return outcome{action: actRelease, reason: reasonShutdown, attempts: att, cause: err}
	case IsPermanent(err):
		return outcome{action: actDeadLetter, reason: permanentReason(err), attempts: att, cause: err}
	case att >= p.cfg.MaxAttempts:
		return outcome{action: actDeadLetter, reason: reasonMaxAttempts, attempts: att, cause: err}
	}
	delay := p.cfg.Backoff.Delay(att)
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		delay = ra.Delay
	}
	delay = min(max(delay, 0), l.maxDelay(p.now()))
	return outcome{action: actRelease, delay: delay, reason: reasonRetry, attempts: att, cause: err}
}

// decideBeforeRun stops a crash loop: a message delivered far more often
// than max_attempts without an outcome (the daemon crashed or was killed
// while running it) is dead-lettered without running again.
func (p *Pool) decideBeforeRun(l *lease) (outcome, bool) {
	att := p.attempts(l.m)
	if limit := crashLoopAfter(p.cfg.MaxAttempts); att > limit {
		return outcome{action: actDeadLetter, reason: reasonCrashLoop, attempts: att,
			cause: fmt.Errorf("delivered %d times without a recorded outcome, more than %d (twice max_attempts %d); not running it again",
				att, limit, p.cfg.MaxAttempts)}, false
	}
	return outcome{}, true
}

// unstarted is the outcome of a message given back without running.
func unstarted(delay time.Duration) outcome {
	return outcome{action: actRelease, delay: delay, reason: reasonUnstarted}
}

// apply carries out an outcome, once per message: whoever claims the lease
// first applies it, and later calls (a handler returning after the forced
// release at shutdown) do nothing. It reports whether the message is gone
// from the queue for good (deleted or dead-lettered), so a FIFO group may
// move on, and otherwise the delay after which it comes back.
func (p *Pool) apply(l *lease, o outcome) (gone bool, delay time.Duration) {
	if !l.claim() {
		return false, o.delay
	}
	m := l.m
	switch o.action {
	case actDelete:
		p.queueDelete(l)
		return true, 0
	case actDeadLetter:
		return p.deadLetter(l, o)
	}
	switch o.reason {
	case reasonRetry:
		p.log.Warn("handler failed; will retry",
			zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount), zap.Int("attempts", o.attempts),
			zap.String("outcome", OutcomeRetry), zap.Duration("retry_in", o.delay), groupField(m), zap.Error(o.cause))
	case reasonShutdown:
		p.unrun.note(m.ID)
		p.log.Info("handler cancelled by shutdown; releasing message",
			zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
			zap.String("outcome", OutcomeRetry), groupField(m))
	case reasonUnstarted:
		p.unrun.note(m.ID)
	}
	p.release(l, o.delay)
	return false, o.delay
}

// groupField logs a FIFO message's group: useful to follow one group in the
// logs, and never a metric label, whose cardinality it would explode.
func groupField(m *Message) zap.Field {
	if m.GroupID == "" {
		return zap.Skip()
	}
	return zap.String("group_id", m.GroupID)
}

// release returns a claimed message to the queue after delay.
func (p *Pool) release(l *lease, delay time.Duration) {
	p.leases.stopExtending(l)
	p.forget(l)
	p.metrics.Completed.WithLabelValues(OutcomeRetry).Inc()
	if !p.visibility.add(visChange{l: l, timeout: delay}) {
		// Only after shutdown: the message reappears when its current
		// visibility runs out, so nothing is lost.
		p.log.Warn("could not release message after shutdown; it reappears at its visibility timeout",
			zap.String("message_id", l.m.ID))
	}
}

// queueDelete keeps a claimed message hidden and queues its delete. Until
// SQS confirms it, the message counts against MaxPendingDeletes.
func (p *Pool) queueDelete(l *lease) {
	p.leases.hold(l)
	p.pendingDeletes.enter()
	if !p.deletes.add(l) {
		p.deleteGivenUp(l, errors.New("engine stopped"))
	}
}

// forget takes a settled lease out of the in-flight set.
func (p *Pool) forget(l *lease) {
	p.leases.remove(l)
	p.metrics.InFlight.Dec()
}

func (p *Pool) observeAge(m *Message) {
	if !m.SentAt.IsZero() {
		p.metrics.MessageAge.Observe(p.now().Sub(m.SentAt).Seconds())
	}
}

// deleteRetryFor bounds how long a delete that fails for a reason other
// than a lost lease (throttling, a 5xx) is retried, spaced by PollBackoff,
// with the message kept hidden meanwhile. It rides out a throttling episode;
// past it the engine stops holding the message, which is delivered again
// when its visibility ends, as at-least-once delivery allows. Meanwhile
// MaxPendingDeletes holds receiving back, so the daemon does not pile up
// more finished work than it can delete.
const deleteRetryFor = 5 * time.Minute

// flushDeletes deletes one batch. Its messages stay extended while the
// call is under way: a throttled call can spend seconds in the SDK's
// backoff, and cutting it short to stay inside the visibility would retry
// it sooner than a throttling SQS asked.
func (p *Pool) flushDeletes(batch []*lease) {
	receipts := make([]string, len(batch))
	for i, l := range batch {
		p.leases.markDeleting(l)
		receipts[i] = l.m.ReceiptHandle
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	errs, err := p.cfg.Queue.Delete(ctx, receipts)
	cancel()
	for i, l := range batch {
		e := err
		if e == nil && i < len(errs) {
			e = errs[i]
		}
		switch {
		case e == nil:
			p.deleted(l)
		case errors.Is(e, ErrLeaseLost):
			if !p.leases.wasLost(l) { // else the extender counted it
				p.metrics.LeasesLost.Inc()
			}
			p.forget(l)
			p.pendingDeletes.leave()
			p.log.Warn("delete refused: the visibility lease was lost, so the message will be delivered again",
				zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount))
		default:
			l.deleteTries++
			if l.deleteTries == 1 {
				l.deleteFailedAt = p.now()
			}
			if p.now().Sub(l.deleteFailedAt) < deleteRetryFor {
				p.leases.hold(l)
				if p.deletes.addAfter(l, p.cfg.PollBackoff.Delay(l.deleteTries)) {
					p.errLog.Warn("delete failed; the message stays hidden and the delete is retried",
						zap.String("message_id", l.m.ID), zap.Int("tries", l.deleteTries), zap.Error(e))
					continue
				}
			}
			p.deleteGivenUp(l, e)
		}
	}
}

// deleted completes a message whose delete SQS confirmed.
func (p *Pool) deleted(l *lease) {
	p.forget(l)
	p.unrun.forget(l.m.ID)
	p.pendingDeletes.leave()
	// A dead-lettered message was counted when its send succeeded.
	if !l.deadLettered {
		p.metrics.Completed.WithLabelValues(OutcomeSuccess).Inc()
		p.observeAge(l.m)
	}
}

// deleteGivenUp stops holding a message whose delete could not be made: it
// comes back when its current visibility ends and runs again.
func (p *Pool) deleteGivenUp(l *lease, err error) {
	p.leases.stopExtending(l)
	p.forget(l)
	p.pendingDeletes.leave()
	p.log.Error("delete failed; the message will be delivered again",
		zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount),
		zap.Int("tries", l.deleteTries), zap.Error(err))
}

// ceilSecond rounds up to whole seconds, the unit SQS takes: a retry delay
// rounded down could come back sooner than the backoff promised.
func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}

func (p *Pool) flushVisibility(batch []visChange) {
	changes := make([]VisibilityChange, len(batch))
	for i, c := range batch {
		changes[i] = VisibilityChange{ReceiptHandle: c.l.m.ReceiptHandle, Timeout: ceilSecond(c.timeout)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	errs, err := p.cfg.Queue.ChangeVisibility(ctx, changes)
	cancel()
	for i, c := range batch {
		e := err
		if e == nil && i < len(errs) {
			e = errs[i]
		}
		if e != nil && !errors.Is(e, ErrLeaseLost) {
			// The message still comes back when its current visibility ends.
			p.errLog.Warn("visibility change failed; the message returns at its current visibility timeout",
				zap.String("message_id", c.l.m.ID), zap.Error(e))
		}
	}
}
