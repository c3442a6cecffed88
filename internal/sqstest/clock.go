package sqstest

import (
	"slices"
	"sync"
	"time"
)

// Clock tells the double the time. A Clock that also has
// Subscribe(func()) (as ManualClock) calls back when it moves, and the
// double then wakes its long polls instead of arming real timers.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a clock that moves only when told to.
type ManualClock struct {
	mu    sync.Mutex
	t     time.Time
	hooks []func()
}

// NewManualClock returns a clock at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock and calls the subscribers, outside the lock.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	hooks := slices.Clone(c.hooks)
	c.mu.Unlock()
	for _, h := range hooks {
		h()
	}
}

// Subscribe registers f to be called after every Advance.
func (c *ManualClock) Subscribe(f func()) {
	c.mu.Lock()
	c.hooks = append(c.hooks, f)
	c.mu.Unlock()
}
