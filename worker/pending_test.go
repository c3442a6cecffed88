package worker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// While SQS throttles DeleteMessageBatch, a finished message must stay
// hidden until its delete is confirmed, and the daemon must stop taking new
// work once MaxPendingDeletes finished messages wait: before, the handler
// slot was freed and the message's hold dropped when the handler returned,
// so the daemon kept receiving while finished messages became visible and
// ran again.
func TestThrottledDeletesHoldMessagesAndStopReceiving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newFakeQueue(t)
		ids := q.putN(20)
		q.setFault(opDelete, errors.New("ThrottlingException: Rate exceeded"))
		cfg := testConfig(q)
		cfg.Concurrency = 4
		cfg.MaxPendingDeletes = 5
		cfg.VisibilityTimeout = 2 * time.Second
		calls := newCallCounter()
		h := startPool(t, q, cfg, func(ctx context.Context, m *Message) error {
			calls.record(m)
			return nil
		})
		wait.For(t, 10*time.Second, "5 deletes pending", func() bool { return h.p.Stats().PendingDeletes >= 5 })
		// Several visibility timeouts and delete retries later: nothing ran
		// twice, and no more work was taken than the limit allows (handlers
		// running when the limit was reached add their deletes after it).
		time.Sleep(5 * cfg.VisibilityTimeout)
		synctest.Wait()
		if n, limit := calls.total(), cfg.MaxPendingDeletes-1+cfg.Concurrency; n > limit {
			t.Errorf("%d handler runs while deletes were throttled, want at most %d", n, limit)
		}
		for _, id := range ids {
			if n := calls.calls(id); n > 1 {
				t.Errorf("message %s ran %d times while its delete was throttled: it was not kept hidden", id, n)
			}
		}
		if s := h.p.Stats(); s.PendingDeletes > cfg.MaxPendingDeletes-1+cfg.Concurrency {
			t.Errorf("Stats = %+v: pending deletes beyond the limit", s)
		}
		q.setFault(opDelete, nil)
		q.waitFor(t, time.Minute, "every message deleted once SQS recovers", func() bool { return q.allDeleted(ids) })
		for _, id := range ids {
			if n := calls.calls(id); n != 1 {
				t.Errorf("message %s ran %d times, want 1", id, n)
			}
		}
		if n := h.leasesLost(); n != 0 {
			t.Errorf("%d leases lost, want 0", n)
		}
		h.stop()
	})
}
