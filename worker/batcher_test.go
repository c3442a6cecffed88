package worker

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// batchLog records the batches a batcher flushed.
type batchLog struct {
	mu      sync.Mutex
	batches [][]int
	at      []time.Time
	flushed chan []int // every batch, if not nil (buffered by the test)
}

func (l *batchLog) flush(batch []int) {
	l.mu.Lock()
	l.batches = append(l.batches, slices.Clone(batch))
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
	if l.flushed != nil {
		l.flushed <- batch
	}
}

func (l *batchLog) snapshot() [][]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.batches)
}

func (l *batchLog) items() []int {
	var all []int
	for _, b := range l.snapshot() {
		all = append(all, b...)
	}
	slices.Sort(all)
	return all
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func recvBatch(t *testing.T, ch <-chan []int, within time.Duration) []int {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(within):
		t.Fatalf("no batch flushed within %s", within)
		return nil
	}
}

func TestBatcherFlushesAtMax(t *testing.T) {
	log := &batchLog{flushed: make(chan []int, 10)}
	b := newBatcher(3, time.Hour, 1, log.flush)
	for i := 1; i <= 7; i++ {
		if !b.add(i) {
			t.Fatalf("add(%d) = false before close", i)
		}
	}
	// Two full batches go out without waiting for the hour-long interval,
	// each in add order (the batches themselves may start in either order).
	full := [][]int{recvBatch(t, log.flushed, 5*time.Second), recvBatch(t, log.flushed, 5*time.Second)}
	slices.SortFunc(full, func(a, b []int) int { return a[0] - b[0] })
	if want := [][]int{{1, 2, 3}, {4, 5, 6}}; !slices.EqualFunc(full, want, slices.Equal) {
		t.Fatalf("full batches: -want +got\n-%v\n+%v", want, full)
	}
	b.close()
	if got := log.snapshot(); len(got) != 3 || !slices.Equal(got[2], []int{7}) {
		t.Fatalf("batches = %v, want the two full ones then [7] at close", got)
	}
}

func TestBatcherFlushesAfterInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 30 * time.Millisecond
		log := &batchLog{flushed: make(chan []int, 10)}
		b := newBatcher(10, interval, 2, log.flush)
		defer b.close()
		start := time.Now()
		b.add(1)
		b.add(2)
		got := recvBatch(t, log.flushed, 5*time.Second)
		if waited := time.Since(start); waited != interval {
			t.Errorf("partial batch flushed after %s, want the %s interval", waited, interval)
		}
		if !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("batch = %v, want [1 2]", got)
		}
		// A later item starts a new interval of its own.
		start = time.Now()
		b.add(3)
		got = recvBatch(t, log.flushed, 5*time.Second)
		if waited := time.Since(start); waited != interval {
			t.Errorf("second partial batch flushed after %s, want the %s interval", waited, interval)
		}
		if !slices.Equal(got, []int{3}) {
			t.Fatalf("batch = %v, want [3]", got)
		}
	})
}

// TestBatcherCloseFlushesAndWaits: close flushes everything pending in
// batches of at most max, and returns only when every flush has finished.
func TestBatcherCloseFlushesAndWaits(t *testing.T) {
	gate := newTestGate()
	entered := make(chan []int, 10)
	var done atomic.Int64
	flush := func(batch []int) {
		entered <- batch
		<-gate.C()
		done.Add(int64(len(batch)))
	}
	b := newBatcher(10, time.Hour, 4, flush)
	for i := 1; i <= 25; i++ {
		b.add(i)
	}
	closed := make(chan struct{})
	go func() { b.close(); close(closed) }()

	var got [][]int
	for range 3 {
		got = append(got, recvBatch(t, entered, 5*time.Second))
	}
	select {
	case <-closed:
		t.Fatal("close returned while flushes were still running")
	default:
	}
	gate.open()
	<-closed
	if n := done.Load(); n != 25 {
		t.Fatalf("close returned after %d of 25 items were flushed", n)
	}
	var all []int
	for _, b := range got {
		if len(b) > 10 {
			t.Errorf("batch of %d items, max is 10", len(b))
		}
		all = append(all, b...)
	}
	slices.Sort(all)
	if !slices.Equal(all, seq(1, 25)) {
		t.Fatalf("flushed items = %v, want 1..25 once each", all)
	}
}

func TestBatcherAddAfterClose(t *testing.T) {
	log := &batchLog{}
	b := newBatcher(10, time.Millisecond, 1, log.flush)
	b.add(1)
	b.close()
	if b.add(2) {
		t.Fatal("add after close = true, want false")
	}
	b.close() // a second close is harmless
	if got := log.items(); !slices.Equal(got, []int{1}) {
		t.Fatalf("flushed %v, want [1]", got)
	}
}

// TestBatcherTimerRacesClose races the interval timer against close, many
// times: every item taken is flushed exactly once and before close returns.
func TestBatcherTimerRacesClose(t *testing.T) {
	for i := range 300 {
		var flushed atomic.Int64
		var mu sync.Mutex
		seen := map[int]int{}
		b := newBatcher(4, time.Duration(i%3)*50*time.Microsecond+time.Nanosecond, 2, func(batch []int) {
			mu.Lock()
			for _, v := range batch {
				seen[v]++
			}
			mu.Unlock()
			flushed.Add(int64(len(batch)))
		})
		// Concurrent adders race the timer and close.
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Go(func() {
				for k := range 5 {
					if b.add(g*100 + k) {
						accepted.Add(1)
					}
				}
			})
		}
		if i%2 == 0 {
			wg.Wait()
		}
		b.close()
		after := flushed.Load() // close has returned: nothing may still be in flight
		wg.Wait()
		if i%2 == 0 && after != accepted.Load() {
			t.Fatalf("iteration %d: close returned with %d of %d accepted items flushed", i, after, accepted.Load())
		}
		if got := flushed.Load(); got != after {
			t.Fatalf("iteration %d: %d items flushed after close returned", i, got-after)
		}
		if int64(len(seen)) != accepted.Load() {
			t.Fatalf("iteration %d: %d distinct items flushed, %d accepted", i, len(seen), accepted.Load())
		}
		for v, n := range seen {
			if n != 1 {
				t.Fatalf("iteration %d: item %d flushed %d times", i, v, n)
			}
		}
	}
}

// TestBatcherBoundsParallelFlushes: no more than parallel flushes run at once.
func TestBatcherBoundsParallelFlushes(t *testing.T) {
	gate := newTestGate()
	var running, peak atomic.Int64
	entered := make(chan struct{}, 10)
	b := newBatcher(1, time.Hour, 2, func([]int) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-gate.C()
		running.Add(-1)
	})
	added := make(chan struct{})
	go func() {
		for i := range 6 {
			b.add(i)
		}
		close(added)
	}()
	for range 2 {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the first two flushes did not start")
		}
	}
	gate.open()
	<-added
	b.close()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak parallel flushes = %d, want 2", p)
	}
}

// TestBatcherReaddFromFlushDoesNotDeadlock: flushDeletes puts a failed batch
// back with add from inside its flush. When every parallel flush does that at
// once and the re-added items fill whole batches, a flush must not wait for
// a free flush slot that only it can give back.
func TestBatcherReaddFromFlushDoesNotDeadlock(t *testing.T) {
	const parallel = 2
	var (
		b        *batcher[int]
		calls    atomic.Int64
		barrier  = newTestGate()
		mu       sync.Mutex
		done     []int
		finished = make(chan struct{})
	)
	b = newBatcher(10, time.Hour, parallel, func(batch []int) {
		switch calls.Add(1) {
		case 1:
			// Wait until the second flush is under way too, as when SQS
			// fails two DeleteMessageBatch calls in flight together.
			select {
			case <-barrier.C():
			case <-time.After(5 * time.Second):
			}
		case 2:
			barrier.open()
		default:
			mu.Lock()
			done = append(done, batch...)
			if len(done) == 20 {
				close(finished)
			}
			mu.Unlock()
			return
		}
		for _, v := range batch { // the retry
			b.add(v)
		}
	})
	for i := range 20 {
		b.add(i)
	}
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatalf("re-added items not flushed within 5s (%d flush calls): the batcher deadlocked", calls.Load())
	}
	b.close()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(done)
	if !slices.Equal(done, seq(0, 19)) {
		t.Fatalf("retried items = %v, want 0..19", done)
	}
}
