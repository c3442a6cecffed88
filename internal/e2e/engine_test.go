package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

func TestHappyPathBatchedDeletes(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "happy", 10)
	c := emu.SQS(t)
	const n = 60
	ids := sendN(t, c, url, "job", n)

	seen := newCalls()
	e := startEngine(t, emu, url, dlq, worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		seen.add(m.ID)
		return nil
	}), nil)

	wait.For(t, 30*time.Second, "every message deleted", func() bool {
		d, _ := seen.count()
		return d == n && drained(t, emu, url)
	})
	e.stop(t)

	for _, id := range ids {
		if got := len(seen.times(id)); got != 1 {
			t.Errorf("message %s handled %d times, want 1", id, got)
		}
	}
	if got := testutil.ToFloat64(e.metrics.Completed.WithLabelValues(worker.OutcomeSuccess)); got != n {
		t.Errorf("completed{success} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(e.metrics.InFlight); got != 0 {
		t.Errorf("inflight = %v after drain, want 0", got)
	}
	// Batched: far fewer DeleteMessageBatch calls than messages.
	if got := e.meter.Requests("DeleteMessageBatch"); got > n/3 {
		t.Errorf("%v DeleteMessageBatch requests for %d messages; deletes are not batched", got, n)
	}
	if got := e.meter.Requests("DeleteMessageBatch"); got < n/10 {
		t.Errorf("%v DeleteMessageBatch requests for %d messages; cannot be (10 per batch at most)", got, n)
	}
}

func TestSlowHandlerOutlivesThreeVisibilityTimeouts(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "slow", 10)
	c := emu.SQS(t)
	ids := sendN(t, c, url, "slow", 3)

	seen := newCalls()
	e := startEngine(t, emu, url, dlq, worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		seen.add(m.ID)
		select {
		case <-time.After(3500 * time.Millisecond): // > 3 x the 1s visibility timeout
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), func(cfg *worker.Config) { cfg.VisibilityTimeout = time.Second })

	wait.For(t, 30*time.Second, "slow messages deleted", func() bool {
		d, _ := seen.count()
		return d == 3 && drained(t, emu, url)
	})
	e.stop(t)
	for _, id := range ids {
		if got := len(seen.times(id)); got != 1 {
			t.Errorf("message %s handled %d times, want exactly 1", id, got)
		}
	}
	if got := testutil.ToFloat64(e.metrics.VisibilityExtension); got < 3*3 {
		t.Errorf("visibility extensions = %v, want at least 3 per message", got)
	}
	// Three messages extended together: batched, not one call per message.
	ext := e.meter.Requests("ChangeMessageVisibilityBatch")
	if got := testutil.ToFloat64(e.metrics.VisibilityExtension); ext >= got {
		t.Errorf("%v ChangeMessageVisibilityBatch calls for %v extensions; not batched", ext, got)
	}
}

func failureRecord(t *testing.T, m types.Message) worker.FailureRecord {
	t.Helper()
	a, ok := m.MessageAttributes[worker.FailureAttribute]
	if !ok {
		t.Fatalf("DLQ message has no %s attribute: %+v", worker.FailureAttribute, m.MessageAttributes)
	}
	var rec worker.FailureRecord
	if err := json.Unmarshal([]byte(aws.ToString(a.StringValue)), &rec); err != nil {
		t.Fatalf("failure record %q: %v", aws.ToString(a.StringValue), err)
	}
	return rec
}

func TestRetryWithGrowingDelayThenDLQ(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "retry", 10)
	c := emu.SQS(t)
	id := fauxqs.Send(t, c, url, "doomed", map[string]types.MessageAttributeValue{
		"tenant": {DataType: aws.String("String"), StringValue: aws.String("acme")},
	})

	seen := newCalls()
	start := time.Now()
	startEngine(t, emu, url, dlq, worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		seen.add(m.ID)
		return fmt.Errorf("database unavailable (attempt %d)", m.ReceiveCount)
	}), func(cfg *worker.Config) {
		cfg.MaxAttempts = 4
		// Jitter pinned to its top, so delays are exactly 1s, 2s, 4s.
		cfg.Backoff = worker.Backoff{Base: time.Second, Max: 30 * time.Second, Rand: func() float64 { return 0.999999 }}
	})

	got := receiveN(t, c, dlq, 1, 30*time.Second, "1")
	times := seen.times(id)
	if len(times) != 4 {
		t.Fatalf("handler ran %d times, want 4 (max_attempts)", len(times))
	}
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	// Each retry waits at least its backoff, and the waits grow.
	for i, min := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if gaps[i] < min-100*time.Millisecond {
			t.Errorf("wait before attempt %d = %s, want >= %s", i+2, gaps[i], min)
		}
	}
	if !(gaps[0] < gaps[1] && gaps[1] < gaps[2]) {
		t.Errorf("retry waits %v do not grow", gaps)
	}

	m := got[0]
	if aws.ToString(m.Body) != "doomed" || aws.ToString(m.MessageAttributes["tenant"].StringValue) != "acme" {
		t.Errorf("DLQ message lost its body or attributes: %q %+v", aws.ToString(m.Body), m.MessageAttributes)
	}
	rec := failureRecord(t, m)
	if rec.Attempts != 4 || rec.Reason != "max_attempts" || rec.MessageID != id || rec.QueueURL != url ||
		!strings.Contains(rec.Error, "database unavailable (attempt 4)") {
		t.Errorf("failure record = %+v", rec)
	}
	if rec.FirstReceivedAt.Before(start.Add(-time.Second)) || rec.FailedAt.Before(rec.FirstReceivedAt) {
		t.Errorf("failure record times: first %v failed %v", rec.FirstReceivedAt, rec.FailedAt)
	}
	wait.For(t, 10*time.Second, "source queue empty", func() bool { return drained(t, emu, url) })
}

func TestExecExit65GoesStraightToDLQ(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "exit65", 10)
	c := emu.SQS(t)
	counter := t.TempDir() + "/runs"
	h, err := handler.NewExec(handler.ExecConfig{Command: []string{"sh", "-c",
		`echo run >> "$0"; body=$(cat); echo "cannot parse $body for $SQSFLEET_MESSAGE_ID" >&2; exit 65`, counter}})
	if err != nil {
		t.Fatal(err)
	}
	id := fauxqs.Send(t, c, url, "not-json", nil)
	e := startEngine(t, emu, url, dlq, h, nil)

	got := receiveN(t, c, dlq, 1, 20*time.Second, "1")
	rec := failureRecord(t, got[0])
	if rec.Attempts != 1 || rec.Reason != "permanent" || !strings.Contains(rec.Error, "cannot parse not-json for "+id) {
		t.Errorf("failure record = %+v", rec)
	}
	wait.For(t, 10*time.Second, "source queue empty", func() bool { return drained(t, emu, url) })
	e.stop(t)
	if runs := countLines(t, counter); runs != 1 {
		t.Errorf("handler ran %d times, want 1", runs)
	}
	if got := testutil.ToFloat64(e.metrics.Completed.WithLabelValues(worker.OutcomeDeadLetter)); got != 1 {
		t.Errorf("completed{dead_letter} = %v, want 1", got)
	}
}

func TestHTTPHandlerHeadersAndStatuses(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "webapp", 10)
	c := emu.SQS(t)

	var mu sync.Mutex
	headers := map[string]http.Header{}
	bodies := map[string]string{}
	attempts := map[string][]time.Time{}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		id := r.Header.Get("X-Aws-Sqsd-Msgid")
		mu.Lock()
		headers[string(b)] = r.Header.Clone()
		bodies[id] = string(b)
		attempts[string(b)] = append(attempts[string(b)], time.Now())
		n := len(attempts[string(b)])
		mu.Unlock()
		switch {
		case string(b) == "reject":
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, "schema mismatch")
		case string(b) == "busy" && n == 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(app.Close)
	h, err := handler.NewHTTP(handler.HTTPConfig{URL: app.URL + "/work", Concurrency: 10})
	if err != nil {
		t.Fatal(err)
	}
	okID := fauxqs.Send(t, c, url, `{"ok":true}`, map[string]types.MessageAttributeValue{
		"trace-id": {DataType: aws.String("String"), StringValue: aws.String("abc123")},
	})
	fauxqs.Send(t, c, url, "reject", nil)
	fauxqs.Send(t, c, url, "busy", nil)
	fauxqs.Send(t, c, url, "<x/>", map[string]types.MessageAttributeValue{
		"Content-Type": {DataType: aws.String("String"), StringValue: aws.String("application/xml")},
	})
	e := startEngine(t, emu, url, dlq, h, nil)

	got := receiveAll(t, c, dlq, 1, 20*time.Second)
	if len(got) != 1 || aws.ToString(got[0].Body) != "reject" {
		t.Fatalf("DLQ = %+v, want the rejected message", got)
	}
	if rec := failureRecord(t, got[0]); rec.Reason != "permanent" || !strings.Contains(rec.Error, "422") {
		t.Errorf("failure record = %+v", rec)
	}
	wait.For(t, 20*time.Second, "queue drained", func() bool { return drained(t, emu, url) })
	e.stop(t)

	mu.Lock()
	defer mu.Unlock()
	hd := headers[`{"ok":true}`]
	want := map[string]string{
		"X-Aws-Sqsd-Msgid":         okID,
		"X-Aws-Sqsd-Queue":         "webapp",
		"X-Aws-Sqsd-Receive-Count": "1",
		"X-Aws-Sqsd-Attr-Trace-Id": "abc123",
		"Content-Type":             "application/json",
	}
	for k, v := range want {
		if got := hd.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if _, err := time.Parse(time.RFC3339, hd.Get("X-Aws-Sqsd-First-Received-At")); err != nil {
		t.Errorf("X-Aws-Sqsd-First-Received-At = %q: %v", hd.Get("X-Aws-Sqsd-First-Received-At"), err)
	}
	if hd.Get("X-Aws-Sqsd-Sender-Id") == "" {
		t.Errorf("X-Aws-Sqsd-Sender-Id missing")
	}
	if got := headers["<x/>"].Get("Content-Type"); got != "application/xml" {
		t.Errorf("Content-Type from attribute = %q, want application/xml", got)
	}
	if b := attempts["busy"]; len(b) != 2 || b[1].Sub(b[0]) < 1900*time.Millisecond {
		t.Errorf("503 with Retry-After 2: attempts at %v, want a second one >= 2s later", b)
	}
	if n := len(attempts["reject"]); n != 1 {
		t.Errorf("422 attempted %d times, want 1", n)
	}
}

// A handler that never returns must not keep its message: at shutdown it is
// released for another instance.
func TestHandlerIgnoringCancellationIsReleasedAtShutdown(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "stuck", 10)
	c := emu.SQS(t)
	fauxqs.Send(t, c, url, "stuck", nil)
	var started atomic.Bool
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	e := startEngine(t, emu, url, dlq, worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		started.Store(true)
		<-block
		return errors.New("unreachable")
	}), func(cfg *worker.Config) {
		cfg.ShutdownTimeout = 200 * time.Millisecond
		cfg.AbandonGrace = 200 * time.Millisecond
	})
	wait.For(t, 10*time.Second, "handler started", started.Load)
	e.stop(t)
	if got := receiveAll(t, c, url, 1, 3*time.Second); len(got) != 1 {
		t.Fatalf("message not visible again right after shutdown (got %d)", len(got))
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := readFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}
