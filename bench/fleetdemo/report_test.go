package main

import (
	"testing"

	"github.com/sqsfleet/sqsfleet/scaler/sim"
)

func TestGap(t *testing.T) {
	pred := &sim.Result{Points: []sim.Point{{T: 6, InService: 1}, {T: 12, InService: 3}, {T: 18, InService: 3}, {T: 24, InService: 3}}}
	inst := func(s sample) float64 { return float64(s.inService) }
	pinst := func(p sim.Point) float64 { return float64(p.InService) }
	// The real fleet's step falls one sample later: within the slack of a
	// sample, not a difference.
	real := []sample{{t: 6, inService: 1}, {t: 12.05, inService: 1}, {t: 18.1, inService: 3}, {t: 24, inService: 3}}
	if w, within, n, _ := gap(real, pred, 0, inst, pinst, 0.2); w != 0 || within != 1 || n != 4 {
		t.Fatalf("one-sample shift: worst %v, within %v of %d", w, within, n)
	}
	// Two samples late is a difference: 2 instances of a peak of 3.
	real = []sample{{t: 6, inService: 1}, {t: 12, inService: 1}, {t: 18, inService: 1}, {t: 24, inService: 3}}
	w, within, _, at := gap(real, pred, 0, inst, pinst, 0.2)
	if w < 0.66 || w > 0.67 || at != 18 || within != 0.75 {
		t.Fatalf("two-sample shift: worst %v at %v, within %v", w, at, within)
	}
	// Points before from do not count.
	if w, _, n, _ := gap(real, pred, 20, inst, pinst, 0.2); w != 0 || n != 1 {
		t.Fatalf("from 20: worst %v over %d points", w, n)
	}
}
