package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat. It is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpuTimes reads a process's CPU time from /proc/PID/stat: its own (user +
// system) and that of its children it has waited for (cutime + cstime),
// which for the exec handler is the commands it ran.
func cpuTimes(pid int) (self, children time.Duration, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may contain spaces and parentheses; fields resume
	// after the last ')'. utime is field 14, so index 11 after the state.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	tick := func(s string) time.Duration {
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.Duration(n) * time.Second / clockTicks
	}
	return tick(f[11]) + tick(f[12]), tick(f[13]) + tick(f[14]), nil
}

// memStatus reads the memory lines of /proc/PID/status, in bytes:
// VmHWM (peak resident set), RssAnon (heap, stacks: what the process
// allocated) and RssFile (pages of the executable and other mapped files).
func memStatus(pid int) (hwm, anon, file int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "VmHWM":
			hwm = kb << 10
		case "RssAnon":
			anon = kb << 10
		case "RssFile":
			file = kb << 10
		}
	}
	if hwm == 0 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
	}
	return hwm, anon, file, sc.Err()
}

// sample is one observation of a consumer during a throughput phase.
type sample struct {
	t        time.Time
	done     float64            // messages whose outcome is final (deleted)
	received float64            // deliveries, redeliveries included
	errors   float64            // SQS requests that failed
	reqs     map[string]float64 // SQS requests by operation, message path only
	cpu      time.Duration      // process CPU (user+system) so far
	childCPU time.Duration      // CPU of reaped children so far
	anon     int64              // RssAnon now, bytes
	file     int64              // RssFile now, bytes
	emuCPU   time.Duration      // the emulator's CPU so far
	benchCPU time.Duration      // this program's CPU so far (sampling; the raw loops)
	sinkCPU  time.Duration      // the http sink's CPU so far
}

// window is the steady-state part of a run: from the first sample with at
// least 10% of the messages done to the first with at least 90%. Start-up
// (process start, first receives) and the drain at the end stay outside, and
// the two samples are exact counts at known times.
func window(s []sample, n int) (a, b sample) {
	a, b = s[0], s[len(s)-1]
	for _, x := range s {
		if x.done >= 0.1*float64(n) {
			a = x
			break
		}
	}
	for _, x := range s {
		if x.done >= 0.9*float64(n) {
			b = x
			break
		}
	}
	if !b.t.After(a.t) || b.done <= a.done {
		a, b = s[0], s[len(s)-1]
	}
	return a, b
}

// sampleEvery calls probe every interval until it reports at least n
// messages done, ctx ends, or the deadline passes.
func sampleEvery(ctx context.Context, interval, limit time.Duration, n int, probe func() (sample, error)) ([]sample, error) {
	deadline := time.Now().Add(limit)
	t := time.NewTicker(interval)
	defer t.Stop()
	var out []sample
	var lastChange time.Time
	for {
		s, err := probe()
		if err != nil {
			return out, err
		}
		if len(out) == 0 || s.done != out[len(out)-1].done {
			lastChange = s.t
		}
		out = append(out, s)
		if os.Getenv("BENCH_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "sample %s done=%.0f received=%.0f errors=%.0f reqs=%v\n", s.t.Format("15:04:05.000"), s.done, s.received, s.errors, s.reqs)
		}
		if s.done >= float64(n) {
			return out, nil
		}
		// A receive whose response was lost (the SDK retried it, see
		// README) leaves up to 10 messages invisible for the whole
		// visibility timeout. When nothing else is left, stop waiting:
		// summarize reports them as stranded.
		if s.errors > 0 && s.done >= float64(n)-10*s.errors && s.t.Sub(lastChange) > 2*time.Second {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("only %.0f of %d messages done after %s", s.done, n, limit)
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-t.C:
		}
	}
}

// scrape reads a Prometheus text exposition into a map from series (name
// with its labels exactly as exposed, e.g.
// sqsfleet_sqs_requests_total{operation="ReceiveMessage"}) to value.
func scrape(client *http.Client, url string) (map[string]float64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := make(map[string]float64, 64)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "sqsfleet_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// The series a throughput phase reads from a consumer's /metrics.
const (
	seriesSuccess  = `sqsfleet_messages_completed_total{outcome="success"}`
	seriesReceived = `sqsfleet_messages_received_total`
)

func seriesRequests(op string) string { return `sqsfleet_sqs_requests_total{operation="` + op + `"}` }

// freePort asks the kernel for a free loopback port. Another program could
// take it before the daemon binds it; on this machine nothing else does.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// consumerProc is a consumer running as a child process: the daemon binary,
// or this program in engine-child mode. Its metrics are scraped over HTTP
// and its CPU and memory read from /proc, from outside, the same way for
// both.
type consumerProc struct {
	cmd        *exec.Cmd
	metricsURL string
	out        *tailWriter
	exited     chan struct{}
	waitErr    error
	http       *http.Client
}

// startConsumer starts cmd, whose stdout and stderr are kept (the last
// 16 KiB) for error reports. If announce is set, the metrics address is read
// from the first line of stdout ({"metrics_addr":"host:port"}); otherwise
// it is metricsAddr.
func startConsumer(cmd *exec.Cmd, metricsAddr string, announce bool) (*consumerProc, error) {
	p := &consumerProc{
		cmd:    cmd,
		out:    &tailWriter{limit: 16 << 10},
		exited: make(chan struct{}),
		// Uncompressed: at 20 scrapes a second, gzip would be a cost of
		// the measurement, not of the daemon (Prometheus scrapes every
		// 15 s or more).
		http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}},
	}
	cmd.Stderr = p.out
	if os.Getenv("BENCH_DEBUG") != "" {
		cmd.Stderr = io.MultiWriter(p.out, os.Stderr)
	}
	var stdout io.ReadCloser
	if announce {
		var err error
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	} else {
		cmd.Stdout = p.out
	}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		// With StdoutPipe, Wait must come after the reads are done; the
		// reader below copies the rest of stdout into out.
		if stdout == nil {
			p.waitErr = cmd.Wait()
			close(p.exited)
		}
	}()
	if announce {
		s, started := firstLine(cmd, stdout, p.out, func(err error) { p.waitErr = err; close(p.exited) })
		if !started {
			p.kill()
			return nil, fmt.Errorf("engine child did not start\n%s", p.out.String())
		}
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), `{"metrics_addr":"`)
		if !ok {
			p.kill()
			return nil, fmt.Errorf("engine child announced %q\n%s", s, p.out.String())
		}
		metricsAddr = strings.TrimSuffix(addr, `"}`)
	}
	p.metricsURL = "http://" + metricsAddr + "/metrics"
	// The daemon serves /metrics before it has checked the queue; wait
	// until it answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := scrape(p.http, p.metricsURL); err == nil {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited during start-up: %v\n%s", cmd.Path, p.waitErr, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s: no /metrics within 20s\n%s", cmd.Path, p.out.String())
		}
	}
}

func (p *consumerProc) pid() int { return p.cmd.Process.Pid }

// probe scrapes the consumer's metrics and reads its CPU time.
func (p *consumerProc) probe() (sample, error) {
	m, err := scrape(p.http, p.metricsURL)
	if err != nil {
		return sample{}, fmt.Errorf("scrape: %w\n%s", err, p.out.String())
	}
	s := sample{t: time.Now(), done: m[seriesSuccess], received: m[seriesReceived], reqs: make(map[string]float64, len(messagePathOps))}
	for _, op := range messagePathOps {
		s.reqs[op] = m[seriesRequests(op)]
	}
	for k, v := range m {
		if strings.HasPrefix(k, "sqsfleet_sqs_errors_total{") {
			s.errors += v
			if v > 0 && os.Getenv("BENCH_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "error series %s %v\n", k, v)
			}
		}
	}
	s.cpu, s.childCPU, err = cpuTimes(p.pid())
	if err == nil {
		_, s.anon, s.file, err = memStatus(p.pid())
	}
	return s, err
}

// stop sends SIGTERM and waits for a clean exit, running during (typically
// waking the consumer's pending long polls) meanwhile. A consumer that has
// not exited after limit is killed and that is an error.
func (p *consumerProc) stop(limit time.Duration, during func(done <-chan struct{})) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if during != nil {
		go during(p.exited)
	}
	select {
	case <-p.exited:
	case <-time.After(limit):
		p.kill()
		return fmt.Errorf("%s did not exit within %s of SIGTERM\n%s", p.cmd.Path, limit, p.out.String())
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		return p.waitErr
	}
	if p.waitErr != nil {
		return fmt.Errorf("%s: %v\n%s", p.cmd.Path, p.waitErr, p.out.String())
	}
	return nil
}

func (p *consumerProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// tailWriter keeps the last limit bytes written to it.
type tailWriter struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (w *tailWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	if over := len(w.buf) - w.limit; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(b), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// firstLine returns the first line a started child writes to stdout, where
// the engine child and the sink announce their addresses, waiting up to 20 s
// (false: none came). The rest of stdout is copied to rest, and exited is
// called with cmd.Wait's result once the child has ended.
func firstLine(cmd *exec.Cmd, stdout io.Reader, rest io.Writer, exited func(error)) (string, bool) {
	line := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		s, _ := br.ReadString('\n')
		line <- s
		_, _ = io.Copy(rest, br)
		exited(cmd.Wait())
	}()
	select {
	case s := <-line:
		return s, true
	case <-time.After(20 * time.Second):
		return "", false
	}
}
