package awsfake

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Datum is one metric datum of a PutMetricData call, decoded.
type Datum struct {
	Namespace         string
	Name              string
	Value             float64
	Unit              string
	StorageResolution int // 0 when absent (standard resolution)
	Timestamp         time.Time
	Dimensions        map[string]string
}

// CloudWatch is a CloudWatch fake that accepts PutMetricData, or answers
// with an error while Fail is set.
type CloudWatch struct {
	*Service
	mu   sync.Mutex
	fail string // error code
}

// NewCloudWatch serves a CloudWatch fake.
func NewCloudWatch(t testing.TB) *CloudWatch {
	c := &CloudWatch{}
	c.Service = NewCBOR(t, func(string, cbor.Value) (int, cbor.Value) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.fail != "" {
			return 400, cbor.Map{
				"__type":  cbor.String("com.amazonaws.cloudwatch#" + c.fail),
				"message": cbor.String("refused by the fake"),
			}
		}
		return 200, nil
	})
	return c
}

// Fail makes every call fail with the error code ("" to succeed again).
// A client error such as AccessDenied is not retried by the SDK.
func (c *CloudWatch) Fail(code string) {
	c.mu.Lock()
	c.fail = code
	c.mu.Unlock()
}

// Data decodes the datums of every PutMetricData call so far, failing the
// test on a malformed one.
func (c *CloudWatch) Data(t testing.TB) []Datum {
	t.Helper()
	var out []Datum
	for _, r := range c.Calls("PutMetricData") {
		ns, _ := CBORPath(t, r.CBOR, "Namespace").(cbor.String)
		list, _ := CBORPath(t, r.CBOR, "MetricData").(cbor.List)
		for _, d := range list {
			var datum Datum
			datum.Namespace = string(ns)
			name, _ := CBORPath(t, d, "MetricName").(cbor.String)
			datum.Name = string(name)
			if v, err := cbor.AsFloat64(CBORPath(t, d, "Value")); err == nil {
				datum.Value = v
			} else {
				t.Errorf("awsfake: Value: %v", err)
			}
			unit, _ := CBORPath(t, d, "Unit").(cbor.String)
			datum.Unit = string(unit)
			if sr, ok := CBORPath(t, d, "StorageResolution").(cbor.Uint); ok {
				datum.StorageResolution = int(sr)
			}
			if ts, ok := CBORPath(t, d, "Timestamp").(*cbor.Tag); ok {
				if sec, err := cbor.AsFloat64(ts.Value); err == nil {
					datum.Timestamp = time.UnixMilli(int64(sec * 1000))
				}
			}
			datum.Dimensions = map[string]string{}
			dims, _ := CBORPath(t, d, "Dimensions").(cbor.List)
			for _, dim := range dims {
				n, _ := CBORPath(t, dim, "Name").(cbor.String)
				v, _ := CBORPath(t, dim, "Value").(cbor.String)
				datum.Dimensions[string(n)] = string(v)
			}
			out = append(out, datum)
		}
	}
	return out
}
