package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
)

// runCLI runs the sqsfleet binary with args against emu and returns its
// stdout, stderr and exit code.
func runCLI(t *testing.T, emu *fauxqs.Server, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), emu.Env()...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// The daemon dead-letters messages with real failure records; `sqsfleet
// dlq` finds the DLQ from queue.url's RedrivePolicy as the daemon does,
// counts them, shows the permanent ones as JSON, and redrives those back,
// after which the daemon (now accepting them) processes them.
func TestDLQCommandsOnDaemonDeadLetters(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	url, dlqURL := emu.CreateQueueWithDLQ(t, "shop", 10)
	dir := t.TempDir()
	// Rejects bodies with "reject" (permanent, exit 65) until the fix (a
	// file) is in place; fails "flaky" bodies every time (max_attempts).
	script := dir + "/handler.sh"
	if err := os.WriteFile(script, []byte(`body=$(cat)
case "$body" in
*reject*) [ -f `+dir+`/fixed ] && exit 0; n=${body#reject-}; echo "order 10$n rejected: bad sku \"X$n$n\"" >&2; exit 65;;
*flaky*) echo "db timeout after 3s" >&2; exit 1;;
esac
`), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"reject-1", "reject-2", "flaky-1"} {
		fauxqs.Send(t, c, url, b, map[string]types.MessageAttributeValue{"tenant": {DataType: aws.String("String"), StringValue: aws.String("acme")}})
	}
	env := []string{
		"SQSFLEET_QUEUE_URL=" + url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=1",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND=sh " + script,
		"SQSFLEET_HTTP_ADDR=" + freeAddr(t),
	}
	d := startDaemon(t, emu, env...)
	wait.For(t, 30*time.Second, "three messages dead-lettered", func() bool {
		v, _, _ := emu.Counts(t, dlqURL)
		return v == 3 && drained(t, emu, url)
	})
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 30*time.Second)

	stdout, stderr, code := runCLI(t, emu, "dlq", "stats", "--queue.url", url)
	if code != 0 {
		t.Fatalf("dlq stats: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{dlqURL, "permanent", "max_attempts", url, `order <n> rejected: bad sku "…"`, "none deleted"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dlq stats output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Count(stdout, "bad sku") != 1 {
		t.Errorf("the two rejections are not one error class:\n%s", stdout)
	}

	stdout, stderr, code = runCLI(t, emu, "dlq", "show", "--dlq", dlqURL, "--reason", "permanent")
	if code != 0 {
		t.Fatalf("dlq show: exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("dlq show printed %d lines, want 2:\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		var m struct {
			Body       string
			Failure    *worker.FailureRecord
			Attributes map[string]struct {
				StringValue string `json:"string_value"`
			}
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if !strings.HasPrefix(m.Body, "reject") || m.Failure == nil || m.Failure.QueueURL != url || m.Attributes["tenant"].StringValue != "acme" {
			t.Errorf("shown %+v", m)
		}
	}

	if err := os.WriteFile(dir+"/fixed", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, emu, "dlq", "redrive", "--queue.url", url, "--reason", "permanent", "--rate", "50/s")
	if code != 0 || !strings.Contains(stdout, "moved 2, skipped 1, failed 0") {
		t.Fatalf("dlq redrive: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "redrive: examined") {
		t.Errorf("no plain progress lines on a non-terminal stderr:\n%s", stderr)
	}
	d = startDaemon(t, emu, env...)
	wait.For(t, 30*time.Second, "the redriven messages processed", func() bool { return drained(t, emu, url) })
	if got := receiveAll(t, c, dlqURL, 1, 5*time.Second); len(got) != 1 || aws.ToString(got[0].Body) != "flaky-1" {
		t.Errorf("DLQ holds %d messages, want only flaky-1", len(got))
	}
}

// Bad input: a clear error naming the flag, exit 2, before anything moves.
func TestDLQBadInputExits2(t *testing.T) {
	emu := fauxqs.Start(t)
	fifo := map[string]string{"FifoQueue": "true"}
	dlqFIFO := emu.CreateQueue(t, "x-dlq.fifo", fifo)
	standard := emu.CreateQueue(t, "plain", nil)
	missing := strings.Replace(standard, "/plain", "/nope", 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "stats", "--dlq", missing}, "no such queue"},
		{[]string{"dlq", "redrive", "--dlq", standard, "--rate", "0"}, "--rate"},
		{[]string{"dlq", "redrive", "--dlq", dlqFIFO, "--to", standard}, "--to"},
		{[]string{"dlq", "redrive", "--dlq", standard, "--to", dlqFIFO}, "--to"},
		{[]string{"dlq", "show", "--dlq", standard, "--reason", "permanant"}, "permanant"},
		{[]string{"dlq", "show", "--dlq", standard, "--match", "("}, "--match"},
		{[]string{"dlq", "stats"}, "queue.url"},
		{[]string{"dlq", "purge"}, "unknown command"},
	} {
		stdout, stderr, code := runCLI(t, emu, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and an error naming %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
	if v, _, _ := emu.Counts(t, standard); v != 0 {
		t.Errorf("bad input moved messages")
	}
}

// SIGINT half-way: the redrive stops after the message in hand, prints its
// summary and exits 130; every message is in exactly one of the queues,
// those left in the DLQ visible at once.
func TestDLQRedriveSIGINT(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	source, dlqURL := emu.CreateQueueWithDLQ(t, "jobs", 5) // 5: never reached, each message is received from jobs once
	const n = 30
	rec := fmt.Sprintf(`{"error":"boom","reason":"max_attempts","attempts":1,"queue_url":%q,"message_id":"m","first_received_at":"2026-12-01T00:00:00Z","failed_at":"2026-12-01T00:00:01Z"}`, source)
	for i := range n {
		fauxqs.Send(t, c, dlqURL, fmt.Sprint("job-", i), map[string]types.MessageAttributeValue{
			worker.FailureAttribute: {DataType: aws.String("String"), StringValue: aws.String(rec)},
		})
	}
	cmd := exec.Command(binPath, "dlq", "redrive", "--dlq", dlqURL, "--rate", "10/s")
	cmd.Env = append(os.Environ(), emu.Env()...)
	var stdout bytes.Buffer
	var stderr lines
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	wait.For(t, 20*time.Second, "a progress line", func() bool { return len(stderr.all()) > 0 })
	wait.For(t, 20*time.Second, "a few messages moved", func() bool {
		v, _, _ := emu.Counts(t, source)
		return v >= 3
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want 130\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "interrupted") {
		t.Errorf("no summary saying it was interrupted:\n%s", stdout.String())
	}
	moved := map[string]bool{}
	for _, m := range receiveAll(t, c, source, n, 3*time.Second) {
		moved[aws.ToString(m.Body)] = true
	}
	left := map[string]bool{}
	for _, m := range receiveAll(t, c, dlqURL, n, 3*time.Second) {
		left[aws.ToString(m.Body)] = true
	}
	if len(moved) == 0 || len(moved) == n || len(moved)+len(left) != n {
		t.Fatalf("moved %d, left %d (visible now), want a part moved and all %d accounted for\n%s", len(moved), len(left), n, stdout.String())
	}
	for b := range moved {
		if left[b] {
			t.Errorf("%s is in both queues", b)
		}
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("moved %d,", len(moved))) {
		t.Errorf("summary does not match what moved (%d):\n%s", len(moved), stdout.String())
	}
}
