package worker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestErrorLogLimitsPerOperation: during an outage every receive fails and
// is limited to a line per interval; that flood does not use up the
// allowance of visibility extension failures, which put the messages the
// engine holds at risk and must still show in the log.
func TestErrorLogLimitsPerOperation(t *testing.T) {
	const (
		receiveFailed   = "receive failed; backing off"
		extensionFailed = "visibility extension failed"
	)
	q := newFakeQueue(t)
	started, release := newTestGate(), newTestGate()
	h := startPool(t, q, testConfig(q), func(ctx context.Context, m *Message) error {
		started.open()
		select {
		case <-release.C():
		case <-ctx.Done():
		}
		return nil
	})
	// Runs before the harness stops the pool: SQS heals, the handler ends.
	t.Cleanup(func() {
		q.setFault(opReceive, nil)
		q.setFault(opChangeVisibility, nil)
		release.open()
	})
	q.put("held")
	select {
	case <-started.C():
	case <-time.After(5 * time.Second):
		t.Fatal("handler not started within 5s")
	}

	outage := errors.New("service unavailable")
	q.setFault(opReceive, outage)
	failedReceives := func() int {
		n := 0
		for _, c := range q.callsOf(opReceive) {
			if errors.Is(c.Err, outage) {
				n++
			}
		}
		return n
	}
	q.waitFor(t, 5*time.Second, "ten failed receives, logged", func() bool {
		return failedReceives() >= 10 && h.logs.FilterMessage(receiveFailed).Len() > 0
	})
	q.setFault(opChangeVisibility, outage)
	q.waitFor(t, 5*time.Second, "an extension failure in the log", func() bool {
		return h.logs.FilterMessage(extensionFailed).Len() > 0
	})
	if n, failed := h.logs.FilterMessage(receiveFailed).Len(), failedReceives(); n != 1 {
		t.Errorf("%d receive failure lines for %d failed receives, want 1 within the interval", n, failed)
	}
}
