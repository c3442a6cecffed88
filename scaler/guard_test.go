package scaler_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/scaler"
)

// fakeClock is a settable time for the Guard's hold-down and backoff; the
// Guard's polling still runs on real (short) ticks.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeActivity counts how often it is read, so a test can wait for the
// Guard to have looked at least once more.
type fakeActivity struct {
	busy  atomic.Bool
	reads atomic.Int64
}

func (a *fakeActivity) Busy() bool { a.reads.Add(1); return a.busy.Load() }

// waitReads waits until the Guard has read the activity n more times, i.e.
// has taken n more steps.
func (a *fakeActivity) waitReads(t *testing.T, n int64) {
	t.Helper()
	target := a.reads.Load() + n
	wait.For(t, 10*time.Second, "guard steps", func() bool { return a.reads.Load() >= target })
}

type protectCall struct {
	on     bool
	ctxErr error // the context's state when the call was made
}

type fakeProtector struct {
	mu    sync.Mutex
	calls []protectCall
	lasts time.Duration
	fail  error
}

func (p *fakeProtector) SetProtected(ctx context.Context, on bool) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, protectCall{on: on, ctxErr: ctx.Err()})
	if err := ctx.Err(); err != nil {
		return 0, err // as an HTTP call on a cancelled context would
	}
	if p.fail != nil {
		return 0, p.fail
	}
	return p.lasts, nil
}

func (p *fakeProtector) setFail(err error) {
	p.mu.Lock()
	p.fail = err
	p.mu.Unlock()
}

func (p *fakeProtector) history() []protectCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]protectCall(nil), p.calls...)
}

// count returns the calls to set on that were made on a live context.
func (p *fakeProtector) count(on bool) int {
	n := 0
	for _, c := range p.history() {
		if c.on == on && c.ctxErr == nil {
			n++
		}
	}
	return n
}

func newGuard(t *testing.T, p scaler.Protector, a scaler.Activity, clock *fakeClock, m *scaler.Metrics, log *zap.Logger) *scaler.Guard {
	t.Helper()
	g, err := scaler.NewGuard(scaler.GuardConfig{
		Protector: p, Activity: a, HoldDown: 30 * time.Second, Poll: time.Millisecond,
		Metrics: m, Logger: log, Now: clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGuardProtectsWhileBusy(t *testing.T) {
	p, a, clock, m := &fakeProtector{}, &fakeActivity{}, newFakeClock(), scaler.NewMetrics(nil)
	g := newGuard(t, p, a, clock, m, nil)
	if err := g.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()

	// Starting idle clears whatever a killed predecessor may have left on,
	// once.
	wait.For(t, 10*time.Second, "the start-up release", func() bool { return p.count(false) == 1 })
	a.waitReads(t, 3)
	if n := len(p.history()); n != 1 {
		t.Fatalf("%d calls while idle, want only the start-up release", n)
	}

	a.busy.Store(true)
	wait.For(t, 10*time.Second, "protection on", func() bool { return p.count(true) == 1 })
	if testutil.ToFloat64(m.Protected) != 1 {
		t.Error("sqsfleet_scale_in_protected is not 1")
	}
	// Busy for a long time: no more calls (EC2 protection does not lapse).
	clock.advance(time.Hour)
	a.waitReads(t, 3)
	if n := p.count(true); n != 1 {
		t.Errorf("%d protect calls while busy, want 1", n)
	}

	// Idle, but within the hold-down: still protected.
	a.busy.Store(false)
	a.waitReads(t, 1) // the step that saw it idle
	clock.advance(29 * time.Second)
	a.waitReads(t, 3)
	if n := p.count(false); n != 1 {
		t.Fatalf("released after 29s idle, before the 30s hold-down")
	}
	// Busy again within the hold-down: no flapping, no call.
	a.busy.Store(true)
	a.waitReads(t, 2)
	a.busy.Store(false)
	a.waitReads(t, 2)
	clock.advance(29 * time.Second)
	a.waitReads(t, 3)
	if h := p.history(); len(h) != 2 {
		t.Fatalf("calls %+v: a short gap between messages caused calls", h)
	}
	clock.advance(2 * time.Second)
	wait.For(t, 10*time.Second, "release after the hold-down", func() bool { return p.count(false) == 2 })
	if testutil.ToFloat64(m.Protected) != 0 {
		t.Error("sqsfleet_scale_in_protected is not 0")
	}
}

func TestGuardRenewsLapsingProtection(t *testing.T) {
	p, a, clock := &fakeProtector{lasts: 10 * time.Minute}, &fakeActivity{}, newFakeClock()
	a.busy.Store(true)
	g := newGuard(t, p, a, clock, nil, nil)
	if err := g.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	wait.For(t, 10*time.Second, "protection on", func() bool { return p.count(true) == 1 })
	clock.advance(4 * time.Minute)
	a.waitReads(t, 3)
	if n := p.count(true); n != 1 {
		t.Fatalf("renewed after 4 of 10 minutes (%d calls)", n)
	}
	clock.advance(time.Minute + time.Second) // past half-life
	wait.For(t, 10*time.Second, "renewal", func() bool { return p.count(true) == 2 })
	clock.advance(5*time.Minute + time.Second)
	wait.For(t, 10*time.Second, "second renewal", func() bool { return p.count(true) == 3 })
}

func TestGuardStopReleasesWithFreshContext(t *testing.T) {
	p, a, clock := &fakeProtector{}, &fakeActivity{}, newFakeClock()
	a.busy.Store(true)
	g := newGuard(t, p, a, clock, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "protection on", func() bool { return p.count(true) == 1 })
	// SIGTERM cancels the daemon's context: protection stays as it is
	// through the drain...
	cancel()
	a.busy.Store(false)
	clock.advance(time.Hour)
	if n := p.count(false); n != 0 {
		t.Fatalf("released on cancel, before Stop")
	}
	// ...and Stop releases it, on a context of its own.
	g.Stop()
	h := p.history()
	last := h[len(h)-1]
	if last.on || last.ctxErr != nil {
		t.Fatalf("last call %+v, want a release with a live context", last)
	}
	if n := p.count(false); n != 1 {
		t.Fatalf("%d releases, want exactly the one at Stop", n)
	}
	g.Stop()
	if n := len(p.history()); n != len(h) {
		t.Error("second Stop called the protector again")
	}

	// A guard that is idle and off at Stop makes no call.
	p2, a2 := &fakeProtector{}, &fakeActivity{}
	g2 := newGuard(t, p2, a2, newFakeClock(), nil, nil)
	if err := g2.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "start-up release", func() bool { return p2.count(false) == 1 })
	g2.Stop()
	if n := len(p2.history()); n != 1 {
		t.Errorf("%d calls, want only the start-up release", n)
	}
	// Never started: nothing to do.
	newGuard(t, &fakeProtector{}, &fakeActivity{}, newFakeClock(), nil, nil).Stop()
}

func TestGuardFailuresAreRetriedCountedAndNotFatal(t *testing.T) {
	p, a, clock, m := &fakeProtector{}, &fakeActivity{}, newFakeClock(), scaler.NewMetrics(nil)
	p.setFail(errors.New("AccessDenied: autoscaling:SetInstanceProtection"))
	a.busy.Store(true)
	core, logs := observer.New(zapcore.InfoLevel)
	g := newGuard(t, p, a, clock, m, zap.New(core))
	if err := g.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()

	errs := m.Errors.WithLabelValues(scaler.OpProtect)
	wait.For(t, 10*time.Second, "a failed protect", func() bool { return testutil.ToFloat64(errs) == 1 })
	// Backing off: no call on every poll.
	a.waitReads(t, 5)
	if n := len(p.history()); n != 1 {
		t.Fatalf("%d calls during the backoff, want 1", n)
	}
	clock.advance(3 * time.Second)
	wait.For(t, 10*time.Second, "a retry", func() bool { return len(p.history()) == 2 })
	if n := logs.FilterMessage("scaler: could not turn scale-in protection on").Len(); n != 1 {
		t.Errorf("failure logged %d times, want once (rate-limited)", n)
	}

	p.setFail(nil)
	clock.advance(5 * time.Second)
	wait.For(t, 10*time.Second, "protection on after recovery", func() bool { return testutil.ToFloat64(m.Protected) == 1 })
	if logs.FilterMessage("scaler: scale-in protection calls work again").Len() != 1 {
		t.Error("recovery not logged")
	}
}

// hangingProtector applies protection at once but answers only when its
// context ends, like a call whose response is lost.
type hangingProtector struct {
	fakeProtector
	applied atomic.Bool
}

func (p *hangingProtector) SetProtected(ctx context.Context, on bool) (time.Duration, error) {
	if on {
		p.applied.Store(true)
		<-ctx.Done()
	}
	return p.fakeProtector.SetProtected(ctx, on)
}

// TestGuardStopReleasesAfterCutShortCall: a protect call that took effect
// but was cut short by Stop must still be undone.
func TestGuardStopReleasesAfterCutShortCall(t *testing.T) {
	p, a := &hangingProtector{}, &fakeActivity{}
	g := newGuard(t, p, a, newFakeClock(), nil, nil)
	if err := g.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "the start-up release", func() bool { return p.count(false) == 1 })
	a.busy.Store(true)
	wait.For(t, 10*time.Second, "protection applied", p.applied.Load)
	g.Stop()
	if n := p.count(false); n != 2 {
		t.Errorf("%d releases, want the start-up one and one at Stop: %+v", n, p.history())
	}
}
