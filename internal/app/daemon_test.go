package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// probe GETs http://addr/path and returns the status code and the body's
// status field; code 0 while nothing listens yet. It takes no *testing.T:
// testing's own lock would order the probes after the daemon's log writes
// and hide the race from the detector.
func probe(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var b struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return -1, err.Error()
	}
	return resp.StatusCode, b.Status
}

// TestProbesDuringStartDoNotRace probes the daemon while it is starting:
// the health server listens before the pool exists, so probes and start-up
// race for the pool unless it is published safely.
//
// Over HTTP alone the race detector sees it only by luck: it counts every
// read and write system call as a synchronisation (syscall's ioSync), so a
// probe is ordered with the start-up by the I/O around it unless it is in
// flight in the very moment the pool is built. So besides the HTTP probes,
// a reader calls the health server's source (d.snapshot) back to back, with
// no I/O, from before SQS is let through until the daemon is ready: it is
// concurrent with the pool's construction every time. SQS is held behind a
// gate first, so that "starting" is certainly seen.
func TestProbesDuringStartDoNotRace(t *testing.T) {
	emu := fauxqs.Start(t)
	queueURL := emu.CreateQueue(t, "start", nil)
	target, err := url.Parse(emu.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	t.Cleanup(release)
	proxy := httputil.NewSingleHostReverseProxy(target)
	sqsFront := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(sqsFront.Close)
	awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_SQS": sqsFront.URL})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	cfg := config.Defaults()
	cfg.Queue.URL = queueURL
	cfg.Queue.WaitTime = time.Second
	cfg.HTTP.Addr = addr
	cfg.Handler.Type = "exec"
	cfg.Handler.Command = []string{"true"}
	// A no-op logger: a logger with a lock shared with the probers would
	// order them, as testing's does.
	d := &daemon{cfg: cfg, log: zap.NewNop(), startedAt: time.Now()}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- d.run(ctx, make(chan struct{})) }()

	// Starting: SQS does not answer yet, so the pool cannot exist.
	wait.For(t, 15*time.Second, "the health server", func() bool { code, _ := probe(addr, "/readyz"); return code != 0 })
	if code, status := probe(addr, "/readyz"); code != http.StatusServiceUnavailable || status != "starting" {
		t.Errorf("/readyz while starting = %d %q, want 503 starting", code, status)
	}
	if code, status := probe(addr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while starting = %d %q, want 200", code, status)
	}

	// The health server answered, so the reader starts after everything
	// the daemon set up before the server listened, as a probe would.
	ready := make(chan struct{})
	reading := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		first := true
		for {
			select {
			case <-ready:
				return
			default:
			}
			d.snapshot()
			if first {
				close(reading)
				first = false
			}
		}
	})
	<-reading
	release()
	wait.For(t, 15*time.Second, "ready", func() bool { code, _ := probe(addr, "/readyz"); return code == http.StatusOK })
	close(ready)
	reader.Wait()
	if code, status := probe(addr, "/healthz"); code != http.StatusOK || status != "ok" {
		t.Errorf("/healthz when running = %d %q, want 200 ok", code, status)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop within 30s")
	}
}
