package scaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Config configures a Loop. The zero value of every optional field means
// its default.
type Config struct {
	Queue     QueueStats // required
	Fleet     FleetSizer // default StaticFleet(1)
	Publisher Publisher  // default Discard: the gauge only
	// Elector, when set, limits publishing to the daemon it elects. Nil:
	// this daemon always publishes.
	Elector Elector
	// Interval between computations, default 60s. The configuration allows
	// 10s, 30s and 60s; any positive value works here (tests use
	// milliseconds).
	Interval time.Duration
	// Timeout bounds the calls of one computation, default Interval, so a
	// hung API call cannot delay the next one.
	Timeout time.Duration
	Metrics *Metrics         // default NewMetrics(nil)
	Logger  *zap.Logger      // default zap.NewNop()
	Now     func() time.Time // default time.Now
}

// Loop computes the metric every interval, sets the
// sqsfleet_backlog_per_instance gauge and publishes it.
type Loop struct {
	cfg   Config
	fails *failureLog

	bg background
}

// New checks cfg, fills in defaults and returns a Loop that is not running.
func New(cfg Config) (*Loop, error) {
	if cfg.Queue == nil {
		return nil, errors.New("scaler: Config.Queue is required")
	}
	if cfg.Interval < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("scaler: negative interval %s or timeout %s", cfg.Interval, cfg.Timeout)
	}
	if cfg.Fleet == nil {
		cfg.Fleet = StaticFleet(1)
	}
	if cfg.Publisher == nil {
		cfg.Publisher = Discard
	}
	if cfg.Interval == 0 {
		cfg.Interval = 60 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = cfg.Interval
	}
	commonDefaults(&cfg.Metrics, &cfg.Logger, &cfg.Now)
	return &Loop{cfg: cfg, fails: newFailureLog(cfg.Logger)}, nil
}

// Start computes and publishes once at once, then every interval, until
// ctx is cancelled or Stop is called. It returns an error only when the
// loop was already started.
func (l *Loop) Start(ctx context.Context) error {
	return l.bg.start(ctx, "loop", l.run)
}

// Stop ends the loop and waits for a computation in progress to finish.
// It is idempotent, and safe to call without Start.
func (l *Loop) Stop() { l.bg.halt() }

func (l *Loop) run(ctx context.Context) {
	// The first value goes out at once: a daemon that starts because the
	// queue filled up should not wait a whole interval to say so.
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	for {
		l.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Loop) tick(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	s, err := l.Sample(ctx)
	if err != nil {
		return // counted and logged by Sample
	}
	if e := l.cfg.Elector; e != nil {
		leader, err := e.Leader(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			l.cfg.Metrics.Errors.WithLabelValues(OpElect).Inc()
			l.fails.failed(OpElect, "scaler: cannot tell whether this daemon is the leader; publishing anyway", err)
		case err != nil:
			return // stopping
		case !leader:
			l.fails.ok(OpElect, "scaler: leader election works again")
			l.cfg.Logger.Debug("scaler: not the leader; not publishing", zap.Float64("backlog_per_instance", s.Value))
			return
		default:
			l.fails.ok(OpElect, "scaler: leader election works again")
		}
	}
	_ = l.publish(ctx, s)
}

// Sample computes the metric and sets the gauges, without publishing.
// Failures are counted and logged (rate-limited) as well as returned.
func (l *Loop) Sample(ctx context.Context) (Sample, error) {
	now := l.cfg.Now()
	backlog, err := l.cfg.Queue.Backlog(ctx)
	if err != nil {
		l.fail(ctx, OpQueue, "scaler: cannot read the queue's backlog; skipping this interval", err)
		return Sample{}, err
	}
	l.fails.ok(OpQueue, "scaler: reading the queue's backlog works again")
	fleet, err := l.cfg.Fleet.Size(ctx)
	if err != nil {
		// Skipped rather than divided by a guess: too small a fleet would
		// scale out for nothing, too large a one would scale in busy workers.
		l.fail(ctx, OpFleet, "scaler: cannot read the fleet size; skipping this interval", err)
		return Sample{}, err
	}
	l.fails.ok(OpFleet, "scaler: reading the fleet size works again")
	s := Sample{Time: now, Backlog: backlog, Fleet: fleet, Value: PerInstance(backlog, fleet)}
	m := l.cfg.Metrics
	m.BacklogPerInstance.Set(s.Value)
	m.Backlog.Set(float64(backlog))
	m.FleetSize.Set(float64(fleet))
	l.cfg.Logger.Debug("scaler: computed", zap.Float64("backlog_per_instance", s.Value),
		zap.Int64("backlog", backlog), zap.Int("fleet", fleet))
	return s, nil
}

// Once computes the metric and publishes it, whatever the Elector says: it
// is what `sqsfleet scaler --once` runs, where the caller asked for it.
func (l *Loop) Once(ctx context.Context) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	s, err := l.Sample(ctx)
	if err != nil {
		return Sample{}, err
	}
	return s, l.publish(ctx, s)
}

func (l *Loop) publish(ctx context.Context, s Sample) error {
	if err := l.cfg.Publisher.Publish(ctx, s); err != nil {
		l.fail(ctx, OpPublish, "scaler: publishing the metric failed", err, zap.Float64("backlog_per_instance", s.Value))
		return err
	}
	l.cfg.Metrics.Publishes.Inc()
	l.fails.ok(OpPublish, "scaler: publishing the metric works again")
	return nil
}

// fail counts and logs a failure, unless it is only the loop stopping.
func (l *Loop) fail(ctx context.Context, op, msg string, err error, fields ...zap.Field) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	l.cfg.Metrics.Errors.WithLabelValues(op).Inc()
	l.fails.failed(op, msg, err, fields...)
}

// commonDefaults fills the settings the Loop and the Guard share: metrics
// registered nowhere, no logging, the real clock.
func commonDefaults(m **Metrics, log **zap.Logger, now *func() time.Time) {
	if *m == nil {
		*m = NewMetrics(nil)
	}
	if *log == nil {
		*log = zap.NewNop()
	}
	if *now == nil {
		*now = time.Now
	}
}
