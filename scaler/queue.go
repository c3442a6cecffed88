package scaler

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// QueueAttributesAPI is the part of the SQS client the scaler uses. The
// daemon passes the client it already meters, so these calls show up in
// sqsfleet_sqs_requests_total like every other SQS request.
type QueueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// QueueConfig configures a Queue.
type QueueConfig struct {
	API QueueAttributesAPI // required
	URL string             // required: the queue's URL
	// IncludeInFlight adds ApproximateNumberOfMessagesNotVisible: messages
	// being handled still need an instance, so a fleet busy with long
	// messages does not look idle.
	IncludeInFlight bool
	// IncludeDelayed adds ApproximateNumberOfMessagesDelayed: work that is
	// certain to arrive soon.
	IncludeDelayed bool
}

// Queue reads the backlog of an SQS queue with one GetQueueAttributes call.
type Queue struct {
	cfg   QueueConfig
	names []types.QueueAttributeName
}

var _ QueueStats = (*Queue)(nil)

// NewQueue checks cfg and returns a Queue.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.API == nil || cfg.URL == "" {
		return nil, errors.New("scaler: QueueConfig needs API and URL")
	}
	q := &Queue{cfg: cfg, names: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}}
	if cfg.IncludeInFlight {
		q.names = append(q.names, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	}
	if cfg.IncludeDelayed {
		q.names = append(q.names, types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
	}
	return q, nil
}

// Backlog returns the sum of the configured attributes.
func (q *Queue) Backlog(ctx context.Context) (int64, error) {
	out, err := q.cfg.API.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &q.cfg.URL,
		AttributeNames: q.names,
	})
	if err != nil {
		return 0, fmt.Errorf("get attributes of %s: %w", q.cfg.URL, err)
	}
	var sum int64
	for _, name := range q.names {
		raw, ok := out.Attributes[string(name)]
		if !ok {
			return 0, fmt.Errorf("get attributes of %s: no %s in the answer", q.cfg.URL, name)
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("get attributes of %s: %s is %q, not a count", q.cfg.URL, name, raw)
		}
		sum += n
	}
	return sum, nil
}
