package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// A daemon killed with SIGKILL (OOM killer, lost host) cannot release its
// messages; they must come back after the visibility timeout, which is all
// the daemon asked for on receive and in its heartbeats, and another
// instance must process them.
func TestSIGKILLedDaemonsMessagesPickedUpByAnother(t *testing.T) {
	t.Parallel() // mostly waiting
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "killed", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	records := filepath.Join(dir, "records")
	pidFile := filepath.Join(dir, "pids")
	// exec keeps the pid (and process group) the script wrote.
	slow := writeScript(t, dir, "slow.sh", `echo $$ >> "`+pidFile+`"
echo "A $SQSFLEET_MESSAGE_ID $SQSFLEET_RECEIVE_COUNT" >> "`+records+`"
exec sleep 60`)
	fast := writeScript(t, dir, "fast.sh", `echo "B $SQSFLEET_MESSAGE_ID $SQSFLEET_RECEIVE_COUNT" >> "`+records+`"`)

	ids := sendN(t, c, url, "job", 3)
	env := []string{
		"SQSFLEET_QUEUE_URL=" + url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT=2s",
		"SQSFLEET_HANDLER_TYPE=exec",
	}
	a := startDaemon(t, emu, append(env, "SQSFLEET_HANDLER_COMMAND="+slow, "SQSFLEET_HTTP_ADDR="+freeAddr(t))...)
	// Runs before startDaemon's cleanup, which would otherwise wait for the
	// orphaned sleeps that still hold A's stderr pipe.
	t.Cleanup(func() { killGroups(t, pidFile) })

	byDaemon := func(who string) map[string][]int {
		got := map[string][]int{}
		for _, l := range recordLines(t, records) {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == who {
				n, _ := strconv.Atoi(f[2])
				got[f[1]] = append(got[f[1]], n)
			}
		}
		return got
	}
	wait.ForState(t, 20*time.Second, "A running all 3 handlers", func() (bool, string) {
		n := len(byDaemon("A"))
		return n == 3 && len(readPids(t, pidFile)) == 3, fmt.Sprintf("%d started", n)
	})

	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	killGroups(t, pidFile) // the handlers die with the host too
	a.wait(t, 10*time.Second)

	startDaemon(t, emu, append(env, "SQSFLEET_HANDLER_COMMAND="+fast, "SQSFLEET_HTTP_ADDR="+freeAddr(t))...)
	wait.ForState(t, 20*time.Second, "B processing all 3 and the queue drained", func() (bool, string) {
		b := byDaemon("B")
		return len(b) == 3 && drained(t, emu, url), fmt.Sprintf("B processed %d", len(b))
	})
	took := time.Since(killed)
	t.Logf("B finished all 3 %s after A was killed", took.Round(time.Millisecond))
	// Every receive and heartbeat asks for the 2s visibility timeout, so
	// a killed daemon's messages are hidden for at most about that long.
	if took > 7*time.Second {
		t.Errorf("A's messages took %s to be processed by B; they stayed hidden well past the 2s visibility timeout", took)
	}

	b := byDaemon("B")
	for _, id := range ids {
		counts := b[id]
		if len(counts) == 0 {
			t.Errorf("message %s not processed by B", id)
			continue
		}
		if counts[0] < 2 {
			t.Errorf("B got message %s with receive count %d, want >= 2 (A's delivery counts)", id, counts[0])
		}
		if len(counts) > 1 {
			t.Errorf("B processed message %s %d times, want once", id, len(counts))
		}
	}
	if v, nv, dl := emu.Counts(t, dlq); v+nv+dl != 0 {
		t.Errorf("DLQ holds %d messages, want none", v+nv+dl)
	}
}
