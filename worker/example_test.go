package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// memQueue is a two-message stand-in for SQS so that the example runs
// anywhere. A real program passes awssqs.NewQueue(sqs.NewFromConfig(cfg),
// queueURL, 20*time.Second) instead.
type memQueue struct {
	mu      sync.Mutex
	pending []*worker.Message
	deleted chan string
}

func (q *memQueue) Receive(ctx context.Context, max int, _ time.Duration) ([]*worker.Message, error) {
	q.mu.Lock()
	n := min(max, len(q.pending))
	out := q.pending[:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()
	if n == 0 { // a (short) long poll on an empty queue
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
			return nil, nil
		}
	}
	return out, nil
}

func (q *memQueue) Delete(_ context.Context, receipts []string) ([]error, error) {
	for _, r := range receipts {
		q.deleted <- r
	}
	return make([]error, len(receipts)), nil
}

func (q *memQueue) ChangeVisibility(_ context.Context, c []worker.VisibilityChange) ([]error, error) {
	return make([]error, len(c)), nil
}

// Example embeds the engine with an in-process handler and shuts it down
// gracefully once both messages are deleted.
func Example() {
	q := &memQueue{deleted: make(chan string, 2), pending: []*worker.Message{
		{ID: "m1", ReceiptHandle: "r1", Body: "hello", ReceiveCount: 1},
		{ID: "m2", ReceiptHandle: "r2", Body: "world", ReceiveCount: 1},
	}}
	var mu sync.Mutex
	var seen []string
	pool, err := worker.New(worker.Config{
		Queue:       q,
		Concurrency: 1, // one at a time, so the output order is fixed
		Handler: worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
			if m.Body == "" {
				return worker.Permanent(fmt.Errorf("empty body"))
			}
			mu.Lock()
			seen = append(seen, strings.ToUpper(m.Body))
			mu.Unlock()
			return nil
		}),
		Backoff:         worker.Backoff{Base: time.Second, Max: time.Minute},
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- pool.Run(ctx) }()
	<-q.deleted
	<-q.deleted
	cancel() // what SIGTERM does in the daemon: stop receiving, drain, exit
	if err := <-done; err != nil {
		panic(err)
	}
	fmt.Println(strings.Join(seen, " "))
	// Output: HELLO WORLD
}
