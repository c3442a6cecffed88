package sim

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func fixed(t *testing.T, d time.Duration) Processing {
	t.Helper()
	p, err := LogNormal(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// AWS's worked example run through the whole loop: 10 instances take 0.1 s
// a message one at a time, so 100 messages a second arrive and leave and the
// backlog of 1,500 stays. The daemons publish 1,500 / 10 = 150 each minute;
// the third datapoint above the target of 100 scales the group to 15.
func TestRunAWSExample(t *testing.T) {
	res, err := Run(Config{
		Profile:        Steady(100),
		Duration:       4 * time.Minute,
		Processing:     fixed(t, 100*time.Millisecond),
		Concurrency:    1,
		Initial:        10,
		InitialBacklog: 1500,
		Policy:         PolicyConfig{Kind: EC2, Target: 10 / 0.1, Min: 1, Max: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) == 0 {
		t.Fatalf("no scaling action; points %+v", res.Points)
	}
	a := res.Actions[0]
	if a.Kind != "scale-out" || a.From != 10 || a.To != 15 || a.Metric != 150 || a.T != 180 {
		t.Fatalf("first action %+v, want scale-out 10 -> 15 on a metric of 150 at 3 minutes", a)
	}
	if len(res.Actions) != 1 {
		t.Fatalf("actions %+v: want only the one (the new instances are warming up)", res.Actions)
	}
	for _, p := range res.Points {
		if p.T <= 180 && math.Abs(p.Backlog-1500) > 1e-6 {
			t.Fatalf("backlog %v at %vs, want 1500 while arrivals match the fleet", p.Backlog, p.T)
		}
	}
}

// With every worker publishing, a fleet of zero publishes nothing: no
// datapoint, no action, the messages wait for ever. A separate publisher
// says backlog / 1, and the policy starts the fleet from zero.
func TestRunScaleFromZero(t *testing.T) {
	cfg := Config{
		Profile:    Steady(1),
		Duration:   time.Hour,
		Processing: fixed(t, time.Second),
		Policy:     PolicyConfig{Kind: EC2, Target: 10, Min: 0, Max: 10},
	}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if len(res.Actions) != 0 || s.MissingPeriods != 60 || s.Started != 0 || s.InstanceHours != 0 {
		t.Fatalf("workers publishing from zero: actions %v, summary %+v; want no datapoint and nothing done", res.Actions, s)
	}
	if s.MaxWait < 59*time.Minute {
		t.Fatalf("max wait %s: the first message has waited the whole hour", s.MaxWait)
	}

	cfg.Publisher = Separate
	res, err = Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s = res.Summary
	if len(res.Actions) == 0 || res.Actions[0].From != 0 || res.Actions[0].To != 1 {
		t.Fatalf("separate publisher from zero: actions %+v, want 0 -> 1", res.Actions)
	}
	if s.Unstarted > 1 || s.MaxWait > 10*time.Minute {
		t.Fatalf("separate publisher: summary %+v, want the backlog worked off within minutes", s)
	}
	// 3 datapoints above 10 (the backlog reaches 10 at 10 s, and the lag
	// adds a minute), then the 120 s boot: the first message waits about 6
	// minutes.
	if s.MaxWait < 4*time.Minute {
		t.Fatalf("max wait %s: shorter than alarm + lag + boot allow", s.MaxWait)
	}
}

// EC2 warm-up: on a rising ramp, the policy scales out every minute, but
// while the instances it launched are booting or warming up it scales from
// the capacity that is warm only (here the 2 instances of the start). With a
// warm-up of a second the launched instances count as soon as they are in
// service, and the next scale-out builds on them.
func TestRunWarmupExcludedFromScaleOut(t *testing.T) {
	run := func(warmup time.Duration) *Result {
		res, err := Run(Config{
			Profile:     Ramp(0, 1000, 0, 30*time.Minute),
			Duration:    20 * time.Minute,
			Processing:  fixed(t, time.Second),
			Concurrency: 10,
			Initial:     2,
			Policy:      PolicyConfig{Kind: EC2, Target: 100, Min: 1, Max: 10000, Warmup: warmup},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fromWarm := func(a Action, base int) int { return int(math.Ceil(float64(base)*a.Metric/100 - 1e-9)) }
	long := run(20 * time.Minute)
	if long.Summary.ScaleOuts < 2 {
		t.Fatalf("long warm-up: scale-outs %+v, want several", long.Actions)
	}
	for _, a := range long.Actions {
		if a.Kind == "scale-out" && a.To != fromWarm(a, 2) {
			t.Fatalf("long warm-up: %+v scaled from more than the 2 warm instances (want %d)", a, fromWarm(a, 2))
		}
	}
	short := run(time.Second)
	grew := false
	for _, a := range short.Actions {
		if a.Kind == "scale-out" && a.To > fromWarm(a, 2) {
			grew = true
		}
	}
	if !grew {
		t.Fatalf("1 s warm-up: scale-outs %+v all from the 2 instances of the start", short.Actions)
	}
}

// ECS: a second scale-out within the 300 s cooldown happens only if it is
// larger than the first.
func TestRunECSCooldown(t *testing.T) {
	res, err := Run(Config{
		Profile:     Steady(200),
		Duration:    30 * time.Minute,
		Processing:  fixed(t, time.Second),
		Concurrency: 10,
		Initial:     1,
		Policy:      PolicyConfig{Kind: ECS, Target: 100, Min: 1, Max: 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	outs := []Action{}
	for _, a := range res.Actions {
		if a.Kind == "scale-out" {
			outs = append(outs, a)
		}
	}
	if len(outs) < 2 {
		t.Fatalf("scale-outs %+v: want the backlog to drive several", outs)
	}
	for i := 1; i < len(outs); i++ {
		if outs[i].T-outs[i-1].T < 300 && outs[i].To-outs[i].From <= outs[i-1].To-outs[i-1].From {
			// Within the cooldown only a larger total scale-out from the
			// same base may happen, which shows as a larger To.
			if outs[i].To <= outs[i-1].To {
				t.Fatalf("scale-out %+v within the cooldown of %+v is not larger", outs[i], outs[i-1])
			}
		}
	}
	if res.Summary.PeakInstances > 1000 {
		t.Fatalf("peak %d above max", res.Summary.PeakInstances)
	}
}

func TestRunRespectsMinMax(t *testing.T) {
	res, err := Run(Config{
		Profile:    Bursts(0, 100, 30*time.Minute, 3*time.Minute),
		Duration:   2 * time.Hour,
		Processing: fixed(t, 2*time.Second),
		Policy:     PolicyConfig{Kind: EC2, Target: 50, Min: 2, Max: 7, Warmup: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Points {
		if p.Desired < 2 || p.Desired > 7 || p.InService > 7 {
			t.Fatalf("point %+v outside min 2, max 7", p)
		}
	}
	if res.Summary.ScaleOuts == 0 || res.Summary.ScaleIns == 0 {
		t.Fatalf("bursts: %d scale-outs, %d scale-ins; want both", res.Summary.ScaleOuts, res.Summary.ScaleIns)
	}
}

// Scale-in protection: a busy fleet asked to shrink keeps its busy
// instances until they have been idle for the hold-down; without it the
// removed instances drain their messages.
func TestRunProtectionAndDrain(t *testing.T) {
	cfg := Config{
		Profile:     Spike(50, 50, 0, 0),
		Duration:    40 * time.Minute,
		Processing:  fixed(t, 2*time.Second),
		Concurrency: 10,
		Initial:     20, // 50 × 2 = 100 messages in flight spread over all 20
		Policy:      PolicyConfig{Kind: ECS, Target: 1000, Min: 1, Max: 20},
	}
	cfg.IncludeInFlight = false
	unprotected, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Protection = true
	protected, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The metric is 0 (no visible backlog): both policies scale in.
	if unprotected.Summary.ScaleIns == 0 || protected.Summary.ScaleIns == 0 {
		t.Fatalf("no scale-in: %+v / %+v", unprotected.Summary, protected.Summary)
	}
	drained := false
	for _, p := range unprotected.Points {
		if p.Draining > 0 {
			drained = true
		}
	}
	if !drained {
		t.Fatal("unprotected scale-in: no instance drained its messages")
	}
	last := func(r *Result) Point { return r.Points[len(r.Points)-1] }
	if p := last(protected); p.InService != 20 {
		// 100 messages in flight spread over 20 instances: every one is
		// busy, so protected, all the time.
		t.Fatalf("protected fleet ended with %d in service, want the busy ones kept", p.InService)
	}
	for _, p := range protected.Points {
		if p.Draining != 0 {
			t.Fatalf("protected fleet drained %+v: only idle instances should go", p)
		}
	}
}

func TestProfiles(t *testing.T) {
	total := func(p Profile, d time.Duration) float64 {
		var n float64
		for s := 0.0; s < d.Seconds(); s++ {
			n += p.Arrivals(s, s+1)
		}
		return n
	}
	for _, tc := range []struct {
		p    Profile
		d    time.Duration
		want float64
	}{
		{Steady(10), time.Minute, 600},
		{Spike(1, 11, 10*time.Second, 10*time.Second), time.Minute, 60 + 100},
		{Ramp(0, 10, 0, 10*time.Second), 20 * time.Second, 50 + 100},
		{Bursts(0, 5, 10*time.Second, 2*time.Second), 35 * time.Second, 3 * 10},
		{Diurnal(10, 0.5, time.Hour, 0), time.Hour, 36000},
	} {
		if got := total(tc.p, tc.d); math.Abs(got-tc.want) > 1e-6*tc.want+1e-9 {
			t.Errorf("%s over %s: %v messages, want %v", tc.p.Name(), tc.d, got, tc.want)
		}
	}
}

func TestReadCSV(t *testing.T) {
	r, err := ReadCSV("a.csv", strings.NewReader("offset,messages\n# comment\n0,60\n60,120\n\n120,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Length() != 3*time.Minute {
		t.Fatalf("length %s, want 3m", r.Length())
	}
	if got := r.Arrivals(0, 60); got != 60 {
		t.Fatalf("first minute %v", got)
	}
	if got := r.Arrivals(90, 100); math.Abs(got-20) > 1e-9 {
		t.Fatalf("10 s of the second minute: %v, want 20", got)
	}
	if r2, err := ReadCSV("b.csv", strings.NewReader("1m,5\n2m,5\n")); err != nil || r2.Arrivals(0, 1000) != 10 {
		t.Fatalf("durations as offsets: %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{"0,1\n60,x\n", "bad.csv:2: messages"},
		{"0,1\n0,2\n", "bad.csv:2: offset 0s is not after"},
		{"offset,messages\n0,1,2\n", "bad.csv:2: want 2 fields"},
		{"0,1\nsoon,2\n", "bad.csv:2: offset"},
		{"0,-4\n", "bad.csv:1: messages"},
		{"# nothing\n", "bad.csv: no rows"},
		{"a,b\nc,d\n", "bad.csv:2: offset"},
	} {
		_, err := ReadCSV("bad.csv", strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func TestProcessingKernel(t *testing.T) {
	p, err := LogNormal(2*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m := p.Mean().Seconds(); math.Abs(m-2) > 0.05 {
		t.Fatalf("mean %v, want about 2", m)
	}
	k := p.kernel(1)
	var occ, done float64
	for j := range k.occ {
		occ += k.occ[j]
		done += k.done[j]
	}
	// A message occupies a slot for its processing time on average, and
	// finishes exactly once.
	if math.Abs(occ-p.mean) > 1e-9 || math.Abs(done-1) > 1e-9 {
		t.Fatalf("kernel: occupancy %v (want %v), done %v (want 1)", occ, p.mean, done)
	}
	if _, err := Samples([]float64{1, 0}); err == nil {
		t.Fatal("a zero sample was accepted")
	}
}

// Scaling in takes the newest launches first, splitting a launch when k
// ends inside it, and says how many it could not take.
func TestTakeNewest(t *testing.T) {
	for _, tc := range []struct {
		k, left int
		want    []launch
	}{
		{0, 0, []launch{{1, 2}, {2, 3}}},
		{2, 0, []launch{{1, 2}, {2, 1}}},
		{3, 0, []launch{{1, 2}}},
		{4, 0, []launch{{1, 1}}},
		{7, 2, []launch{}},
	} {
		got, left := takeNewest([]launch{{1, 2}, {2, 3}}, tc.k)
		if left != tc.left || !slices.Equal(got, tc.want) {
			t.Errorf("k %d: %v with %d left over, want %v with %d", tc.k, got, left, tc.want, tc.left)
		}
	}
}
