package ratelog_test

import (
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sqsfleet/sqsfleet/internal/ratelog"
)

// suppressed is the "suppressed" field of e, 0 when absent.
func suppressed(t *testing.T, e observer.LoggedEntry) int {
	t.Helper()
	v, ok := e.ContextMap()["suppressed"]
	if !ok {
		return 0
	}
	return int(v.(int64))
}

func TestLimitPerMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		l := ratelog.New(zap.New(core), ratelog.Every)

		// A flood of one failure...
		for range 50 {
			l.Error("receive failed")
			time.Sleep(100 * time.Millisecond)
		}
		// ...leaves another its own allowance.
		l.Warn("visibility extension failed", zap.String("message_id", "m1"))
		if n := logs.FilterMessage("receive failed").Len(); n != 1 {
			t.Errorf("%d receive lines in 5s, want 1", n)
		}
		if n := logs.FilterMessage("visibility extension failed").Len(); n != 1 {
			t.Fatalf("%d extension lines while receives flood, want 1", n)
		}

		// Past the interval the next line is written, with the count of
		// the ones left out.
		time.Sleep(ratelog.Every)
		l.Error("receive failed")
		got := logs.FilterMessage("receive failed").All()
		if len(got) != 2 || suppressed(t, got[1]) != 49 || suppressed(t, got[0]) != 0 {
			t.Fatalf("receive lines %v, want 2, the second with suppressed=49", got)
		}
		// The count was reported once: it starts again from zero.
		time.Sleep(ratelog.Every)
		l.Error("receive failed")
		if got := logs.FilterMessage("receive failed").All(); len(got) != 3 || suppressed(t, got[2]) != 0 {
			t.Errorf("third receive line %v, want no suppressed field", got[len(got)-1])
		}
	})
}

func TestLimitSharedByWith(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		l := ratelog.New(zap.New(core), ratelog.Every)
		a, b := l.With(zap.String("poller", "a")), l.With(zap.String("poller", "b"))
		a.Warn("receive failed")
		b.Warn("receive failed")
		b.Warn("receive failed")
		if n := logs.Len(); n != 1 {
			t.Fatalf("%d lines from two derived loggers, want 1: they share the limit", n)
		}
		time.Sleep(ratelog.Every)
		b.Warn("receive failed")
		if e := logs.All()[1]; suppressed(t, e) != 2 || e.ContextMap()["poller"] != "b" {
			t.Errorf("line %v, want poller b with suppressed=2", e.ContextMap())
		}
	})
}

func TestUnlogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		l := ratelog.New(zap.New(core), time.Minute)
		for range 4 {
			l.Warn("publish failed")
		}
		if n := l.Unlogged("publish failed"); n != 3 {
			t.Errorf("Unlogged = %d, want 3", n)
		}
		if n := l.Unlogged("publish failed"); n != 0 {
			t.Errorf("Unlogged again = %d, want 0: the count was taken", n)
		}
		time.Sleep(time.Minute)
		l.Warn("publish failed")
		if e := logs.All()[1]; suppressed(t, e) != 0 {
			t.Errorf("line after Unlogged %v, want no suppressed field", e.ContextMap())
		}
	})
}

// The caller's own core still decides what it writes: a level it filters
// stays filtered.
func TestRespectsCoreLevel(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	l := ratelog.New(zap.New(core), time.Minute)
	l.Warn("below the level")
	l.Error("at the level")
	if logs.Len() != 1 || logs.All()[0].Message != "at the level" {
		t.Errorf("logged %v, want only the error", logs.All())
	}
}
