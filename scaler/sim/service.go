package sim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Processing is the handler time per message, as a set of equally likely
// durations in seconds.
type Processing struct {
	samples []float64 // sorted
	mean    float64
}

// LogNormal is a processing time with the given mean and spread (standard
// deviation), log-normally distributed: never negative and with the long
// right tail handler times have. A spread of 0 is a fixed time.
func LogNormal(mean, spread time.Duration) (Processing, error) {
	m, s := mean.Seconds(), spread.Seconds()
	if m <= 0 {
		return Processing{}, fmt.Errorf("processing time %s: must be positive", mean)
	}
	if s < 0 {
		return Processing{}, fmt.Errorf("processing spread %s: must not be negative", spread)
	}
	if s == 0 {
		return Processing{samples: []float64{m}, mean: m}, nil
	}
	// 1,000 quantiles stand for the distribution; the tail beyond the last
	// one (1 in 2,000) is cut.
	sigma2 := math.Log(1 + s*s/(m*m))
	mu, sigma := math.Log(m)-sigma2/2, math.Sqrt(sigma2)
	const n = 1000
	xs := make([]float64, n)
	for i := range xs {
		p := (float64(i) + 0.5) / n
		xs[i] = math.Exp(mu + sigma*math.Sqrt2*math.Erfinv(2*p-1))
	}
	return Samples(xs)
}

// Samples is a processing time drawn from measured durations in seconds.
func Samples(xs []float64) (Processing, error) {
	if len(xs) == 0 {
		return Processing{}, errors.New("no processing-time samples")
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if !(s[0] > 0) || math.IsInf(s[len(s)-1], 0) {
		return Processing{}, fmt.Errorf("processing-time samples must be positive seconds, got %v", s[0])
	}
	var sum float64
	for _, x := range s {
		sum += x
	}
	return Processing{samples: s, mean: sum / float64(len(s))}, nil
}

// Mean is the average processing time.
func (p Processing) Mean() time.Duration { return time.Duration(p.mean * float64(time.Second)) }

// Longer returns the share of messages that take longer than d.
func (p Processing) Longer(d float64) float64 {
	i := sort.SearchFloat64s(p.samples, d)
	for i < len(p.samples) && p.samples[i] <= d {
		i++
	}
	return float64(len(p.samples)-i) / float64(len(p.samples))
}

// kernel is what one message started at the beginning of a step does to
// the steps that follow, on average: occ[j] is the share of a handler slot
// it occupies in step j, done[j] the probability that it finishes in step j.
type kernel struct {
	occ, done []float64
}

func (p Processing) kernel(dt float64) kernel {
	n := int(math.Floor(p.samples[len(p.samples)-1]/dt)) + 1
	k := kernel{occ: make([]float64, n), done: make([]float64, n)}
	w := 1 / float64(len(p.samples))
	for _, x := range p.samples {
		j := int(math.Floor(x / dt))
		if j >= n {
			j = n - 1
		}
		for i := 0; i < j; i++ {
			k.occ[i] += w
		}
		k.occ[j] += w * (x - float64(j)*dt) / dt
		k.done[j] += w
	}
	return k
}
