package e2e

// Helpers for the operational end-to-end tests (outage, SIGKILL, metrics,
// misbehaving handlers): health and metrics scraping, handler scripts that
// leave records, and process bookkeeping.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
)

var probeClient = &http.Client{Timeout: 3 * time.Second}

// healthBody is the JSON body of /healthz and /readyz.
type healthBody struct {
	Status                 string   `json:"status"`
	SecondsSinceSQSSuccess *float64 `json:"seconds_since_sqs_success"`
	InFlight               int      `json:"inflight"`
	Draining               bool     `json:"draining"`
	Reason                 string   `json:"reason"`
}

// getHealth GETs http://addr/path and returns the status code and the decoded
// body; code 0 when the request failed.
func getHealth(addr, path string) (int, healthBody) {
	var b healthBody
	resp, err := probeClient.Get("http://" + addr + path)
	if err != nil {
		return 0, b
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&b)
	return resp.StatusCode, b
}

func healthzIs(addr string, code int) func() bool {
	return func() bool { c, _ := getHealth(addr, "/healthz"); return c == code }
}

// samples are the scraped series, keyed by name{label="value",...} with the
// labels sorted; histograms contribute name_count and name_sum.
type samples struct {
	families map[string]*dto.MetricFamily
	values   map[string]float64
}

// scrapeMetrics fetches and parses http://addr/metrics.
func scrapeMetrics(t *testing.T, addr string) samples {
	t.Helper()
	s, err := tryScrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryScrape(addr string) (samples, error) {
	resp, err := probeClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return samples{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return samples{}, fmt.Errorf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return samples{}, fmt.Errorf("parse /metrics: %w", err)
	}
	s := samples{families: fams, values: map[string]float64{}}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(labels)
			lbl := ""
			if len(labels) > 0 {
				lbl = "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				s.values[name+lbl] = m.Counter.GetValue()
			case m.Gauge != nil:
				s.values[name+lbl] = m.Gauge.GetValue()
			case m.Untyped != nil:
				s.values[name+lbl] = m.Untyped.GetValue()
			case m.Histogram != nil:
				s.values[name+"_count"+lbl] = float64(m.Histogram.GetSampleCount())
				s.values[name+"_sum"+lbl] = m.Histogram.GetSampleSum()
			case m.Summary != nil:
				s.values[name+"_count"+lbl] = float64(m.Summary.GetSampleCount())
				s.values[name+"_sum"+lbl] = m.Summary.GetSampleSum()
			}
		}
	}
	return s, nil
}

// has reports whether the metric family name is exposed.
func (s samples) has(name string) bool { _, ok := s.families[name]; return ok }

// v returns one series, keyed as in samples, or -1 if it is absent.
func (s samples) v(key string) float64 {
	if x, ok := s.values[key]; ok {
		return x
	}
	return -1
}

// sum adds up every series of a counter or gauge family.
func (s samples) sum(name string) float64 {
	total := 0.0
	for k, x := range s.values {
		if k == name || strings.HasPrefix(k, name+"{") {
			total += x
		}
	}
	return total
}

func (s samples) String() string {
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		if strings.HasPrefix(k, "sqsfleet_") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %g\n", k, s.values[k])
	}
	return b.String()
}

// consistently checks cond every 50ms until d has passed since now and fails
// the test the first time it does not hold.
func consistently(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeScript writes an sh script and returns the handler command for it.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(path, " \t") {
		t.Fatalf("script path %q has spaces; SQSFLEET_HANDLER_COMMAND splits on them", path)
	}
	return "sh " + path
}

// recordLines returns the non-empty lines of a record file.
func recordLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// tally counts lines per value.
func tally(ls []string) map[string]int {
	m := map[string]int{}
	for _, l := range ls {
		m[l]++
	}
	return m
}

// readPids reads a file of pids written by handler scripts (echo $$ >> file).
func readPids(t *testing.T, path string) []int {
	t.Helper()
	var out []int
	for _, l := range recordLines(t, path) {
		pid, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("pid file %s: %q", path, l)
		}
		out = append(out, pid)
	}
	return out
}

// killGroups SIGKILLs the process group and the process of every pid listed
// in path; for handler processes the daemon started (each leads its own
// group) and that outlived it.
func killGroups(t *testing.T, path string) {
	t.Helper()
	for _, pid := range readPids(t, path) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processGone reports whether pid no longer runs. PID 1 in the test
// container may not reap orphans, so a zombie counts as gone.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE ...; comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st == 'Z' || st == 'X'
}

// procStatusKiB reads a "Vm..." field of /proc/PID/status in KiB.
func procStatusKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.Atoi(f[0])
				if err == nil {
					return n
				}
			}
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// alive reports whether the daemon process has not exited.
func (d *daemon) alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// countLogged counts the daemon's log lines that contain s.
func (d *daemon) countLogged(s string) int {
	n := 0
	for _, l := range d.stderr.all() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// startNoisyDaemon is startDaemon for daemons whose handlers write huge
// amounts of output to the daemon's stderr: it keeps only the daemon's own
// JSON log lines (any line starting with '{' that fits in 64 KiB), counts
// every byte, and never stops draining the pipe, whatever the line lengths.
func startNoisyDaemon(t *testing.T, emu *fauxqs.Server, env ...string) (*daemon, *atomic.Int64) {
	t.Helper()
	cmd := exec.Command(binPath, "run")
	cmd.Env = append(append(os.Environ(), emu.Env()...), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var total atomic.Int64
	var read sync.WaitGroup
	read.Go(func() {
		r := bufio.NewReaderSize(stderr, 64<<10)
		skipping := false // inside an over-long line
		for {
			line, err := r.ReadSlice('\n')
			total.Add(int64(len(line)))
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				skipping = true
				continue
			case !skipping && len(line) > 0 && line[0] == '{':
				d.stderr.add(strings.TrimRight(string(line), "\n"))
			}
			skipping = false
			if err != nil {
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
	})
	go func() { read.Wait(); d.err = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("daemon log (own lines only):\n%s", d.log())
		}
	})
	return d, &total
}
