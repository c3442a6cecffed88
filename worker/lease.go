package worker

import (
	"sync"
	"sync/atomic"
	"time"
)

// lease is the engine's record of one received message, from receipt to
// outcome. The extender reads and renews the visibility fields under
// leaseSet.mu; claim decides, exactly once, who applies the outcome.
type lease struct {
	m          *Message
	receivedAt time.Time

	// Guarded by leaseSet.mu.

	// limit is the latest visibility the extender may ask for: the handler's
	// deadline plus a margin to apply the outcome, and never past the SQS
	// 12-hour cap counted from this receive.
	limit     time.Time
	expires   time.Time // when SQS makes the message visible again, as far as we know
	started   bool      // handler began (a FIFO message may wait first)
	finished  bool      // handler returned: stop extending
	extending bool      // a ChangeMessageVisibility call for it is under way
	lost      bool      // SQS rejected the receipt handle

	settled      atomic.Bool
	deleteTries  int  // owned by whoever holds the claim
	deadLettered bool // sent to the DLQ; the delete only completes it
}

// claim reports whether the caller is the one to apply this message's outcome.
func (l *lease) claim() bool { return l.settled.CompareAndSwap(false, true) }

// leaseSet holds the messages in flight for the extender and for the forced
// release at shutdown.
type leaseSet struct {
	mu   sync.Mutex
	idle *sync.Cond // signalled when an extension call ends
	all  map[*lease]struct{}
}

func newLeaseSet() *leaseSet {
	s := &leaseSet{all: make(map[*lease]struct{})}
	s.idle = sync.NewCond(&s.mu)
	return s
}

func (s *leaseSet) add(l *lease) {
	s.mu.Lock()
	s.all[l] = struct{}{}
	s.mu.Unlock()
}

// start records that l's handler begins: from now on visibility is not
// extended past limit (the handler's deadline plus a margin), within the
// SQS cap counted from the receive.
func (s *leaseSet) start(l *lease, limit time.Time) {
	s.mu.Lock()
	l.started = true
	if limit.Before(l.limit) {
		l.limit = limit
	}
	s.mu.Unlock()
}

// finish stops extensions of l and waits out any extension already sent, so
// that an outcome's visibility change can never be overtaken by a late
// heartbeat that would hide the message again.
func (s *leaseSet) finish(l *lease) {
	s.mu.Lock()
	l.finished = true
	for l.extending {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

func (s *leaseSet) remove(l *lease) {
	s.mu.Lock()
	delete(s.all, l)
	s.mu.Unlock()
}

func (s *leaseSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

// snapshot returns every lease still held.
func (s *leaseSet) snapshot() []*lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*lease, 0, len(s.all))
	for l := range s.all {
		out = append(out, l)
	}
	return out
}
