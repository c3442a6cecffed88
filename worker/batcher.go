package worker

import (
	"sync"
	"time"
)

// batcher groups items into batches of up to max and hands each batch to
// flush, either when it is full or when the oldest item has waited interval.
// SQS bills per request, so ten deletes in one DeleteMessageBatch cost a tenth
// of ten DeleteMessage calls; the interval bounds how long a finished message
// waits, which must stay well under its remaining visibility.
//
// Flushes run on their own goroutines, at most parallel at once, so a slow
// batch call does not stall the items behind it.
type batcher[T any] struct {
	max      int
	interval time.Duration
	flush    func([]T)

	mu      sync.Mutex
	pending []T
	timer   *time.Timer
	closed  bool
	sem     chan struct{}
	wg      sync.WaitGroup

	// delayed holds items queued by addAfter until their timer fires.
	delayed   map[uint64]delayedItem[T]
	delayedID uint64
}

type delayedItem[T any] struct {
	item  T
	timer *time.Timer
}

func newBatcher[T any](max int, interval time.Duration, parallel int, flush func([]T)) *batcher[T] {
	return &batcher[T]{max: max, interval: interval, flush: flush, sem: make(chan struct{}, parallel),
		delayed: make(map[uint64]delayedItem[T])}
}

// add queues an item. It reports false when the batcher is closed, so a
// straggler after shutdown knows its item was not taken.
func (b *batcher[T]) add(item T) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.pending = append(b.pending, item)
	if len(b.pending) >= b.max {
		batch := b.take()
		b.mu.Unlock()
		b.start(batch)
		return true
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.interval, b.onTimer)
	}
	b.mu.Unlock()
	return true
}

// addAfter queues item after d, for a retry that should not come at once.
// Items still waiting when close is called go out with its final flush
// instead. It reports false after close.
func (b *batcher[T]) addAfter(item T, d time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.delayedID++
	id := b.delayedID
	b.delayed[id] = delayedItem[T]{item: item, timer: time.AfterFunc(d, func() {
		b.mu.Lock()
		it, ok := b.delayed[id]
		delete(b.delayed, id)
		b.mu.Unlock()
		if ok {
			// close may have come in between; then close took the item.
			b.add(it.item)
		}
	})}
	return true
}

func (b *batcher[T]) onTimer() {
	b.mu.Lock()
	b.timer = nil
	batch := b.take()
	b.mu.Unlock()
	b.start(batch)
}

// take removes up to max pending items; the caller holds mu.
func (b *batcher[T]) take() []T {
	n := min(len(b.pending), b.max)
	if n == 0 {
		return nil
	}
	batch := make([]T, n)
	copy(batch, b.pending)
	// Counted under mu so that close, which waits on wg after taking mu,
	// can never miss a flush that a timer started concurrently.
	b.wg.Add(1)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	if len(b.pending) > 0 && b.timer == nil && !b.closed {
		b.timer = time.AfterFunc(b.interval, b.onTimer)
	}
	if len(b.pending) == 0 && b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

func (b *batcher[T]) start(batch []T) {
	if len(batch) == 0 {
		return
	}
	// The flush slot is taken on the new goroutine, not here: start runs
	// inside flushes that put failed items back, and a flush waiting for a
	// slot that only it and its peers hold would deadlock the batcher.
	go func() {
		b.sem <- struct{}{}
		defer func() { <-b.sem; b.wg.Done() }()
		b.flush(batch)
	}()
}

// close flushes everything pending and waits for every flush to finish.
func (b *batcher[T]) close() {
	b.mu.Lock()
	b.closed = true
	// Every delayed item goes out now; a timer that already fired finds
	// its item gone and does nothing.
	for id, it := range b.delayed {
		it.timer.Stop()
		b.pending = append(b.pending, it.item)
		delete(b.delayed, id)
	}
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	var batches [][]T
	for len(b.pending) > 0 {
		batches = append(batches, b.take())
	}
	b.mu.Unlock()
	for _, batch := range batches {
		b.start(batch)
	}
	b.wg.Wait()
}
