package scaler

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Activity tells whether the worker holds work. The engine satisfies it
// through a small adapter in internal/app, so that this package does not
// depend on package worker.
type Activity interface {
	// Busy reports whether any message is being handled (or was received
	// and is not settled yet). It is called about once a second and must
	// be cheap and safe for concurrent use.
	Busy() bool
}

// ActivityFunc adapts a function to Activity.
type ActivityFunc func() bool

// Busy calls f.
func (f ActivityFunc) Busy() bool { return f() }

// Protector turns scale-in protection of this instance or task on and off.
type Protector interface {
	// SetProtected turns protection on or off. For protection that lapses
	// by itself it returns how long it lasts from now, so that the Guard
	// renews it in time; 0 means it lasts until turned off.
	SetProtected(ctx context.Context, on bool) (lasts time.Duration, err error)
}

// GuardConfig configures a Guard. The zero value of every optional field
// means its default.
type GuardConfig struct {
	Protector Protector // required
	Activity  Activity  // required
	// HoldDown is how long the worker must be idle before protection is
	// released, default 30s. Messages often arrive in bursts with short
	// gaps; without a hold-down each gap would cost two API calls and
	// leave a moment in which scale-in may pick this worker.
	HoldDown time.Duration
	// Poll is how often Activity is read, default 1s.
	Poll time.Duration
	// CallTimeout bounds one SetProtected call, default 10s; also the time
	// Stop allows for the final release.
	CallTimeout time.Duration
	Metrics     *Metrics         // default NewMetrics(nil)
	Logger      *zap.Logger      // default zap.NewNop()
	Now         func() time.Time // default time.Now
}

type protState int

const (
	protUnknown protState = iota // as a previous process may have left it
	protOn
	protOff
)

// Guard keeps this instance or task protected from scale-in while the
// worker is busy. See the package documentation.
type Guard struct {
	cfg   GuardConfig
	fails *failureLog

	// Owned by the loop goroutine, and by Stop once the loop has ended.
	state    protState
	lastBusy time.Time
	renewAt  time.Time // zero: protection does not lapse
	retryAt  time.Time // after a failure, no call before this
	backoff  time.Duration

	bg       background
	stopOnce sync.Once
}

// NewGuard checks cfg, fills in defaults and returns a Guard that is not
// running.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Protector == nil || cfg.Activity == nil {
		return nil, errors.New("scaler: GuardConfig needs Protector and Activity")
	}
	if cfg.HoldDown < 0 || cfg.Poll < 0 || cfg.CallTimeout < 0 {
		return nil, errors.New("scaler: GuardConfig durations must not be negative")
	}
	if cfg.HoldDown == 0 {
		cfg.HoldDown = 30 * time.Second
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	commonDefaults(&cfg.Metrics, &cfg.Logger, &cfg.Now)
	return &Guard{cfg: cfg, fails: newFailureLog(cfg.Logger)}, nil
}

// Start follows the worker's activity until ctx is cancelled or Stop is
// called. Cancelling ctx freezes protection as it is; only Stop releases
// it, so a daemon can keep it through its drain and release it after.
// Start returns an error only when the Guard was already started.
func (g *Guard) Start(ctx context.Context) error {
	return g.bg.start(ctx, "guard", g.run)
}

// Stop ends the Guard and releases protection if it may be on, with a
// fresh context: the daemon's own context is usually cancelled by then,
// and protection left on after exit would keep an idle instance forever
// (EC2 protection never lapses). It is idempotent, and safe without Start.
func (g *Guard) Stop() {
	g.stopOnce.Do(func() {
		if !g.bg.halt() {
			return // never started: nothing was turned on
		}
		if g.state == protOff {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.CallTimeout)
		defer cancel()
		if _, err := g.cfg.Protector.SetProtected(ctx, false); err != nil {
			g.cfg.Metrics.Errors.WithLabelValues(OpProtect).Inc()
			g.cfg.Logger.Error("scaler: could not release scale-in protection at exit", zap.Error(err))
			return
		}
		g.state = protOff
		g.cfg.Metrics.Protected.Set(0)
		g.cfg.Logger.Info("scale-in protection released at exit")
	})
}

func (g *Guard) run(ctx context.Context) {
	t := time.NewTicker(g.cfg.Poll)
	defer t.Stop()
	for {
		g.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step reads the activity once and calls the Protector if the wanted state
// differs from the known one, or if protection is due for renewal.
func (g *Guard) step(ctx context.Context) {
	now := g.cfg.Now()
	if g.cfg.Activity.Busy() {
		g.lastBusy = now
	}
	want := !g.lastBusy.IsZero() && now.Sub(g.lastBusy) < g.cfg.HoldDown
	if now.Before(g.retryAt) {
		return
	}
	switch {
	case want && g.state != protOn:
	case want && !g.renewAt.IsZero() && !now.Before(g.renewAt):
	case !want && g.state != protOff:
		// Also when the state is unknown: a previous process killed while
		// protected left protection on, and an idle worker must not keep it.
	default:
		return
	}
	cctx, cancel := context.WithTimeout(ctx, g.cfg.CallTimeout)
	lasts, err := g.cfg.Protector.SetProtected(cctx, want)
	cancel()
	if err != nil {
		// A call that failed may still have taken effect (a timeout after
		// the change was made, a call cut short by Stop), so the state is
		// no longer known: the next step, or Stop, sets it again.
		g.state = protUnknown
		if ctx.Err() != nil {
			return // stopping; Stop releases
		}
		g.cfg.Metrics.Errors.WithLabelValues(OpProtect).Inc()
		g.backoff = min(max(2*g.backoff, 2*time.Second), time.Minute)
		g.retryAt = now.Add(g.backoff)
		msg := "scaler: could not turn scale-in protection off"
		if want {
			msg = "scaler: could not turn scale-in protection on"
		}
		g.fails.failed(OpProtect, msg, err, zap.Duration("retry_in", g.backoff))
		return
	}
	g.backoff, g.retryAt = 0, time.Time{}
	g.fails.ok(OpProtect, "scaler: scale-in protection calls work again")
	if want {
		if g.state != protOn {
			g.cfg.Logger.Info("scale-in protection on: this worker holds messages")
		}
		g.state = protOn
		g.renewAt = time.Time{}
		if lasts > 0 {
			// Renew at half-life, leaving time for a failed renewal to be
			// retried before protection lapses.
			g.renewAt = now.Add(lasts / 2)
		}
		g.cfg.Metrics.Protected.Set(1)
		return
	}
	if g.state == protOn {
		g.cfg.Logger.Info("scale-in protection off: idle", zap.Duration("idle_for", now.Sub(g.lastBusy)))
	}
	g.state = protOff
	g.renewAt = time.Time{}
	g.cfg.Metrics.Protected.Set(0)
}
