package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// A command that hangs is killed, process group and all, at handler.timeout;
// each timeout is a failed attempt, and after max_attempts the message is
// dead-lettered with a record that names the timeout. Hanging handlers do
// not make the daemon unhealthy.
func TestHangingExecHandlerKilledAtTimeout(t *testing.T) {
	t.Parallel() // mostly waiting
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "hanging", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	// The shell and a child in its process group both record their pids.
	cmd := writeScript(t, dir, "hang.sh", `sleep 600 &
echo $! >> "`+pidFile+`"
echo $$ >> "`+pidFile+`"
wait`)
	addr := freeAddr(t)
	startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=2",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_HANDLER_TIMEOUT=2s",
		"SQSFLEET_RETRY_BASE_DELAY=1s",
		"SQSFLEET_RETRY_MAX_DELAY=1s",
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	t.Cleanup(func() { killGroups(t, pidFile) }) // before startDaemon's cleanup
	id := fauxqs.Send(t, c, url, "hang", nil)

	got := receiveN(t, c, dlq, 1, 25*time.Second, "the hanging one")
	rec := failureRecord(t, got[0])
	if rec.MessageID != id || rec.Reason != "max_attempts" || rec.Attempts != 2 {
		t.Errorf("failure record %+v, want message %s, reason max_attempts, 2 attempts", rec, id)
	}
	if !strings.Contains(rec.Error, "timed out") {
		t.Errorf("failure record error %q does not mention the timeout", rec.Error)
	}

	ps := readPids(t, pidFile)
	if len(ps) != 4 {
		t.Errorf("%d pids recorded, want 4 (shell and sleep, two attempts)", len(ps))
	}
	wait.For(t, 5*time.Second, "every handler process gone", func() bool {
		for _, pid := range ps {
			if !processGone(pid) {
				return false
			}
		}
		return true
	})

	var m samples
	wait.ForState(t, 10*time.Second, "outcome counters", func() (bool, string) {
		m = scrapeMetrics(t, addr)
		return m.v(`sqsfleet_messages_completed_total{outcome="retry"}`) == 1 &&
			m.v(`sqsfleet_messages_completed_total{outcome="dead_letter"}`) == 1 &&
			m.v("sqsfleet_inflight_messages") == 0 && drained(t, emu, url), m.String()
	})
	// Killed at the timeout: two attempts of about 2s each, not 600s and
	// not cut short.
	if n, sum := m.v("sqsfleet_handler_duration_seconds_count"), m.v("sqsfleet_handler_duration_seconds_sum"); n != 2 || sum < 3.9 || sum > 10 {
		t.Errorf("handler durations: %v attempts taking %.2fs in all, want 2 attempts of about 2s", n, sum)
	}
	if code, body := getHealth(addr, "/healthz"); code != 200 {
		t.Errorf("/healthz after hanging handlers: %d %+v, want 200", code, body)
	}
}

// A command that writes 200 MiB to stdout and to stderr at the same time
// succeeds, all of it passes through to the daemon's stderr, and the daemon's
// memory stays bounded.
func TestNoisyExecHandler(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "noisy", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	const size = 200 << 20
	cmd := writeScript(t, dir, "noisy.sh", fmt.Sprintf(`head -c %d /dev/zero >&2 &
head -c %d /dev/zero
wait
echo "$SQSFLEET_MESSAGE_ID" >> "%s"`, size, size, done))
	addr := freeAddr(t)
	d, output := startNoisyDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	wait.For(t, 20*time.Second, "/healthz 200", healthzIs(addr, 200))
	start := time.Now()
	id := fauxqs.Send(t, c, url, "noisy", nil)
	wait.ForState(t, 45*time.Second, "noisy message handled and deleted", func() (bool, string) {
		ls := recordLines(t, done)
		return len(ls) == 1 && drained(t, emu, url), fmt.Sprintf("handled %d, %d MiB of output read", len(ls), output.Load()>>20)
	})
	t.Logf("handled in %s", time.Since(start).Round(time.Millisecond))
	if ls := recordLines(t, done); ls[0] != id {
		t.Errorf("handled %q, want %s", ls[0], id)
	}
	pid := d.cmd.Process.Pid
	rss, hwm := procStatusKiB(t, pid, "VmRSS"), procStatusKiB(t, pid, "VmHWM")
	t.Logf("daemon VmRSS %d MiB, VmHWM (peak) %d MiB; %d MiB of output passed through", rss>>10, hwm>>10, output.Load()>>20)
	// The race detector roughly doubles memory; a daemon buffering the
	// output would need at least 200 MiB more.
	if rss > 200<<10 || hwm > 200<<10 {
		t.Errorf("daemon memory grew with handler output: VmRSS %d MiB, VmHWM %d MiB; want < 200 MiB", rss>>10, hwm>>10)
	}
	wait.For(t, 10*time.Second, "all the output through the daemon's stderr", func() bool {
		return output.Load() >= 2*size
	})
	if code, body := getHealth(addr, "/healthz"); code != 200 {
		t.Errorf("/healthz after the noisy handler: %d %+v, want 200", code, body)
	}
	if v, nv, dl := emu.Counts(t, dlq); v+nv+dl != 0 {
		t.Errorf("DLQ holds %d messages, want none", v+nv+dl)
	}
	m := scrapeMetrics(t, addr)
	if got := m.v(`sqsfleet_messages_completed_total{outcome="success"}`); got != 1 {
		t.Errorf("completed{success} = %v, want 1", got)
	}
}

// oneMiBBody returns a body of exactly n bytes mixing ASCII, CR LF, tabs,
// JSON and XML metacharacters and multi-byte UTF-8, all characters SQS
// accepts.
func oneMiBBody(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "Z", "0", " ", "\n", "\r\n", "\t", "é", "€", "中", "{", `"`, `\`, "<", "&", "\x7f"}
	var b strings.Builder
	for b.Len() < n {
		p := pieces[r.IntN(len(pieces))]
		if b.Len()+len(p) > n {
			p = strings.Repeat("x", n-b.Len())
		}
		b.WriteString(p)
	}
	return b.String()
}

// A message of the SQS maximum size, 1 MiB (1,048,576 bytes, body and
// attributes together, which fauxqs enforces like SQS), reaches both handler
// types byte for byte.
func TestOneMiBMessageThroughExecAndHTTPHandlers(t *testing.T) {
	emu := fauxqs.Start(t)
	execURL, execDLQ := emu.CreateQueueWithDLQ(t, "big-exec", 10)
	httpURL, httpDLQ := emu.CreateQueueWithDLQ(t, "big-http", 10)
	c := emu.SQS(t)

	const attr = "sha256"
	// SQS counts an attribute's name, type and value against the limit.
	body := oneMiBBody(1<<20 - len(attr) - len("String") - sha256.Size*2)
	sum := sha256.Sum256([]byte(body))
	want := hex.EncodeToString(sum[:])
	attrs := map[string]types.MessageAttributeValue{attr: {DataType: aws.String("String"), StringValue: aws.String(want)}}

	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	cmd := writeScript(t, dir, "check.sh", `got=$(sha256sum | cut -d' ' -f1)
if [ "$got" != "$SQSFLEET_ATTR_SHA256" ]; then echo "sha256 mismatch: got $got" >&2; exit 65; fi
echo "$SQSFLEET_MESSAGE_ID" >> "`+done+`"`)

	var mu sync.Mutex
	var httpResults []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		res := "ok"
		switch {
		case err != nil:
			res = "read: " + err.Error()
		case string(b) != body:
			res = fmt.Sprintf("body differs: %d bytes, want %d", len(b), len(body))
		case r.Header.Get("X-Aws-Sqsd-Attr-"+attr) != want:
			res = "sha256 header " + r.Header.Get("X-Aws-Sqsd-Attr-"+attr)
		}
		mu.Lock()
		httpResults = append(httpResults, res)
		mu.Unlock()
		if res != "ok" {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
	}))
	t.Cleanup(srv.Close)

	common := []string{"SQSFLEET_QUEUE_WAIT_TIME=1s", "SQSFLEET_RETRY_BASE_DELAY=1s", "SQSFLEET_RETRY_MAX_DELAY=1s"}
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+execURL, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND="+cmd)...)
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+httpURL, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=http", "SQSFLEET_HANDLER_URL="+srv.URL)...)
	execID := fauxqs.Send(t, c, execURL, body, attrs)
	fauxqs.Send(t, c, httpURL, body, attrs)

	wait.ForState(t, 20*time.Second, "both 1 MiB messages handled and deleted", func() (bool, string) {
		mu.Lock()
		hr := append([]string(nil), httpResults...)
		mu.Unlock()
		ex := recordLines(t, done)
		return len(ex) == 1 && len(hr) == 1 && hr[0] == "ok" && drained(t, emu, execURL) && drained(t, emu, httpURL),
			fmt.Sprintf("exec handled %v, http results %q", ex, hr)
	})
	if ex := recordLines(t, done); ex[0] != execID {
		t.Errorf("exec handled %s, want %s", ex[0], execID)
	}
	for _, q := range []string{execDLQ, httpDLQ} {
		if v, nv, dl := emu.Counts(t, q); v+nv+dl != 0 {
			t.Errorf("%s holds %d messages, want none", q, v+nv+dl)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(httpResults) != 1 {
		t.Errorf("http handler called %d times, want once: %q", len(httpResults), httpResults)
	}
}
