package worker

import (
	"context"
	"errors"
	"time"
)

// Queue is the engine's view of an SQS queue. Batch methods take at most 10
// entries and report a per-entry error (nil on success) at the same index,
// because SQS batch calls can half-succeed; the second return value is for a
// failure of the whole call. Implementations do not retry: the AWS SDK's
// retryer already does.
type Queue interface {
	// Receive long-polls for up to max messages, hidden for visibility.
	Receive(ctx context.Context, max int, visibility time.Duration) ([]*Message, error)
	// Delete deletes messages by receipt handle.
	Delete(ctx context.Context, receipts []string) ([]error, error)
	// ChangeVisibility sets each message's remaining visibility timeout.
	ChangeVisibility(ctx context.Context, changes []VisibilityChange) ([]error, error)
}

// VisibilityChange is one entry of Queue.ChangeVisibility.
type VisibilityChange struct {
	ReceiptHandle string
	Timeout       time.Duration
}

// DeadLetterQueue receives messages whose processing failed for good.
type DeadLetterQueue interface {
	Send(ctx context.Context, d *DeadLetter) error
}

// DeadLetter is a message on its way to the dead-letter queue: the original
// body and attributes plus the failure record attribute.
type DeadLetter struct {
	Body            string
	Attributes      map[string]Attribute
	GroupID         string
	DeduplicationID string
	// TraceHeader is the AWSTraceHeader system attribute to send, "" for
	// none.
	TraceHeader string
}

// TraceHeaderAttribute is the system attribute carrying the AWS X-Ray trace
// header, the one system attribute a sender may set.
const TraceHeaderAttribute = "AWSTraceHeader"

// TraceparentAttribute and TracestateAttribute are the message attributes
// that carry W3C trace context, as OpenTelemetry's SQS instrumentations
// write them.
const (
	TraceparentAttribute = "traceparent"
	TracestateAttribute  = "tracestate"
)

// ErrLeaseLost is the per-entry error a Queue returns when SQS no longer
// accepts a receipt handle (ReceiptHandleIsInvalid, or a message that is not
// in flight any more): the message has become visible again and another
// consumer may hold it, so retrying the call is pointless.
var ErrLeaseLost = errors.New("receipt handle no longer valid")

type attemptIDKey struct{}

// WithReceiveAttemptID returns a context that asks Queue.Receive to send id
// as the ReceiveRequestAttemptId (FIFO queues): a receive retried with the
// same id after a lost response returns the same messages.
func WithReceiveAttemptID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, attemptIDKey{}, id)
}

// ReceiveAttemptID returns the id set by WithReceiveAttemptID, or "".
func ReceiveAttemptID(ctx context.Context) string {
	id, _ := ctx.Value(attemptIDKey{}).(string)
	return id
}
