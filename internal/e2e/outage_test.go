package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// The emulator goes away for a while under a running daemon: /healthz turns
// 503 after health.unhealthy_after and back to 200 by itself, the daemon
// backs off instead of hammering the endpoint, logs the failure without a
// line per request, stays up, and processes everything sent before and after
// the outage.
func TestSQSOutage(t *testing.T) {
	t.Parallel() // mostly waiting
	emu := fauxqs.Start(t, fauxqs.WithPersistence(t.TempDir()))
	url, dlq := emu.CreateQueueWithDLQ(t, "outage", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	processed := filepath.Join(dir, "processed")
	cmd := writeScript(t, dir, "handler.sh", `echo "$SQSFLEET_MESSAGE_ID" >> "`+processed+`"`)

	ids := sendN(t, c, url, "before", 20)
	const unhealthyAfter = 3 * time.Second
	addr := freeAddr(t)
	d := startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_HEALTH_UNHEALTHY_AFTER="+unhealthyAfter.String(),
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	wait.For(t, 20*time.Second, "/healthz 200", healthzIs(addr, 200))
	wait.ForState(t, 20*time.Second, "the first 20 processed and deleted", func() (bool, string) {
		n := len(tally(recordLines(t, processed)))
		return n == 20 && drained(t, emu, url), fmt.Sprintf("processed: %d", n)
	})

	// Outage.
	stopping := time.Now()
	emu.Stop()
	down := time.Now()
	t.Logf("emulator stopped in %s", down.Sub(stopping).Round(time.Millisecond))
	m0 := scrapeMetrics(t, addr)
	wait.For(t, time.Until(down.Add(unhealthyAfter+3*time.Second)), "/healthz 503 after health.unhealthy_after", healthzIs(addr, 503))
	// The last success was the end of a 1s long poll at most about a
	// second before the emulator went away.
	if took := time.Since(stopping); took < unhealthyAfter-1500*time.Millisecond {
		t.Errorf("/healthz turned 503 %s after the emulator stopped, well before health.unhealthy_after (%s)", took, unhealthyAfter)
	}
	code, body := getHealth(addr, "/healthz")
	if code != 503 || body.Status != "unhealthy" {
		t.Errorf("/healthz during the outage: %d %+v, want 503 with status unhealthy", code, body)
	}
	// Hold the outage for about 8s in all, checking the daemon stays up.
	consistently(t, time.Until(down.Add(8*time.Second)), "daemon running during the outage", d.alive)
	m1 := scrapeMetrics(t, addr)
	window := time.Since(down)
	requests := m1.sum("sqsfleet_sqs_requests_total") - m0.sum("sqsfleet_sqs_requests_total")
	failed := m1.sum("sqsfleet_sqs_errors_total")
	failedReceives := m1.v(`sqsfleet_sqs_errors_total{operation="ReceiveMessage"}`)
	rate := requests / window.Seconds()
	t.Logf("during the outage: %.0f SQS requests in %s (%.2f/s); %.0f failed requests in all, %.0f of them receives",
		requests, window.Round(time.Millisecond), rate, failed, failedReceives)
	if rate > 3 {
		t.Errorf("daemon sent %.2f SQS requests per second while SQS was down; want at most 3 (backoff)", rate)
	}
	if failedReceives < 2 {
		t.Errorf("only %.0f failed ReceiveMessage requests counted during an %s outage: the daemon stopped polling, or errors are not metered", failedReceives, window)
	}
	// The error is logged, but not once per failed request.
	logged := d.countLogged("receive failed")
	if logged == 0 {
		t.Error("no 'receive failed' log line during the outage")
	}
	if logged > 2 || float64(logged)*4 > failedReceives {
		t.Errorf("%d 'receive failed' log lines for %.0f failed receives: logging is not rate-limited", logged, failedReceives)
	}
	if !d.alive() {
		t.Fatal("daemon exited during the outage")
	}

	// Recovery: nothing was sent while down (there was nothing to send to).
	emu.Restart(t)
	up := time.Now()
	ids = append(ids, sendN(t, c, url, "after", 20)...)
	wait.For(t, 20*time.Second, "/healthz back to 200 after the outage", healthzIs(addr, 200))
	t.Logf("/healthz 200 again %s after the restart", time.Since(up).Round(time.Millisecond))
	if code, body := getHealth(addr, "/healthz"); code != 200 || body.Status != "ok" {
		t.Errorf("/healthz after recovery: %d %+v", code, body)
	}
	wait.ForState(t, 30*time.Second, "all 40 messages processed and the queue drained", func() (bool, string) {
		seen := tally(recordLines(t, processed))
		missing := 0
		for _, id := range ids {
			if seen[id] == 0 {
				missing++
			}
		}
		return missing == 0 && drained(t, emu, url), fmt.Sprintf("%d of 40 not processed yet", missing)
	})
	seen := tally(recordLines(t, processed))
	for i, id := range ids {
		// The first 20 were deleted before the outage (the queue was
		// drained) and the emulator persisted that: a second run would
		// mean the daemon or the restart resurrected them.
		if i < 20 && seen[id] != 1 {
			t.Errorf("pre-outage message %s processed %d times, want exactly once", id, seen[id])
		}
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct message ids processed, want 40", len(seen))
	}
	if v, nv, dl := emu.Counts(t, dlq); v+nv+dl != 0 {
		t.Errorf("DLQ holds %d messages after the outage, want none", v+nv+dl)
	}
	if !d.alive() {
		t.Error("daemon exited")
	}
	if strings.Contains(d.log(), `"level":"fatal"`) || strings.Contains(d.log(), "panic") {
		t.Error("daemon log has a fatal error or panic")
	}
}
