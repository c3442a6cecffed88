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
	// Double until even the fixed half reaches Max; from there on every
	// attempt waits exactly Max.
	d := b.Base
	for i := 1; i < n && d/2 < b.Max; i++ {
		d *= 2
	}
	if d <= 0 {
		return 0
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	half := d / 2
	delay := half + time.Duration(r()*float64(d-half))
	// Cap after the jitter, not before: capping d first would let the
	// attempt after the cap is reached draw from [Max/2, Max] while the one
	// before it may have waited almost Max.
	if b.Max > 0 && delay > b.Max {
		delay = b.Max
	}
	return delay
}
