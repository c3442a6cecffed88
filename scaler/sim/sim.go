package sim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Publisher says who publishes the metric, which matters when the fleet is
// empty.
type Publisher string

// Publishers.
const (
	// ByWorkers: every worker publishes (scaler.enabled on `sqsfleet run`).
	// A fleet of zero publishes nothing, and the policy, which takes no
	// action on missing data, never scales it out.
	ByWorkers Publisher = "workers"
	// Separate: one `sqsfleet scaler` task publishes whatever the fleet
	// size, so an empty fleet with a backlog publishes backlog / 1.
	Separate Publisher = "separate"
)

// Config describes one simulated run. Zero values mean the defaults given.
type Config struct {
	Profile  Profile       // required
	Duration time.Duration // required
	// Step is the model's time step, at most 1s. Default 1s.
	Step time.Duration
	// Record is the interval of the time series in the result. Default 10s.
	Record time.Duration

	// Workers.
	Processing  Processing // required: handler time per message
	Concurrency int        // messages one instance handles at once; default 10
	// BootTime is from launch to the first receive, when the instance is
	// also InService. Default 120s for EC2 (instances typically take 1-3
	// minutes), 45s for ECS on Fargate (tens of seconds).
	BootTime time.Duration
	// Protection is scale-in protection while busy, as the daemon's
	// scaler.scale_in_protection does: only instances idle for
	// ProtectionHold (default 30s, the daemon's default) are terminated on
	// scale-in; the others stay, counted, until they are.
	Protection     bool
	ProtectionHold time.Duration
	// Instances InService at the start; default Policy.Min.
	Initial int
	// InitialBacklog is the visible messages at the start.
	InitialBacklog float64

	// The metric.
	Publisher Publisher // default ByWorkers
	// Interval is scaler.interval: 10s, 30s or 60s (default).
	Interval time.Duration
	// IncludeInFlight is scaler.include_in_flight.
	IncludeInFlight bool
	// Lag is how old ApproximateNumberOfMessages is when read: AWS says the
	// approximate counts may lag by about a minute. Default 60s; negative
	// means none.
	Lag time.Duration

	Policy PolicyConfig // Target is required

	// SQS requests.
	WaitTime          time.Duration // queue.wait_time, long poll; default 20s
	VisibilityTimeout time.Duration // queue.visibility_timeout; default 30s
	PricePerMillion   float64       // SQS price per million requests (0.40 for a standard queue in us-east-1)
	InstanceHourPrice float64       // price of an instance-hour; 0 means not priced
}

func (c *Config) defaults() error {
	if c.Profile == nil {
		return errors.New("no traffic profile")
	}
	if c.Duration <= 0 {
		return fmt.Errorf("duration %s: must be positive", c.Duration)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Step, time.Second)
	def(&c.Record, 10*time.Second)
	def(&c.ProtectionHold, 30*time.Second)
	def(&c.Interval, time.Minute)
	def(&c.Lag, time.Minute)
	def(&c.WaitTime, 20*time.Second)
	def(&c.VisibilityTimeout, 30*time.Second)
	if c.Policy.Kind == "" {
		c.Policy.Kind = EC2
	}
	if c.BootTime == 0 {
		c.BootTime = 120 * time.Second
		if c.Policy.Kind == ECS {
			c.BootTime = 45 * time.Second
		}
	}
	if c.Concurrency == 0 {
		c.Concurrency = 10
	}
	if c.Publisher == "" {
		c.Publisher = ByWorkers
	}
	if c.Lag < 0 {
		c.Lag = 0
	}
	switch {
	case c.Step < time.Millisecond || c.Step > time.Second:
		return fmt.Errorf("step %s: must be between 1ms and 1s", c.Step)
	case c.Record < c.Step:
		return fmt.Errorf("record interval %s: must be at least the step %s", c.Record, c.Step)
	case len(c.Processing.samples) == 0:
		return errors.New("no processing time")
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency)
	case c.BootTime < 0:
		return fmt.Errorf("boot time %s: must not be negative", c.BootTime)
	case c.Interval != 10*time.Second && c.Interval != 30*time.Second && c.Interval != time.Minute:
		return fmt.Errorf("metric interval %s: must be 10s, 30s or 60s", c.Interval)
	case c.Publisher != ByWorkers && c.Publisher != Separate:
		return fmt.Errorf("publisher %q: want workers or separate", c.Publisher)
	case c.Initial < 0 || c.InitialBacklog < 0:
		return errors.New("initial instances and backlog must not be negative")
	case c.PricePerMillion < 0 || c.InstanceHourPrice < 0:
		return errors.New("prices must not be negative")
	}
	return nil
}

// Point is one row of the time series, at the end of a record interval.
type Point struct {
	T         float64 `json:"t"`                // seconds since the start
	Arrivals  float64 `json:"arrivals_per_s"`   // average arrival rate over the interval
	Backlog   float64 `json:"backlog"`          // visible messages
	InFlight  float64 `json:"in_flight"`        // messages being handled
	Desired   int     `json:"desired"`          // desired capacity
	InService int     `json:"in_service"`       // instances receiving
	Booting   int     `json:"booting"`          // launched, not yet receiving
	Draining  int     `json:"draining"`         // scaled in, finishing their messages
	Metric    float64 `json:"metric"`           // last published backlog per instance (-1: none yet)
	WaitMax   float64 `json:"wait_max_s"`       // longest wait of the messages started in the interval
	WaitMean  float64 `json:"wait_mean_s"`      // average wait of those messages
	Requests  float64 `json:"sqs_requests"`     // SQS requests in the interval
	Started   float64 `json:"started_messages"` // messages started in the interval
}

// Action is one scaling activity.
type Action struct {
	T      float64 `json:"t"`
	Kind   string  `json:"kind"` // scale-out or scale-in
	From   int     `json:"from"`
	To     int     `json:"to"`
	Metric float64 `json:"metric"` // the datapoint that caused it
}

// Summary is what a run comes to.
type Summary struct {
	Arrived        float64       // messages sent
	Started        float64       // messages whose handler started
	Unstarted      float64       // still waiting at the end (counted in the waits with the time waited so far)
	MaxWait        time.Duration // longest wait before a handler starts
	P99Wait        time.Duration // 99th percentile of it
	MeanWait       time.Duration
	MaxBacklog     float64
	PeakInstances  int     // most instances running at once (booting and draining included)
	InstanceHours  float64 // running instances (booting and draining included) over time
	ScaleOuts      int
	ScaleIns       int
	Requests       float64 // SQS requests: receives, deletes, visibility heartbeats, GetQueueAttributes
	RequestCost    float64 // Requests at PricePerMillion
	InstanceCost   float64 // InstanceHours at InstanceHourPrice
	MissingPeriods int     // alarm periods without a datapoint
}

// Result is a run's summary, time series and scaling activities.
type Result struct {
	Config  Config
	Summary Summary
	Points  []Point
	Actions []Action
}

type cohort struct {
	step int64
	n    float64
}

type launch struct {
	until int64 // the step at which the instances become InService, or end warm-up
	n     int
}

// Run simulates cfg and returns the result. It is deterministic: the model
// carries expected counts, not random messages.
func Run(cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	pol, err := NewPolicy(cfg.Policy)
	if err != nil {
		return nil, err
	}
	cfg.Policy = pol.Config()
	s := newState(cfg, pol)
	s.run()
	return s.result(), nil
}

type state struct {
	cfg Config
	pol *Policy
	dt  float64
	k   kernel

	steps, stepsPerRecord, stepsPerInterval, stepsPerPeriod, lagSteps, holdSteps, bootSteps, warmSteps int64

	// queue
	queue      []cohort // FIFO by arrival
	head       int
	visible    float64
	history    []float64 // backlog as the metric reads it, by step, ring of lagSteps+1
	waitHist   []float64 // messages by wait in steps
	maxBacklog float64

	// handlers
	occIn, doneIn, occDr, doneDr []float64 // rings by step
	inFlightIn, inFlightDr       float64

	// fleet
	desired   int
	pending   []launch // booting, in launch order
	inService int
	warming   []launch // InService and warming up (EC2)
	draining  int
	idleWin   []idleAt // monotonic deque: min of idle instances over the hold-down

	// metric and alarms
	metric        float64
	periodSum     float64
	periodN       int
	pollersPer    float64
	heartbeatFrac float64

	res     Result
	rec     Point
	recWait float64
}

type idleAt struct {
	step int64
	n    int
}

func newState(cfg Config, pol *Policy) *state {
	dt := cfg.Step.Seconds()
	steps := func(d time.Duration) int64 { return int64(math.Ceil(d.Seconds()/dt - 1e-9)) }
	s := &state{
		cfg: cfg, pol: pol, dt: dt,
		k:                cfg.Processing.kernel(dt),
		steps:            steps(cfg.Duration),
		stepsPerRecord:   max(1, steps(cfg.Record)),
		stepsPerInterval: max(1, steps(cfg.Interval)),
		stepsPerPeriod:   max(1, steps(cfg.Policy.Period)),
		lagSteps:         steps(cfg.Lag),
		holdSteps:        max(1, steps(cfg.ProtectionHold)),
		bootSteps:        steps(cfg.BootTime),
		warmSteps:        steps(cfg.Policy.Warmup),
		metric:           -1,
		pollersPer:       math.Max(1, math.Floor(float64(cfg.Concurrency)/10)),
	}
	if cfg.Policy.Kind != EC2 {
		s.warmSteps = 0
	}
	n := len(s.k.occ)
	s.occIn, s.doneIn, s.occDr, s.doneDr = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	s.history = make([]float64, s.lagSteps+1)
	half := cfg.VisibilityTimeout.Seconds() / 2
	s.heartbeatFrac = cfg.Processing.Longer(half) / 10 * dt / half
	initial := cfg.Initial
	if initial == 0 {
		initial = cfg.Policy.Min
	}
	s.desired = pol.Clamp(initial)
	s.inService = s.desired
	if cfg.InitialBacklog > 0 {
		s.queue = append(s.queue, cohort{0, cfg.InitialBacklog})
		s.visible = cfg.InitialBacklog
	}
	s.res.Config = cfg
	return s
}

func (s *state) run() {
	for st := int64(0); st < s.steps; st++ {
		s.step(st)
	}
	s.finish()
}

func (s *state) step(st int64) {
	t0 := float64(st) * s.dt
	cfg := &s.cfg

	// Arrivals.
	a := cfg.Profile.Arrivals(t0, t0+s.dt)
	if a > 0 {
		s.queue = append(s.queue, cohort{st, a})
		s.visible += a
	}
	s.res.Summary.Arrived += a
	s.rec.Arrivals += a

	// Instances that finished booting start receiving.
	for len(s.pending) > 0 && s.pending[0].until <= st {
		l := s.pending[0]
		s.pending = s.pending[1:]
		s.inService += l.n
		if s.warmSteps > 0 {
			s.warming = append(s.warming, launch{st + s.warmSteps, l.n})
		}
	}
	for len(s.warming) > 0 && s.warming[0].until <= st {
		s.warming = s.warming[1:]
	}

	// Handlers: what earlier messages finish and occupy in this step, then
	// as many starts as the free slots allow.
	r := int(st % int64(len(s.occIn)))
	done := s.doneIn[r]
	s.inFlightIn -= s.doneIn[r]
	s.inFlightDr -= s.doneDr[r]
	done += s.doneDr[r]
	free := float64(s.inService*cfg.Concurrency) - s.occIn[r]
	s.occIn[r], s.doneIn[r], s.occDr[r], s.doneDr[r] = 0, 0, 0, 0
	visibleBefore := s.visible
	started := 0.0
	if free > 1e-12 && s.visible > 0 {
		started = math.Min(s.visible, free/s.k.occ[0])
		s.take(st, started)
	}
	if started > 0 {
		n := len(s.occIn)
		for j := 1; j < n; j++ {
			i := (r + j) % n
			s.occIn[i] += started * s.k.occ[j]
			s.doneIn[i] += started * s.k.done[j]
		}
		done += started * s.k.done[0]
		s.inFlightIn += started * (1 - s.k.done[0])
	}
	if s.inFlightIn < 1e-9 {
		s.inFlightIn = 0
	}
	if s.inFlightDr < 1e-9 {
		s.inFlightDr = 0
	}
	s.res.Summary.Started += started
	s.rec.Started += started

	// Draining instances stop once their last message is done. Each of
	// their messages may be on a different instance, so count up to one
	// instance per message.
	if s.draining > 0 {
		s.draining = min(s.draining, int(math.Ceil(s.inFlightDr-1e-9)))
	}

	// The metric's view of the backlog, a lag behind.
	seen := s.visible
	if cfg.IncludeInFlight {
		seen += s.inFlightIn + s.inFlightDr
	}
	s.history[st%int64(len(s.history))] = seen
	if (st+1)%s.stepsPerInterval == 0 {
		lagged := s.history[(st+1)%int64(len(s.history))] // lagSteps ago
		if st < s.lagSteps {
			lagged = s.history[0]
		}
		if cfg.Publisher == Separate || s.inService > 0 {
			v := math.Round(lagged/float64(max(1, s.inService))*100) / 100
			s.metric = v
			s.periodSum += v
			s.periodN++
		}
	}
	if (st+1)%s.stepsPerPeriod == 0 {
		s.alarm(st)
	}
	s.reconcile(st)

	// SQS requests (see the README's cost figures): receives take up to 10
	// messages when there is a backlog and one at a time in a trickle;
	// deletes batch alike; idle pollers long-poll; long handlers send
	// visibility heartbeats; publishers read the queue's attributes.
	pollers := float64(s.inService) * s.pollersPer
	req := 0.0
	if started > 0 {
		batch := math.Min(10, math.Max(1, visibleBefore/math.Max(1, pollers)))
		req += started / batch
		dbatch := math.Min(10, math.Max(1, done/math.Max(1, float64(s.inService))))
		req += done / dbatch
	}
	if s.visible < 1 && pollers > 0 {
		req += pollers * s.dt / cfg.WaitTime.Seconds()
	}
	req += (s.inFlightIn + s.inFlightDr) * s.heartbeatFrac
	if (st+1)%s.stepsPerInterval == 0 {
		if cfg.Publisher == Separate {
			req++
		} else {
			req += float64(s.inService)
		}
	}
	s.res.Summary.Requests += req
	s.rec.Requests += req

	running := s.inService + s.draining + s.booting()
	s.res.Summary.InstanceHours += float64(running) * s.dt / 3600
	s.res.Summary.PeakInstances = max(s.res.Summary.PeakInstances, running)
	s.maxBacklog = math.Max(s.maxBacklog, s.visible)

	if (st+1)%s.stepsPerRecord == 0 || st+1 == s.steps {
		s.record(st)
	}
}

// take starts n messages from the head of the queue and records their waits.
func (s *state) take(st int64, n float64) {
	s.visible -= n
	if s.visible < 1e-9 {
		s.visible = 0
	}
	for n > 1e-12 && s.head < len(s.queue) {
		c := &s.queue[s.head]
		m := math.Min(n, c.n)
		s.addWait(st-c.step, m)
		c.n -= m
		n -= m
		if c.n <= 1e-12 {
			s.head++
		}
	}
	if s.head > 1024 && s.head*2 > len(s.queue) {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	}
}

func (s *state) addWait(steps int64, n float64) {
	for int64(len(s.waitHist)) <= steps {
		s.waitHist = append(s.waitHist, 0)
	}
	s.waitHist[steps] += n
	w := float64(steps) * s.dt
	s.rec.WaitMax = math.Max(s.rec.WaitMax, w)
	s.recWait += w * n
}

func (s *state) booting() int {
	n := 0
	for _, l := range s.pending {
		n += l.n
	}
	return n
}

func (s *state) alarm(st int64) {
	now := time.Duration(float64(st+1) * s.dt * float64(time.Second))
	value, present := 0.0, s.periodN > 0
	if present {
		value = s.periodSum / float64(s.periodN)
	} else {
		s.res.Summary.MissingPeriods++
	}
	s.periodSum, s.periodN = 0, 0
	warming := 0
	if s.cfg.Policy.Kind == EC2 {
		warming = s.booting()
		for _, l := range s.warming {
			warming += l.n
		}
	}
	d := s.pol.Step(now, value, present, Capacity{Desired: s.desired, Warming: warming})
	if d.Action == "" {
		return
	}
	s.res.Actions = append(s.res.Actions, Action{T: now.Seconds(), Kind: d.Action, From: s.desired, To: d.Desired, Metric: value})
	if d.Action == "scale-out" {
		s.res.Summary.ScaleOuts++
	} else {
		s.res.Summary.ScaleIns++
	}
	s.desired = d.Desired
}

// reconcile launches or terminates instances to meet the desired capacity.
func (s *state) reconcile(st int64) {
	idle := s.inService - min(s.inService, int(math.Ceil(s.inFlightIn-1e-9)))
	for len(s.idleWin) > 0 && s.idleWin[len(s.idleWin)-1].n >= idle {
		s.idleWin = s.idleWin[:len(s.idleWin)-1]
	}
	s.idleWin = append(s.idleWin, idleAt{st, idle})
	for s.idleWin[0].step <= st-s.holdSteps {
		s.idleWin = s.idleWin[1:]
	}

	have := s.inService + s.booting()
	switch {
	case s.desired > have:
		s.pending = append(s.pending, launch{st + 1 + s.bootSteps, s.desired - have})
	case s.desired < have:
		excess := have - s.desired
		// Instances still booting go first: they hold no messages.
		s.pending, excess = takeNewest(s.pending, excess)
		if excess == 0 || s.inService == 0 {
			return
		}
		removable := s.inService
		if s.cfg.Protection {
			// Only instances idle for the whole hold-down have dropped
			// their protection (the window's minimum, as the window is
			// at most hold-down long, only then full).
			removable = 0
			if len(s.idleWin) > 0 && st+1 >= s.holdSteps {
				removable = s.idleWin[0].n
			}
		}
		k := min(excess, removable)
		if k == 0 {
			return
		}
		if !s.cfg.Protection {
			// Terminated instances drain: they stop receiving and finish
			// their share of the messages in flight.
			f := float64(k) / float64(s.inService)
			for i := range s.occIn {
				s.occDr[i] += s.occIn[i] * f
				s.doneDr[i] += s.doneIn[i] * f
				s.occIn[i] *= 1 - f
				s.doneIn[i] *= 1 - f
			}
			moved := s.inFlightIn * f
			s.inFlightIn -= moved
			s.inFlightDr += moved
			s.draining += k
		}
		s.inService -= k
		// The instances removed leave the warm-up list too, the newest
		// first (they were the last launched).
		s.warming, _ = takeNewest(s.warming, k)
		// Idle instances just removed are no longer idle candidates.
		for i := range s.idleWin {
			s.idleWin[i].n = max(0, s.idleWin[i].n-k)
		}
	}
}

// takeNewest takes k instances out of ls, the newest launches first, and
// returns what is left of ls and how many of the k it did not hold.
func takeNewest(ls []launch, k int) ([]launch, int) {
	for k > 0 && len(ls) > 0 {
		last := &ls[len(ls)-1]
		m := min(k, last.n)
		last.n -= m
		k -= m
		if last.n == 0 {
			ls = ls[:len(ls)-1]
		}
	}
	return ls, k
}

func (s *state) record(st int64) {
	p := s.rec
	p.T = float64(st+1) * s.dt
	span := float64((st%s.stepsPerRecord)+1) * s.dt
	p.Arrivals /= span
	p.Backlog = s.visible
	p.InFlight = s.inFlightIn + s.inFlightDr
	p.Desired = s.desired
	p.InService = s.inService
	p.Booting = s.booting()
	p.Draining = s.draining
	p.Metric = s.metric
	if p.Started > 0 {
		p.WaitMean = s.recWait / p.Started
	}
	s.res.Points = append(s.res.Points, p)
	s.rec, s.recWait = Point{}, 0
}

func (s *state) finish() {
	sum := &s.res.Summary
	// Messages still waiting have waited at least this long; counting them
	// keeps a fleet that never catches up from looking good.
	for i := s.head; i < len(s.queue); i++ {
		c := s.queue[i]
		if c.n > 1e-9 {
			sum.Unstarted += c.n
			s.addWait(s.steps-c.step, c.n)
		}
	}
	var total, weighted float64
	last := -1
	for i, n := range s.waitHist {
		total += n
		weighted += n * float64(i)
		if n > 1e-9 {
			last = i
		}
	}
	d := func(steps float64) time.Duration { return time.Duration(steps * s.dt * float64(time.Second)) }
	if last >= 0 {
		sum.MaxWait = d(float64(last))
		sum.MeanWait = d(weighted / total)
		var cum float64
		for i, n := range s.waitHist {
			cum += n
			if cum >= 0.99*total-1e-9 {
				sum.P99Wait = d(float64(i))
				break
			}
		}
	}
	sum.MaxBacklog = s.maxBacklog
	sum.RequestCost = sum.Requests / 1e6 * s.cfg.PricePerMillion
	sum.InstanceCost = sum.InstanceHours * s.cfg.InstanceHourPrice
}

func (s *state) result() *Result {
	r := s.res
	return &r
}
