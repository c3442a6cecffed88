package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// daemon is the sqsfleet binary running as a subprocess.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	stdout lines // what the daemon prints on stdout (EMF metrics)
	stderr lines // the JSON log
}

// lines collects a stream line by line. Lines of any length are taken, so a
// flood of output cannot stall the writer on a full pipe, but kept bounded
// (64 KiB a line, the last 10,000 to 20,000 lines), so a handler flooding
// the daemon's stderr cannot eat the test's memory.
type lines struct {
	mu      sync.Mutex
	partial []byte
	list    []string
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.addLocked(string(l.partial[:min(i, 64<<10)]))
		l.partial = l.partial[i+1:]
	}
}

// add keeps one whole line.
func (l *lines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(line)
}

func (l *lines) addLocked(line string) {
	l.list = append(l.list, line)
	if len(l.list) > 20000 {
		l.list = l.list[len(l.list)-10000:]
	}
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.list...)
}

// startDaemon runs `sqsfleet run` with env added to the emulator's env.
func startDaemon(t *testing.T, emu *fauxqs.Server, env ...string) *daemon {
	t.Helper()
	return startDaemonEnv(t, emu.Env(), env...)
}

// startDaemonEnv runs `sqsfleet run` with base (an SQS's environment, e.g.
// sqstest.Env) and then env added to the test's environment.
func startDaemonEnv(t *testing.T, base []string, env ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, "run")
	cmd.Env = append(append(os.Environ(), base...), env...)
	// Handler children left behind by a killed daemon may hold stderr open;
	// WaitDelay keeps Wait from waiting for them forever.
	cmd.WaitDelay = 5 * time.Second
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &d.stderr
	cmd.Stdout = &d.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log())
		}
	})
	return d
}

func (d *daemon) log() string { return strings.Join(d.stderr.all(), "\n") }

// logged reports whether a log line with this msg was written.
func (d *daemon) logged(msg string) bool {
	for _, l := range d.stderr.all() {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(l), &rec) == nil && strings.Contains(rec.Msg, msg) {
			return true
		}
	}
	return false
}

// wait waits for exit and returns the exit code.
func (d *daemon) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		t.Fatalf("daemon still running after %s", timeout)
	}
	if d.err == nil {
		return 0
	}
	if ee, ok := d.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("daemon: %v", d.err)
	return -1
}

func filepathGlob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestBadConfigExitsTwoNamingEachKey(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		args  []string
		wants []string
	}{
		{"missing queue and handler", nil, nil, []string{"queue.url", "handler.type"}},
		{"several bad keys", []string{
			"SQSFLEET_QUEUE_URL=http://127.0.0.1:1/000000000000/q",
			"SQSFLEET_QUEUE_BATCH_SIZE=11",
			"SQSFLEET_RETRY_BASE_DELAY=-5s",
			"SQSFLEET_HANDLER_TYPE=grpc",
		}, nil, []string{"queue.batch_size", "retry.base_delay", "handler.type"}},
		{"exec without command", []string{
			"SQSFLEET_QUEUE_URL=http://127.0.0.1:1/000000000000/q", "SQSFLEET_HANDLER_TYPE=exec",
		}, nil, []string{"handler.command"}},
		{"bad duration", []string{
			"SQSFLEET_QUEUE_URL=http://127.0.0.1:1/000000000000/q", "SQSFLEET_HANDLER_TYPE=exec",
			"SQSFLEET_HANDLER_COMMAND=true", "SQSFLEET_QUEUE_WAIT_TIME=soon",
		}, nil, []string{"queue.wait_time"}},
		{"flag overrides env", []string{
			"SQSFLEET_QUEUE_URL=http://127.0.0.1:1/000000000000/q", "SQSFLEET_HANDLER_TYPE=exec",
			"SQSFLEET_HANDLER_COMMAND=true",
		}, []string{"--worker.concurrency=0"}, []string{"worker.concurrency"}},
		{"missing config file", nil, []string{"--config", "/nonexistent/sqsfleet.yaml"}, []string{"/nonexistent/sqsfleet.yaml"}},
		{"unknown flag", nil, []string{"--queue.urll=x"}, []string{"queue.urll"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tc.env, append([]string{"run"}, tc.args...)...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stderr has a stack trace:\n%s", stderr)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n") + 1; n > 12 {
				t.Errorf("stderr is %d lines, want one line per problem:\n%s", n, stderr)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	out, _, code := runBinary(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "sqsfleet ") {
		t.Errorf("version: %q, exit %d", out, code)
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"healthcheck", "--help"}} {
		out, errOut, code := runBinary(t, nil, args...)
		if code != 0 || !strings.Contains(out+errOut, "Usage") {
			t.Errorf("%v: exit %d, output %q", args, code, out+errOut)
		}
	}
	if _, _, code := runBinary(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// SIGTERM with messages in flight: handlers that finish within the
// shutdown timeout are deleted; those that do not are released at once, and
// a pending 20s long poll neither holds up the exit nor strands anything.
func TestSIGTERMWithMessagesInFlight(t *testing.T) {
	emu := fauxqs.Start(t)
	url, _ := emu.CreateQueueWithDLQ(t, "sigterm", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	script := dir + "/handler.sh"
	// "quick" bodies finish in a second, the others would take a minute.
	body := `body=$(cat); touch "$0.started-$SQSFLEET_MESSAGE_ID"
case "$body" in quick*) sleep 1 ;; *) sleep 60 ;; esac
echo "done $SQSFLEET_MESSAGE_ID" >> "$0.done"`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	quick := sendN(t, c, url, "quick", 2)
	long := sendN(t, c, url, "long", 3)
	d := startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=20s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND=sh "+script,
		"SQSFLEET_WORKER_CONCURRENCY=8",
		"SQSFLEET_WORKER_SHUTDOWN_TIMEOUT=3s",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)
	wait.For(t, 20*time.Second, "all five handlers started", func() bool {
		m, _ := filepathGlob(script + ".started-*")
		return len(m) == 5
	})
	sent := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if took := time.Since(sent); took > 12*time.Second {
		t.Errorf("exit took %s; the pending long poll held it up", took)
	}
	// The quick ones finished during the drain and were deleted; the long
	// ones are visible again at once, each exactly once.
	got := receiveAll(t, c, url, 3, 3*time.Second)
	ids := map[string]bool{}
	for _, m := range got {
		ids[*m.MessageId] = true
	}
	for _, id := range long {
		if !ids[id] {
			t.Errorf("long-running message %s not visible again right after exit", id)
		}
	}
	for _, id := range quick {
		if ids[id] {
			t.Errorf("message %s finished during the drain but was not deleted", id)
		}
	}
	if len(got) != 3 {
		t.Errorf("received %d messages after exit, want the 3 unfinished ones", len(got))
	}
	if !d.logged("shutdown complete") {
		t.Error("no 'shutdown complete' log line")
	}
}

func TestHealthcheckCommand(t *testing.T) {
	emu := fauxqs.Start(t)
	url, _ := emu.CreateQueueWithDLQ(t, "health", 10)
	addr := freeAddr(t)
	d := startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND=true",
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	wait.For(t, 20*time.Second, "/readyz 200", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if out, errOut, code := runBinary(t, []string{"SQSFLEET_HTTP_ADDR=" + addr}, "healthcheck"); code != 0 {
		t.Errorf("healthcheck against a healthy daemon: exit %d, %s%s", code, out, errOut)
	}
	if _, _, code := runBinary(t, nil, "healthcheck", "--url", "http://"+addr+"/healthz"); code != 0 {
		t.Errorf("healthcheck --url: exit %d", code)
	}
	if _, _, code := runBinary(t, nil, "healthcheck", "--url", "http://"+freeAddr(t)+"/healthz"); code != 1 {
		t.Errorf("healthcheck against nothing: exit %d, want 1", code)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Errorf("daemon exit code after SIGTERM = %d, want 0", code)
	}
}
