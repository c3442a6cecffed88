package scaler_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/scaler"
)

func TestCloudWatchPublish(t *testing.T) {
	for _, tt := range []struct {
		name       string
		metric     scaler.Metric
		wantNS     string
		wantName   string
		wantDims   map[string]string
		resolution bool // StorageResolution 1 expected
	}{
		{
			name:     "defaults, standard resolution",
			metric:   scaler.Metric{Dimensions: []scaler.Dimension{{Name: "QueueName", Value: "jobs"}}},
			wantNS:   "SQSFleet",
			wantName: "BacklogPerInstance",
			wantDims: map[string]string{"QueueName": "jobs"},
		},
		{
			name: "configured, high resolution",
			metric: scaler.Metric{Namespace: "Team/Jobs", Name: "Backlog", HighResolution: true,
				Dimensions: []scaler.Dimension{{Name: "Queue", Value: "jobs-prod"}}},
			wantNS:     "Team/Jobs",
			wantName:   "Backlog",
			wantDims:   map[string]string{"Queue": "jobs-prod"},
			resolution: true,
		},
		{
			name:     "no dimension",
			metric:   scaler.Metric{},
			wantNS:   "SQSFleet",
			wantName: "BacklogPerInstance",
			wantDims: map[string]string{},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cw := awsfake.NewCloudWatch(t)
			cfg := awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL})
			pub, err := scaler.NewCloudWatch(cloudwatch.NewFromConfig(cfg), tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
			if err := pub.Publish(testCtx(t), scaler.Sample{Time: at, Backlog: 25, Fleet: 2, Value: 12.5}); err != nil {
				t.Fatal(err)
			}
			calls := cw.Calls("PutMetricData")
			if len(calls) != 1 {
				t.Fatalf("%d PutMetricData calls, want 1", len(calls))
			}
			c := calls[0]
			if got := c.Header.Get("Smithy-Protocol"); got != "rpc-v2-cbor" {
				t.Errorf("Smithy-Protocol %q: not the rpc-v2 CBOR protocol", got)
			}
			if !strings.HasSuffix(c.Path, "/service/GraniteServiceVersion20100801/operation/PutMetricData") {
				t.Errorf("path %s", c.Path)
			}
			// The raw CBOR, member by member, as CloudWatch reads it.
			if ns := awsfake.CBORPath(t, c.CBOR, "Namespace"); ns != cbor.String(tt.wantNS) {
				t.Errorf("Namespace = %v, want %s", ns, tt.wantNS)
			}
			d := awsfake.CBORPath(t, c.CBOR, "MetricData", 0)
			if got := awsfake.CBORPath(t, d, "MetricName"); got != cbor.String(tt.wantName) {
				t.Errorf("MetricName = %v, want %s", got, tt.wantName)
			}
			if got := awsfake.CBORPath(t, d, "Value"); got != cbor.Float64(12.5) {
				t.Errorf("Value = %#v, want 12.5", got)
			}
			sr := awsfake.CBORPath(t, d, "StorageResolution")
			if tt.resolution && sr != cbor.Uint(1) {
				t.Errorf("StorageResolution = %#v, want 1", sr)
			}
			if !tt.resolution && sr != nil {
				t.Errorf("StorageResolution = %#v, want none (standard resolution)", sr)
			}

			data := cw.Data(t)
			if len(data) != 1 {
				t.Fatalf("%d datums, want 1", len(data))
			}
			got := data[0]
			if got.Unit != "Count" || !got.Timestamp.Equal(at) {
				t.Errorf("unit %q, timestamp %s; want Count at %s", got.Unit, got.Timestamp, at)
			}
			if len(got.Dimensions) != len(tt.wantDims) {
				t.Errorf("dimensions %v, want %v", got.Dimensions, tt.wantDims)
			}
			for k, v := range tt.wantDims {
				if got.Dimensions[k] != v {
					t.Errorf("dimension %s = %q, want %q", k, got.Dimensions[k], v)
				}
			}
		})
	}
}

func TestCloudWatchPublishError(t *testing.T) {
	cw := awsfake.NewCloudWatch(t)
	cw.Fail("AccessDenied")
	cfg := awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL})
	pub, err := scaler.NewCloudWatch(cloudwatch.NewFromConfig(cfg), scaler.Metric{})
	if err != nil {
		t.Fatal(err)
	}
	err = pub.Publish(testCtx(t), scaler.Sample{Time: time.Now(), Value: 1})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("error %v, want the AccessDenied API error", err)
	}
	if !strings.Contains(err.Error(), "SQSFleet/BacklogPerInstance") {
		t.Errorf("error %q does not name the metric", err)
	}
}
