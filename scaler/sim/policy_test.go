package sim

import (
	"testing"
	"time"
)

// feed sends the same datapoint for n alarm periods and returns the
// decisions.
func feed(p *Policy, start time.Duration, n int, value float64, c *Capacity) []Decision {
	var out []Decision
	for i := range n {
		now := start + time.Duration(i+1)*p.cfg.Period
		d := p.Step(now, value, true, *c)
		c.Desired = d.Desired
		out = append(out, d)
	}
	return out
}

// AWS's worked example (Scaling based on Amazon SQS): 1,500 messages on 10
// instances is a metric of 150 against a target of 100 (10 s latency / 0.1 s
// a message). The scale-out alarm needs three datapoints above the target;
// the third one scales the group out by five, to 15.
func TestPolicyAWSExample(t *testing.T) {
	p, err := NewPolicy(PolicyConfig{Kind: EC2, Target: 10 / 0.1, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Target != 100 {
		t.Fatalf("target %v, want 100", p.cfg.Target)
	}
	c := Capacity{Desired: 10}
	ds := feed(p, 0, 3, 1500.0/10, &c)
	for i, d := range ds[:2] {
		if d.High || d.Action != "" || d.Desired != 10 {
			t.Fatalf("datapoint %d: %+v, want no alarm and 10 instances", i+1, d)
		}
	}
	if d := ds[2]; !d.High || d.Action != "scale-out" || d.Desired != 15 {
		t.Fatalf("third datapoint: %+v, want the high alarm to scale out to 15", d)
	}
}

func TestPolicyHighAlarmNeedsConsecutiveDatapoints(t *testing.T) {
	p, _ := NewPolicy(PolicyConfig{Target: 100})
	c := Capacity{Desired: 10}
	feed(p, 0, 2, 150, &c)
	feed(p, 2*time.Minute, 1, 100, &c) // at the target: not above it
	ds := feed(p, 3*time.Minute, 2, 150, &c)
	if c.Desired != 10 || ds[1].High {
		t.Fatalf("interrupted run of datapoints scaled out: %+v", ds)
	}
	if ds := feed(p, 5*time.Minute, 1, 150, &c); ds[0].Desired != 15 {
		t.Fatalf("third consecutive datapoint: %+v, want 15", ds[0])
	}
}

func TestPolicyScaleInAfterFifteenDatapointsBelowNinetyPercent(t *testing.T) {
	p, _ := NewPolicy(PolicyConfig{Target: 100})
	c := Capacity{Desired: 10}
	// 95 is below the target but not 10% below: no scale-in ever.
	if ds := feed(p, 0, 30, 95, &c); c.Desired != 10 || ds[29].Low {
		t.Fatalf("95 against 100 scaled in: %+v", ds[29])
	}
	ds := feed(p, 30*time.Minute, 15, 50, &c)
	for i, d := range ds[:14] {
		if d.Action != "" {
			t.Fatalf("datapoint %d of 15 acted: %+v", i+1, d)
		}
	}
	// 10 × 50 / 100 = 5.
	if d := ds[14]; !d.Low || d.Desired != 5 {
		t.Fatalf("15th datapoint: %+v, want scale-in to 5", d)
	}
	// Rounded so as to remove fewer: 5 × 85 / 100 = 4.25 keeps 5.
	p2, _ := NewPolicy(PolicyConfig{Target: 100, LowRatio: 0.9})
	c2 := Capacity{Desired: 5}
	if feed(p2, 0, 15, 85, &c2); c2.Desired != 5 {
		t.Fatalf("5 × 0.85 scaled in to %d, want 5 (ceil 4.25)", c2.Desired)
	}
	// The ratio is configurable.
	p3, _ := NewPolicy(PolicyConfig{Target: 100, LowRatio: 0.5})
	c3 := Capacity{Desired: 10}
	if feed(p3, 0, 20, 60, &c3); c3.Desired != 10 {
		t.Fatalf("low ratio 0.5: 60 scaled in to %d", c3.Desired)
	}
}

func TestPolicyMinMaxAndStep(t *testing.T) {
	p, _ := NewPolicy(PolicyConfig{Target: 100, Min: 2, Max: 12})
	c := Capacity{Desired: 10}
	if feed(p, 0, 3, 1000, &c); c.Desired != 12 {
		t.Fatalf("scale-out past max: %d, want 12", c.Desired)
	}
	if feed(p, time.Hour, 15, 0, &c); c.Desired != 2 {
		t.Fatalf("scale-in below min: %d, want 2", c.Desired)
	}
	p2, _ := NewPolicy(PolicyConfig{Target: 100, MaxScaleInStep: 3})
	c2 := Capacity{Desired: 10}
	if feed(p2, 0, 15, 0, &c2); c2.Desired != 7 {
		t.Fatalf("max scale-in step 3: %d, want 7", c2.Desired)
	}
}

func TestPolicyEC2WarmupExcludedOnScaleOutAndBlocksScaleIn(t *testing.T) {
	p, _ := NewPolicy(PolicyConfig{Kind: EC2, Target: 100})
	// 15 desired, 5 of them warming: the base is 10, so a metric of 150
	// wants 15 again, not 23.
	c := Capacity{Desired: 15, Warming: 5}
	ds := feed(p, 0, 3, 150, &c)
	if c.Desired != 15 || ds[2].Action != "" {
		t.Fatalf("scaled out on warming capacity: %+v", ds[2])
	}
	// Without warming instances, 15 × 150 / 100 = 23.
	c.Warming = 0
	if feed(p, 3*time.Minute, 1, 150, &c); c.Desired != 23 {
		t.Fatalf("after warm-up: %d, want 23", c.Desired)
	}
	// No scale-in while anything warms up.
	c = Capacity{Desired: 20, Warming: 1}
	if feed(p, time.Hour, 30, 0, &c); c.Desired != 20 {
		t.Fatalf("scaled in while warming: %d", c.Desired)
	}
	c.Warming = 0
	if feed(p, 2*time.Hour, 1, 0, &c); c.Desired != 0 {
		t.Fatalf("after warm-up, metric 0: %d, want 0 (min)", c.Desired)
	}
}

func TestPolicyECSCooldowns(t *testing.T) {
	p, _ := NewPolicy(PolicyConfig{Kind: ECS, Target: 100})
	if p.cfg.ScaleOutCooldown != 300*time.Second || p.cfg.ScaleInCooldown != 300*time.Second {
		t.Fatalf("default cooldowns %s/%s, want 300s", p.cfg.ScaleOutCooldown, p.cfg.ScaleInCooldown)
	}
	c := Capacity{Desired: 10}
	feed(p, 0, 3, 150, &c) // at 3m: 10 -> 15, cooldown until 8m
	if c.Desired != 15 {
		t.Fatalf("first scale-out: %d", c.Desired)
	}
	// Within the cooldown the same metric is no larger scale-out (from the
	// base of 10 it wants 15 again).
	if feed(p, 3*time.Minute, 2, 150, &c); c.Desired != 15 {
		t.Fatalf("scaled out again within the cooldown: %d", c.Desired)
	}
	// A larger one goes ahead: 10 × 200 / 100 = 20.
	if feed(p, 5*time.Minute, 1, 200, &c); c.Desired != 20 {
		t.Fatalf("larger scale-out within the cooldown: %d, want 20", c.Desired)
	}
	// After the cooldown, the base is the current capacity: 20 × 1.5 = 30.
	if feed(p, 11*time.Minute, 1, 150, &c); c.Desired != 30 {
		t.Fatalf("after the cooldown: %d, want 30", c.Desired)
	}
	// Scale-in: 15 datapoints, then the scale-in cooldown holds the next.
	ds := feed(p, 20*time.Minute, 15, 50, &c)
	if c.Desired != 15 || ds[14].Action != "scale-in" {
		t.Fatalf("scale-in: %+v", ds[14])
	}
	if feed(p, 35*time.Minute, 4, 50, &c); c.Desired != 15 {
		t.Fatalf("scaled in within the cooldown: %d", c.Desired)
	}
	if feed(p, 39*time.Minute, 1, 50, &c); c.Desired != 8 {
		t.Fatalf("after the scale-in cooldown: %d, want ceil(15 × 0.5) = 8", c.Desired)
	}
}

func TestPolicyMissingDataTakesNoAction(t *testing.T) {
	p, _ := NewPolicy(PolicyConfig{Target: 100})
	c := Capacity{Desired: 0}
	for i := range 30 {
		d := p.Step(time.Duration(i)*time.Minute, 0, false, c)
		if d.Action != "" || !d.Missing {
			t.Fatalf("missing datapoint acted: %+v", d)
		}
	}
}

func TestPolicyFromZero(t *testing.T) {
	for _, tc := range []struct {
		from, want int
	}{{0, 1}, {3, 3}} {
		p, _ := NewPolicy(PolicyConfig{Target: 100, FromZero: tc.from})
		c := Capacity{}
		if feed(p, 0, 3, 400, &c); c.Desired != tc.want {
			t.Fatalf("from zero (%d): %d, want %d", tc.from, c.Desired, tc.want)
		}
	}
}

func TestPolicyConfigErrors(t *testing.T) {
	for _, c := range []PolicyConfig{
		{Target: 0}, {Target: -1}, {Target: 1, Kind: "k8s"}, {Target: 1, LowRatio: 1.5},
		{Target: 1, Min: 5, Max: 2}, {Target: 1, Period: time.Millisecond},
	} {
		if _, err := NewPolicy(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
