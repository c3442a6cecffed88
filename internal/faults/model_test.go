package faults

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDecideRatesPerKindAndOperation(t *testing.T) {
	m := MustNew(Config{Seed: 7, MaxDelay: time.Second, Rules: []Rule{
		{Kind: Throttle, Rate: 0.10},
		{Kind: Lost, Rate: 0.05, Op: "ReceiveMessage"},
		{Kind: Delay, Rate: 0.20, Op: "SendMessage"},
	}})
	const n = 50000
	for range n {
		m.Decide("ReceiveMessage")
		if f := m.Decide("SendMessage"); f.Kind == Delay && (f.Hold <= 0 || f.Hold > time.Second) {
			t.Fatalf("delay hold %v outside (0, 1s]", f.Hold)
		}
	}
	st := m.Stats()
	near := func(what string, got int, want float64) {
		t.Helper()
		// Five standard deviations of a binomial: fails by chance about
		// once in 3.5 million seeds, and the seed is fixed.
		sd := math.Sqrt(n * want * (1 - want))
		if math.Abs(float64(got)-n*want) > 5*sd {
			t.Errorf("%s: %d of %d, want about %.0f", what, got, n, n*want)
		}
	}
	near("ReceiveMessage throttles", st["ReceiveMessage"].Faults[Throttle], 0.10)
	near("ReceiveMessage lost", st["ReceiveMessage"].Faults[Lost], 0.05)
	near("SendMessage throttles", st["SendMessage"].Faults[Throttle], 0.10)
	near("SendMessage delays", st["SendMessage"].Faults[Delay], 0.20)
	if got := st["ReceiveMessage"].Faults[Delay]; got != 0 {
		t.Errorf("a SendMessage-only rule hit ReceiveMessage %d times", got)
	}
	if got := st["SendMessage"].Faults[Lost]; got != 0 {
		t.Errorf("a ReceiveMessage-only rule hit SendMessage %d times", got)
	}
	if st["ReceiveMessage"].Requests != n || st["SendMessage"].Requests != n {
		t.Errorf("requests counted %+v, want %d each", st, n)
	}
	rep := m.Report()
	if !strings.Contains(rep, "seed 7") || !strings.Contains(rep, "ReceiveMessage") || !strings.Contains(rep, "lost ") {
		t.Errorf("report lacks seed, operation or kind:\n%s", rep)
	}
}

func TestDecideIsReproducibleFromTheSeed(t *testing.T) {
	seq := func(seed uint64) string {
		m := MustNew(Config{Seed: seed, MaxDelay: time.Millisecond, Rules: []Rule{
			{Kind: Throttle, Rate: 0.2}, {Kind: Reset, Rate: 0.2}, {Kind: Delay, Rate: 0.2},
		}})
		var b strings.Builder
		for i := range 200 {
			f := m.Decide([]string{"A", "B"}[i%2])
			b.WriteString(f.Kind.String())
			b.WriteString(f.Hold.String())
		}
		return b.String()
	}
	if seq(1) != seq(1) {
		t.Error("the same seed gave two sequences")
	}
	if seq(1) == seq(2) {
		t.Error("two seeds gave the same sequence")
	}
}

func TestLatencyAndSetRules(t *testing.T) {
	m := MustNew(Config{Latency: 3 * time.Millisecond})
	if f := m.Decide("X"); f.Kind != None || f.Hold != 3*time.Millisecond {
		t.Errorf("no rules: %+v, want None held 3ms", f)
	}
	if err := m.SetRules(Rule{Kind: ServerError, Rate: 1, Op: "X"}); err != nil {
		t.Fatal(err)
	}
	if f := m.Decide("X"); f.Kind != ServerError {
		t.Errorf("rate 1: %v", f.Kind)
	}
	if f := m.Decide("Y"); f.Kind != None {
		t.Errorf("other op: %v", f.Kind)
	}
	if err := m.SetRules(); err != nil || m.Decide("X").Kind != None {
		t.Error("clearing the rules did not stop the faults")
	}
	if got := m.Stats()["X"]; got.Requests != 3 || got.Faults[ServerError] != 1 {
		t.Errorf("counters across SetRules: %+v", got)
	}
	var nilModel *Model
	if f := nilModel.Decide("X"); f != (Fault{}) {
		t.Errorf("nil model decided %+v", f)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"rate above 1":      {Rules: []Rule{{Kind: Throttle, Rate: 1.5}}},
		"negative rate":     {Rules: []Rule{{Kind: Throttle, Rate: -0.1}}},
		"NaN rate":          {Rules: []Rule{{Kind: Throttle, Rate: math.NaN()}}},
		"sum above 1":       {Rules: []Rule{{Kind: Throttle, Rate: 0.6}, {Kind: Reset, Rate: 0.6}}},
		"op sum above 1":    {Rules: []Rule{{Kind: Throttle, Rate: 0.6}, {Kind: Reset, Rate: 0.6, Op: "A"}}},
		"delay without max": {Rules: []Rule{{Kind: Delay, Rate: 0.1}}},
		"kind none":         {Rules: []Rule{{Kind: None, Rate: 0.1}}},
		"negative latency":  {Latency: -time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{Rules: []Rule{{Kind: Throttle, Rate: 0.1}, {Kind: Reset, Rate: 0.2}, {Kind: Lost, Rate: 0.7}}}); err != nil {
		t.Errorf("rates adding up to exactly 1 refused: %v", err)
	}
	for _, k := range []Kind{Throttle, ServerError, Reset, Lost, Delay} {
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, err)
		}
	}
	if _, err := ParseKind("none"); err == nil {
		t.Error("ParseKind accepted none")
	}
}
