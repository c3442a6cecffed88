package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// SQS lets a message stay hidden at most 12 hours from its receive, not from
// now: a retry delay asked for after the handler ran for a while must fit in
// what is left of the window, or SQS rejects the change and the message
// comes back after one visibility timeout, a tight retry loop.
func TestRetryDelayCappedFromReceive(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	q.useClock(clock)
	id := q.put("slow then busy")
	cfg := testConfig(q)
	cfg.Now = clock.Now
	cfg.VisibilityTimeout = 20 * time.Minute // no extension is due meanwhile
	const ran = 10 * time.Minute
	startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		clock.Advance(ran)
		return RetryAfter(errors.New("come back tomorrow"), 24*time.Hour)
	})
	var got time.Duration
	q.waitFor(t, 5*time.Second, "the retry's visibility change", func() bool {
		r := q.receiptsOf(id)
		if len(r) == 0 {
			return false
		}
		var ok bool
		got, ok = outcomeVisibility(t, q, r[0])
		return ok
	})
	if limit := maxVisibilityWindow - ran; got > limit || got < limit-2*time.Second {
		t.Errorf("visibility set to %s after the handler ran %s; want just under %s, the rest of the window from the receive", got, ran, limit)
	}
}

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
