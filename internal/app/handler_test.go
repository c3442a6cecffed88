package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

// The daemon's handler from the handler keys: lambda always batches (10,
// within the slots, one batch per URL at a time); exec and http only with
// handler.batch_size.
func TestNewHandlerBatches(t *testing.T) {
	base := func() *config.Config {
		c := config.Defaults()
		c.Queue.URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
		c.Worker.Concurrency = 4
		return c
	}

	c := base()
	c.Handler.Type = "exec"
	c.Handler.Command = []string{"true"}
	h, err := newHandler(c, io.Discard)
	if _, ok := h.(*handler.Exec); err != nil || !ok {
		t.Errorf("exec without batch_size: %T %v, want *handler.Exec", h, err)
	}
	c.Handler.BatchSize = 2
	h, err = newHandler(c, io.Discard)
	if _, ok := h.(*handler.Batch); err != nil || !ok {
		t.Errorf("exec with batch_size: %T %v, want *handler.Batch", h, err)
	}

	// lambda: two URLs, so two batches at once and never more; each batch
	// of up to min(10, concurrency) = 4 messages.
	var running, most, calls atomic.Int32
	var records, biggest atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k := int32(strings.Count(string(body), `"messageId"`))
		records.Add(k)
		for m := biggest.Load(); k > m && !biggest.CompareAndSwap(m, k); m = biggest.Load() {
		}
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		calls.Add(1)
		<-release
		running.Add(-1)
	}))
	defer srv.Close()
	c = base()
	c.Handler.Type = "lambda"
	c.Handler.URL = srv.URL + "/a," + srv.URL + "/b"
	c.Handler.BatchWindow = 50 * time.Millisecond
	h, err = newHandler(c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := h.(*handler.Batch)
	defer b.Close()
	done := make(chan error, 12)
	for i := range 12 {
		go func() {
			done <- b.Handle(context.Background(), &worker.Message{ID: string(rune('a' + i)), Body: "x", QueueURL: c.Queue.URL})
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	for range 12 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if most.Load() != 2 {
		t.Errorf("%d batches at once over 2 URLs, want 2", most.Load())
	}
	if records.Load() != 12 || biggest.Load() > 4 {
		t.Errorf("%d records, the largest batch %d; want 12, in batches of at most 4", records.Load(), biggest.Load())
	}
}
