package faults

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is what happens to one request.
type Kind int

// The kinds of fault, in the order Decide tries them for one draw.
const (
	None Kind = iota
	Throttle
	ServerError
	Reset
	Lost
	Delay
)

var kindNames = [...]string{None: "none", Throttle: "throttle", ServerError: "server_error", Reset: "reset", Lost: "lost", Delay: "delay"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// ParseKind is the inverse of Kind.String, for flags and config files.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s && Kind(k) != None {
			return Kind(k), nil
		}
	}
	return None, fmt.Errorf("unknown fault kind %q (want throttle, server_error, reset, lost or delay)", s)
}

// Rule injects one kind of fault into a fraction of requests.
type Rule struct {
	Kind Kind
	// Rate is the probability, 0 to 1, that a request gets this fault.
	Rate float64
	// Op limits the rule to one operation (an SQS action name such as
	// "ReceiveMessage"); "" applies it to every operation.
	Op string
}

// Config configures a Model. The zero value injects nothing.
type Config struct {
	// Seed makes the sequence of decisions reproducible; the same seed and
	// the same sequence of operations give the same faults.
	Seed uint64
	// Rules are the faults to inject. For any one operation the rates of
	// the rules that apply to it must add up to at most 1.
	Rules []Rule
	// MaxDelay bounds a Delay fault's hold, drawn uniformly from (0,
	// MaxDelay]. Required when a rule has Kind Delay.
	MaxDelay time.Duration
	// Latency is added to every request, faulty or not (0: none).
	Latency time.Duration
}

// Fault is the decision for one request.
type Fault struct {
	Kind Kind
	// Hold is how long to hold the request before acting on the decision:
	// Config.Latency plus, for Delay, the drawn delay.
	Hold time.Duration
}

// Model decides per request and counts. It is safe for concurrent use.
type Model struct {
	seed     uint64 // cfg.Seed, readable without the lock
	mu       sync.Mutex
	cfg      Config
	rng      *rand.Rand
	requests map[string]int
	faults   map[string]map[Kind]int
}

// New returns a model for cfg, or an error naming the bad rule.
func New(cfg Config) (*Model, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	cfg.Rules = slices.Clone(cfg.Rules)
	return &Model{
		seed: cfg.Seed,
		cfg:  cfg,
		// PCG with the seed in both words: a seed fully determines the
		// stream, which is what makes a failing run replayable.
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed)),
		requests: map[string]int{},
		faults:   map[string]map[Kind]int{},
	}, nil
}

// MustNew is New for tests and fixed configurations: it panics on a bad
// configuration, a programmer error.
func MustNew(cfg Config) *Model {
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

func validate(cfg Config) error {
	global := 0.0
	perOp := map[string]float64{}
	for i, r := range cfg.Rules {
		if r.Kind <= None || r.Kind > Delay {
			return fmt.Errorf("faults: rule %d: bad kind %v", i, r.Kind)
		}
		if !(r.Rate >= 0 && r.Rate <= 1) { // also rejects NaN
			return fmt.Errorf("faults: rule %d (%v): rate %v is not within 0..1", i, r.Kind, r.Rate)
		}
		if r.Kind == Delay && cfg.MaxDelay <= 0 {
			return fmt.Errorf("faults: rule %d: a delay rule needs MaxDelay > 0", i)
		}
		if r.Op == "" {
			global += r.Rate
		} else {
			perOp[r.Op] += r.Rate
		}
	}
	const slack = 1e-9 // 0.1+0.2+0.7 must pass
	if global > 1+slack {
		return fmt.Errorf("faults: rates for every operation add up to %v, more than 1", global)
	}
	for op, sum := range perOp {
		if global+sum > 1+slack {
			return fmt.Errorf("faults: rates for %s add up to %v, more than 1", op, global+sum)
		}
	}
	if cfg.Latency < 0 {
		return fmt.Errorf("faults: negative latency %v", cfg.Latency)
	}
	return nil
}

// SetRules replaces the rules, keeping the random stream and the counters,
// so a test can turn faults on and off between phases.
func (m *Model) SetRules(rules ...Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg := m.cfg
	cfg.Rules = slices.Clone(rules)
	if err := validate(cfg); err != nil {
		return err
	}
	m.cfg = cfg
	return nil
}

// Decide draws the fault for one request of op and counts it. A nil Model
// decides None, so callers need no nil check.
func (m *Model) Decide(op string) Fault {
	if m == nil {
		return Fault{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[op]++
	f := Fault{Hold: m.cfg.Latency}
	// One uniform draw per request, walked through the rules that apply:
	// the rates are then exact and independent of how many rules there are.
	u := m.rng.Float64()
	acc := 0.0
	for _, r := range m.cfg.Rules {
		if r.Op != "" && r.Op != op {
			continue
		}
		acc += r.Rate
		if u < acc {
			f.Kind = r.Kind
			break
		}
	}
	if f.Kind == Delay {
		f.Hold += time.Duration(m.rng.Int64N(int64(m.cfg.MaxDelay))) + 1
	}
	if f.Kind != None {
		if m.faults[op] == nil {
			m.faults[op] = map[Kind]int{}
		}
		m.faults[op][f.Kind]++
	}
	return f
}

// OpStats is what happened to one operation's requests.
type OpStats struct {
	Requests int
	Faults   map[Kind]int
}

// Stats returns the counters by operation.
func (m *Model) Stats() map[string]OpStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]OpStats, len(m.requests))
	for op, n := range m.requests {
		fs := make(map[Kind]int, len(m.faults[op]))
		for k, v := range m.faults[op] {
			fs[k] = v
		}
		out[op] = OpStats{Requests: n, Faults: fs}
	}
	return out
}

// Report is the counters as text, one operation a line in name order, for
// a log line or a test's output on exit.
func (m *Model) Report() string {
	stats := m.Stats()
	ops := make([]string, 0, len(stats))
	for op := range stats {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "faults (seed %d):\n", m.seed)
	for _, op := range ops {
		s := stats[op]
		fmt.Fprintf(&b, "  %-30s %6d requests", op, s.Requests)
		for k := Throttle; k <= Delay; k++ {
			if n := s.Faults[k]; n > 0 {
				fmt.Fprintf(&b, "  %s %d", k, n)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
