package scaler

import (
	"context"
	"fmt"
	"sync"
)

// background owns the one goroutine of a Loop or a Guard: started once,
// stopped by cancelling its context and waiting until it has returned, so
// that nothing it does can land after Stop.
type background struct {
	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func (b *background) start(ctx context.Context, name string, run func(context.Context)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return fmt.Errorf("scaler: %s already started", name)
	}
	b.started = true
	ctx, b.cancel = context.WithCancel(ctx)
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		run(ctx)
	}()
	return nil
}

// halt cancels the goroutine and waits for it. It reports false when it was
// never started.
func (b *background) halt() bool {
	b.mu.Lock()
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel()
	<-done
	return true
}
