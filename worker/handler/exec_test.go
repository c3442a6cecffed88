package handler

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/wait"

	"github.com/sqsfleet/sqsfleet/worker"
)

// lockedBuffer is a bytes.Buffer safe for the concurrent writes os/exec makes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// shHandler builds an Exec running script with sh -c; extra
// arguments become $1...
func shHandler(t *testing.T, cfg ExecConfig, script string, args ...string) *Exec {
	t.Helper()
	cfg.Command = append([]string{"sh", "-c", script, "sh"}, args...)
	h, err := NewExec(cfg)
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	return h
}

// parseEnv0 parses the output of env -0.
func parseEnv0(b []byte) map[string]string {
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestExecEnvironment(t *testing.T) {
	// Stale values the daemon may have inherited must not leak into a
	// message's metadata; unrelated SQSFLEET_ variables pass through.
	t.Setenv(EnvGroupID, "stale-group")
	t.Setenv(EnvAttrPrefix+"STALE", "stale-attr")
	t.Setenv(EnvSNSSubject, "stale-subject")
	t.Setenv(EnvEventResources, "stale-resources")
	t.Setenv("SQSFLEET_LOG_LEVEL", "debug")

	bin := []byte{0, 1, 2, 0xfe, 0xff}
	tests := []struct {
		name   string
		mutate func(m *worker.Message)
		want   map[string]string // "" value with key in unset means must be absent
		unset  []string
	}{
		{
			name: "all metadata",
			mutate: func(m *worker.Message) {
				m.Attributes = map[string]worker.Attribute{
					"trace-id":     {DataType: "String", StringValue: "abc 123\nline2"},
					"Count":        {DataType: "Number", StringValue: "42"},
					"blob":         {DataType: "Binary", BinaryValue: bin},
					"img":          {DataType: "Binary.png", BinaryValue: []byte("PNG")},
					"tenant.name":  {DataType: "String.custom", StringValue: "acme"},
					"ünï":          {DataType: "String", StringValue: "utf8"},
					"with space=x": {DataType: "String", StringValue: "eq"},
					"":             {DataType: "String", StringValue: "empty name"},
				}
			},
			want: map[string]string{
				EnvMessageID:                 "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
				EnvReceiveCount:              "3",
				EnvQueueURL:                  "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo",
				EnvSentTimestamp:             "1700000000123",
				EnvFirstReceivedTimestamp:    "1700000004567",
				EnvGroupID:                   "group-7",
				EnvSenderID:                  "AIDAEXAMPLE",
				"SQSFLEET_ATTR_TRACE_ID":     "abc 123\nline2",
				"SQSFLEET_ATTR_COUNT":        "42",
				"SQSFLEET_ATTR_BLOB":         base64.StdEncoding.EncodeToString(bin),
				"SQSFLEET_ATTR_IMG":          base64.StdEncoding.EncodeToString([]byte("PNG")),
				"SQSFLEET_ATTR_TENANT_NAME":  "acme",
				"SQSFLEET_ATTR___N__":        "utf8", // two bytes per accented letter
				"SQSFLEET_ATTR_WITH_SPACE_X": "eq",
				"SQSFLEET_ATTR_":             "empty name",
				"SQSFLEET_LOG_LEVEL":         "debug",
				"EXTRA":                      "2",
			},
			unset: []string{EnvAttrPrefix + "STALE"},
		},
		{
			name: "no group, raw SQS timestamps win, collisions",
			mutate: func(m *worker.Message) {
				m.GroupID = ""
				m.SenderID = ""
				m.SystemAttributes = map[string]string{
					"SentTimestamp":                    "1600000000000",
					"ApproximateFirstReceiveTimestamp": "1600000000001",
				}
				// All three map to SQSFLEET_ATTR_A_B; "a_b" sorts last.
				m.Attributes = map[string]worker.Attribute{
					"a.b": {DataType: "String", StringValue: "dot"},
					"a-b": {DataType: "String", StringValue: "dash"},
					"a_b": {DataType: "String", StringValue: "underscore"},
				}
			},
			want: map[string]string{
				EnvSentTimestamp:          "1600000000000",
				EnvFirstReceivedTimestamp: "1600000000001",
				"SQSFLEET_ATTR_A_B":       "underscore",
			},
			unset: []string{EnvGroupID, EnvSenderID, EnvAttrPrefix + "STALE"},
		},
		{
			name: "unknown timestamps are unset",
			mutate: func(m *worker.Message) {
				m.SentAt = time.Time{}
				m.FirstReceivedAt = time.Time{}
				m.ReceiveCount = 1
			},
			want:  map[string]string{EnvReceiveCount: "1"},
			unset: []string{EnvSentTimestamp, EnvFirstReceivedTimestamp},
		},
		{
			name: "sns envelope, no subject",
			mutate: func(m *worker.Message) {
				m.SNS = sampleSNS("")
			},
			want: map[string]string{
				EnvSNSMessageID: "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
				EnvSNSTopicARN:  "arn:aws:sns:us-east-2:123456789012:MyTopic",
				EnvSNSTimestamp: "2012-04-25T21:49:25.719Z",
			},
			// The inherited subject must not pass for this message's.
			unset: []string{EnvSNSSubject, EnvEventID, EnvEventResources},
		},
		{
			name: "eventbridge envelope",
			mutate: func(m *worker.Message) {
				m.Event = sampleEvent()
			},
			want: sampleEventWant(EnvEventID, EnvEventSource, EnvEventDetailType, EnvEventTime,
				EnvEventAccount, EnvEventRegion, EnvEventResources),
			unset: []string{EnvSNSSubject, EnvSNSTopicARN},
		},
		{
			name: "eventbridge envelope without resources",
			mutate: func(m *worker.Message) {
				m.Event = sampleEvent()
				m.Event.Resources = nil
			},
			want:  map[string]string{EnvEventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718"},
			unset: []string{EnvEventResources},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			// EXTRA appears twice: the later entry wins. Reserved names in
			// Env are dropped too.
			h := shHandler(t, ExecConfig{
				Env:    []string{"EXTRA=1", "EXTRA=2", EnvAttrPrefix + "STALE=from-config"},
				Stdout: &out,
			}, "exec env -0")
			m := handlerTestMessage()
			tt.mutate(m)
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			env := parseEnv0(out.Bytes())
			for k, v := range tt.want {
				got, ok := env[k]
				if !ok {
					t.Errorf("%s unset, want %q", k, v)
				} else if got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.unset {
				if v, ok := env[k]; ok {
					t.Errorf("%s = %q, want unset", k, v)
				}
			}
		})
	}
}

func TestAttrEnvName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"simple", "SIMPLE"},
		{"Already_UPPER_9", "ALREADY_UPPER_9"},
		{"trace-id", "TRACE_ID"},
		{"a.b", "A_B"},
		{"9lives", "9LIVES"},
		{"with space", "WITH_SPACE"},
		{"eq=sign", "EQ_SIGN"},
		{"nul\x00byte", "NUL_BYTE"},
		{"é", "__"}, // one '_' per byte
		{"\xff", "_"},
	}
	for _, tt := range tests {
		if got := AttrEnvName(tt.in); got != tt.want {
			t.Errorf("AttrEnvName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var posixEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func FuzzAttrEnvName(f *testing.F) {
	for _, s := range []string{"", "a", "trace-id", "A.B.C", "9", "ünïcödé", "\x00\r\n=", "\xff\xfe", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := checkNameMapping(t, "AttrEnvName", AttrEnvName, name)
		for i := 0; i < len(got); i++ {
			c := got[i]
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				t.Fatalf("AttrEnvName(%q) = %q: byte %q outside [A-Z0-9_]", name, got, c)
			}
		}
		if full := EnvAttrPrefix + got; !posixEnvName.MatchString(full) {
			t.Fatalf("%q is not a valid environment variable name", full)
		}
	})
}

func TestExecStdin(t *testing.T) {
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"json", `{"a":1}`},
		{"no trailing newline and NULs", "line1\nline2\x00\x01 end"},
		{"1MiB random", string(big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out lockedBuffer
			h := shHandler(t, ExecConfig{Stdout: &out}, "exec cat")
			m := handlerTestMessage()
			m.Body = tt.body
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if got := out.Bytes(); !bytes.Equal(got, []byte(tt.body)) {
				t.Fatalf("stdin: got %d bytes, want %d (equal prefix: %v)", len(got), len(tt.body), bytes.HasPrefix([]byte(tt.body), got))
			}
		})
	}
}

func TestExecIgnoresStdin(t *testing.T) {
	// The body is far larger than a pipe buffer, so writing it would block
	// forever if the command's not reading it could stall us.
	m := handlerTestMessage()
	m.Body = strings.Repeat("x", 4<<20)
	for _, code := range []int{0, 3} {
		h := shHandler(t, ExecConfig{}, "exit $1", strconv.Itoa(code))
		err := h.Handle(context.Background(), m)
		if (err == nil) != (code == 0) {
			t.Fatalf("exit %d: err = %v", code, err)
		}
		if err != nil && !strings.Contains(err.Error(), "exit status 3") {
			t.Fatalf("exit %d: err = %v, want exit status in it", code, err)
		}
	}
}

func TestExecExitStatus(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		wantErr   bool
		permanent bool
		contains  []string
	}{
		{name: "success", script: "echo noise >&2; exit 0"},
		{name: "data error", script: "echo 'field x is missing' >&2; exit 65", wantErr: true, permanent: true,
			contains: []string{"exit status 65", "EX_DATAERR", "field x is missing"}},
		{name: "failure", script: "echo 'db down' >&2; exit 1", wantErr: true,
			contains: []string{"exit status 1", "db down"}},
		{name: "other code", script: "exit 75", wantErr: true, contains: []string{"exit status 75"}},
		{name: "SIGTERM", script: "echo dying >&2; kill -TERM $$", wantErr: true,
			contains: []string{"signal: terminated", "dying"}},
		{name: "SIGKILL", script: "kill -KILL $$", wantErr: true, contains: []string{"signal: killed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := shHandler(t, ExecConfig{}, tt.script)
			err := h.Handle(context.Background(), handlerTestMessage())
			if !checkHandleErr(t, err, tt.wantErr, tt.permanent, tt.contains) {
				return
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Errorf("err %v claims a context error", err)
			}
		})
	}
}

func TestExecStderrFloodIsBounded(t *testing.T) {
	const tailLen = 1000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// 50 MiB to stderr, then a last line that must survive in the tail; the
	// same again to stdout, which is discarded.
	h := shHandler(t, ExecConfig{OutputTail: tailLen},
		`head -c 52428800 /dev/zero | tr '\0' x >&2; head -c 52428800 /dev/zero; echo; echo 'last words' >&2; exit 1`)
	start := time.Now()
	err := h.Handle(context.Background(), handlerTestMessage())
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	if len(msg) > tailLen+200 {
		t.Fatalf("error is %d bytes, want about %d at most", len(msg), tailLen)
	}
	if !strings.HasSuffix(msg, "xxxlast words") || !strings.Contains(msg, "; stderr: ...xxx") {
		t.Fatalf("error does not end with the stderr tail: %.200q...%q", msg, msg[max(0, len(msg)-50):])
	}
	// All 50 MiB passed through this process; none of it may be retained or
	// allocated per chunk.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes while copying 50 MiB of stderr", alloc)
	}
	t.Logf("flood handled in %v", time.Since(start))
}

func TestExecStreamsOutput(t *testing.T) {
	var out, errOut lockedBuffer
	h := shHandler(t, ExecConfig{Stdout: &out, Stderr: &errOut}, "echo to-stdout; echo to-stderr >&2")
	if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
		t.Fatal(err)
	}
	if got := string(out.Bytes()); got != "to-stdout\n" {
		t.Errorf("stdout copy = %q", got)
	}
	if got := string(errOut.Bytes()); got != "to-stderr\n" {
		t.Errorf("stderr copy = %q", got)
	}

	// A broken log sink must not fail the message or starve the command.
	h = shHandler(t, ExecConfig{Stdout: brokenSink{}, Stderr: brokenSink{}},
		"head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2; echo fine >&2; exit 1")
	err := h.Handle(context.Background(), handlerTestMessage())
	if err == nil || !strings.Contains(err.Error(), "exit status 1") || !strings.HasSuffix(err.Error(), "fine") {
		t.Fatalf("err = %v, want exit status 1 with stderr tail", err)
	}
}

type brokenSink struct{}

func (brokenSink) Write([]byte) (int, error) { return 0, errors.New("sink broken") }

// processGone reports whether pid no longer runs. A killed process whose
// parent died is reparented to init; until init reaps it, it is a zombie,
// which kill(pid, 0) still finds, so a zombie counts as gone.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	// Format: pid (comm) state ...; comm may contain spaces or parentheses.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// waitGone polls until pid is gone or the deadline passes.
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	wait.For(t, within, "process "+strconv.Itoa(pid)+" to end after Handle returned", func() bool { return processGone(pid) })
}

// waitFile polls until path exists with content and returns it.
func waitFile(t *testing.T, path string, within time.Duration) string {
	t.Helper()
	var b []byte
	wait.For(t, within, path+" to be written", func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && bytes.HasSuffix(b, []byte("\n"))
	})
	return strings.TrimSpace(string(b))
}

func TestExecContextKillsProcessGroup(t *testing.T) {
	// The grandchild sleep holds the stderr pipe and ignores nothing special:
	// only killing the whole group (or WaitDelay) lets Handle return, and
	// only killing the group kills it.
	const script = `echo started >&2; sleep 300 & echo $! > "$1.tmp" && mv "$1.tmp" "$1"; wait`
	tests := []struct {
		name    string
		want    error
		context func(t *testing.T, pidFile string) (context.Context, context.CancelFunc)
	}{
		{
			name: "deadline",
			want: context.DeadlineExceeded,
			context: func(t *testing.T, pidFile string) (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Second)
			},
		},
		{
			name: "cancel",
			want: context.Canceled,
			context: func(t *testing.T, pidFile string) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				go func() {
					// Cancel as soon as the grandchild exists.
					wait.Until(10*time.Second, func() bool { _, err := os.Stat(pidFile); return err == nil })
					cancel()
				}()
				return ctx, cancel
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
			h := shHandler(t, ExecConfig{}, script, pidFile)
			// With a WaitDelay this long, returning promptly proves the
			// group kill closed the pipes, not the WaitDelay fallback.
			h.waitDelay = time.Minute
			ctx, cancel := tt.context(t, pidFile)
			defer cancel()
			start := time.Now()
			err := h.Handle(ctx, handlerTestMessage())
			elapsed := time.Since(start)
			pid, perr := strconv.Atoi(waitFile(t, pidFile, time.Second))
			if perr != nil {
				t.Fatal(perr)
			}
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			if err == nil {
				t.Fatal("want error")
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.want)
			}
			if worker.IsPermanent(err) {
				t.Errorf("context failure must be retryable: %v", err)
			}
			if !strings.Contains(err.Error(), "signal: killed") || !strings.Contains(err.Error(), "started") {
				t.Errorf("err = %q, want signal and stderr tail", err)
			}
			if elapsed > 20*time.Second {
				t.Errorf("Handle took %v: the grandchild kept the pipes open", elapsed)
			}
			waitGone(t, pid, 5*time.Second)
		})
	}
}

func TestExecContextDoneBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := shHandler(t, ExecConfig{}, "exit 0")
	if err := h.Handle(ctx, handlerTestMessage()); !errors.Is(err, context.Canceled) || worker.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable context.Canceled", err)
	}
}

func TestExecLingeringDescendantDoesNotHang(t *testing.T) {
	// The command succeeds at once but leaves a background process holding
	// its stderr; Handle must not wait for it beyond WaitDelay, and the
	// command's success stands.
	pidFile := filepath.Join(t.TempDir(), "bg.pid")
	h := shHandler(t, ExecConfig{}, `sleep 300 & echo $! > "$1"; exit 0`, pidFile)
	h.waitDelay = 100 * time.Millisecond
	start := time.Now()
	err := h.Handle(context.Background(), handlerTestMessage())
	if pid, perr := strconv.Atoi(waitFile(t, pidFile, time.Second)); perr == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Handle took %v", d)
	}

	// The same with a failing exit status keeps the status.
	h = shHandler(t, ExecConfig{}, `sleep 300 & echo $! > "$1"; exit 65`, pidFile+"2")
	h.waitDelay = 100 * time.Millisecond
	err = h.Handle(context.Background(), handlerTestMessage())
	if pid, perr := strconv.Atoi(waitFile(t, pidFile+"2", time.Second)); perr == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if !worker.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestExecDirAndArgv(t *testing.T) {
	dir := t.TempDir()
	var out lockedBuffer
	h, err := NewExec(ExecConfig{
		Command: []string{"sh", "-c", `echo "$PWD"; pwd -P; printf '%s|' "$0" "$@"`, "zero", "one arg", ""},
		Dir:     dir,
		Stdout:  &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	real, _ := filepath.EvalSymlinks(dir)
	want := abs + "\n" + real + "\nzero|one arg||"
	if got := string(out.Bytes()); got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

func TestNewExecHandlerErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  ExecConfig
	}{
		{"no command", ExecConfig{}},
		{"empty argv0", ExecConfig{Command: []string{""}}},
		{"not in PATH", ExecConfig{Command: []string{"sqsfleet-no-such-command-xyz"}}},
		{"negative tail", ExecConfig{Command: []string{"sh"}, OutputTail: -1}},
		{"bad env", ExecConfig{Command: []string{"sh"}, Env: []string{"NOEQUALS"}}},
		{"missing dir", ExecConfig{Command: []string{"sh"}, Dir: filepath.Join(file, "nope")}},
		{"dir is file", ExecConfig{Command: []string{"sh"}, Dir: file}},
	}
	for _, tt := range tests {
		if h, err := NewExec(tt.cfg); err == nil {
			t.Errorf("%s: got handler %+v, want error", tt.name, h)
		}
	}
}

func TestExecStartFailureIsRetryable(t *testing.T) {
	// A path with a slash is not resolved at construction; the failure shows
	// per message and must not dead-letter it (a deploy may be in progress).
	h, err := NewExec(ExecConfig{Command: []string{"./sqsfleet-missing-handler"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = h.Handle(context.Background(), handlerTestMessage())
	if err == nil || worker.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable error", err)
	}
}

func TestTailBuffer(t *testing.T) {
	chunks := []int{1, 7, 100, 999, 1000, 1001, 3000, 5, 0, 64, 2500, 17}
	for _, limit := range []int{1, 10, 1000} {
		tb := newTailBuffer(limit)
		var all []byte
		for i, n := range chunks {
			p := bytes.Repeat([]byte{byte('a' + i)}, n)
			p = append(p, byte('0'+i%10))
			all = append(all, p...)
			if w, err := tb.Write(p); w != len(p) || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			want := all[max(0, len(all)-limit):]
			got := tb.buf[max(0, len(tb.buf)-limit):]
			if !bytes.Equal(got, want) {
				t.Fatalf("limit %d after chunk %d: tail %q, want %q", limit, i, got, want)
			}
			if cap(tb.buf) > max(2*limit, 64<<10) {
				t.Fatalf("limit %d: buffer grew to %d", limit, cap(tb.buf))
			}
		}
	}
	tb := newTailBuffer(4)
	_, _ = tb.Write([]byte("héllo")) // tail starts inside é
	if got := tb.String(); got != "...llo" {
		t.Fatalf("String = %q", got)
	}
}
