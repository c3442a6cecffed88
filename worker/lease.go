package worker

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MaxHold is the longest the engine can keep a message hidden, counted from
// the moment its receive was sent: SQS rejects a ChangeMessageVisibility
// past 12 hours from the receive (and the message then comes back at its
// current timeout), less a minute for clock skew between us and SQS.
// Settings that need longer (a handler timeout, a retry delay) cannot be
// honoured.
const MaxHold = 12*time.Hour - time.Minute

// MaxHandlerTimeout is the longest handler timeout the engine can honour
// with this visibility timeout: the handler's deadline plus the margin to
// kill it and apply its outcome must fit in MaxHold.
func MaxHandlerTimeout(visibility time.Duration) time.Duration {
	return MaxHold - settleMargin(visibility)
}

// settleMargin is how far past the handler deadline the extender may keep a
// message hidden: long enough to kill the handler and apply the outcome, so a
// timed-out message does not reappear before its retry delay is set.
func settleMargin(vt time.Duration) time.Duration { return min(vt, 10*time.Second) }

// leaseState is where a message is between its receive and its outcome.
type leaseState uint8

const (
	// waiting: received, its handler not started (a FIFO message may wait
	// behind its group). Kept hidden.
	waiting leaseState = iota
	// running: its handler runs. Kept hidden until the handler's deadline
	// plus the settle margin.
	running
	// holding: the outcome is final but not yet confirmed by SQS (a delete
	// queued or retried, a dead-letter send under way). Kept hidden, so a
	// message whose delete is throttled does not come back and run again.
	holding
	// deleting: a delete call for it is under way. Still extended, since
	// a throttled delete may wait seconds in the SDK's backoff; an
	// extension that finds the message gone meanwhile is not a lost lease.
	deleting
	// releasing: going back to the queue; never extended again.
	releasing
)

// lease is the engine's record of one received message, from receipt to
// outcome. Its visibility fields belong to the leaseSet and are read and
// written only through its methods; claim decides, exactly once, who applies
// the outcome.
type lease struct {
	m *Message
	// receivedAt is when the receive that brought the message was sent: SQS
	// received it no earlier, so limits counted from here are never late.
	receivedAt time.Time
	arrived    time.Time // when the receive returned it: local waiting starts

	// Guarded by leaseSet.mu.
	state leaseState
	// limit is the latest visibility the extender may ask for: the 12-hour
	// cap counted from the receive, narrowed to the handler's deadline plus
	// the settle margin while the handler runs.
	limit     time.Time
	expires   time.Time // when SQS makes the message visible again, as far as we know
	extending bool      // a visibility extension for it is under way
	lost      bool      // SQS rejected the receipt handle

	settled atomic.Bool
	// Owned by whoever holds the claim.
	deleteTries    int
	deleteFailedAt time.Time // first failed delete
	deadLettered   bool      // sent to the DLQ; the delete only completes it
}

// holdLimit is the end of the 12-hour window for this receive, the one place
// every visibility the engine asks for is capped from.
func (l *lease) holdLimit() time.Time { return l.receivedAt.Add(MaxHold) }

// maxDelay is the longest visibility change that is still inside the window,
// in the whole seconds SQS takes.
func (l *lease) maxDelay(now time.Time) time.Duration {
	return max(l.holdLimit().Sub(now).Truncate(time.Second), 0)
}

// claim reports whether the caller is the one to apply this message's outcome.
func (l *lease) claim() bool { return l.settled.CompareAndSwap(false, true) }

// leaseSet holds the messages in flight. It owns its lock: the extender,
// the outcome code and Stats use its methods only.
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
	l.limit = l.holdLimit()
	s.all[l] = struct{}{}
	s.mu.Unlock()
}

// start records that l's handler begins: from now on visibility is not
// extended past deadline (the handler's deadline plus a margin), within the
// cap counted from the receive. It reports false, and starts nothing, if l
// is no longer waiting (sent back after waiting too long for a handler).
func (s *leaseSet) start(l *lease, deadline time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.state != waiting {
		return false
	}
	l.state = running
	l.limit = minTime(deadline, l.holdLimit())
	return true
}

// staleWaiting moves the leases that have waited longer than wait for a
// handler to releasing and returns them, for the caller to send back.
func (s *leaseSet) staleWaiting(now time.Time, wait time.Duration) []*lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*lease
	for l := range s.all {
		if l.state == waiting && now.Sub(l.arrived) > wait {
			l.state = releasing
			out = append(out, l)
		}
	}
	return out
}

// hold keeps l hidden after its handler returned, until its delete (or its
// dead-letter send and delete) is confirmed.
func (s *leaseSet) hold(l *lease) {
	s.mu.Lock()
	l.state = holding
	l.limit = l.holdLimit()
	s.mu.Unlock()
}

// stopExtending marks l as going back to the queue and waits out any
// extension already sent, so that the release that follows is never
// overtaken by a late heartbeat that would hide the message again.
func (s *leaseSet) stopExtending(l *lease) {
	s.mu.Lock()
	l.state = releasing
	for l.extending {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// markDeleting records that a delete call for l is under way.
func (s *leaseSet) markDeleting(l *lease) {
	s.mu.Lock()
	l.state = deleting
	s.mu.Unlock()
}

// wasLost reports whether SQS rejected l's receipt handle on an extension.
func (s *leaseSet) wasLost(l *lease) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return l.lost
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

// leaseStats is what Stats needs from the set.
type leaseStats struct {
	inFlight     int
	oldestActive time.Duration // longest-running handler, by time since receive
	stuck        int           // handlers running past stuckAfter their deadline
}

func (s *leaseSet) stats(now time.Time, stuckAfter time.Duration) leaseStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := leaseStats{inFlight: len(s.all)}
	for l := range s.all {
		if l.state != running {
			continue
		}
		st.oldestActive = max(st.oldestActive, now.Sub(l.receivedAt))
		if now.After(l.limit.Add(stuckAfter)) {
			st.stuck++
		}
	}
	return st
}

// due picks the leases to extend now and marks them as being extended: those
// with half the visibility timeout or less left, and, to fill their batches
// of ten, those with a quarter or less already used up, soonest first. So the
// fleet pays about one ChangeMessageVisibilityBatch per ten held messages per
// half-timeout. The caller must pass each picked lease to extended.
func (s *leaseSet) due(now time.Time, vt time.Duration) []*lease {
	type cand struct {
		l         *lease
		remaining time.Duration
	}
	var due, soon []cand
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.all {
		if l.state == releasing || l.lost || l.extending || !l.expires.Before(l.limit) {
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
		return nil
	}
	slices.SortFunc(soon, func(a, b cand) int { return int(a.remaining - b.remaining) })
	room := (len(due)+9)/10*10 - len(due)
	picked := append(due, soon[:min(room, len(soon))]...)
	out := make([]*lease, len(picked))
	for i, c := range picked {
		c.l.extending = true
		out[i] = c.l
	}
	return out
}

// extendResult is the result of one lease's extension.
type extendResult struct {
	l       *lease
	expires time.Time // new expiry on success; zero if not sent or failed
	lost    bool
}

// extended records the results of an extension call and lets stopExtending
// proceed for the leases in it. It reports which leases were newly lost.
func (s *leaseSet) extended(results []extendResult) (newlyLost []*lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		r.l.extending = false
		switch {
		case r.lost && r.l.state == deleting:
			// The delete got there first; its own result tells.
		case r.lost:
			if !r.l.lost {
				newlyLost = append(newlyLost, r.l)
			}
			r.l.lost = true
		case !r.expires.IsZero():
			r.l.expires = r.expires
		}
	}
	s.idle.Broadcast()
	return newlyLost
}

// limitOf returns the latest visibility l may be extended to.
func (s *leaseSet) limitOf(l *lease) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return l.limit
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
