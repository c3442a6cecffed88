package sim

import (
	"testing"
	"time"
)

// A day of a million messages a second on average, on a daily cycle, over
// thousands of instances (0.2 s a message, 100 at once: 2,000 instances at
// the mean), at a step of 1 s.
func BenchmarkDayMillionPerSecond(b *testing.B) {
	proc, err := LogNormal(200*time.Millisecond, 100*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{
		Profile:     Diurnal(1e6, 0.8, 24*time.Hour, 14*time.Hour),
		Duration:    24 * time.Hour,
		Processing:  proc,
		Concurrency: 100,
		Initial:     400,
		Policy:      PolicyConfig{Kind: EC2, Target: 5000, Min: 10, Max: 20000},
	}
	var res *Result
	for b.Loop() {
		res, err = Run(cfg)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Summary.PeakInstances), "peak-instances")
	b.ReportMetric(res.Summary.Arrived/1e9, "billion-msgs")
}
