package worker

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A handler timeout the engine cannot keep the message hidden for is a
// configuration error, not a message that reappears while it still runs.
func TestHandlerTimeoutBeyondTheWindowIsRejected(t *testing.T) {
	q := newFakeQueue(t)
	cfg := testConfig(q)
	cfg.Handler = HandlerFunc(func(context.Context, *Message) error { return nil })
	cfg.VisibilityTimeout = 30 * time.Second
	cfg.HandlerTimeout = 12 * time.Hour
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "HandlerTimeout") {
		t.Errorf("New with HandlerTimeout 12h = %v, want an error naming HandlerTimeout", err)
	}
	cfg.HandlerTimeout = MaxHandlerTimeout(cfg.VisibilityTimeout)
	if _, err := New(cfg); err != nil {
		t.Errorf("New with HandlerTimeout at the limit %s: %v", cfg.HandlerTimeout, err)
	}
}
