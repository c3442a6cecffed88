package worker

import (
	"context"
	"sync"
)

// slots counts free handler slots. Pollers take slots before they call
// ReceiveMessage and hand unused ones back, so the daemon never holds a
// message it has no slot for: a held message would sit invisible to the rest
// of the fleet while it waits.
type slots struct {
	mu    sync.Mutex
	free  int
	total int
	wake  chan struct{} // closed and replaced whenever slots are released
}

func newSlots(n int) *slots {
	return &slots{free: n, total: n, wake: make(chan struct{})}
}

// acquire blocks until at least one slot is free, then takes up to max. It
// takes none once ctx is done, even if slots are free.
func (s *slots) acquire(ctx context.Context, max int) (int, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s.mu.Lock()
		if s.free > 0 {
			n := min(max, s.free)
			s.free -= n
			s.mu.Unlock()
			return n, nil
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

// tryAcquire takes up to max free slots without blocking.
func (s *slots) tryAcquire(max int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(max, s.free)
	s.free -= n
	return n
}

func (s *slots) release(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.free += n
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// busy is the number of slots taken (by handlers or by pending polls).
func (s *slots) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total - s.free
}
