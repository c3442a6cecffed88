package scaler

import (
	"context"
	"math"
	"time"
)

// QueueStats reports how many messages wait in the queue.
type QueueStats interface {
	// Backlog returns the number of messages that count as backlog.
	Backlog(ctx context.Context) (int64, error)
}

// FleetSizer reports how many instances (or tasks) consume the queue.
type FleetSizer interface {
	// Size returns the current number of instances; 0 is a valid answer.
	Size(ctx context.Context) (int, error)
}

// Publisher sends a sample wherever the scaling policy reads it.
type Publisher interface {
	Publish(ctx context.Context, s Sample) error
}

// Elector decides whether this daemon is the one that publishes.
type Elector interface {
	// Leader reports whether this daemon should publish now. Callers treat
	// an error as "yes": see the package documentation.
	Leader(ctx context.Context) (bool, error)
}

// Sample is one computation of the metric.
type Sample struct {
	Time    time.Time
	Backlog int64   // messages counted as backlog
	Fleet   int     // instances reported by the FleetSizer, possibly 0
	Value   float64 // backlog per instance: PerInstance(Backlog, Fleet)
}

// PerInstance is backlog / max(1, fleet), rounded half away from zero to
// two decimals. The floor of one is what lets a policy scale out from zero
// instances. The rounding keeps the printed and logged value readable; a
// hundredth of a message per instance is far below any useful target.
func PerInstance(backlog int64, fleet int) float64 {
	if backlog < 0 {
		backlog = 0
	}
	v := float64(backlog) / float64(max(1, fleet))
	return math.Round(v*100) / 100
}

// StaticFleet is a fleet of a fixed size: for fixed fleets, tests, and
// `sqsfleet scaler` where no fleet API is available.
type StaticFleet int

// Size returns the configured number.
func (n StaticFleet) Size(context.Context) (int, error) { return int(n), nil }

// Discard publishes nowhere: the value is only exported as the
// sqsfleet_backlog_per_instance gauge.
var Discard Publisher = discard{}

type discard struct{}

func (discard) Publish(context.Context, Sample) error { return nil }
