package sim

import (
	"fmt"
	"math"
	"time"
)

// Kind is what the policy scales: an EC2 Auto Scaling group or an ECS
// service (through Application Auto Scaling). They differ in how they hold
// back after a scaling activity: EC2 with instance warm-up, ECS with
// cooldowns.
type Kind string

// Fleet kinds.
const (
	EC2 Kind = "ec2"
	ECS Kind = "ecs"
)

// PolicyConfig is a target-tracking scaling policy and the capacity limits
// of what it scales. The zero value of every field but Target means its
// default.
type PolicyConfig struct {
	Kind   Kind    // ec2 (default) or ecs
	Target float64 // the policy's TargetValue; required, > 0

	// Period is the alarms' period. Default 60s: the period of the alarms
	// target tracking creates for a standard-resolution metric.
	Period time.Duration
	// HighDatapoints is how many consecutive datapoints above the target put
	// the scale-out alarm in ALARM. Default 3: the alarm AWS creates for a
	// target-tracking policy is "3 datapoints within 3 minutes".
	HighDatapoints int
	// LowDatapoints is how many consecutive datapoints below
	// LowRatio*Target put the scale-in alarm in ALARM. Default 15
	// ("15 datapoints within 15 minutes" on the alarm AWS creates).
	LowDatapoints int
	// LowRatio is the share of the target below which a datapoint counts
	// for scale-in. Default 0.9: AWS documents that target tracking removes
	// capacity only when the metric is "usually more than 10% lower" than
	// the target. Observed alarms differ between services; set it to what
	// the scale-in alarm of your policy shows.
	LowRatio float64

	// Warmup (EC2) is the instance warm-up after an instance enters
	// InService: until it ends the instance is not part of the current
	// capacity on scale-out, and no scale-in starts. Default 300s: with
	// neither DefaultInstanceWarmup nor EstimatedInstanceWarmup set, EC2
	// Auto Scaling falls back to the group's default cooldown, 300 s.
	// Negative means none.
	Warmup time.Duration
	// ScaleOutCooldown and ScaleInCooldown (ECS) hold back a further
	// scale-out unless it is larger, and any scale-in, for this long after
	// the last activity of the same direction. Default 300s each, Application
	// Auto Scaling's default for ECS services. Negative means none.
	ScaleOutCooldown, ScaleInCooldown time.Duration

	Min, Max int // capacity limits; Max 0 means no limit

	// FromZero is the capacity a scale-out sets when the current capacity is
	// 0, where proportional scaling (0 × metric / target) gives 0. AWS does
	// not document what its policies do there; default 1.
	FromZero int
	// MaxScaleInStep caps the instances one scale-in removes; 0 means no
	// cap. AWS documents only that it "scales in more gradually" than out:
	// proportional, rounded so as to remove fewer, and only after the long
	// scale-in alarm.
	MaxScaleInStep int
}

func (c *PolicyConfig) defaults() error {
	if c.Kind == "" {
		c.Kind = EC2
	}
	if c.Kind != EC2 && c.Kind != ECS {
		return fmt.Errorf("fleet kind %q: want ec2 or ecs", c.Kind)
	}
	if !(c.Target > 0) || math.IsInf(c.Target, 0) {
		return fmt.Errorf("target %v: must be a positive number", c.Target)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Period, time.Minute)
	def(&c.Warmup, 300*time.Second)
	def(&c.ScaleOutCooldown, 300*time.Second)
	def(&c.ScaleInCooldown, 300*time.Second)
	for _, d := range []*time.Duration{&c.Warmup, &c.ScaleOutCooldown, &c.ScaleInCooldown} {
		*d = max(*d, 0) // negative: none
	}
	if c.HighDatapoints == 0 {
		c.HighDatapoints = 3
	}
	if c.LowDatapoints == 0 {
		c.LowDatapoints = 15
	}
	if c.LowRatio == 0 {
		c.LowRatio = 0.9
	}
	if c.FromZero == 0 {
		c.FromZero = 1
	}
	switch {
	case c.Period < time.Second:
		return fmt.Errorf("alarm period %s: must be at least 1s", c.Period)
	case c.HighDatapoints < 1 || c.LowDatapoints < 1:
		return fmt.Errorf("alarm datapoints %d/%d: must be at least 1", c.HighDatapoints, c.LowDatapoints)
	case !(c.LowRatio > 0 && c.LowRatio <= 1):
		return fmt.Errorf("scale-in ratio %v: must be in (0, 1]", c.LowRatio)
	case c.Min < 0 || c.Max < 0 || c.Max > 0 && c.Max < c.Min:
		return fmt.Errorf("capacity min %d, max %d: need 0 <= min <= max", c.Min, c.Max)
	case c.FromZero < 0 || c.MaxScaleInStep < 0:
		return fmt.Errorf("from-zero and max scale-in step must not be negative")
	}
	return nil
}

// Capacity is what the policy reads of the fleet when it acts.
type Capacity struct {
	Desired int // desired capacity (EC2) or desired count (ECS)
	// Warming (EC2) counts instances launched and not past their warm-up:
	// pending ones and InService ones still warming up.
	Warming int
}

// Decision is what one alarm period led to.
type Decision struct {
	Desired int    // the new desired capacity; equal to the old one if no action
	Action  string // "", "scale-out" or "scale-in"
	High    bool   // the scale-out alarm is in ALARM
	Low     bool   // the scale-in alarm is in ALARM
	Missing bool   // the datapoint was missing (no action is taken on it)
}

// Policy applies a target-tracking policy to one datapoint per alarm
// period, as CloudWatch and the scaling service do: two alarms on the
// metric, and a proportional new capacity when one of them is in ALARM.
// While an alarm stays in ALARM the policy is invoked again every period.
type Policy struct {
	cfg       PolicyConfig
	above     int // consecutive present datapoints above the target
	below     int // consecutive present datapoints below LowRatio*target
	missing   int // consecutive missing datapoints
	lastOut   time.Duration
	lastIn    time.Duration
	outBase   int // capacity the last scale-out started from (ECS cooldown)
	outActive bool
	inActive  bool
}

// NewPolicy checks cfg, fills in its defaults and returns a Policy.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Policy{cfg: cfg}, nil
}

// Config returns the policy's configuration with its defaults filled in.
func (p *Policy) Config() PolicyConfig { return p.cfg }

// Clamp keeps n within the capacity limits.
func (p *Policy) Clamp(n int) int {
	if n < p.cfg.Min {
		n = p.cfg.Min
	}
	if p.cfg.Max > 0 && n > p.cfg.Max {
		n = p.cfg.Max
	}
	return n
}

// Step feeds the datapoint of the alarm period ending at now (present false:
// no datapoint in the period) and returns what the policy does.
func (p *Policy) Step(now time.Duration, value float64, present bool, c Capacity) Decision {
	d := Decision{Desired: c.Desired}
	cfg := &p.cfg
	if !present {
		// The alarms target tracking creates treat missing data as missing:
		// a gap neither breaches nor clears, and a run of gaps as long as
		// the evaluation leaves the alarm with insufficient data.
		p.missing++
		d.Missing = true
		if p.missing >= cfg.HighDatapoints {
			p.above = 0
		}
		if p.missing >= cfg.LowDatapoints {
			p.below = 0
		}
		return d
	}
	p.missing = 0
	if value > cfg.Target {
		p.above++
	} else {
		p.above = 0
	}
	if value < cfg.LowRatio*cfg.Target {
		p.below++
	} else {
		p.below = 0
	}
	d.High = p.above >= cfg.HighDatapoints
	d.Low = p.below >= cfg.LowDatapoints
	switch {
	case d.High:
		p.scaleOut(now, value, c, &d)
	case d.Low:
		p.scaleIn(now, value, c, &d)
	}
	return d
}

// proportional is ceil(base × value / target), with a tolerance so that
// 10 × 150 / 100 is 15 and not 16 after floating-point rounding.
func (p *Policy) proportional(base int, value float64) int {
	return int(math.Ceil(float64(base)*value/p.cfg.Target - 1e-9))
}

func (p *Policy) scaleOut(now time.Duration, value float64, c Capacity, d *Decision) {
	cfg := &p.cfg
	base := c.Desired
	switch cfg.Kind {
	case EC2:
		// Instances warming up are not part of the current capacity on
		// scale-out, so that the group does not add more than it needs.
		base = c.Desired - c.Warming
	case ECS:
		// During the scale-out cooldown the capacity added by the last
		// scale-out counts as already there: only a larger scale-out goes
		// ahead.
		if p.outActive && now < p.lastOut+cfg.ScaleOutCooldown {
			base = p.outBase
		}
	}
	var want int
	switch {
	case c.Desired == 0:
		want = cfg.FromZero
	case base <= 0:
		return // everything is warming up: nothing to scale from yet
	default:
		want = p.proportional(base, value)
	}
	want = p.Clamp(want)
	if want <= c.Desired {
		return
	}
	if cfg.Kind == ECS && !(p.outActive && now < p.lastOut+cfg.ScaleOutCooldown) {
		p.outBase = c.Desired
	}
	p.lastOut, p.outActive = now, true
	p.inActive = false // a scale-out ends a scale-in cooldown
	d.Desired, d.Action = want, "scale-out"
}

func (p *Policy) scaleIn(now time.Duration, value float64, c Capacity, d *Decision) {
	cfg := &p.cfg
	switch cfg.Kind {
	case EC2:
		if c.Warming > 0 {
			return // no scale-in while a scale-out is still warming up
		}
	case ECS:
		if p.inActive && now < p.lastIn+cfg.ScaleInCooldown {
			return
		}
	}
	// Rounded up: removing 1.5 instances removes 1.
	want := p.proportional(c.Desired, value)
	if cfg.MaxScaleInStep > 0 && want < c.Desired-cfg.MaxScaleInStep {
		want = c.Desired - cfg.MaxScaleInStep
	}
	want = p.Clamp(want)
	if want >= c.Desired {
		return
	}
	p.lastIn, p.inActive = now, true
	d.Desired, d.Action = want, "scale-in"
}
