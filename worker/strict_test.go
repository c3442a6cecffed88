package worker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Tests that only a strict SQS can fail: on the fakes before internal/sqstest
// (and on fauxqs) they passed whatever the engine did. Each failed on the
// engine before its defect was fixed: dead letters of a fair queue carrying
// a deduplication id, retry delays counted from now instead of the receive,
// and FIFO dead letters reusing the source's deduplication id.

// A fair-queue message (standard queue, group id) that fails for good must
// reach a standard dead-letter queue; SQS refuses a MessageDeduplicationId
// there, so the dead letter must carry the group id and no deduplication id.
func TestPoolDeadLetterFromFairQueue(t *testing.T) {
	q := newFakeQueue(t)
	id := q.put("payload", withGroup("tenant-1", ""))
	h := startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		return Permanent(errors.New("bad payload"))
	})
	q.waitFor(t, 5*time.Second, "the message deleted", func() bool { return q.deleted(id) })
	h.waitSettled()
	dls := q.deadLetters()
	if len(dls) != 1 || dls[0].GroupID != "tenant-1" || dls[0].DeduplicationID != "" {
		t.Fatalf("dead letters %+v; want one with group tenant-1 and no deduplication id", dls)
	}
}

// SQS lets a message stay hidden at most 12 hours from its receive. A
// handler that ran 10 minutes and asks to retry in 24 hours must get a
// visibility SQS accepts: at most what is left of the 12 hours.
func TestPoolRetryAfterStaysWithin12HoursOfTheReceive(t *testing.T) {
	clock := newTestClock()
	q := newFakeQueue(t)
	q.useClock(clock)
	id := q.put("x")
	cfg := testConfig(q)
	cfg.Now = clock.Now
	cfg.VisibilityTimeout = time.Hour // no extension needed while the clock jumps
	h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		clock.Advance(10 * time.Minute)
		return RetryAfter(errors.New("come back tomorrow"), 24*time.Hour)
	})
	q.waitFor(t, 5*time.Second, "the retry's visibility change", func() bool {
		_, ok := outcomeVisibility(t, q, id+"#1")
		return ok
	})
	h.stop()
	ch := q.visChanges(id + "#1")
	last := ch[len(ch)-1]
	if last.Err != nil {
		t.Errorf("retry visibility %s asked at receive+%s refused: %v", last.Timeout, last.QStart.Sub(q.deliveredAt(id+"#1")), last.Err)
	}
	if q.visibleNow(id) {
		t.Error("the message is visible again at once: a tight retry loop")
	}
	// And not much less than that: the rest of the window, in whole seconds.
	if limit := MaxHold - 10*time.Minute; last.Timeout > limit || last.Timeout < limit-2*time.Second {
		t.Errorf("retry visibility %s after 10 minutes of handling, want just under %s", last.Timeout, limit)
	}
}

// Two FIFO queues with content-based deduplication share one FIFO DLQ; each
// gets a message with the same body, and both fail for good. SQS accepts a
// FIFO send whose deduplication id it saw in the last 5 minutes and never
// delivers it: the dead letters need deduplication ids of their own, or one
// of the two messages is lost once its source deletes it.
func TestPoolFIFODeadLettersAreNotDeduplicatedAway(t *testing.T) {
	a := newFakeFIFOQueue(t)
	b := a.sibling("other.fifo")
	idA := a.put("same body", withGroup("g", ""))
	idB := b.put("same body", withGroup("g", ""))
	reject := func(ctx context.Context, m *Message) error { return Permanent(errors.New("bad")) }
	ha := startPool(t, a, testConfig(a), reject)
	hb := startPool(t, b, testConfig(b), reject)
	a.waitFor(t, 5*time.Second, "the first source's message deleted", func() bool { return a.deleted(idA) })
	b.waitFor(t, 5*time.Second, "the second source's message deleted", func() bool { return b.deleted(idB) })
	ha.waitSettled()
	hb.waitSettled()
	if dls := a.deadLetters(); len(dls) != 2 {
		t.Fatalf("the DLQ holds %d messages, want 2: both sources deleted theirs", len(dls))
	}
}
