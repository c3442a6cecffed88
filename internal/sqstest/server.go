package sqstest

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faults"
)

// SQS's limits, from the API reference.
const (
	MaxVisibility      = 12 * time.Hour   // VisibilityTimeout and the total from receive
	DedupWindow        = 5 * time.Minute  // FIFO deduplication and ReceiveRequestAttemptId
	MaxBatch           = 10               // entries per batch call
	MaxWaitSeconds     = 20               // WaitTimeSeconds
	MaxDelaySeconds    = 900              // DelaySeconds
	DefaultMaxSize     = 1 << 20          // MaximumMessageSize default and maximum (1 MiB since 2025)
	MinMaxSize         = 1024             // MaximumMessageSize minimum
	MaxAttributes      = 10               // message attributes per message
	defaultVisibility  = 30               // seconds
	defaultRetention   = 4 * 24 * 60 * 60 // seconds
	maxEntryIDLength   = 80
	maxQueueNameLength = 80
)

// StaleDelete is what DeleteMessage does with a receipt handle of an
// earlier receive of a message (AWS: "the request will still succeed, but
// the message might not be deleted").
type StaleDelete int

const (
	// StaleDeleteIgnored: the call succeeds and the message stays. The
	// consumer cannot learn that its delete did nothing.
	StaleDeleteIgnored StaleDelete = iota
	// StaleDeleteInvalid: the entry fails with ReceiptHandleIsInvalid.
	StaleDeleteInvalid
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Clock is the double's time (nil: real time).
	Clock Clock
	// Faults is the fault model applied to every call (nil: none).
	Faults *faults.Model
	// Region and Account appear in queue URLs and ARNs (us-east-1 and
	// 000000000000 by default).
	Region, Account string
	// URLBase prefixes queue URLs (default https://sqs.REGION.amazonaws.com).
	// Queues are found by the URL's last path segment, so URLs of another
	// base work too, as with fauxqs.
	URLBase string
	// MaxWait caps a long poll's wait, in real time, so tests need not wait
	// 20 s for an empty receive (0: no cap).
	MaxWait time.Duration
	// StaleDelete chooses how DeleteMessage treats a receipt handle of an
	// earlier receive (default StaleDeleteIgnored).
	StaleDelete StaleDelete
	// Seed makes message ids and receipt handles reproducible.
	Seed uint64
}

// Server is the in-memory SQS. It is safe for concurrent use.
type Server struct {
	cfg    Config
	clock  Clock
	manual bool // clock calls back on moves; no real timers for visibility

	mu       sync.Mutex
	rng      *rand.Rand
	queues   map[string]*queue // by name
	receipts map[string]*message
	changed  chan struct{} // closed and replaced on every state change
	calls    []Call
}

// New returns an empty double.
func New(cfg Config) *Server {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.URLBase == "" {
		cfg.URLBase = "https://sqs." + cfg.Region + ".amazonaws.com"
	}
	cfg.URLBase = strings.TrimSuffix(cfg.URLBase, "/")
	s := &Server{
		cfg:      cfg,
		clock:    cfg.Clock,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5157)),
		queues:   map[string]*queue{},
		receipts: map[string]*message{},
		changed:  make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if sub, ok := s.clock.(interface{ Subscribe(func()) }); ok {
		s.manual = true
		sub.Subscribe(s.Wake)
	}
	return s
}

// Faults returns the fault model (nil if none).
func (s *Server) Faults() *faults.Model { return s.cfg.Faults }

// Now is the double's time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Wake makes every long poll look again, e.g. after a clock that cannot
// call back has moved.
func (s *Server) Wake() {
	s.mu.Lock()
	s.bumpLocked()
	s.mu.Unlock()
}

// Changed returns a channel closed at the next state change (a call, a
// message sent or settled, a clock move): waiters re-check their condition.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) bumpLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Call is the record of one call.
type Call struct {
	Seq     int
	Op      string // SQS action name
	Queue   string // queue name, "" when unknown
	At      time.Time
	Fault   faults.Kind
	Entries int // batch entries, or messages returned by a receive
	Err     error
}

// Calls returns the record of every call of the given operations (all when
// none are given).
func (s *Server) Calls(ops ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(ops) == 0 || slices.Contains(ops, c.Op) {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) recordLocked(op, queueURL string, f faults.Kind, entries int, err error) {
	s.calls = append(s.calls, Call{
		Seq: len(s.calls) + 1, Op: op, Queue: nameOf(queueURL), At: s.clock.Now(),
		Fault: f, Entries: entries, Err: err,
	})
	s.bumpLocked()
}

func (s *Server) record(op, queueURL string, f faults.Kind, entries int, err error) {
	s.mu.Lock()
	s.recordLocked(op, queueURL, f, entries, err)
	s.mu.Unlock()
}

// nameOf is the queue name in a URL: its last path segment.
func nameOf(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// inject applies the fault model to one Go API call. It returns the kind
// decided and, for refusals, the error to return without acting.
func (s *Server) inject(ctx context.Context, op string) (faults.Kind, error) {
	f := s.cfg.Faults.Decide(op)
	if f.Hold > 0 {
		t := time.NewTimer(f.Hold)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return f.Kind, ctx.Err()
		}
	}
	switch f.Kind {
	case faults.Throttle:
		return f.Kind, throttled()
	case faults.ServerError:
		return f.Kind, internalError()
	case faults.Reset:
		return f.Kind, ErrConnectionReset
	}
	return f.Kind, nil
}

// call runs one Go API call: fault, action, record. A lost response runs the
// action and then reports ErrResponseLost.
func call[T any](s *Server, ctx context.Context, op, queueURL string, do func() (T, int, error)) (T, error) {
	var zero T
	kind, err := s.inject(ctx, op)
	if err != nil {
		s.record(op, queueURL, kind, 0, err)
		return zero, err
	}
	out, n, err := do()
	if err == nil && kind == faults.Lost {
		err = ErrResponseLost
		out = zero
	}
	s.record(op, queueURL, kind, n, err)
	return out, err
}

func (s *Server) newID() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newReceiptLocked returns a fresh, opaque receipt handle for m.
func (s *Server) newReceiptLocked(m *message) string {
	b := make([]byte, 48)
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	rh := base64.StdEncoding.EncodeToString(b)
	s.receipts[rh] = m
	return rh
}
