package worker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// recordingDLQ keeps what is dead-lettered.
type recordingDLQ struct {
	mu   sync.Mutex
	sent []*DeadLetter
}

func (d *recordingDLQ) Send(_ context.Context, dl *DeadLetter) error {
	d.mu.Lock()
	d.sent = append(d.sent, dl)
	d.mu.Unlock()
	return nil
}

func (d *recordingDLQ) bodies() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, dl := range d.sent {
		out = append(out, dl.Body)
	}
	return out
}

// SQS returns several messages of a FIFO group in one receive. When the
// group's head fails, the engine releases the messages behind it unstarted,
// and each release raises their receive count. Those receives are not
// attempts: with max_attempts 3 and a head that always fails, the followers
// used to reach the DLQ after one run each (or none), with "attempts":3.
func TestFIFOFollowersOfAFailingHeadKeepTheirAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFIFOQueue()
		q.send("g", 4) // g:0 always fails; g:1..g:3 fail once, then succeed
		dlq := &recordingDLQ{}
		cfg := fifoConfig(q)
		cfg.MaxAttempts = 3
		cfg.DeadLetter = dlq
		var mu sync.Mutex
		runs := map[string]int{}
		runFIFO(t, q, cfg, func(ctx context.Context, m *Message) error {
			mu.Lock()
			runs[m.Body]++
			n := runs[m.Body]
			mu.Unlock()
			if m.Body == "g:0" || n == 1 {
				return fmt.Errorf("run %d of %s failed", n, m.Body)
			}
			return nil
		})
		wait.For(t, 20*time.Second, "queue drained", q.empty)
		if got := dlq.bodies(); len(got) != 1 || got[0] != "g:0" {
			t.Fatalf("dead-lettered %v, want only the failing head g:0", got)
		}
		rec := parseFailure(t, dlq.sent[0])
		if rec.Reason != "max_attempts" || rec.Attempts != 3 {
			t.Errorf("head's failure record = %+v, want max_attempts after 3 attempts", rec)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, b := range []string{"g:1", "g:2", "g:3"} {
			if runs[b] != 2 {
				t.Errorf("%s ran %d times, want 2 (one failure, then success)", b, runs[b])
			}
		}
	})
}

// A message released at shutdown (by this or another instance) comes back
// with a higher receive count although it never failed. Until twice
// max_attempts that is not taken for a crash loop: a deploy must not turn
// killed in-flight work into dead letters.
func TestReleasedMessagesAreNotTakenForACrashLoop(t *testing.T) {
	q := newFakeQueue(t)
	id := q.put("released at three deploys", withPriorReceives(3))
	cfg := testConfig(q)
	cfg.MaxAttempts = 3
	calls := newCallCounter()
	startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		calls.record(m)
		return nil
	})
	q.waitFor(t, 5*time.Second, "the message deleted", func() bool { return q.deleted(id) })
	if calls.calls(id) != 1 || len(q.deadLetters()) != 0 {
		t.Errorf("handler ran %d times and %d dead letters; want it run once and deleted", calls.calls(id), len(q.deadLetters()))
	}
}

// A handler cancelled by shutdown is not a failed attempt: its message goes
// back at once, without a retry delay and without a dead letter, even on its
// last attempt.
func TestHandlerCancelledByShutdownIsNotAnAttempt(t *testing.T) {
	q := newFakeQueue(t)
	id := q.put("long job", withPriorReceives(2))
	cfg := testConfig(q)
	cfg.MaxAttempts = 3
	cfg.ShutdownTimeout = 0
	started := make(chan struct{})
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	h.stop()
	if n := len(q.deadLetters()); n != 0 {
		t.Errorf("%d dead letters after a shutdown cancelled the last attempt, want 0", n)
	}
	if d, ok := outcomeVisibility(t, q, q.msg(id).Receipt); !ok || d != 0 {
		t.Errorf("released with visibility %s (set: %v), want 0", d, ok)
	}
}

func TestReleaseLogIsBounded(t *testing.T) {
	r := newReleaseLog(3)
	for _, id := range []string{"a", "b", "a", "c", "d"} {
		r.note(id)
	}
	// a was the oldest entry when d came: forgotten; b, c, d remain.
	want := map[string]int{"a": 0, "b": 1, "c": 1, "d": 1}
	for id, n := range want {
		if got := r.unrun(id); got != n {
			t.Errorf("unrun(%s) = %d, want %d", id, got, n)
		}
	}
	r.forget("c")
	r.note("c") // a new entry; evicting the old ring slot of c must not drop it
	r.note("e")
	r.note("f")
	if got := r.unrun("c"); got != 1 {
		t.Errorf("unrun(c) after forget and note = %d, want 1", got)
	}
	if len(r.count) > 3 {
		t.Errorf("%d entries kept, limit 3", len(r.count))
	}
}
