package worker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A FIFO dead-letter queue drops, without an error, a send whose
// deduplication id it saw in the last five minutes. Two sources sharing one
// DLQ can carry the same id (content-based deduplication of equal bodies),
// and a message redriven from the DLQ that fails again carries its old one;
// reusing the source's id (or the stable message id) would lose the second
// dead letter while the engine deletes its source. Each send therefore gets
// a fresh id; the group stays, so the DLQ keeps the group's order.
func TestDeadLetterFIFOGetsFreshDeduplicationID(t *testing.T) {
	q := newFakeQueue(t)
	cfg := testConfig(q)
	cfg.FIFO = true
	first := q.put("same body", withGroup("g1", "content-hash"))
	second := q.put("same body", withGroup("g2", "content-hash"))
	startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
		return Permanent(errors.New("rejected"))
	})
	q.waitFor(t, 5*time.Second, "both messages dead-lettered and deleted", func() bool {
		return q.deleted(first) && q.deleted(second)
	})
	dls := q.deadLetters()
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dls))
	}
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, dl := range dls {
		id := dl.DeduplicationID
		switch {
		case id == "":
			t.Error("a FIFO dead letter without a deduplication id (the DLQ need not deduplicate by content)")
		case id == "content-hash" || id == first || id == second:
			t.Errorf("dead letter reuses deduplication id %q from its source; the DLQ would drop a second one within 5 minutes", id)
		case seen[id]:
			t.Errorf("two dead letters share deduplication id %q", id)
		}
		seen[id] = true
		groups[dl.GroupID] = true
	}
	if !groups["g1"] || !groups["g2"] {
		t.Errorf("dead-letter groups = %v, want g1 and g2 kept", groups)
	}
}

// A message redriven to its queue and failing again within five minutes
// must not reuse the deduplication id of its first dead letter.
func TestDeadLetterFIFORedrivenMessageGetsANewID(t *testing.T) {
	q := newFakeQueue(t)
	cfg := testConfig(q)
	cfg.FIFO = true
	id := q.put("poison", withGroup("g", "d"))
	fail := func(ctx context.Context, m *Message) error { return Permanent(errors.New("still bad")) }
	h := startPool(t, q, cfg, fail)
	q.waitFor(t, 5*time.Second, "dead-lettered", func() bool { return q.deleted(id) })
	h.stop()
	// The redrive: the same message (same message id, same dedup id) again.
	again := q.put("poison", withGroup("g", "d"))
	startPool(t, q, cfg, fail)
	q.waitFor(t, 5*time.Second, "dead-lettered again", func() bool { return q.deleted(again) })
	dls := q.deadLetters()
	if len(dls) != 2 || dls[0].DeduplicationID == dls[1].DeduplicationID {
		t.Fatalf("dead letters %d, dedup ids %q; want 2 with different ids", len(dls), dedupIDs(dls))
	}
}

// Standard queues accept a MessageGroupId since fair queues (2025) and
// return it on receive, but refuse a MessageDeduplicationId. The DLQ's type
// decides what a dead letter carries, never whether the message has a group.
func TestDeadLetterStandardQueueKeepsGroupWithoutDeduplicationID(t *testing.T) {
	q := newFakeQueue(t)
	fair := q.put("tenant work", withGroup("tenant-a", ""))
	plain := q.put("plain work")
	startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		return Permanent(errors.New("rejected"))
	})
	q.waitFor(t, 5*time.Second, "both dead-lettered", func() bool { return q.deleted(fair) && q.deleted(plain) })
	for _, dl := range q.deadLetters() {
		if dl.DeduplicationID != "" {
			t.Errorf("dead letter %q carries deduplication id %q; a standard DLQ rejects it", dl.Body, dl.DeduplicationID)
		}
		want := map[string]string{"tenant work": "tenant-a", "plain work": ""}[dl.Body]
		if dl.GroupID != want {
			t.Errorf("dead letter %q group = %q, want %q (fairness kept)", dl.Body, dl.GroupID, want)
		}
	}
}

func dedupIDs(dls []*DeadLetter) []string {
	out := make([]string, len(dls))
	for i, d := range dls {
		out[i] = d.DeduplicationID
	}
	return out
}
