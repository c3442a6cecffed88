package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// EMF publishes each sample as one line of CloudWatch Embedded Metric
// Format JSON. Written to stdout, it reaches CloudWatch Logs through the
// awslogs log driver (ECS, Fargate) or the CloudWatch agent (EC2), and
// CloudWatch Logs extracts the metric from it: no API call from the daemon
// and no cloudwatch:PutMetricData permission. The daemon's own logs go to
// stderr, and handler output too, so stdout carries only these lines.
type EMF struct {
	metric Metric

	mu sync.Mutex // one Write per line, never interleaved
	w  io.Writer
}

var _ Publisher = (*EMF)(nil)

// NewEMF returns a publisher that writes metric to w.
func NewEMF(w io.Writer, metric Metric) (*EMF, error) {
	if w == nil {
		return nil, errors.New("scaler: NewEMF needs a writer")
	}
	m := metric.withDefaults()
	for _, d := range m.Dimensions {
		// Dimensions and the metric are top-level members of the same
		// object; a clash would make the line say something else.
		if d.Name == m.Name || d.Name == "_aws" {
			return nil, fmt.Errorf("scaler: EMF dimension name %q clashes with the metric", d.Name)
		}
	}
	return &EMF{metric: m, w: w}, nil
}

type emfMeta struct {
	Timestamp         int64           `json:"Timestamp"`
	CloudWatchMetrics []emfDirectives `json:"CloudWatchMetrics"`
}

type emfDirectives struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name              string `json:"Name"`
	Unit              string `json:"Unit"`
	StorageResolution int    `json:"StorageResolution,omitempty"`
}

// Publish writes one line. Besides the metric and its dimensions the line
// carries the backlog and fleet size as plain properties, which CloudWatch
// Logs keeps for queries but does not turn into metrics.
func (e *EMF) Publish(_ context.Context, s Sample) error {
	dims := make([]string, 0, len(e.metric.Dimensions))
	line := map[string]any{}
	for _, d := range e.metric.Dimensions {
		dims = append(dims, d.Name)
		line[d.Name] = d.Value
	}
	m := emfMetric{Name: e.metric.Name, Unit: "Count"}
	if e.metric.HighResolution {
		m.StorageResolution = 1
	}
	ts := s.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	line["_aws"] = emfMeta{
		Timestamp: ts.UnixMilli(),
		CloudWatchMetrics: []emfDirectives{{
			Namespace:  e.metric.Namespace,
			Dimensions: [][]string{dims}, // [[]]: a metric without dimensions
			Metrics:    []emfMetric{m},
		}},
	}
	line[e.metric.Name] = s.Value
	setIfFree(line, "sqsfleet_backlog", s.Backlog)
	setIfFree(line, "sqsfleet_fleet_size", s.Fleet)
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("emf: %w", err)
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("emf: write: %w", err)
	}
	return nil
}

func setIfFree(m map[string]any, k string, v any) {
	if _, taken := m[k]; !taken {
		m[k] = v
	}
}
