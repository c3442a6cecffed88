package scaler_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/scaler"
)

type fakeQueue struct {
	n   atomic.Int64
	err atomic.Pointer[error]
}

func (q *fakeQueue) Backlog(context.Context) (int64, error) {
	if e := q.err.Load(); e != nil {
		return 0, *e
	}
	return q.n.Load(), nil
}

type fakeFleet struct{ n atomic.Int64 }

func (f *fakeFleet) Size(context.Context) (int, error) { return int(f.n.Load()), nil }

// recorder is a Publisher that remembers what it was given and can be made
// to fail.
type recorder struct {
	mu      sync.Mutex
	samples []scaler.Sample
	fail    error
}

func (r *recorder) Publish(_ context.Context, s scaler.Sample) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.samples = append(r.samples, s)
	return nil
}

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}

func (r *recorder) last() scaler.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samples[len(r.samples)-1]
}

type electorFunc func() (bool, error)

func (f electorFunc) Leader(context.Context) (bool, error) { return f() }

// On synctest's clock, so the interval is a realistic minute and the test
// counts publishes exactly instead of waiting for "at least".
func TestLoopPublishesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Minute
		q, fleet, pub := &fakeQueue{}, &fakeFleet{}, &recorder{}
		q.n.Store(30)
		fleet.n.Store(0)
		reg := prometheus.NewRegistry()
		m := scaler.NewMetrics(reg)
		loop, err := scaler.New(scaler.Config{Queue: q, Fleet: fleet, Publisher: pub, Interval: interval, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		if err := loop.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer loop.Stop()
		if err := loop.Start(t.Context()); err == nil {
			t.Error("second Start did not fail")
		}

		// The first value goes out at once, and then once per interval.
		synctest.Wait()
		if n := pub.count(); n != 1 {
			t.Fatalf("%d publishes at start, want 1", n)
		}
		time.Sleep(2 * interval)
		synctest.Wait()
		if n := pub.count(); n != 3 {
			t.Fatalf("%d publishes after two intervals, want 3", n)
		}
		if s := pub.last(); s.Value != 30 || s.Backlog != 30 || s.Fleet != 0 || s.Time.IsZero() {
			t.Errorf("sample %+v, want 30 per instance from an empty fleet", s)
		}
		fleet.n.Store(4)
		time.Sleep(interval)
		synctest.Wait()
		if s := pub.last(); s.Value != 7.5 {
			t.Errorf("sample %+v an interval after the fleet grew to 4, want 7.5 per instance", s)
		}
		if got := testutil.ToFloat64(m.BacklogPerInstance); got != 7.5 {
			t.Errorf("sqsfleet_backlog_per_instance = %v, want 7.5", got)
		}
		loop.Stop()
		loop.Stop() // idempotent
		n := pub.count()
		if testutil.ToFloat64(m.Publishes) < float64(n) {
			t.Errorf("publishes counter %v below %d publishes", testutil.ToFloat64(m.Publishes), n)
		}
		// Registered under the public names.
		if c, err := testutil.GatherAndCount(reg, "sqsfleet_backlog_per_instance", "sqsfleet_scaler_errors_total"); err != nil || c != 1+5 {
			t.Errorf("gathered %d series (%v), want the gauge and 5 error series", c, err)
		}
	})
}

func TestLoopFailuresAreCountedAndNotFatal(t *testing.T) {
	q, pub := &fakeQueue{}, &recorder{}
	q.n.Store(9)
	pub.setFail(errors.New("AccessDenied: cloudwatch:PutMetricData"))
	core, logs := observer.New(zapcore.InfoLevel)
	m := scaler.NewMetrics(nil)
	loop, err := scaler.New(scaler.Config{Queue: q, Fleet: scaler.StaticFleet(3), Publisher: pub,
		Interval: 5 * time.Millisecond, Metrics: m, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	defer loop.Stop()

	errs := m.Errors.WithLabelValues(scaler.OpPublish)
	wait.For(t, 10*time.Second, "five failed publishes", func() bool { return testutil.ToFloat64(errs) >= 5 })
	// The gauge is still set: /metrics shows the value even when CloudWatch
	// refuses it.
	if got := testutil.ToFloat64(m.BacklogPerInstance); got != 3 {
		t.Errorf("gauge = %v, want 3", got)
	}
	// Logged once, not once per failure.
	if n := logs.FilterMessage("scaler: publishing the metric failed").Len(); n != 1 {
		t.Errorf("failure logged %d times within 30s, want 1", n)
	}

	// A queue that cannot be read skips the interval: nothing is published
	// with a made-up value.
	qerr := errors.New("SQS unreachable")
	q.err.Store(&qerr)
	qerrs := m.Errors.WithLabelValues(scaler.OpQueue)
	wait.For(t, 10*time.Second, "queue failures", func() bool { return testutil.ToFloat64(qerrs) >= 2 })

	// Recovery is logged, and publishing resumes.
	q.err.Store(nil)
	pub.setFail(nil)
	wait.For(t, 10*time.Second, "a publish after recovery", func() bool { return pub.count() > 0 })
	wait.For(t, 10*time.Second, "the recovery log", func() bool {
		return logs.FilterMessage("scaler: publishing the metric works again").Len() == 1
	})
}

func TestLoopLeaderOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, pub := &fakeQueue{}, &recorder{}
		q.n.Store(10)
		var leader atomic.Bool
		var electErr atomic.Pointer[error]
		elector := electorFunc(func() (bool, error) {
			if e := electErr.Load(); e != nil {
				return false, *e
			}
			return leader.Load(), nil
		})
		m := scaler.NewMetrics(nil)
		loop, _ := scaler.New(scaler.Config{Queue: q, Publisher: pub, Elector: elector, Interval: 5 * time.Millisecond, Metrics: m})
		if err := loop.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		defer loop.Stop()

		wait.For(t, 10*time.Second, "the gauge of a non-leader", func() bool { return testutil.ToFloat64(m.BacklogPerInstance) == 10 })
		wait.For(t, 10*time.Second, "a few intervals", func() bool { return testutil.ToFloat64(m.FleetSize) == 1 && testutil.ToFloat64(m.Backlog) == 10 })
		if pub.count() != 0 {
			t.Fatalf("a non-leader published %d times", pub.count())
		}
		leader.Store(true)
		wait.For(t, 10*time.Second, "the leader publishing", func() bool { return pub.count() > 0 })

		// An election that fails publishes anyway.
		leader.Store(false)
		e := errors.New("ListTasks throttled")
		electErr.Store(&e)
		before := pub.count()
		wait.For(t, 10*time.Second, "publishing despite a failed election", func() bool { return pub.count() > before+2 })
		if testutil.ToFloat64(m.Errors.WithLabelValues(scaler.OpElect)) == 0 {
			t.Error("failed election not counted")
		}
	})
}

func TestLoopOnceIgnoresElector(t *testing.T) {
	q, pub := &fakeQueue{}, &recorder{}
	q.n.Store(5)
	loop, _ := scaler.New(scaler.Config{Queue: q, Fleet: scaler.StaticFleet(2), Publisher: pub,
		Elector: electorFunc(func() (bool, error) { return false, nil })})
	s, err := loop.Once(testCtx(t))
	if err != nil || s.Value != 2.5 || pub.count() != 1 {
		t.Fatalf("Once = %+v, %v with %d publishes; want 2.5 published once", s, err, pub.count())
	}
	pub.setFail(errors.New("boom"))
	if s, err := loop.Once(testCtx(t)); err == nil || s.Value != 2.5 {
		t.Errorf("Once with a failing publisher = %+v, %v; want the sample and the error", s, err)
	}
	if _, err := scaler.New(scaler.Config{}); err == nil {
		t.Error("New accepted a config without a queue")
	}
}
