package worker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// One slow ChangeMessageVisibilityBatch must not cost other messages their
// hold. With 30 handlers running, a 4 s visibility timeout and every
// extension call taking 0.9 s, batches sent one after another (each with its
// own timeout) ended after the later batches' messages had become visible
// again: 10 of the 30 were lost and would run twice. A round's batches now
// go out together, under one deadline inside the renewal margin.
func TestSlowExtensionCallsDoNotCostOtherLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		ids := q.putN(30)
		q.setHooks(func(c fakeCall) {
			if c.Op == opChangeVisibility && len(c.Changes) > 0 && c.Changes[0].Timeout > 0 {
				time.Sleep(900 * time.Millisecond)
			}
		}, nil)
		cfg := testConfig(q)
		cfg.Concurrency = 30
		cfg.VisibilityTimeout = 4 * time.Second
		calls := newCallCounter()
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			calls.record(m)
			time.Sleep(12 * time.Second) // three visibility timeouts
			return nil
		})
		q.waitFor(t, time.Minute, "every message deleted", func() bool { return q.allDeleted(ids) })
		if n := h.leasesLost(); n != 0 {
			t.Errorf("%d leases lost to slow extension calls, want 0", n)
		}
		for _, id := range ids {
			if n := calls.calls(id); n != 1 {
				t.Errorf("message %s handled %d times, want 1", id, n)
			}
		}
		h.stop()
	})
}
