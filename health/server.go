package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Snapshot is what the engine reports about itself.
type Snapshot struct {
	Started        bool      // start-up checks passed and the engine runs
	Draining       bool      // shutdown has begun
	InFlight       int       // messages held
	LastSQSSuccess time.Time // last SQS request that succeeded; zero if none yet
	// Wedged, when not empty, says why the engine cannot make progress.
	Wedged string
}

// Source reports the engine's state. It must be cheap and must not block:
// health probes come every few seconds and have short timeouts.
type Source interface {
	Snapshot() Snapshot
}

// SourceFunc adapts a function to Source.
type SourceFunc func() Snapshot

// Snapshot calls f.
func (f SourceFunc) Snapshot() Snapshot { return f() }

// Config configures a Server.
type Config struct {
	Addr           string              // listen address, e.g. ":8080"
	UnhealthyAfter time.Duration       // no SQS success for this long = unhealthy; default 60s
	Source         Source              // required
	Gatherer       prometheus.Gatherer // nil: /metrics is not served
	Logger         *zap.Logger
	Now            func() time.Time
	// StartedAt is when the process started: before any SQS call succeeded,
	// unhealthy_after counts from here, so a daemon that never reaches SQS
	// turns unhealthy instead of staying healthy forever.
	StartedAt time.Time
}

// Server serves the health and metrics endpoints.
type Server struct {
	cfg  Config
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Body is the JSON body of /healthz and /readyz.
type Body struct {
	Status                 string   `json:"status"` // "ok", "unhealthy", "starting", "draining"
	SecondsSinceSQSSuccess *float64 `json:"seconds_since_sqs_success"`
	InFlight               int      `json:"inflight"`
	Draining               bool     `json:"draining"`
	Reason                 string   `json:"reason,omitempty"`
}

// New returns a Server; Start binds it.
func New(cfg Config) (*Server, error) {
	if cfg.Source == nil {
		return nil, errors.New("health: Config.Source is required")
	}
	if cfg.UnhealthyAfter <= 0 {
		cfg.UnhealthyAfter = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StartedAt.IsZero() {
		cfg.StartedAt = cfg.Now()
	}
	s := &Server{cfg: cfg, done: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			Timeout:             5 * time.Second,
			MaxRequestsInFlight: 4,
		}))
	}
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	return s, nil
}

// Start listens on Addr and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("health: listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Stop shuts the server down, waiting for requests in progress up to ctx.
func (s *Server) Stop(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; err == nil {
		err = serr
	}
	return err
}

// Live evaluates liveness now.
func (s *Server) Live() (Body, bool) {
	snap := s.cfg.Source.Snapshot()
	now := s.cfg.Now()
	b := Body{Status: "ok", InFlight: snap.InFlight, Draining: snap.Draining}
	since := s.cfg.StartedAt
	if !snap.LastSQSSuccess.IsZero() {
		d := now.Sub(snap.LastSQSSuccess).Seconds()
		b.SecondsSinceSQSSuccess = &d
		since = snap.LastSQSSuccess
	}
	switch {
	case now.Sub(since) >= s.cfg.UnhealthyAfter:
		b.Status = "unhealthy"
		b.Reason = fmt.Sprintf("no successful SQS call for %s", now.Sub(since).Truncate(time.Second))
	case snap.Wedged != "":
		b.Status = "unhealthy"
		b.Reason = snap.Wedged
	}
	return b, b.Status == "ok"
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	b, ok := s.Live()
	write(w, b, ok)
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	b, ok := s.Live()
	snap := s.cfg.Source.Snapshot()
	switch {
	case snap.Draining:
		b.Status, ok = "draining", false
	case !snap.Started:
		b.Status, ok = "starting", false
	}
	write(w, b, ok)
}

func write(w http.ResponseWriter, b Body, ok bool) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(b)
}
