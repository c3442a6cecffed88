package worker

import (
	"math/rand/v2"
	"time"
)

// Backoff computes retry delays: exponential in the attempt number, with
// "equal jitter" (half fixed, half random). Equal rather than full jitter so
// that a later attempt never waits less than an earlier one: the lower bound
// of attempt n+1 is the upper bound of attempt n, which keeps retries spread
// out while still de-synchronising a fleet.
type Backoff struct {
	Base time.Duration // delay for attempt 1 (upper bound)
	Max  time.Duration // cap on any delay
	// Rand returns a float in [0,1); nil means math/rand/v2. Tests inject it.
	Rand func() float64
}

// Delay returns the wait before retrying after failed attempt n (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	if d <= 0 {
		return 0
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
}
