package awssqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Meter counts SQS requests by operation. It sits after the SDK's retry
// middleware, so each attempt counts once, as SQS bills it.
type Meter struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	lastOK   atomic.Int64 // unix nanoseconds of the last call SQS answered
}

// NewMeter creates sqsfleet_sqs_requests_total and sqsfleet_sqs_errors_total
// and registers them with reg (nil: not registered).
func NewMeter(reg prometheus.Registerer) *Meter {
	m := &Meter{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqsfleet_sqs_requests_total",
			Help: "SQS API requests sent, by operation, retries included: what SQS bills.",
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqsfleet_sqs_errors_total",
			Help: "SQS API requests that failed (network, throttling, 5xx, credentials, or a rejected call), by operation.",
		}, []string{"operation"}),
	}
	for _, op := range []string{"ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "SendMessage", "GetQueueAttributes", "GetQueueUrl"} {
		m.requests.WithLabelValues(op)
		m.errors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.errors)
	}
	return m
}

// LastSuccess is when SQS last answered a request without error; zero if
// never. Health checks read it.
func (m *Meter) LastSuccess() time.Time {
	if ns := m.lastOK.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Requests returns the count of requests for op so far (for tests and bench).
func (m *Meter) Requests(op string) float64 { return counterValue(m.requests.WithLabelValues(op)) }

func (m *Meter) apply(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("sqsfleetMeter",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			op := awsmiddleware.GetOperationName(ctx)
			m.requests.WithLabelValues(op).Inc()
			out, md, err := next.HandleFinalize(ctx, in)
			// A cancelled long poll at shutdown is our doing, not an SQS error.
			if err != nil && !errors.Is(err, context.Canceled) {
				m.errors.WithLabelValues(op).Inc()
			} else if err == nil {
				m.lastOK.Store(time.Now().UnixNano())
			}
			return out, md, err
		}), middleware.After)
}

// NewClient returns an SQS client from cfg that reports to meter (which may
// be nil). Endpoints, region and credentials come from cfg, that is from the
// SDK's standard chain, so AWS_ENDPOINT_URL_SQS points it at an emulator.
func NewClient(cfg aws.Config, meter *Meter) *sqs.Client {
	return sqs.NewFromConfig(cfg, guardBodies, func(o *sqs.Options) {
		o.Retryer = newRetryer()
		if meter != nil {
			o.APIOptions = append(o.APIOptions, meter.apply)
		}
	})
}

// QueueAPI is what the start-up checks need.
type QueueAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// Redrive is a queue's RedrivePolicy: where SQS itself moves messages that
// were received too often.
type Redrive struct {
	DLQArn          string
	DLQURL          string
	MaxReceiveCount int
}

// LookupRedrive reads the queue's RedrivePolicy and resolves its target to a
// URL. It returns nil, nil when the queue has no redrive policy.
func LookupRedrive(ctx context.Context, api QueueAPI, queueURL string) (*Redrive, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &queueURL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return nil, fmt.Errorf("get attributes of %s: %w", queueURL, err)
	}
	raw := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if raw == "" {
		return nil, nil
	}
	var pol struct {
		Target string          `json:"deadLetterTargetArn"`
		Max    json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(raw), &pol); err != nil {
		return nil, fmt.Errorf("parse RedrivePolicy of %s: %w", queueURL, err)
	}
	r := &Redrive{DLQArn: pol.Target}
	// SQS has returned maxReceiveCount both as a number and as a string.
	r.MaxReceiveCount, _ = strconv.Atoi(strings.Trim(string(pol.Max), `"`))
	// An SQS queue's ARN is arn:PARTITION:sqs:REGION:ACCOUNT:NAME, and a
	// queue name has no colon.
	target, err := arn.Parse(pol.Target)
	if err != nil || target.Service != "sqs" || target.Resource == "" || strings.Contains(target.Resource, ":") {
		return nil, fmt.Errorf("RedrivePolicy of %s: bad deadLetterTargetArn %q", queueURL, pol.Target)
	}
	u, err := urlOfARN(ctx, api, target)
	if err != nil {
		return nil, fmt.Errorf("resolve dead-letter queue %s: %w", pol.Target, err)
	}
	r.DLQURL = u
	return r, nil
}

func urlOfARN(ctx context.Context, api QueueAPI, target arn.ARN) (string, error) {
	in := &sqs.GetQueueUrlInput{QueueName: aws.String(target.Resource)}
	if target.AccountID != "" {
		in.QueueOwnerAWSAccountId = aws.String(target.AccountID)
	}
	u, err := api.GetQueueUrl(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(u.QueueUrl), nil
}

// QueueURLOfARN resolves an SQS queue's ARN (a RedrivePolicy target, a
// message's DeadLetterQueueSourceArn) to its URL.
func QueueURLOfARN(ctx context.Context, api QueueAPI, queueARN string) (string, error) {
	a, err := arn.Parse(queueARN)
	if err != nil || a.Service != "sqs" || a.Resource == "" || strings.Contains(a.Resource, ":") {
		return "", fmt.Errorf("%q is not an SQS queue ARN", queueARN)
	}
	u, err := urlOfARN(ctx, api, a)
	if err != nil {
		return "", fmt.Errorf("resolve queue %s: %w", queueARN, err)
	}
	return u, nil
}

// QueueInfo is what GetQueueAttributes says about a queue's identity, kind
// and (approximate) contents.
type QueueInfo struct {
	URL  string
	ARN  string
	FIFO bool
	// Approximate counts, as SQS keeps them: visible, in flight, delayed.
	Messages, InFlight, Delayed int
}

// DescribeQueue reads a queue's QueueInfo. The kind comes from the
// FifoQueue attribute, not from the URL's .fifo suffix, so that a proxy or
// emulator URL cannot mislead it. A queue that does not exist is an error
// for which IsNoSuchQueue holds.
func DescribeQueue(ctx context.Context, api QueueAPI, queueURL string) (QueueInfo, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &queueURL,
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameQueueArn, types.QueueAttributeNameFifoQueue,
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return QueueInfo{}, fmt.Errorf("get attributes of %s: %w", queueURL, err)
	}
	a := out.Attributes
	n := func(name types.QueueAttributeName) int { v, _ := strconv.Atoi(a[string(name)]); return v }
	return QueueInfo{
		URL:      queueURL,
		ARN:      a[string(types.QueueAttributeNameQueueArn)],
		FIFO:     a[string(types.QueueAttributeNameFifoQueue)] == "true",
		Messages: n(types.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// IsNoSuchQueue reports whether err says the queue does not exist. SQS's
// JSON protocol says QueueDoesNotExist, its query protocol (and older
// emulators) AWS.SimpleQueueService.NonExistentQueue.
func IsNoSuchQueue(err error) bool {
	switch ErrorCode(err) {
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
		return true
	}
	return false
}

// MaxMessageSize reads the queue's MaximumMessageSize, the limit a message
// sent to it must fit, body and attributes together.
func MaxMessageSize(ctx context.Context, api QueueAPI, queueURL string) (int, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &queueURL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameMaximumMessageSize},
	})
	if err != nil {
		return 0, fmt.Errorf("get attributes of %s: %w", queueURL, err)
	}
	n, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("queue %s: bad MaximumMessageSize %q", queueURL, out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)])
	}
	return n, nil
}
