package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// The daemon allows receives that were not attempts (shutdown releases,
// FIFO messages released behind a failing one) up to twice max_attempts
// before it calls a message a crash loop. A RedrivePolicy that moves
// messages sooner takes them to the DLQ without the record of why; the
// daemon says so at start, with the count it wants.
func TestStartupWarnsOfARedrivePolicyBelowTheSizingRule(t *testing.T) {
	emu := fauxqs.Start(t)
	script := t.TempDir() + "/ok.sh"
	if err := os.WriteFile(script, []byte("cat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const warning = "RedrivePolicy maxReceiveCount is below 2 x queue.max_attempts + 1"
	for _, tc := range []struct {
		maxReceiveCount int
		warn            bool
	}{{6, true}, {7, false}} {
		url, _ := emu.CreateQueueWithDLQ(t, "sizing-"+map[bool]string{true: "low", false: "ok"}[tc.warn], tc.maxReceiveCount)
		d := startDaemon(t, emu,
			"SQSFLEET_QUEUE_URL="+url,
			"SQSFLEET_QUEUE_MAX_ATTEMPTS=3",
			"SQSFLEET_QUEUE_WAIT_TIME=1s",
			"SQSFLEET_HANDLER_TYPE=exec",
			"SQSFLEET_HANDLER_COMMAND=sh "+script,
			"SQSFLEET_HTTP_ADDR="+freeAddr(t),
		)
		wait.For(t, 20*time.Second, "the daemon receiving", func() bool { return d.logged("receiving") })
		if got := d.logged(warning); got != tc.warn {
			t.Errorf("maxReceiveCount %d with max_attempts 3: warned %v, want %v", tc.maxReceiveCount, got, tc.warn)
		}
	}
}
