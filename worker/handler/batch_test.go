package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// batchRecorder is a BatchHandler that records its calls and answers with
// respond.
type batchRecorder struct {
	mu      sync.Mutex
	calls   [][]string
	at      []time.Time
	respond func(ctx context.Context, msgs []*worker.Message) (map[string]error, error)
}

func (r *batchRecorder) HandleBatch(ctx context.Context, msgs []*worker.Message) (map[string]error, error) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	r.mu.Lock()
	r.calls = append(r.calls, ids)
	r.at = append(r.at, time.Now())
	r.mu.Unlock()
	if r.respond == nil {
		return nil, nil
	}
	return r.respond(ctx, msgs)
}

func (r *batchRecorder) batches() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.calls...)
}

func newTestBatch(t *testing.T, cfg BatchConfig) *Batch {
	t.Helper()
	b, err := NewBatch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// handleAll calls b.Handle for each id at once and returns the results by
// id once all have returned.
func handleAll(ctx context.Context, b *Batch, ids ...string) map[string]error {
	var mu sync.Mutex
	out := map[string]error{}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			err := b.Handle(ctx, &worker.Message{ID: id, Body: id})
			mu.Lock()
			out[id] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func TestBatchSentWhenFullWithoutWaitingForTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 3, Window: 5 * time.Second})
		start := time.Now()
		res := handleAll(t.Context(), b, "a", "b", "c")
		for id, err := range res {
			if err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		if got := rec.batches(); len(got) != 1 || len(got[0]) != 3 {
			t.Fatalf("batches %v, want one of 3", got)
		}
		if waited := rec.at[0].Sub(start); waited != 0 {
			t.Errorf("a full batch waited %s", waited)
		}
	})
}

func TestBatchSentWhenTheWindowEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 10, Window: 2 * time.Second})
		start := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() { _ = b.Handle(t.Context(), &worker.Message{ID: "a"}) })
		time.Sleep(time.Second)
		// A message arriving within the window joins the same batch.
		wg.Go(func() { _ = b.Handle(t.Context(), &worker.Message{ID: "b"}) })
		wg.Wait()
		if got := rec.batches(); len(got) != 1 || strings.Join(got[0], ",") != "a,b" {
			t.Fatalf("batches %v, want [a b]", got)
		}
		if waited := rec.at[0].Sub(start); waited != 2*time.Second {
			t.Errorf("sent after %s, want the 2s window", waited)
		}
	})
}

func TestBatchEachMessageGetsItsOwnResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{respond: func(_ context.Context, msgs []*worker.Message) (map[string]error, error) {
			return map[string]error{
				"bad":   worker.Permanent(errors.New("malformed")),
				"later": worker.RetryAfter(errors.New("busy"), time.Minute),
				"plain": nil,
			}, nil
		}}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 4, Window: time.Second})
		res := handleAll(t.Context(), b, "ok", "bad", "later", "plain")
		if res["ok"] != nil {
			t.Errorf("ok: %v", res["ok"])
		}
		if !worker.IsPermanent(res["bad"]) || !strings.Contains(res["bad"].Error(), "failed in a batch of 4: malformed") {
			t.Errorf("bad: %v, want permanent naming the batch", res["bad"])
		}
		var ra *worker.RetryAfterError
		if !errors.As(res["later"], &ra) || ra.Delay != time.Minute {
			t.Errorf("later: %v, want retry after 1m", res["later"])
		}
		if res["plain"] == nil || worker.IsPermanent(res["plain"]) {
			t.Errorf("plain: %v, want a retryable failure", res["plain"])
		}
	})
}

func TestBatchErrorFailsEveryMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{respond: func(context.Context, []*worker.Message) (map[string]error, error) {
			return nil, worker.Permanent(errors.New("poison batch"))
		}}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 2, Window: time.Second})
		for id, err := range handleAll(t.Context(), b, "a", "b") {
			if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "batch of 2 failed: poison batch") {
				t.Errorf("%s: %v", id, err)
			}
		}
	})
}

func TestBatchPanicFailsTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{respond: func(context.Context, []*worker.Message) (map[string]error, error) { panic("oops") }}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 1})
		if err := b.Handle(t.Context(), &worker.Message{ID: "a"}); err == nil || !strings.Contains(err.Error(), "panicked: oops") {
			t.Errorf("got %v", err)
		}
	})
}

// With one call at a time (an emulator), messages arriving while a batch
// runs gather into the next one, which is sent when the first ends, not
// split into many small ones.
func TestBatchMaxInFlightGathersWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var running, most int
		var mu sync.Mutex
		rec := &batchRecorder{respond: func(ctx context.Context, msgs []*worker.Message) (map[string]error, error) {
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			if msgs[0].ID == "first" {
				<-release
			}
			mu.Lock()
			running--
			mu.Unlock()
			return nil, nil
		}}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 10, MaxInFlight: 1})
		var wg sync.WaitGroup
		wg.Go(func() { _ = b.Handle(t.Context(), &worker.Message{ID: "first"}) })
		synctest.Wait()
		for i := range 5 {
			wg.Go(func() { _ = b.Handle(t.Context(), &worker.Message{ID: fmt.Sprint(i)}) })
		}
		synctest.Wait()
		if got := rec.batches(); len(got) != 1 {
			t.Fatalf("a second batch was sent while the first ran: %v", got)
		}
		close(release)
		wg.Wait()
		if got := rec.batches(); len(got) != 2 || len(got[1]) != 5 {
			t.Fatalf("batches %v, want [first] then the 5 that waited", got)
		}
		if most != 1 {
			t.Errorf("%d batches ran at once, want 1", most)
		}
	})
}

// A message whose context ends while it waits in the window leaves the
// batch; the rest is sent without it.
func TestBatchMessageLeavingTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 10, Window: 3 * time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var leftErr error
		wg.Go(func() { leftErr = b.Handle(ctx, &worker.Message{ID: "gone"}) })
		wg.Go(func() { _ = b.Handle(t.Context(), &worker.Message{ID: "stays"}) })
		time.Sleep(time.Second)
		cancel()
		wg.Wait()
		if !errors.Is(leftErr, context.Canceled) {
			t.Errorf("leaving message: %v", leftErr)
		}
		if got := rec.batches(); len(got) != 1 || strings.Join(got[0], ",") != "stays" {
			t.Errorf("batches %v, want [stays]", got)
		}
	})
}

// The batch call ends at the first message's deadline (its handler
// timeout), and every message of the batch fails with the timeout.
func TestBatchCallEndsAtTheFirstMessagesDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{respond: func(ctx context.Context, _ []*worker.Message) (map[string]error, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 2, Window: 5 * time.Second})
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			errs[0] = b.Handle(ctx, &worker.Message{ID: "a"})
		})
		time.Sleep(time.Second)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			errs[1] = b.Handle(ctx, &worker.Message{ID: "b"})
		})
		wg.Wait()
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("batch ended after %s, want the first message's 10s", took)
		}
		for i, err := range errs {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("message %d: %v, want a deadline error", i, err)
			}
		}
	})
}

// A message that would take the event past MaxBytes starts the next batch.
func TestBatchSplitsAtMaxBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &batchRecorder{}
		m := func(id string) *worker.Message { return &worker.Message{ID: id, Body: strings.Repeat("x", 400)} }
		one, err := EventSource{}.Event([]*worker.Message{m("a")})
		if err != nil {
			t.Fatal(err)
		}
		// Room for two records, not three.
		b := newTestBatch(t, BatchConfig{Handler: rec, Size: 10, Window: time.Second, MaxBytes: 2*len(one) + 10})
		var wg sync.WaitGroup
		for _, id := range []string{"a", "b", "c"} {
			wg.Go(func() { _ = b.Handle(t.Context(), m(id)) })
			synctest.Wait()
		}
		wg.Wait()
		got := rec.batches()
		if len(got) != 2 || len(got[0]) != 2 || len(got[1]) != 1 {
			t.Fatalf("batches %v, want two then one", got)
		}
		for _, batch := range got {
			var msgs []*worker.Message
			for _, id := range batch {
				msgs = append(msgs, m(id))
			}
			ev, _ := EventSource{}.Event(msgs)
			if len(ev) > 2*len(one)+10 {
				t.Errorf("event of %v is %d bytes, over the cap", batch, len(ev))
			}
		}
	})
}

func TestNewBatchRejectsBadConfig(t *testing.T) {
	h := &batchRecorder{}
	for name, cfg := range map[string]BatchConfig{
		"no handler":    {Size: 1},
		"size 0":        {Handler: h},
		"window 6s":     {Handler: h, Size: 1, Window: 6 * time.Second},
		"negative cap":  {Handler: h, Size: 1, MaxBytes: -1},
		"negative runs": {Handler: h, Size: 1, MaxInFlight: -1},
	} {
		if _, err := NewBatch(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
