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

// Batches on a FIFO queue, held to SQS's rule rather than the emulator's:
// SQS hands over several messages of one group per receive (the double
// does, fauxqs does not). A batch still holds at most one message per
// group, a failed message stops its group (the next one runs only after
// the retry succeeded), and every group keeps its order.
func TestFIFOBatchesOnTheStrictDouble(t *testing.T) {
	s := sqstest.New(sqstest.Config{MaxWait: time.Second})
	endpoint := s.Start(t)
	url := s.MustCreateQueue("batches.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	dir := t.TempDir()
	// Logs each batch as one line of bodies; fails g1-2 the first time.
	command := writeScript(t, dir, "batch.sh", `ev=$(cat)
printf '%s\n' "$(printf '%s' "$ev" | grep -o '"body":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')" >> "$0.log"
if [ ! -e "$0.failed" ]; then
  id=$(printf '%s' "$ev" | grep -o '"messageId":"[^"]*","receiptHandle":"[^"]*","body":"g1-2"' | cut -d'"' -f4)
  if [ -n "$id" ]; then : > "$0.failed"; printf '{"batchItemFailures":[{"itemIdentifier":"%s"}]}' "$id"; fi
fi`)
	for _, b := range []string{"g1-1", "g1-2", "g1-3", "g2-1", "g2-2", "g2-3"} {
		s.MustSend(url, sqstest.SendInput{Body: b, GroupID: b[:2]})
	}
	d := startDaemonEnv(t, sqstest.Env(endpoint),
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+command,
		"SQSFLEET_HANDLER_BATCH_SIZE=4",
		"SQSFLEET_HANDLER_BATCH_WINDOW=200ms",
		"SQSFLEET_RETRY_BASE_DELAY=1s",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)
	wait.For(t, 30*time.Second, "the queue drained", func() bool {
		v, nv, _ := s.Counts(url)
		return v == 0 && nv == 0
	})
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "batch.sh.log"))
	if err != nil {
		t.Fatal(err)
	}
	order := map[string][]string{}
	for _, batch := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		seen := map[string]bool{}
		for _, body := range strings.Fields(batch) {
			g := body[:2]
			if seen[g] {
				t.Errorf("batch %q holds two messages of group %s", batch, g)
			}
			seen[g] = true
			order[g] = append(order[g], body)
		}
	}
	if got, want := strings.Join(order["g1"], " "), "g1-1 g1-2 g1-2 g1-3"; got != want {
		t.Errorf("group g1 ran %q, want %q (the failed message retried before the next)\nbatches:\n%s", got, want, raw)
	}
	if got, want := strings.Join(order["g2"], " "), "g2-1 g2-2 g2-3"; got != want {
		t.Errorf("group g2 ran %q, want %q\nbatches:\n%s", got, want, raw)
	}
	// The double handed over several messages of one group per receive, so
	// the test saw what the emulator never shows: with two groups, a receive
	// of three or more carried two of one group.
	most := 0
	for _, c := range s.Calls("ReceiveMessage") {
		most = max(most, c.Entries)
	}
	if most < 3 {
		t.Errorf("no receive carried more than %d messages; the test needs several of one group per receive, as SQS sends them", most)
	}
}
