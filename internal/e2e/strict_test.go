package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/sqstest"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// TestDaemonOnTheStrictDouble runs the binary against internal/sqstest
// through AWS_ENDPOINT_URL_SQS, as against the emulator: the double speaks
// the protocol the real SDK uses, and holds the daemon to SQS's rules
// (batch limits, whole-second visibility within 12 h of the receive, no
// deduplication id on a standard queue) on every call it makes.
func TestDaemonOnTheStrictDouble(t *testing.T) {
	s := sqstest.New(sqstest.Config{MaxWait: 2 * time.Second})
	endpoint := s.Start(t)
	url, dlqURL := s.MustCreateQueueWithDLQ("strict", nil, 10)
	script := filepath.Join(t.TempDir(), "handler.sh")
	if err := os.WriteFile(script, []byte(`case "$(cat)" in reject*) exit 65 ;; esac`), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"ok 1", "ok 2", "reject 3", "ok 4", "ok 5"} {
		s.MustSend(url, sqstest.SendInput{Body: b})
	}
	d := startDaemonEnv(t, sqstest.Env(endpoint),
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=2s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND=sh "+script,
		"SQSFLEET_WORKER_SHUTDOWN_TIMEOUT=3s",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)
	wait.For(t, 20*time.Second, "the queue drained and one dead letter", func() bool {
		v, nv, _ := s.Counts(url)
		return v == 0 && nv == 0 && len(s.Peek(dlqURL)) == 1
	})
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	dl := s.Peek(dlqURL)[0]
	if dl.Body != "reject 3" || !strings.Contains(dl.Attributes["sqsfleet-failure"].StringValue, `"reason"`) {
		t.Errorf("dead letter %q with attributes %v", dl.Body, dl.Attributes)
	}
	// Every call the daemon made was one SQS accepts (a long poll the
	// daemon gave up on at shutdown is not a refusal).
	for _, c := range s.Calls() {
		if c.Err != nil && !errors.Is(c.Err, context.Canceled) {
			t.Errorf("call %d %s refused: %v", c.Seq, c.Op, c.Err)
		}
	}
}
