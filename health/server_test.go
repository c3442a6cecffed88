package health

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock and fakeSource let the liveness rules be checked at exact times.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type fakeSource struct {
	mu   sync.Mutex
	snap Snapshot
}

func (s *fakeSource) Snapshot() Snapshot    { s.mu.Lock(); defer s.mu.Unlock(); return s.snap }
func (s *fakeSource) set(f func(*Snapshot)) { s.mu.Lock(); f(&s.snap); s.mu.Unlock() }

func start(t *testing.T, src Source, clk *fakeClock) *Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "sqsfleet_test_total", Help: "t"}))
	s, err := New(Config{Addr: "127.0.0.1:0", UnhealthyAfter: time.Minute, Source: src, Gatherer: reg, Now: clk.Now, StartedAt: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func get(t *testing.T, s *Server, path string) (int, Body, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b Body
	if strings.HasSuffix(path, "z") {
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s body %q: %v", path, raw, err)
		}
	}
	return resp.StatusCode, b, string(raw)
}

func TestHealthzAndReadyz(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	src := &fakeSource{}
	s := start(t, src, clk)

	// Starting: alive (the grace of unhealthy_after runs from start), not ready.
	if code, b, _ := get(t, s, "/healthz"); code != 200 || b.Status != "ok" || b.SecondsSinceSQSSuccess != nil {
		t.Errorf("starting /healthz = %d %+v", code, b)
	}
	if code, b, _ := get(t, s, "/readyz"); code != 503 || b.Status != "starting" {
		t.Errorf("starting /readyz = %d %+v", code, b)
	}

	src.set(func(s *Snapshot) { s.Started = true; s.LastSQSSuccess = clk.Now(); s.InFlight = 3 })
	clk.advance(59 * time.Second)
	if code, b, _ := get(t, s, "/healthz"); code != 200 || b.InFlight != 3 || b.SecondsSinceSQSSuccess == nil || *b.SecondsSinceSQSSuccess != 59 {
		t.Errorf("running /healthz = %d %+v", code, b)
	}
	if code, _, _ := get(t, s, "/readyz"); code != 200 {
		t.Errorf("running /readyz = %d", code)
	}

	// No SQS success for unhealthy_after: both 503.
	clk.advance(time.Second)
	if code, b, _ := get(t, s, "/healthz"); code != 503 || b.Status != "unhealthy" || !strings.Contains(b.Reason, "SQS") {
		t.Errorf("SQS away /healthz = %d %+v", code, b)
	}
	if code, _, _ := get(t, s, "/readyz"); code != 503 {
		t.Errorf("SQS away /readyz = %d", code)
	}
	// SQS answers again: healthy by itself.
	src.set(func(s *Snapshot) { s.LastSQSSuccess = clk.Now() })
	if code, _, _ := get(t, s, "/healthz"); code != 200 {
		t.Errorf("SQS back /healthz = %d", code)
	}

	// Wedged engine: unhealthy with the reason.
	src.set(func(s *Snapshot) { s.Wedged = "all 10 handler slots busy" })
	if code, b, _ := get(t, s, "/healthz"); code != 503 || b.Reason != "all 10 handler slots busy" {
		t.Errorf("wedged /healthz = %d %+v", code, b)
	}
	src.set(func(s *Snapshot) { s.Wedged = "" })

	// Draining: alive, not ready.
	src.set(func(s *Snapshot) { s.Draining = true })
	if code, b, _ := get(t, s, "/healthz"); code != 200 || !b.Draining {
		t.Errorf("draining /healthz = %d %+v", code, b)
	}
	if code, b, _ := get(t, s, "/readyz"); code != 503 || b.Status != "draining" {
		t.Errorf("draining /readyz = %d %+v", code, b)
	}
}

func TestNeverStartedTurnsUnhealthy(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	s := start(t, &fakeSource{}, clk)
	clk.advance(time.Minute)
	if code, _, _ := get(t, s, "/healthz"); code != 503 {
		t.Errorf("/healthz = %d after a minute with no SQS success, want 503", code)
	}
}

func TestMetricsAndMethods(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	s := start(t, &fakeSource{}, clk)
	code, _, body := get(t, s, "/metrics")
	if code != 200 || !strings.Contains(body, "sqsfleet_test_total 0") {
		t.Errorf("/metrics = %d %q", code, body)
	}
	resp, err := http.Post("http://"+s.Addr()+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
}

func TestCheckAndURLFor(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9":      "http://127.0.0.1:9/healthz",
		"[::]:9":         "http://127.0.0.1:9/healthz",
		"10.1.2.3:8080":  "http://10.1.2.3:8080/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	} {
		if got := URLFor(addr); got != want {
			t.Errorf("URLFor(%q) = %q, want %q", addr, got, want)
		}
	}
	clk := &fakeClock{now: time.Now()}
	src := &fakeSource{}
	s := start(t, src, clk)
	if err := Check(context.Background(), "http://"+s.Addr()+"/healthz", 2*time.Second); err != nil {
		t.Errorf("Check healthy: %v", err)
	}
	src.set(func(s *Snapshot) { s.Wedged = "stuck" })
	if err := Check(context.Background(), "http://"+s.Addr()+"/healthz", 2*time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("Check wedged = %v, want a 503 error", err)
	}
}
