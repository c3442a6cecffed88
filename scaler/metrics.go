package scaler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Operation labels of sqsfleet_scaler_errors_total.
const (
	OpQueue   = "queue_attributes" // GetQueueAttributes
	OpFleet   = "fleet_size"       // the FleetSizer, discovery included
	OpElect   = "leader_election"  // the Elector
	OpPublish = "publish"          // the Publisher
	OpProtect = "protect"          // turning scale-in protection on or off
)

// Metrics are the scaler's Prometheus instruments. The names are a public
// interface: dashboards and alarms depend on them.
type Metrics struct {
	BacklogPerInstance prometheus.Gauge
	Backlog            prometheus.Gauge
	FleetSize          prometheus.Gauge
	Publishes          prometheus.Counter
	Errors             *prometheus.CounterVec
	Protected          prometheus.Gauge
}

// NewMetrics creates the scaler's metrics and registers them with reg,
// which may be nil (then nothing is registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		BacklogPerInstance: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sqsfleet_backlog_per_instance",
			Help: "The scaling metric: queue backlog divided by the fleet size (at least 1), as last computed.",
		}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sqsfleet_scaler_backlog_messages",
			Help: "Messages counted as backlog at the last computation (ApproximateNumberOfMessages, plus in-flight and delayed if configured).",
		}),
		FleetSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sqsfleet_scaler_fleet_size",
			Help: "Instances or tasks in the fleet at the last computation, as reported by the fleet source (0 is possible).",
		}),
		Publishes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sqsfleet_scaler_publishes_total",
			Help: "Values of the scaling metric published successfully.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqsfleet_scaler_errors_total",
			Help: "Scaler operations that failed, by operation: queue_attributes, fleet_size, leader_election, publish, protect.",
		}, []string{"operation"}),
		Protected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sqsfleet_scale_in_protected",
			Help: "1 while this instance or task is protected from scale-in by the daemon, else 0.",
		}),
	}
	for _, op := range []string{OpQueue, OpFleet, OpElect, OpPublish, OpProtect} {
		m.Errors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.BacklogPerInstance, m.Backlog, m.FleetSize, m.Publishes, m.Errors, m.Protected)
	}
	return m
}
