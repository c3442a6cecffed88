package worker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// dispatch starts work on received messages, each holding a slot. On a
// standard queue every message runs at once. On a FIFO queue the messages
// of a group join their group's line and run one after another.
func (p *Pool) dispatch(leases []*lease) {
	p.dispatchMu.Lock()
	defer p.dispatchMu.Unlock()
	if p.dispatchClosed {
		// Shutdown began between the receive and here: no new work.
		for _, l := range leases {
			p.apply(l, unstarted(0))
			p.slots.release(1)
		}
		return
	}
	p.handlers.Add(len(leases))
	if !p.cfg.FIFO {
		for _, l := range leases {
			p.work <- l
		}
		return
	}
	p.joinGroups(leases)
}

// handle runs the handlers of a standard queue, one message at a time.
func (p *Pool) handle() {
	for l := range p.work {
		if p.draining.Load() {
			// Received ahead and still waiting for a handler when shutdown
			// began: back to the queue at once, unstarted.
			p.apply(l, unstarted(0))
		} else {
			p.process(l)
		}
		p.slots.release(1)
		p.handlers.Done()
	}
}

// process runs the handler for one message and settles it, reporting as
// decide does.
func (p *Pool) process(l *lease) (gone bool, delay time.Duration) {
	m := l.m
	if o, run := p.decideBeforeRun(l); !run {
		return p.apply(l, o)
	}

	start := p.now()
	if !p.leases.start(l, start.Add(p.cfg.HandlerTimeout+settleMargin(p.cfg.VisibilityTimeout))) {
		return false, 0 // sent back unstarted after waiting too long for a handler
	}
	p.metrics.LocalWait.Observe(start.Sub(l.arrived).Seconds())
	hctx, cancel := context.WithTimeout(p.workCtx, p.cfg.HandlerTimeout)
	err := p.call(hctx, m)
	if err != nil && errors.Is(hctx.Err(), context.DeadlineExceeded) && p.workCtx.Err() == nil {
		err = fmt.Errorf("handler timed out after %s: %w", p.cfg.HandlerTimeout, err)
	}
	cancel()
	p.pipe.finished.Add(1)
	p.metrics.HandlerDuration.Observe(p.now().Sub(start).Seconds())
	return p.apply(l, p.decide(l, err))
}

// call runs the handler, turning a panic into an ordinary failed attempt.
func (p *Pool) call(ctx context.Context, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return p.cfg.Handler.Handle(ctx, m)
}
