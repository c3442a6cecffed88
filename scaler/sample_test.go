package scaler_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/scaler"
)

func TestPerInstance(t *testing.T) {
	tests := []struct {
		name    string
		backlog int64
		fleet   int
		want    float64
	}{
		{"empty queue", 0, 5, 0},
		{"zero fleet counts as one, so a backlog scales out from zero", 40, 0, 40},
		{"negative fleet counts as one", 40, -3, 40},
		{"one instance", 7, 1, 7},
		{"even split", 100, 4, 25},
		{"rounded to two decimals", 10, 3, 3.33},
		{"rounded half up", 1, 8, 0.13}, // 0.125
		{"rounds up", 2, 3, 0.67},
		{"tiny share rounds to zero", 1, 1000, 0},
		{"large backlog", 1_000_000, 7, 142857.14},
		{"negative backlog is clamped", -5, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scaler.PerInstance(tt.backlog, tt.fleet); got != tt.want {
				t.Errorf("PerInstance(%d, %d) = %v, want %v", tt.backlog, tt.fleet, got, tt.want)
			}
		})
	}
}

func TestEMFLine(t *testing.T) {
	at := time.UnixMilli(1_767_225_600_123)
	for _, tt := range []struct {
		name    string
		metric  scaler.Metric
		wantDim [][]string
		wantRes any
	}{
		{"high resolution with dimension", scaler.Metric{HighResolution: true, Dimensions: []scaler.Dimension{{Name: "QueueName", Value: "jobs"}}},
			[][]string{{"QueueName"}}, float64(1)},
		{"standard resolution without dimension", scaler.Metric{Namespace: "Team/Jobs", Name: "Backlog"},
			[][]string{{}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			pub, err := scaler.NewEMF(&out, tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(testCtx(t), scaler.Sample{Time: at, Backlog: 25, Fleet: 2, Value: 12.5}); err != nil {
				t.Fatal(err)
			}
			line := out.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("want exactly one line, got %q", line)
			}
			var got struct {
				AWS struct {
					Timestamp         int64
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
						Metrics    []map[string]any
					}
				} `json:"_aws"`
			}
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			_ = json.Unmarshal([]byte(line), &fields)
			m := tt.metric
			ns, name := "SQSFleet", "BacklogPerInstance"
			if m.Namespace != "" {
				ns, name = m.Namespace, m.Name
			}
			if got.AWS.Timestamp != at.UnixMilli() {
				t.Errorf("Timestamp %d, want %d", got.AWS.Timestamp, at.UnixMilli())
			}
			if len(got.AWS.CloudWatchMetrics) != 1 {
				t.Fatalf("CloudWatchMetrics %+v", got.AWS.CloudWatchMetrics)
			}
			d := got.AWS.CloudWatchMetrics[0]
			if d.Namespace != ns || !reflect.DeepEqual(d.Dimensions, tt.wantDim) {
				t.Errorf("directive %+v", d)
			}
			if len(d.Metrics) != 1 || d.Metrics[0]["Name"] != name || d.Metrics[0]["Unit"] != "Count" || d.Metrics[0]["StorageResolution"] != tt.wantRes {
				t.Errorf("metrics %+v", d.Metrics)
			}
			if fields[name] != 12.5 {
				t.Errorf("value member %s = %v, want 12.5", name, fields[name])
			}
			for _, dim := range m.Dimensions {
				if fields[dim.Name] != dim.Value {
					t.Errorf("dimension member %s = %v, want %s", dim.Name, fields[dim.Name], dim.Value)
				}
			}
		})
	}
	if _, err := scaler.NewEMF(&bytes.Buffer{}, scaler.Metric{Dimensions: []scaler.Dimension{{Name: "BacklogPerInstance", Value: "x"}}}); err == nil {
		t.Error("accepted a dimension named like the metric")
	}
}
