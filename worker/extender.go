package worker

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// extendTick is how often the extender looks for leases to renew: a tenth of
// the visibility timeout, so a renewal at half the timeout is never late by
// more than a tenth, within bounds that keep it cheap.
func extendTick(vt time.Duration) time.Duration {
	return min(max(vt/10, 50*time.Millisecond), time.Second)
}

// roundTimeout bounds one renewal round, all its batches together. A lease
// is renewed with half its visibility left; the round must end, even when
// SQS is slow, while a quarter is left, so that the next tick can still try
// again before the message becomes visible.
func roundTimeout(vt time.Duration) time.Duration {
	return min(max(vt/4, time.Second), callTimeout)
}

// extendLoop renews the visibility of messages the engine holds: waiting,
// running, or finished with their delete not yet confirmed. Each tick's
// round runs on its own, so a slow round does not delay the next tick's
// leases; a lease in a round is not picked again until its call ends.
func (p *Pool) extendLoop(ctx context.Context) {
	t := time.NewTicker(extendTick(p.cfg.VisibilityTimeout))
	defer t.Stop()
	var rounds sync.WaitGroup
	defer rounds.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := p.now()
			if leases := p.leases.due(now, p.cfg.VisibilityTimeout); len(leases) > 0 {
				rounds.Go(func() { p.extendRound(ctx, now, leases) })
			}
		}
	}
}

// extendRound sends the round's batches in parallel under one deadline: one
// slow call must not use up the time the other batches' messages have left,
// as it did when batches went one after another.
func (p *Pool) extendRound(ctx context.Context, now time.Time, leases []*lease) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), roundTimeout(p.cfg.VisibilityTimeout))
	defer cancel()
	var calls sync.WaitGroup
	for chunk := range slices.Chunk(leases, 10) {
		calls.Go(func() { p.extend(rctx, now, chunk) })
	}
	calls.Wait()
}

// extend renews one batch. now is taken before the call, so the expiry we
// record is never later than the one SQS holds.
func (p *Pool) extend(ctx context.Context, now time.Time, chunk []*lease) {
	changes := make([]VisibilityChange, 0, len(chunk))
	sent := make([]int, 0, len(chunk)) // index in chunk of each change
	results := make([]extendResult, len(chunk))
	for i, l := range chunk {
		results[i].l = l
		until := minTime(now.Add(p.cfg.VisibilityTimeout), p.leases.limitOf(l))
		// SQS takes whole seconds; round down so we never pass the limit.
		secs := until.Sub(now).Truncate(time.Second)
		if secs < time.Second {
			continue
		}
		changes = append(changes, VisibilityChange{ReceiptHandle: l.m.ReceiptHandle, Timeout: secs})
		sent = append(sent, i)
	}
	var errs []error
	var err error
	if len(changes) > 0 {
		errs, err = p.cfg.Queue.ChangeVisibility(ctx, changes)
	}
	ok := 0
	for j, i := range sent {
		e := err
		if e == nil && j < len(errs) {
			e = errs[j]
		}
		switch {
		case e == nil:
			results[i].expires = now.Add(changes[j].Timeout)
			ok++
		case errors.Is(e, ErrLeaseLost):
			results[i].lost = true
		default:
			// Left due: the next tick tries again while time remains.
			p.errLog.Warn("visibility extension failed", zap.String("message_id", chunk[i].m.ID), zap.Error(e))
		}
	}
	for _, l := range p.leases.extended(results) {
		p.metrics.LeasesLost.Inc()
		p.log.Warn("visibility lease lost while the engine holds the message; it may be delivered again",
			zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount))
	}
	p.metrics.VisibilityExtension.Add(float64(ok))
}
