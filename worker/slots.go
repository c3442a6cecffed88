package worker

import (
	"context"
	"sync"
)

// slots counts free handler slots. Pollers take slots before they call
// ReceiveMessage and hand unused ones back, so the daemon never holds a
// message it has no slot for: a held message would sit invisible to the rest
// of the fleet while it waits.
//
// It also counts receives in flight, to keep receives full: while one is
// outstanding, another poller waits for a whole batch of free slots rather
// than ask for the one or two that just came free. SQS bills per request,
// so at saturation ten messages per receive is a third fewer requests than
// the partial batches handlers finishing one by one would produce. With no
// receive outstanding, a poller takes whatever is free, so free slots are
// never left without a receive that could fill them.
//
// On a standard queue the total can grow beyond the handler slots by a
// credit (see pipeline.go): receives may then be sent for slots that will be
// free by the time SQS answers, so that a round trip to SQS does not leave
// handlers idle. A slot is then an admission: a message asked for, waiting
// briefly for a handler, or running.
type slots struct {
	mu      sync.Mutex
	free    int // may go below 0 while a reduced credit is paid back
	total   int
	base    int // handler slots; total is base plus credit
	credit  int
	pending int // receives in flight
	hedged  int // admissions lent out for receives presumed slow (see hedge)
	// wake is closed, and replaced, when a waiting acquire may now succeed.
	// Waking only then, rather than on every release, matters: at
	// saturation a slot frees up per message, and waking every waiting
	// poller for each one, to find that a batch is not yet free, cost more
	// CPU than the rest of the slot accounting.
	wake chan struct{}
	// waitFull is the smallest batch a waiting acquire needs (0: nobody
	// waits).
	waitFull int
}

func newSlots(n int) *slots {
	return &slots{free: n, total: n, base: n, wake: make(chan struct{})}
}

// acquire blocks until it can take a batch for one receive: max slots (or
// all of them, if there are fewer), or, when no receive is in flight, any
// free slots at all. It counts the receive as in flight; the caller reports
// its end with received. It takes none once ctx is done.
func (s *slots) acquire(ctx context.Context, max int) (int, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s.mu.Lock()
		full := min(max, s.total)
		if s.free >= full || (s.free > 0 && s.pending == 0) {
			n := min(max, s.free)
			s.free -= n
			s.pending++
			s.mu.Unlock()
			return n, nil
		}
		if s.waitFull == 0 || full < s.waitFull {
			s.waitFull = full
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// receiving counts a receive in flight for slots already held (a FIFO
// receive retried with the same slots).
func (s *slots) receiving() {
	s.mu.Lock()
	s.pending++
	s.mu.Unlock()
}

// received ends a receive counted by acquire or receiving.
func (s *slots) received() {
	s.mu.Lock()
	s.pending--
	s.signal()
	s.mu.Unlock()
}

// signal wakes every waiter if one of them may now take its batch; the
// caller holds mu.
func (s *slots) signal() {
	if s.waitFull == 0 || !(s.free >= s.waitFull || (s.free > 0 && s.pending == 0)) {
		return
	}
	// Every waiter wakes, retries, and registers again if it still waits.
	s.waitFull = 0
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *slots) release(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.free += n
	s.signal()
	s.mu.Unlock()
}

// setCredit sets how many admissions beyond the handler slots receives may
// use. Lowering it takes effect as admissions come back.
func (s *slots) setCredit(k int) {
	s.mu.Lock()
	d := k - s.credit
	s.credit = k
	s.total += d
	s.free += d
	s.signal()
	s.mu.Unlock()
}

// creditNow is the current credit.
func (s *slots) creditNow() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credit
}

// busy is the number of handler slots taken (by handlers or by pending
// polls), never more than there are.
func (s *slots) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return min(s.total-s.free, s.base)
}

// hedge lends out the n admissions of a receive that is taking far longer
// than receives do, so that other receives can go while SQS holds it: a
// response delayed by a second would otherwise leave n handlers idle for
// that second. The receive no longer counts as in flight for keeping
// receives full. At most limit admissions are lent at once; it reports
// whether it lent them. Whatever the slow receive brings when it does answer
// waits for a handler like prefetched messages (maxLocalWait still holds).
func (s *slots) hedge(n, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || s.hedged+n > limit {
		return false
	}
	s.hedged += n
	s.total += n
	s.free += n
	s.pending--
	s.signal()
	return true
}

// unhedge takes back what hedge lent once the receive has answered, before
// the caller reports the receive's end with received. Free may go below
// zero meanwhile, paid back as admissions come back (as with a lowered
// credit).
func (s *slots) unhedge(n int) {
	s.mu.Lock()
	s.hedged -= n
	s.total -= n
	s.free -= n
	s.pending++
	s.mu.Unlock()
}
