package worker

// Benchmarks of the engine's hot paths, on an in-memory queue with no
// network, so that what they measure is the engine's own cost per message:
//
//	go test -run '^$' -bench . -benchmem ./worker
//
// BenchmarkDispatch is the whole path of a message (receive, slot,
// handler goroutine, outcome, batched delete), BenchmarkOutcome the
// per-outcome work after the handler returns, BenchmarkBatcher and
// BenchmarkSlots the two shared structures every message passes through.
// ns/op and allocs/op are per message. `make bench` (bench/) measures the
// same engine end to end against the SQS emulator.
//
// benchQueue is used rather than fakeQueue: the fake keeps a record of every
// call and scans all its messages on each receive, which is what its tests
// need but would dominate (and grow with) b.N here.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchQueue hands out up to n messages, as fast as they are asked for, and
// counts deletes. Once empty, a receive waits until ctx ends or drain is
// closed, like a long poll on an empty queue.
type benchQueue struct {
	n        int64
	issued   atomic.Int64
	deleted  atomic.Int64
	changed  atomic.Int64
	sent     atomic.Int64
	allGone  chan struct{} // closed when n messages are deleted
	gone     sync.Once
	drain    chan struct{}
	receipts []string // receipt handles by index, made up front
}

func newBenchQueue(n int) *benchQueue {
	q := &benchQueue{n: int64(n), allGone: make(chan struct{}), drain: make(chan struct{}), receipts: make([]string, n)}
	for i := range q.receipts {
		q.receipts[i] = "r" + strconv.Itoa(i)
	}
	return q
}

func (q *benchQueue) Receive(ctx context.Context, max int, _ time.Duration) ([]*Message, error) {
	end := q.issued.Add(int64(max))
	start := end - int64(max)
	if start >= q.n {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.drain:
			return nil, nil
		}
	}
	end = min(end, q.n)
	now := time.Now()
	msgs := make([]*Message, 0, end-start)
	for i := start; i < end; i++ {
		msgs = append(msgs, &Message{ID: q.receipts[i], ReceiptHandle: q.receipts[i], Body: "{}", ReceiveCount: 1, SentAt: now})
	}
	return msgs, nil
}

func (q *benchQueue) Delete(_ context.Context, receipts []string) ([]error, error) {
	if q.deleted.Add(int64(len(receipts))) >= q.n {
		q.gone.Do(func() { close(q.allGone) })
	}
	return nil, nil
}

func (q *benchQueue) ChangeVisibility(_ context.Context, changes []VisibilityChange) ([]error, error) {
	q.changed.Add(int64(len(changes)))
	return nil, nil
}

func (q *benchQueue) Send(context.Context, *DeadLetter) error {
	q.sent.Add(1)
	return nil
}

// BenchmarkDispatch runs b.N messages through a Pool with a no-op handler:
// receive, slot accounting, a handler goroutine, the outcome and the batched
// delete. Per message.
func BenchmarkDispatch(b *testing.B) {
	for _, c := range []int{1, 10, 64} {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) {
			q := newBenchQueue(b.N)
			p, err := New(Config{
				Queue:       q,
				Handler:     HandlerFunc(func(context.Context, *Message) error { return nil }),
				Concurrency: c,
				// Full batches flush at once; this only bounds the tail.
				FlushInterval: time.Millisecond,
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ReportAllocs()
			b.ResetTimer()
			go func() { done <- p.Run(ctx) }()
			<-q.allGone
			b.StopTimer()
			cancel()
			close(q.drain)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkOutcome measures what happens to a message after its handler
// returns, per outcome: success (batched delete), retry (batched
// visibility change with the backoff delay) and dead_letter (failure
// record, DLQ send, then the batched delete). It calls process directly,
// without the poll loop and handler goroutine that BenchmarkDispatch adds.
func BenchmarkOutcome(b *testing.B) {
	errRetry := errors.New("bench: try again")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"success", nil},
		{"retry", errRetry},
		{"dead_letter", Permanent(errRetry)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			q := newBenchQueue(b.N)
			p, err := New(Config{
				Queue:       q,
				DeadLetter:  q,
				Handler:     HandlerFunc(func(context.Context, *Message) error { return tc.err }),
				Concurrency: 10,
			})
			if err != nil {
				b.Fatal(err)
			}
			// What Run sets up before handlers run.
			p.workCtx, p.cancelWork = context.WithCancel(context.Background())
			defer p.cancelWork()
			msgs, err := q.Receive(context.Background(), b.N, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				now := time.Now()
				p.process(p.track(msgs[i], now, now))
			}
			p.deletes.close()
			p.visibility.close()
			b.StopTimer()
			if got := q.deleted.Load() + q.changed.Load(); got != int64(b.N) {
				b.Fatalf("%d outcomes applied, want %d", got, b.N)
			}
		})
	}
}

// BenchmarkBatcher adds items to a batcher of 10 whose flush does nothing:
// the cost of batching one delete or visibility change, alone and with
// every P adding at once (lock contention).
func BenchmarkBatcher(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		var flushed atomic.Int64
		bt := newBatcher(10, 50*time.Millisecond, 2, func(batch []int) { flushed.Add(int64(len(batch))) })
		b.ReportAllocs()
		b.ResetTimer()
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bt.add(1)
				}
			})
		} else {
			for range b.N {
				bt.add(1)
			}
		}
		bt.close()
		b.StopTimer()
		if flushed.Load() != int64(b.N) {
			b.Fatalf("flushed %d of %d", flushed.Load(), b.N)
		}
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// BenchmarkSlots takes and gives back one handler slot, as each message
// does, alone and from every P at once.
func BenchmarkSlots(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		s := newSlots(64)
		b.ReportAllocs()
		for range b.N {
			if _, err := s.acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			s.received()
			s.release(1)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := newSlots(64)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.acquire(ctx, 1); err != nil {
					b.Error(err)
					return
				}
				s.received()
				s.release(1)
			}
		})
	})
}
