package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// fifoQueue is a FIFO fakeQueue (so the strict double: several messages of
// one group per receive, in order, and a group locked while any of its
// messages is in flight, unlike the emulator, which returns one message per
// group per receive) with a short long poll. That is the case where the
// engine's own ordering matters.
type fifoQueue struct {
	*fakeQueue
}

// newFIFOQueue takes the test for reporting the fake's checks; without one
// a failed check panics.
func newFIFOQueue(t ...testing.TB) *fifoQueue {
	var tb testing.TB
	if len(t) > 0 {
		tb = t[0]
	}
	q := newFakeFIFOQueue(tb)
	q.waitTime = 200 * time.Millisecond
	return &fifoQueue{q}
}

// send puts n messages of group, with bodies "group:i".
func (q *fifoQueue) send(group string, n int) {
	for i := range n {
		q.put(fmt.Sprintf("%s:%d", group, i), withGroup(group, ""))
	}
}

// empty reports whether every message was deleted.
func (q *fifoQueue) empty() bool { return len(q.server().Peek(q.queueURL)) == 0 }

// vis is every visibility change asked for, in order.
func (q *fifoQueue) vis() []VisibilityChange {
	var out []VisibilityChange
	for _, c := range q.callsOf(opChangeVisibility) {
		out = append(out, c.Changes...)
	}
	return out
}

// seen records the order bodies reached the handler and checks that no two
// messages of a group ever overlap.
type seen struct {
	mu        sync.Mutex
	order     map[string][]string
	running   map[string]bool
	overlaps  int
	maxGroups int
}

func newSeen() *seen { return &seen{order: map[string][]string{}, running: map[string]bool{}} }

func (s *seen) handle(m *Message, work func()) {
	s.mu.Lock()
	if s.running[m.GroupID] {
		s.overlaps++
	}
	s.running[m.GroupID] = true
	s.order[m.GroupID] = append(s.order[m.GroupID], m.Body)
	n := 0
	for _, r := range s.running {
		if r {
			n++
		}
	}
	s.maxGroups = max(s.maxGroups, n)
	s.mu.Unlock()
	work()
	s.mu.Lock()
	s.running[m.GroupID] = false
	s.mu.Unlock()
}

func (s *seen) got(g string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.order[g], " ")
}

func fifoConfig(q *fifoQueue) Config {
	return Config{
		Queue:             q,
		QueueURL:          q.queueURL,
		Concurrency:       10,
		VisibilityTimeout: time.Second,
		HandlerTimeout:    30 * time.Second,
		MaxAttempts:       5,
		Backoff:           Backoff{Base: 300 * time.Millisecond, Max: 300 * time.Millisecond, Rand: func() float64 { return 0.999 }},
		ShutdownTimeout:   2 * time.Second,
		AbandonGrace:      300 * time.Millisecond,
		FlushInterval:     5 * time.Millisecond,
	}
}

func runFIFO(t *testing.T, q *fifoQueue, cfg Config, h HandlerFunc) (stop func()) {
	t.Helper()
	cfg.Handler = h
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !p.cfg.FIFO {
		t.Fatal("a queue URL ending in .fifo did not turn FIFO mode on")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestFIFOBatchOfOneGroupRunsInOrderOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFIFOQueue(t)
		q.logCallsOnFailure(t)
		q.send("a", 6)
		q.send("b", 6)
		s := newSeen()
		runFIFO(t, q, fifoConfig(q), func(ctx context.Context, m *Message) error {
			s.handle(m, func() { time.Sleep(2 * time.Millisecond) })
			return nil
		})
		wait.For(t, 10*time.Second, "queue drained", q.empty)
		if s.overlaps > 0 {
			t.Errorf("%d time(s) two messages of one group ran at once", s.overlaps)
		}
		for _, g := range []string{"a", "b"} {
			want := fmt.Sprintf("%[1]s:0 %[1]s:1 %[1]s:2 %[1]s:3 %[1]s:4 %[1]s:5", g)
			if got := s.got(g); got != want {
				t.Errorf("group %s order: got %q, want %q", g, got, want)
			}
		}
		if s.maxGroups < 2 {
			t.Errorf("groups ran one at a time (max %d at once); they must run in parallel", s.maxGroups)
		}
	})
}

func TestFIFORetryReleasesTheRestOfItsGroupInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFIFOQueue(t)
		q.send("a", 5)
		q.send("b", 3)
		s := newSeen()
		runFIFO(t, q, fifoConfig(q), func(ctx context.Context, m *Message) error {
			var err error
			s.handle(m, func() {
				if m.Body == "a:1" && m.ReceiveCount == 1 {
					err = errors.New("transient")
				}
			})
			return err
		})
		wait.For(t, 10*time.Second, "queue drained", q.empty)
		if got, want := s.got("a"), "a:0 a:1 a:1 a:2 a:3 a:4"; got != want {
			t.Errorf("group a order: got %q, want %q (the messages behind a failed one must wait for it)", got, want)
		}
		if got, want := s.got("b"), "b:0 b:1 b:2"; got != want {
			t.Errorf("group b order: got %q, want %q", got, want)
		}
		// The messages behind a:1 went back with a:1's delay, not at once.
		retried := 0
		vis := q.vis()
		for _, c := range vis {
			if c.Timeout == time.Second { // 300ms backoff, rounded up to SQS's whole seconds
				retried++
			}
		}
		if retried != 4 { // a:1 and the three behind it
			t.Errorf("%d visibility changes with the retry delay, want 4 (a:1 and its successors): %v", retried, vis)
		}
	})
}

func TestFIFOWaitingSuccessorsKeepTheirLeases(t *testing.T) {
	// On synctest's clock: the head holds its group for three and a half
	// visibility timeouts without the test waiting for them.
	synctest.Test(t, func(t *testing.T) {
		q := newFIFOQueue(t)
		q.logCallsOnFailure(t)
		q.send("s", 4)
		s := newSeen()
		runFIFO(t, q, fifoConfig(q), func(ctx context.Context, m *Message) error {
			s.handle(m, func() {
				if m.Body == "s:0" {
					time.Sleep(3500 * time.Millisecond) // > 3 visibility timeouts of 1s, fake time
				}
			})
			if m.ReceiveCount != 1 {
				t.Errorf("%s delivered %d times: its lease ran out while it waited", m.Body, m.ReceiveCount)
			}
			return nil
		})
		wait.For(t, 15*time.Second, "queue drained", q.empty)
		if got, want := s.got("s"), "s:0 s:1 s:2 s:3"; got != want {
			t.Errorf("order: got %q, want %q", got, want)
		}
	})
}

func TestFIFOShutdownReleasesWaitingMessagesUnstarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFIFOQueue(t)
		q.send("w", 3)
		s := newSeen()
		started := make(chan struct{})
		release := make(chan struct{})
		stop := runFIFO(t, q, fifoConfig(q), func(ctx context.Context, m *Message) error {
			s.handle(m, func() {
				if m.Body == "w:0" {
					close(started)
					<-release
				}
			})
			return nil
		})
		<-started
		go func() { time.Sleep(100 * time.Millisecond); close(release) }()
		stop()
		if got := s.got("w"); got != "w:0" {
			t.Errorf("handled %q during shutdown, want only the running w:0", got)
		}
		left := q.server().Peek(q.queueURL)
		if len(left) != 2 {
			t.Fatalf("%d messages left, want w:1 and w:2", len(left))
		}
		for _, m := range left {
			if m.HiddenUntil.After(time.Now()) {
				t.Errorf("%s still invisible after shutdown; it must be released at once", m.Body)
			}
		}
	})
}

// failingOnce fails its first receive, as a lost response would, and
// records the attempt id of every receive.
type failingOnce struct {
	*fifoQueue
	mu  sync.Mutex
	ids []string
	max []int
}

func (q *failingOnce) Receive(ctx context.Context, max int, vis time.Duration) ([]*Message, error) {
	q.mu.Lock()
	q.ids = append(q.ids, ReceiveAttemptID(ctx))
	q.max = append(q.max, max)
	n := len(q.ids)
	q.mu.Unlock()
	if n == 1 {
		return nil, errors.New("connection reset")
	}
	return q.fifoQueue.Receive(ctx, max, vis)
}

func TestFIFORetriedReceiveReusesAttemptID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &failingOnce{fifoQueue: newFIFOQueue(t)}
		q.send("a", 1)
		cfg := fifoConfig(q.fifoQueue)
		cfg.Queue = q
		cfg.Pollers = 1
		cfg.PollBackoff = Backoff{Base: time.Millisecond, Max: time.Millisecond}
		done := make(chan struct{}, 1)
		runFIFO(t, q.fifoQueue, cfg, func(ctx context.Context, m *Message) error {
			done <- struct{}{}
			return nil
		})
		<-done
		wait.For(t, 5*time.Second, "a third receive", func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.ids) >= 3 })
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.ids[0] == "" || q.ids[1] != q.ids[0] {
			t.Errorf("attempt ids %q: the retry of a failed receive must reuse the id", q.ids[:2])
		}
		if q.max[1] != q.max[0] {
			t.Errorf("retry asked for %d messages, the failed receive for %d: a retry must repeat the request", q.max[1], q.max[0])
		}
		if q.ids[2] == q.ids[1] || q.ids[2] == "" {
			t.Errorf("attempt ids %q: a new receive after a success needs a new id", q.ids[:3])
		}
	})
}
