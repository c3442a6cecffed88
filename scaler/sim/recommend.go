package sim

import (
	"errors"
	"math"
	"sort"
	"time"
)

// Candidate is one target value tried by Recommend.
type Candidate struct {
	Target  float64
	Summary Summary
	Meets   bool // p99 wait within the latency objective
}

// Recommend runs cfg with each target in candidates, then narrows down
// between the largest that keeps the 99th-percentile wait within latency and
// the next larger one, and returns every run, sorted by target, and the
// largest target that met the objective (0 if none did). A larger target
// means fewer instances, so the largest that meets the objective is the
// cheapest that does.
func Recommend(cfg Config, latency time.Duration, candidates []float64) ([]Candidate, float64, error) {
	if latency <= 0 {
		return nil, 0, errors.New("latency objective must be positive")
	}
	if len(candidates) == 0 {
		return nil, 0, errors.New("no candidate targets")
	}
	var out []Candidate
	try := func(target float64) (Candidate, error) {
		c := cfg
		c.Policy.Target = target
		res, err := Run(c)
		if err != nil {
			return Candidate{}, err
		}
		cand := Candidate{Target: target, Summary: res.Summary, Meets: res.Summary.P99Wait <= latency}
		out = append(out, cand)
		return cand, nil
	}
	for _, t := range candidates {
		if _, err := try(t); err != nil {
			return nil, 0, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	// The wait grows with the target but not strictly (rounding, alarm
	// timing): take the largest passing candidate below the first failure
	// after it, and bisect that gap a few times.
	best, next := 0.0, math.Inf(1)
	for _, c := range out {
		if c.Meets {
			best = c.Target
		} else if best > 0 {
			next = c.Target
			break
		}
	}
	if best > 0 && !math.IsInf(next, 1) {
		lo, hi := best, next
		for range 5 {
			mid := math.Round((lo+hi)/2*100) / 100
			if mid <= lo || mid >= hi {
				break
			}
			c, err := try(mid)
			if err != nil {
				return nil, 0, err
			}
			if c.Meets {
				lo = mid
			} else {
				hi = mid
			}
		}
		best = lo
		sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	}
	return out, best, nil
}

// Candidates spreads targets around a formula's value: from a 32nd of it
// to 4 times it, in steps of √2, rounded to two decimals.
func Candidates(formula float64) []float64 {
	var out []float64
	for k := -10; k <= 4; k++ {
		v := math.Round(formula*math.Pow(2, float64(k)/2)*100) / 100
		if v > 0 && (len(out) == 0 || v != out[len(out)-1]) {
			out = append(out, v)
		}
	}
	return out
}
