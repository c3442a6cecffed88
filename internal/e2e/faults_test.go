package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faultproxy"
	"github.com/sqsfleet/sqsfleet/internal/faults"
	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

// The daemon binary behind the fault proxy with the brown-out mix
// (throttles, 500s, resets, lost responses, delays up to 1 s) drains a
// backlog: every message is handled at least once, the queue ends empty,
// nothing is dead-lettered and the daemon stays up. The visibility timeout
// is short because a lost receive response hides its messages that long,
// whatever the daemon does.
func TestDaemonDrainsThroughBrownOut(t *testing.T) {
	t.Parallel() // mostly waiting on the emulator and the proxy's delays
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "brownout", 10)
	const n = 300
	ids := sendN(t, emu.SQS(t), url, "m", n)

	// Seeded: a failure replays with the same decisions for the same
	// sequence of requests (the daemon's timing still varies). Seed 6
	// injects every kind within its first 29 requests (checked below);
	// the drain takes over 100.
	const seed = 6
	proxy, err := faultproxy.Listen("127.0.0.1:0", faultproxy.Config{Upstream: emu.Endpoint(), Faults: faultproxy.BrownOut(seed)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = proxy.Close()
		t.Logf("%s", proxy.Stats().Report())
	}()

	var mu sync.Mutex
	handled := map[string]int{}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		handled[r.Header.Get(handler.HeaderMsgID)]++
		mu.Unlock()
	}))
	defer app.Close()

	addr := freeAddr(t)
	start := time.Now()
	d := startDaemon(t, emu,
		"AWS_ENDPOINT_URL_SQS="+proxy.URL, // after emu.Env(): the last value wins
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT=3s",
		"SQSFLEET_HANDLER_TYPE=http",
		"SQSFLEET_HANDLER_URL="+app.URL,
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	wait.ForState(t, 45*time.Second, "every message handled and the queue drained", func() (bool, string) {
		if !d.alive() {
			t.Fatalf("daemon exited under faults: %v", d.err)
		}
		mu.Lock()
		missing := 0
		for _, id := range ids {
			if handled[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		return missing == 0 && drained(t, emu, url), fmt.Sprintf("%d of %d not handled yet", missing, n)
	})
	t.Logf("drained %d messages through the brown-out in %s", n, time.Since(start).Round(time.Millisecond))

	st := proxy.Stats()
	// The faults did happen: a run that saw none proves nothing. Every
	// rule applies to every operation, so the n-th request's fault depends
	// on the seed alone, not on the order of the daemon's requests: with
	// this seed each kind has come up by request everyKind, and the drain
	// takes more requests than that.
	everyKind := 0
	for m, seen := faults.MustNew(faultproxy.BrownOut(seed)), map[faults.Kind]bool{}; len(seen) < 5; everyKind++ {
		if k := m.Decide("").Kind; k != faults.None {
			seen[k] = true
		}
	}
	if st.Total.Requests < everyKind {
		t.Fatalf("%d requests reached the proxy, fewer than the %d in which seed %d injects every kind", st.Total.Requests, everyKind, seed)
	}
	t.Logf("%d requests; seed %d injects every kind of fault by request %d", st.Total.Requests, seed, everyKind)
	for _, k := range []string{"throttle", "server_error", "reset", "lost", "delay"} {
		if st.Total.Faults[k] == 0 {
			t.Errorf("no %s fault injected in %d requests; the test did not exercise it", k, st.Total.Requests)
		}
	}
	// The SDK retries a throttled call after its backoff, and the proxy
	// sees that as a retry. A standard queue's receive is the exception: its
	// poller retries it after its own backoff, as a new call, so throttled
	// receives are left out here (the drain above shows receiving went on).
	// The retry comes after the SDK's backoff (up to 2 s), possibly after
	// the queue drained: a throttled delete whose first attempt SQS had
	// acted on (a lost response) leaves nothing to wait for. So wait for it.
	throttledOutsideReceives := func(st faultproxy.Stats) (throttled, retried int) {
		for op, s := range st.Ops {
			if op != "ReceiveMessage" {
				throttled += s.Throttled
				retried += s.RetriesAfterThrottle
			}
		}
		return throttled, retried
	}
	if throttled, _ := throttledOutsideReceives(st); throttled > 0 {
		wait.ForState(t, 10*time.Second, "a retry after a throttle", func() (bool, string) {
			th, re := throttledOutsideReceives(proxy.Stats())
			return re > 0, fmt.Sprintf("%d throttled answers outside receives, %d retries after them", th, re)
		})
	}
	if v, nv, dl := emu.Counts(t, dlq); v+nv+dl != 0 {
		t.Errorf("DLQ holds %d messages, want none", v+nv+dl)
	}
	if !d.alive() {
		t.Error("daemon exited")
	}
	if log := d.log(); strings.Contains(log, `"level":"fatal"`) || strings.Contains(log, "panic") {
		t.Error("daemon log has a fatal error or panic")
	}
}
