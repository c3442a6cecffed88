package worker

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.uber.org/zap"
)

// maxVisibilityWindow is how long after a receive SQS lets a message stay
// invisible; ChangeMessageVisibility beyond it is rejected. A minute of
// margin absorbs clock skew between us and SQS.
const maxVisibilityWindow = 12*time.Hour - time.Minute

// extendTick is how often the extender looks for leases to renew: a tenth of
// the visibility timeout, so a renewal at half the timeout is never late by
// more than a tenth, within bounds that keep it cheap.
func extendTick(vt time.Duration) time.Duration {
	return min(max(vt/10, 50*time.Millisecond), time.Second)
}

// extendLoop renews the visibility of messages whose handlers are running.
// A lease is renewed once half its visibility has passed; leases that would
// be due soon ride along to fill the batch, so the fleet pays about one
// ChangeMessageVisibilityBatch per ten running messages per half-timeout.
func (p *Pool) extendLoop(ctx context.Context) {
	t := time.NewTicker(extendTick(p.cfg.VisibilityTimeout))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.extendDue(ctx)
		}
	}
}

func (p *Pool) extendDue(ctx context.Context) {
	vt := p.cfg.VisibilityTimeout
	now := p.now()
	type cand struct {
		l         *lease
		remaining time.Duration
	}
	var due, soon []cand
	p.leases.mu.Lock()
	for l := range p.leases.all {
		if l.finished || l.lost || l.extending || !l.expires.Before(l.limit) {
			continue
		}
		rem := l.expires.Sub(now)
		switch {
		case rem <= vt/2:
			due = append(due, cand{l, rem})
		case rem <= vt*3/4:
			soon = append(soon, cand{l, rem})
		}
	}
	if len(due) == 0 {
		p.leases.mu.Unlock()
		return
	}
	slices.SortFunc(soon, func(a, b cand) int { return int(a.remaining - b.remaining) })
	room := (len(due)+9)/10*10 - len(due)
	picked := append(due, soon[:min(room, len(soon))]...)
	leases := make([]*lease, len(picked))
	for i, c := range picked {
		c.l.extending = true
		leases[i] = c.l
	}
	p.leases.mu.Unlock()

	for chunk := range slices.Chunk(leases, 10) {
		p.extend(ctx, now, chunk)
	}
}

// extend renews one batch. now is taken before the call, so the expiry we
// record is never later than the one SQS holds.
func (p *Pool) extend(ctx context.Context, now time.Time, chunk []*lease) {
	changes := make([]VisibilityChange, 0, len(chunk))
	sent := make([]*lease, 0, len(chunk))
	newExp := make([]time.Time, 0, len(chunk))
	for _, l := range chunk {
		until := now.Add(p.cfg.VisibilityTimeout)
		if l.limit.Before(until) {
			until = l.limit
		}
		// SQS takes whole seconds; round down so we never pass the limit.
		secs := until.Sub(now).Truncate(time.Second)
		if secs < time.Second {
			continue
		}
		changes = append(changes, VisibilityChange{ReceiptHandle: l.m.ReceiptHandle, Timeout: secs})
		sent = append(sent, l)
		newExp = append(newExp, now.Add(secs))
	}
	var errs []error
	var err error
	if len(changes) > 0 {
		// Bounded well inside the renewal margin: a call that hangs must
		// give up while the next tick can still save the leases.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(max(p.cfg.VisibilityTimeout/4, time.Second), callTimeout))
		errs, err = p.cfg.Queue.ChangeVisibility(cctx, changes)
		cancel()
	}
	p.leases.mu.Lock()
	for _, l := range chunk {
		l.extending = false
	}
	ok := 0
	for i, l := range sent {
		var e error
		if err != nil {
			e = err
		} else if i < len(errs) {
			e = errs[i]
		}
		switch {
		case e == nil:
			l.expires = newExp[i]
			ok++
		case errors.Is(e, ErrLeaseLost):
			l.lost = true
			p.metrics.LeasesLost.Inc()
			p.log.Warn("visibility lease lost while the handler runs; the message may be delivered again",
				zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount))
		default:
			// Left due: the next tick tries again while time remains.
			p.errLog.warn(p.log, "visibility extension failed", zap.String("message_id", l.m.ID), zap.Error(e))
		}
	}
	p.leases.idle.Broadcast()
	p.leases.mu.Unlock()
	p.metrics.VisibilityExtension.Add(float64(ok))
}
