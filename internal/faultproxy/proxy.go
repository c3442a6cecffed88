package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faults"
)

// Config configures a Proxy.
type Config struct {
	// Upstream is the SQS endpoint requests are forwarded to, e.g. the
	// emulator's http://127.0.0.1:PORT (required).
	Upstream string
	// Faults is the fault model's configuration (seed, rules, maximum
	// delay, fixed latency); the zero value forwards every request as is
	// and only counts.
	Faults faults.Config
	// OnReceive, if set, is called for every ReceiveMessage response that
	// reached the client with at least one message, with the message ids
	// and the time the proxy finished sending it. Lost responses are not
	// reported: the client never saw them. It must be fast; it runs on
	// the request's goroutine.
	OnReceive func(ids []string, at time.Time)
	// OnLostReceive, if set, is called for every ReceiveMessage whose
	// response carried messages and was then lost (the fault kind Lost:
	// SQS acted, the client never heard), with the ids and the time the
	// connection was closed. Those messages stay hidden for their
	// visibility timeout whatever the client does; this is what tells a
	// drain's unavoidable wait from the daemon's own.
	OnLostReceive func(ids []string, at time.Time)
}

// Proxy forwards SQS requests, injecting faults, and counts. It is an
// http.Handler; Listen serves one on a loopback port.
type Proxy struct {
	model     *faults.Model
	seed      uint64
	inner     http.Handler
	onReceive func([]string, time.Time)
	onLost    func([]string, time.Time)
	transport *http.Transport

	mu  sync.Mutex
	ops map[string]*counts
	// throttledAt is when each invocation's latest attempt was answered
	// with a throttle, until its next attempt arrives (or never, when the
	// client gave up: bounded by dropping final attempts, see ServeHTTP).
	throttledAt map[string]time.Time
}

type counts struct {
	requests, retries, throttled, retriesAfterThrottle, upstreamErrors int
	backoffSum, backoffMax                                             time.Duration
}

// New returns a proxy for cfg, or an error naming what is wrong.
func New(cfg Config) (*Proxy, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q is not an absolute URL", cfg.Upstream)
	}
	m, err := faults.New(cfg.Faults)
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		model:       m,
		seed:        cfg.Faults.Seed,
		onReceive:   cfg.OnReceive,
		onLost:      cfg.OnLostReceive,
		ops:         map[string]*counts{},
		throttledAt: map[string]time.Time{},
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Every client connection may hold a 20-second long poll upstream;
	// the default of 2 idle connections per host would make the proxy
	// open and close connections all the time under a busy daemon, a cost
	// real SQS does not have. No compression: the body of a receive is
	// read for OnReceive, and the emulator sends it plain anyway.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 1024
	tr.DisableCompression = true
	p.transport = tr
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// The SDK signed the request for the Host it sent it to; an
			// upstream that checks signatures must see that Host.
			r.Out.Host = r.In.Host
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// A client that hung up (a daemon cancelling its long polls at
			// shutdown) is not an upstream failure.
			if r.Context().Err() == nil {
				p.count(faults.TargetOperation(r), func(c *counts) { c.upstreamErrors++ })
			}
			faults.ErrorResponse{Status: http.StatusBadGateway, Type: "BadGateway",
				Message: "faultproxy: upstream: " + err.Error()}.Write(w)
		},
	}
	// The body of a receive is copied below the fault middleware, so that
	// a response the middleware then loses is seen too.
	copyBody := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if buf, ok := r.Context().Value(bodyCopyKey{}).(*bytes.Buffer); ok {
			w = &teeWriter{ResponseWriter: w, copy: buf}
		}
		rp.ServeHTTP(w, r)
	})
	p.inner = faults.Middleware(m, faults.TargetOperation, faults.SQSThrottled, faults.SQSInternalError, copyBody)
	return p, nil
}

// Model is the proxy's fault model, for changing its rules between phases
// (faults.Model.SetRules keeps the seed's stream and the counters).
func (p *Proxy) Model() *faults.Model { return p.model }

// CloseIdleConnections closes the proxy's idle connections to the upstream.
func (p *Proxy) CloseIdleConnections() { p.transport.CloseIdleConnections() }

func (p *Proxy) count(op string, f func(*counts)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.ops[op]
	if c == nil {
		c = &counts{}
		p.ops[op] = c
	}
	f(c)
}

// ServeHTTP counts the request, lets the fault model decide its fate, and
// forwards it (or not).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := faults.TargetOperation(r)
	attempt, maxAttempts := sdkAttempt(r.Header.Get("Amz-Sdk-Request"))
	inv := r.Header.Get("Amz-Sdk-Invocation-Id")
	arrived := time.Now()
	p.count(op, func(c *counts) {
		c.requests++
		if attempt > 1 {
			c.retries++
		}
		if inv == "" {
			return
		}
		if t, ok := p.throttledAt[inv]; ok {
			delete(p.throttledAt, inv)
			if attempt > 1 {
				c.retriesAfterThrottle++
				b := arrived.Sub(t)
				c.backoffSum += b
				c.backoffMax = max(c.backoffMax, b)
			}
		}
	})

	// The upstream gets an in-memory copy of the body, not the client's
	// connection. Streaming it made the transport now and then close its
	// connection to the emulator while the response was still being read
	// ("ReverseProxy read error during body copy ... use of closed network
	// connection", about one run in four of the bench's c=64 +15ms
	// latency run): a receive's messages were then hidden for a visibility
	// timeout with no fault injected, the same failure the daemon's SQS
	// client had with the SDK's bodies (worker/awssqs/bodyguard.go).
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away mid-request
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	rec := &recorder{ResponseWriter: w}
	var body *bytes.Buffer
	if op == "ReceiveMessage" && (p.onReceive != nil || p.onLost != nil) {
		body = &bytes.Buffer{}
		r = r.WithContext(context.WithValue(r.Context(), bodyCopyKey{}, body))
	}
	p.inner.ServeHTTP(rec, r)
	if rec.hijacked {
		// Reset or lost: the client got no answer. After a reset the copy
		// is empty (nothing was forwarded).
		if ids := messageIDs(body); len(ids) > 0 && p.onLost != nil {
			p.onLost(ids, time.Now())
		}
		return
	}
	if isThrottle(rec.status, rec.Header()) {
		p.count(op, func(c *counts) {
			c.throttled++
			// The client's final attempt gets no retry; remembering it
			// would only grow the map.
			if inv != "" && (maxAttempts == 0 || attempt < maxAttempts) {
				p.throttledAt[inv] = time.Now()
			}
		})
	}
	if p.onReceive != nil && rec.status == http.StatusOK && rec.Header().Get("Content-Encoding") == "" {
		if ids := messageIDs(body); len(ids) > 0 {
			// The response is complete only once it has left net/http's
			// buffer; the wait a consumer adds starts there.
			_ = http.NewResponseController(w).Flush() // a failed flush shows as the client's error
			p.onReceive(ids, time.Now())
		}
	}
}

// messageIDs are the ids of the messages in a copied ReceiveMessage
// response (JSON protocol), none for anything else.
func messageIDs(body *bytes.Buffer) []string {
	if body == nil || body.Len() == 0 {
		return nil
	}
	var out struct{ Messages []struct{ MessageId string } }
	if json.Unmarshal(body.Bytes(), &out) != nil {
		return nil
	}
	ids := make([]string, len(out.Messages))
	for i, m := range out.Messages {
		ids[i] = m.MessageId
	}
	return ids
}

type bodyCopyKey struct{}

// teeWriter copies a response body as it is written.
type teeWriter struct {
	http.ResponseWriter
	copy *bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) {
	t.copy.Write(b)
	return t.ResponseWriter.Write(b)
}

// Unwrap keeps http.ResponseController's flushes reaching the connection.
func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// sdkAttempt parses aws-sdk-go-v2's Amz-Sdk-Request header, "attempt=2;
// max=3" (max may be missing); 0 for what is not there.
func sdkAttempt(h string) (attempt, maxAttempts int) {
	for part := range strings.SplitSeq(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch k {
		case "attempt":
			attempt = n
		case "max":
			maxAttempts = n
		}
	}
	return attempt, maxAttempts
}

// isThrottle tells a throttling answer, injected or the upstream's own, by
// the query error code SQS's JSON protocol sends in a header (and the SDK
// reads). The codes are those of the SDK's retry.DefaultThrottleErrorCodes
// that SQS can answer with.
func isThrottle(status int, h http.Header) bool {
	if status < 400 {
		return false
	}
	code, _, _ := strings.Cut(h.Get("X-Amzn-Query-Error"), ";")
	switch code {
	case "RequestThrottled", "ThrottlingException", "Throttling", "TooManyRequestsException":
		return true
	}
	return false
}

// recorder remembers the status of the response and lets the fault middleware hijack the connection for a reset.
type recorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Hijack is what faults.Middleware's reset and lost faults use to close the
// connection without an answer.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("faultproxy: connection cannot be hijacked")
	}
	r.hijacked = true
	return hj.Hijack()
}

// Unwrap lets http.ResponseController (the reverse proxy's flushes) reach
// the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// OpStats is what the proxy saw of one operation.
type OpStats struct {
	Requests int `json:"requests"`
	// Retries are requests with attempt > 1 in the SDK's Amz-Sdk-Request.
	Retries int `json:"retries"`
	// Faults are the injected faults by kind (throttle, server_error,
	// reset, lost, delay).
	Faults map[string]int `json:"faults,omitempty"`
	// Throttled counts throttling answers the clients received, injected
	// or the upstream's.
	Throttled int `json:"throttled"`
	// RetriesAfterThrottle counts retries whose previous attempt was
	// throttled, and Backoff* the time from that answer to the retry.
	RetriesAfterThrottle  int     `json:"retries_after_throttle"`
	BackoffAfterThrottleS float64 `json:"backoff_after_throttle_mean_s,omitempty"`
	BackoffMaxS           float64 `json:"backoff_after_throttle_max_s,omitempty"`
	// UpstreamErrors are requests the upstream did not answer (502 sent).
	UpstreamErrors int `json:"upstream_errors,omitempty"`
}

// RetriesPerThrottle is retries after a throttle per throttle: about 1
// when clients retry every throttled call once more (the last attempt of a
// call gets none), 0 when they give up at once.
func (s OpStats) RetriesPerThrottle() float64 {
	if s.Throttled == 0 {
		return 0
	}
	return float64(s.RetriesAfterThrottle) / float64(s.Throttled)
}

// Stats is everything the proxy counted, by operation and in total.
type Stats struct {
	Seed  uint64             `json:"seed"`
	Ops   map[string]OpStats `json:"operations"`
	Total OpStats            `json:"total"`
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	injected := p.model.Stats()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Seed: p.seed, Ops: make(map[string]OpStats, len(p.ops)), Total: OpStats{Faults: map[string]int{}}}
	var backoffSum time.Duration
	for op, c := range p.ops {
		o := OpStats{Requests: c.requests, Retries: c.retries, Throttled: c.throttled,
			RetriesAfterThrottle: c.retriesAfterThrottle, UpstreamErrors: c.upstreamErrors,
			BackoffMaxS: c.backoffMax.Seconds()}
		if c.retriesAfterThrottle > 0 {
			o.BackoffAfterThrottleS = c.backoffSum.Seconds() / float64(c.retriesAfterThrottle)
		}
		for k, n := range injected[op].Faults {
			if o.Faults == nil {
				o.Faults = map[string]int{}
			}
			o.Faults[k.String()] = n
			s.Total.Faults[k.String()] += n
		}
		s.Ops[op] = o
		t := &s.Total
		t.Requests += o.Requests
		t.Retries += o.Retries
		t.Throttled += o.Throttled
		t.RetriesAfterThrottle += o.RetriesAfterThrottle
		t.UpstreamErrors += o.UpstreamErrors
		t.BackoffMaxS = max(t.BackoffMaxS, o.BackoffMaxS)
		backoffSum += c.backoffSum
	}
	if s.Total.RetriesAfterThrottle > 0 {
		s.Total.BackoffAfterThrottleS = backoffSum.Seconds() / float64(s.Total.RetriesAfterThrottle)
	}
	return s
}

// Report is the counters as text, one operation a line in name order and a
// total, for printing on exit.
func (s Stats) Report() string {
	ops := make([]string, 0, len(s.Ops))
	for op := range s.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "faultproxy (seed %d):\n", s.Seed)
	line := func(name string, o OpStats) {
		fmt.Fprintf(&b, "  %-30s %7d requests %6d retries", name, o.Requests, o.Retries)
		for k := faults.Throttle; k <= faults.Delay; k++ {
			if n := o.Faults[k.String()]; n > 0 {
				fmt.Fprintf(&b, "  %s %d", k, n)
			}
		}
		if o.Throttled > 0 {
			fmt.Fprintf(&b, "  throttled answers %d, retried %d (%.2f per throttle, backoff mean %.0f ms, max %.0f ms)",
				o.Throttled, o.RetriesAfterThrottle, o.RetriesPerThrottle(), o.BackoffAfterThrottleS*1000, o.BackoffMaxS*1000)
		}
		if o.UpstreamErrors > 0 {
			fmt.Fprintf(&b, "  upstream errors %d", o.UpstreamErrors)
		}
		b.WriteByte('\n')
	}
	for _, op := range ops {
		line(op, s.Ops[op])
	}
	line("total", s.Total)
	return b.String()
}

// Server is a Proxy listening on a TCP address.
type Server struct {
	*Proxy
	// URL is where clients reach it, e.g. http://127.0.0.1:40123.
	URL string
	srv *http.Server
	ln  net.Listener
	wg  sync.WaitGroup
}

// Listen starts a proxy for cfg on addr ("127.0.0.1:0" for a free port).
func Listen(addr string, cfg Config) (*Server, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	s := &Server{Proxy: p, URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}}
	s.wg.Go(func() { _ = s.srv.Serve(ln) })
	return s, nil
}

// Close stops serving at once, closing every client connection (a pending
// long poll ends with a connection error), and waits for the server.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.wg.Wait()
	s.CloseIdleConnections()
	return err
}
