package worker

import (
	"context"
	"sync"
)

// pendingGate counts finished messages whose delete SQS has not confirmed
// yet, and holds receives back while there are limit of them. They do not
// hold handler slots (a slot is free as soon as its handler returns), so a
// slow or throttled DeleteMessageBatch slows receiving through this gate
// alone, instead of letting the daemon take more work while its finished
// messages pile up.
type pendingGate struct {
	mu    sync.Mutex
	n     int
	limit int
	room  chan struct{} // closed and replaced when n drops below limit
}

func newPendingGate(limit int) *pendingGate {
	return &pendingGate{limit: limit, room: make(chan struct{})}
}

// enter counts one more unconfirmed delete. It never blocks: the handler
// that finished must not wait.
func (g *pendingGate) enter() {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
}

// leave counts one delete confirmed or given up.
func (g *pendingGate) leave() {
	g.mu.Lock()
	g.n--
	if g.n == g.limit-1 {
		close(g.room)
		g.room = make(chan struct{})
	}
	g.mu.Unlock()
}

// wait returns when fewer than limit deletes are unconfirmed, or with ctx's
// error.
func (g *pendingGate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.n < g.limit {
			g.mu.Unlock()
			return nil
		}
		room := g.room
		g.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *pendingGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}
