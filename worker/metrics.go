package worker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Outcome labels of sqsfleet_messages_completed_total. A message released at
// shutdown counts as "retry": it goes back to the queue for another attempt.
const (
	OutcomeSuccess    = "success"
	OutcomeRetry      = "retry"
	OutcomeDeadLetter = "dead_letter"
)

// Metrics are the engine's Prometheus instruments. The names are a public
// interface (dashboards and alarms depend on them).
type Metrics struct {
	Received            prometheus.Counter
	Completed           *prometheus.CounterVec
	HandlerDuration     prometheus.Histogram
	InFlight            prometheus.Gauge
	VisibilityExtension prometheus.Counter
	MessageAge          prometheus.Histogram
	LastPoll            prometheus.Gauge
	LeasesLost          prometheus.Counter
	LocalWait           prometheus.Histogram
	ReceivesHedged      prometheus.Counter
}

// NewMetrics creates the engine's metrics and registers them with reg, which
// may be nil (then nothing is registered, as in tests that do not look).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sqsfleet_messages_received_total",
			Help: "Messages received from SQS (every delivery, including redeliveries).",
		}),
		Completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqsfleet_messages_completed_total",
			Help: "Messages whose outcome was decided, by outcome: success (deleted), retry (returned to the queue), dead_letter (sent to the DLQ and deleted).",
		}, []string{"outcome"}),
		HandlerDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sqsfleet_handler_duration_seconds",
			Help:    "Time the handler took per attempt, whatever its result.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900},
		}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sqsfleet_inflight_messages",
			Help: "Messages received and not yet settled.",
		}),
		VisibilityExtension: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sqsfleet_visibility_extensions_total",
			Help: "Successful visibility extensions (heartbeats) of running messages.",
		}),
		MessageAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sqsfleet_message_age_seconds",
			Help:    "Time from SentTimestamp to the message's final outcome (success or dead_letter).",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		LastPoll: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sqsfleet_last_successful_poll_timestamp_seconds",
			Help: "Unix time of the last ReceiveMessage call that succeeded (empty or not).",
		}),
		LeasesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sqsfleet_leases_lost_total",
			Help: "Messages whose receipt handle SQS stopped accepting before the outcome was applied (visibility expired); they will be delivered again.",
		}),
		LocalWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sqsfleet_local_wait_seconds",
			Help:    "Time a received message waited in the daemon for a handler (receives are sent ahead of free slots; a message waiting over 1s is sent back).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		ReceivesHedged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sqsfleet_receives_hedged_total",
			Help: "Receives that took so much longer than usual that their handler slots were lent to other receives meanwhile (SQS slow to answer while a backlog is worked).",
		}),
	}
	for _, o := range []string{OutcomeSuccess, OutcomeRetry, OutcomeDeadLetter} {
		m.Completed.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.Received, m.Completed, m.HandlerDuration, m.InFlight,
			m.VisibilityExtension, m.MessageAge, m.LastPoll, m.LeasesLost, m.LocalWait, m.ReceivesHedged)
	}
	return m
}
