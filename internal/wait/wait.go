package wait

import (
	"testing"
	"time"
)

// The polling interval starts short, so a condition that holds almost at
// once is seen almost at once, and doubles up to a ceiling, so a long wait
// (a condition that asks an emulator over HTTP, say) does not load a busy
// machine.
const (
	firstInterval = time.Millisecond
	maxInterval   = 50 * time.Millisecond
)

// For polls cond until it returns true, and fails t, naming what it waited
// for, if timeout passes first. It must run on the test's goroutine, as
// t.Fatalf must.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// ForState is For for a condition that also describes the state it saw:
// the last description goes into the failure, so a timeout says how far
// things got.
func ForState(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	var state string
	if !Until(timeout, func() bool {
		var ok bool
		ok, state = cond()
		return ok
	}) {
		t.Fatalf("timed out after %s waiting for %s; last state:\n%s", timeout, what, state)
	}
}

// Until polls cond until it returns true or timeout passes, and reports
// whether it held. It is for goroutines other than the test's (which must
// not call t.Fatalf) and for callers that report a failure their own way.
// cond is always called at least once, and once more at the deadline.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := firstInterval
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxInterval)
	}
}
