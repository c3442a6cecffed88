package scaler

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Metric names the CloudWatch metric that is published.
type Metric struct {
	Namespace  string      // default "SQSFleet"
	Name       string      // default "BacklogPerInstance"
	Dimensions []Dimension // the policy must name exactly these
	// HighResolution publishes with StorageResolution 1, which CloudWatch
	// needs to keep datapoints closer together than a minute. The daemon
	// sets it when the interval is under 60s.
	HighResolution bool
}

// Dimension is one name=value dimension of the metric.
type Dimension struct{ Name, Value string }

func (m Metric) withDefaults() Metric {
	if m.Namespace == "" {
		m.Namespace = "SQSFleet"
	}
	if m.Name == "" {
		m.Name = "BacklogPerInstance"
	}
	return m
}

// MetricPutter is the part of the CloudWatch client the publisher uses.
type MetricPutter interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// CloudWatch publishes each sample with one PutMetricData call.
type CloudWatch struct {
	api    MetricPutter
	metric Metric
}

var _ Publisher = (*CloudWatch)(nil)

// NewCloudWatch returns a publisher that writes metric through api.
func NewCloudWatch(api MetricPutter, metric Metric) (*CloudWatch, error) {
	if api == nil {
		return nil, errors.New("scaler: NewCloudWatch needs a client")
	}
	return &CloudWatch{api: api, metric: metric.withDefaults()}, nil
}

// Publish sends s.Value with unit Count, timestamped with s.Time.
func (c *CloudWatch) Publish(ctx context.Context, s Sample) error {
	d := types.MetricDatum{
		MetricName: aws.String(c.metric.Name),
		Value:      aws.Float64(s.Value),
		Unit:       types.StandardUnitCount,
	}
	if !s.Time.IsZero() {
		d.Timestamp = aws.Time(s.Time)
	}
	if c.metric.HighResolution {
		d.StorageResolution = aws.Int32(1)
	}
	for _, dim := range c.metric.Dimensions {
		d.Dimensions = append(d.Dimensions, types.Dimension{Name: aws.String(dim.Name), Value: aws.String(dim.Value)})
	}
	_, err := c.api.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace:  aws.String(c.metric.Namespace),
		MetricData: []types.MetricDatum{d},
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", c.metric.Namespace, c.metric.Name, err)
	}
	return nil
}
