package worker

import (
	"time"
)

// On a FIFO queue SQS hands out a group's messages in order, and keeps the
// group locked while any of them is in flight. The engine keeps that order:
// each group with messages in hand has one runner goroutine working through
// its line (p.groups) one message at a time.

// joinGroups puts each message at the end of its group's line, starting
// the group's runner when the line was empty. The caller holds dispatchMu.
func (p *Pool) joinGroups(leases []*lease) {
	p.groupsMu.Lock()
	defer p.groupsMu.Unlock()
	for _, l := range leases {
		g := l.m.GroupID
		line, running := p.groups[g]
		p.groups[g] = append(line, l)
		if !running {
			go p.runGroup(g)
		}
	}
}

// runGroup handles one FIFO group's messages in order until its line is
// empty. When a message will come back (a retry, or a release at
// shutdown), the messages queued behind it are released too, with the same
// delay, so that SQS hands the group back in its original order; SQS keeps
// the group locked while any of its messages is in flight.
func (p *Pool) runGroup(g string) {
	for {
		p.groupsMu.Lock()
		line := p.groups[g]
		if len(line) == 0 {
			delete(p.groups, g)
			p.groupsMu.Unlock()
			return
		}
		l := line[0]
		p.groups[g] = line[1:]
		p.groupsMu.Unlock()

		gone, delay := false, time.Duration(0)
		if !p.draining.Load() {
			gone, delay = p.process(l)
		} else {
			// Draining: start nothing new; the rest of the group goes back.
			p.apply(l, unstarted(0))
		}
		p.slots.release(1)
		p.handlers.Done()
		if gone {
			continue
		}
		p.groupsMu.Lock()
		rest := p.groups[g]
		delete(p.groups, g)
		p.groupsMu.Unlock()
		for _, r := range rest {
			// Released with the failed message's delay, so that SQS hands
			// the group back in order. Not an attempt for r.
			p.apply(r, unstarted(delay))
			p.slots.release(1)
			p.handlers.Done()
		}
		return
	}
}
