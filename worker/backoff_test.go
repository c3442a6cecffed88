package worker

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func fixedRand(r float64) func() float64 { return func() float64 { return r } }

// almostOne is the largest value Rand may return.
var almostOne = math.Nextafter(1, 0)

// uncapped is the upper bound of attempt n before the cap: Base doubled
// n-1 times, saturating instead of overflowing.
func uncapped(b Backoff, n int) time.Duration {
	d := b.Base
	for i := 1; i < n; i++ {
		if d > math.MaxInt64/2 {
			return math.MaxInt64
		}
		d *= 2
	}
	return d
}

func TestBackoffDelayTable(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second}
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		// Equal jitter: half fixed, half random, doubling per attempt.
		{1, 0, 500 * time.Millisecond},
		{1, 0.5, 750 * time.Millisecond},
		{2, 0, time.Second},
		{2, 0.5, 1500 * time.Millisecond},
		{3, 0, 2 * time.Second},
		{3, 0.5, 3 * time.Second},
		{4, 0, 4 * time.Second},
		{4, 0.5, 6 * time.Second},
		// Attempts below 1 count as the first.
		{0, 0, 500 * time.Millisecond},
		{-3, 0.5, 750 * time.Millisecond},
		// Far past the cap the delay is the cap.
		{10, 0, 10 * time.Second},
		{10, almostOne, 10 * time.Second},
		{math.MaxInt32, 0.5, 10 * time.Second},
	}
	for _, tt := range tests {
		b.Rand = fixedRand(tt.r)
		if got := b.Delay(tt.n); got != tt.want {
			t.Errorf("Backoff{1s,10s}.Delay(%d) with rand %v = %s, want %s", tt.n, tt.r, got, tt.want)
		}
	}
}

// backoffs covers the production defaults (where Max is not Base times a
// power of two), a power-of-two cap, Base above Max, odd nanoseconds and the
// poll backoff's millisecond scale.
var backoffs = []Backoff{
	{Base: 10 * time.Second, Max: 15 * time.Minute},
	{Base: 500 * time.Millisecond, Max: 10 * time.Second},
	{Base: time.Second, Max: 8 * time.Second},
	{Base: time.Minute, Max: 10 * time.Second},
	{Base: 7, Max: 1001},
	{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond},
}

var randValues = []float64{0, 0.1, 0.25, 0.5, 0.75, 0.999, almostOne}

func TestBackoffEqualJitterBounds(t *testing.T) {
	for _, b := range backoffs {
		for n := 1; n <= 70; n++ {
			d := min(uncapped(b, n), b.Max)
			for _, r := range randValues {
				b.Rand = fixedRand(r)
				got := b.Delay(n)
				if got < d/2 || got > d {
					t.Errorf("Backoff{%s,%s}.Delay(%d) with rand %v = %s, want in [%s, %s]",
						b.Base, b.Max, n, r, got, d/2, d)
				}
			}
		}
	}
}

func TestBackoffCappedAtMax(t *testing.T) {
	for _, b := range backoffs {
		for _, n := range []int{1, 2, 5, 10, 30, 62, 63, 64, 100, 1000, math.MaxInt} {
			for _, r := range randValues {
				b.Rand = fixedRand(r)
				if got := b.Delay(n); got > b.Max || got <= 0 {
					t.Errorf("Backoff{%s,%s}.Delay(%d) with rand %v = %s, want in (0, %s]", b.Base, b.Max, n, r, got, b.Max)
				}
			}
		}
	}
}

// TestBackoffNeverDecreases checks the promise in Backoff's doc: a later
// attempt never waits less than an earlier one, whatever the random values.
// That holds if the longest delay of attempt n is at most the shortest of
// attempt n+1, including where the cap starts to bite.
func TestBackoffNeverDecreases(t *testing.T) {
	for _, b := range backoffs {
		for n := 1; n <= 70; n++ {
			b.Rand = fixedRand(almostOne)
			longest := b.Delay(n)
			b.Rand = fixedRand(0)
			shortest := b.Delay(n + 1)
			if shortest < longest {
				t.Errorf("Backoff{%s,%s}: attempt %d can wait %s but attempt %d only %s",
					b.Base, b.Max, n, longest, n+1, shortest)
			}
		}
	}
	// And along random sequences, as the engine draws them.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, b := range backoffs {
		b.Rand = rng.Float64
		for range 200 {
			prev := time.Duration(0)
			for n := 1; n <= 20; n++ {
				d := b.Delay(n)
				if d < prev {
					t.Fatalf("Backoff{%s,%s}: attempt %d waits %s after attempt %d waited %s", b.Base, b.Max, n, d, n-1, prev)
				}
				prev = d
			}
		}
	}
}

func TestBackoffDefaultRandInBounds(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for range 1000 {
		if got := b.Delay(3); got < 2*time.Second || got > 4*time.Second {
			t.Fatalf("Delay(3) = %s, want in [2s, 4s]", got)
		}
	}
}

func TestBackoffZeroBase(t *testing.T) {
	b := Backoff{Max: time.Minute, Rand: fixedRand(0.5)}
	if got := b.Delay(5); got != 0 {
		t.Fatalf("zero Base: Delay(5) = %s, want 0", got)
	}
}
