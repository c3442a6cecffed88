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
//
// TestPoolFIFODeadLettersAreNotDeduplicatedAway shows the loss with two
// queues sharing a DLQ; this checks the ids themselves.
func TestDeadLetterFIFOGetsFreshDeduplicationID(t *testing.T) {
	q := newFakeFIFOQueue(t)
	cfg := testConfig(q)
	first := q.put("first body", withGroup("g1", "dedup-1"))
	second := q.put("second body", withGroup("g2", "dedup-2"))
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
		case id == "dedup-1" || id == "dedup-2" || id == first || id == second:
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
