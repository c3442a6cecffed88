package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// After a known workload, /metrics shows every public metric with exactly
// the values the workload implies: 5 successes, 2 rejections (exit 65) and
// one message that fails once and then succeeds.
func TestMetricsAfterKnownWorkload(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "metrics", 10)
	c := emu.SQS(t)
	cmd := writeScript(t, t.TempDir(), "handler.sh", `body=$(cat)
case "$body" in
ok-*) exit 0 ;;
bad-*) exit 65 ;;
flaky-*) [ "$SQSFLEET_RECEIVE_COUNT" = 1 ] && exit 1; exit 0 ;;
esac
exit 3`)
	sendN(t, c, url, "ok", 5)
	sendN(t, c, url, "bad", 2)
	sendN(t, c, url, "flaky", 1)
	addr := freeAddr(t)
	startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_RETRY_BASE_DELAY=1s",
		"SQSFLEET_RETRY_MAX_DELAY=1s",
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	wait.ForState(t, 20*time.Second, "queue drained and 2 messages in the DLQ", func() (bool, string) {
		v, nv, dl := emu.Counts(t, dlq)
		return drained(t, emu, url) && v == 2, fmt.Sprintf("DLQ visible %d, in flight %d, delayed %d", v, nv, dl)
	})

	// Deletes are batched asynchronously and the DLQ send comes before the
	// delete, so wait for the counters to settle.
	const (
		received  = "sqsfleet_messages_received_total"
		success   = `sqsfleet_messages_completed_total{outcome="success"}`
		dead      = `sqsfleet_messages_completed_total{outcome="dead_letter"}`
		retry     = `sqsfleet_messages_completed_total{outcome="retry"}`
		durations = "sqsfleet_handler_duration_seconds_count"
		inflight  = "sqsfleet_inflight_messages"
		ages      = "sqsfleet_message_age_seconds_count"
	)
	want := map[string]float64{received: 9, success: 6, dead: 2, retry: 1, durations: 9, inflight: 0, ages: 8}
	var m samples
	wait.ForState(t, 10*time.Second, "metrics to settle", func() (bool, string) {
		var err error
		if m, err = tryScrape(addr); err != nil {
			return false, err.Error()
		}
		for k, v := range want {
			if m.v(k) != v {
				return false, m.String()
			}
		}
		return true, ""
	})

	for _, name := range []string{
		"sqsfleet_messages_received_total",
		"sqsfleet_messages_completed_total",
		"sqsfleet_handler_duration_seconds",
		"sqsfleet_inflight_messages",
		"sqsfleet_visibility_extensions_total",
		"sqsfleet_sqs_requests_total",
		"sqsfleet_sqs_errors_total",
		"sqsfleet_message_age_seconds",
		"sqsfleet_last_successful_poll_timestamp_seconds",
		"sqsfleet_leases_lost_total",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !m.has(name) {
			t.Errorf("metric %s missing from /metrics", name)
		}
	}
	if got := m.v(`sqsfleet_sqs_requests_total{operation="ReceiveMessage"}`); got <= 0 {
		t.Errorf("ReceiveMessage requests = %v, want > 0", got)
	}
	if got := m.v(`sqsfleet_sqs_requests_total{operation="DeleteMessageBatch"}`); got < 1 || got > 8 {
		t.Errorf("DeleteMessageBatch requests = %v, want 1..8 for 8 deletes", got)
	}
	if got := m.v(`sqsfleet_sqs_requests_total{operation="SendMessage"}`); got != 2 {
		t.Errorf("SendMessage requests = %v, want 2 (one per dead-lettered message)", got)
	}
	if got := m.sum("sqsfleet_sqs_errors_total"); got != 0 {
		t.Errorf("sqs errors = %v, want 0 against a healthy emulator", got)
	}
	if got := m.v("sqsfleet_leases_lost_total"); got != 0 {
		t.Errorf("leases lost = %v, want 0", got)
	}
	now := float64(time.Now().UnixNano()) / 1e9
	if got := m.v("sqsfleet_last_successful_poll_timestamp_seconds"); got < now-60 || got > now+1 {
		t.Errorf("last successful poll at %v, %.1fs before now; want within the last minute", got, now-got)
	}
	if got := m.v("sqsfleet_handler_duration_seconds_sum"); got <= 0 || got > 30 {
		t.Errorf("handler duration sum = %vs for 9 trivial runs", got)
	}
	if got := m.v("go_goroutines"); got <= 0 {
		t.Errorf("go_goroutines = %v", got)
	}
	if got := m.v("process_resident_memory_bytes"); got <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", got)
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", m)
	}
}
