package wait_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// fakeTB records a failure instead of failing the real test. Fatalf ends
// the calling goroutine, as testing's does, so code after a failed wait
// does not run. Any other method of testing.TB panics on the nil embedded
// interface: the helpers must not use them.
type fakeTB struct {
	testing.TB
	failed   bool
	msg      string
	returned bool
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls body with a fakeTB on a goroutine of its own, since a failure
// ends that goroutine.
func run(body func(t testing.TB)) *fakeTB {
	ft := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(ft)
		ft.returned = true
	}()
	<-done
	return ft
}

func TestForFailsWhenTheConditionNeverHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		ft := run(func(tb testing.TB) {
			wait.For(tb, 2*time.Second, "the queue to drain", func() bool { calls++; return false })
		})
		if !ft.failed || ft.returned {
			t.Fatalf("failed=%v returned=%v; want a fatal failure that stops the caller", ft.failed, ft.returned)
		}
		for _, want := range []string{"the queue to drain", "2s"} {
			if !strings.Contains(ft.msg, want) {
				t.Errorf("failure %q does not name %q", ft.msg, want)
			}
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("gave up after %s, want the 2s timeout exactly (fake clock)", took)
		}
		if calls < 10 {
			t.Errorf("condition checked %d times in 2s, want it polled", calls)
		}
	})
}

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ready := start.Add(300 * time.Millisecond)
		ft := run(func(tb testing.TB) {
			wait.For(tb, time.Minute, "ready", func() bool { return !time.Now().Before(ready) })
		})
		if ft.failed || !ft.returned {
			t.Fatalf("failed=%v (%q) returned=%v; want a plain return", ft.failed, ft.msg, ft.returned)
		}
		// Polls at most 50ms apart: the condition is seen soon after it holds.
		if took := time.Since(start); took < 300*time.Millisecond || took > 350*time.Millisecond {
			t.Errorf("returned after %s, want within one polling interval of 300ms", took)
		}
	})
}

func TestForChecksBeforeSleeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		ft := run(func(tb testing.TB) {
			wait.For(tb, time.Minute, "true", func() bool { calls++; return true })
		})
		if ft.failed || calls != 1 || time.Since(start) != 0 {
			t.Errorf("failed=%v calls=%d took %s; a condition that holds must return at once", ft.failed, calls, time.Since(start))
		}
	})
}

func TestForStateReportsTheLastState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		ft := run(func(tb testing.TB) {
			wait.ForState(tb, time.Second, "five deletes", func() (bool, string) {
				n++
				return false, fmt.Sprintf("%d checks so far", n)
			})
		})
		if !ft.failed || ft.returned {
			t.Fatalf("failed=%v returned=%v; want a fatal failure", ft.failed, ft.returned)
		}
		if want := fmt.Sprintf("%d checks so far", n); !strings.Contains(ft.msg, "five deletes") || !strings.HasSuffix(ft.msg, want) {
			t.Errorf("failure %q; want it to name what and end with the last state %q", ft.msg, want)
		}
	})
}

func TestForStateReturnsOnceTheConditionHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		ft := run(func(tb testing.TB) {
			wait.ForState(tb, time.Second, "three checks", func() (bool, string) { n++; return n == 3, "" })
		})
		if ft.failed || !ft.returned || n != 3 {
			t.Errorf("failed=%v returned=%v after %d checks; want a return at the third", ft.failed, ft.returned, n)
		}
	})
}

func TestUntilReportsWhetherTheConditionHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if wait.Until(500*time.Millisecond, func() bool { return false }) {
			t.Error("Until = true for a condition that never holds")
		}
		if took := time.Since(start); took != 500*time.Millisecond {
			t.Errorf("gave up after %s, want 500ms", took)
		}
		// A condition that holds only at the deadline still counts: the
		// last check is made when the time is up, not before.
		deadline := time.Now().Add(time.Second)
		if !wait.Until(time.Second, func() bool { return !time.Now().Before(deadline) }) {
			t.Error("Until = false for a condition that held at the deadline")
		}
	})
}
