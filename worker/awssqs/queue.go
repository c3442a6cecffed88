package awssqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/sqsfleet/sqsfleet/worker"
)

// API is the part of *sqs.Client the adapter uses.
type API interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue is one SQS queue seen as a worker.Queue.
type Queue struct {
	api      API
	url      string
	waitTime time.Duration
}

var (
	_ worker.Queue           = (*Queue)(nil)
	_ worker.DeadLetterQueue = (*Queue)(nil)
)

// NewQueue returns the queue at url. waitTime is the long-poll wait of every
// ReceiveMessage (0 to 20s).
func NewQueue(api API, url string, waitTime time.Duration) *Queue {
	return &Queue{api: api, url: url, waitTime: waitTime}
}

// URL returns the queue's URL.
func (q *Queue) URL() string { return q.url }

// Receive implements worker.Queue.
//
// On a standard queue a failed receive is not retried by the SDK: the
// engine's poller retries it, after handing back the slots it held. The
// SDK's retry would keep those slots while it sleeps, and with one receive
// in flight per batch of slots, a throttle or a 5xx stalled the daemon for
// its whole backoff. A FIFO receive (with a ReceiveRequestAttemptId) keeps
// the SDK's retries: the same attempt id must be sent again at once, so that
// SQS returns the messages of a lost response instead of hiding them.
func (q *Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*worker.Message, error) {
	id := attemptID(ctx)
	opts := []func(*sqs.Options){ReceiveOptions}
	if id == nil {
		opts = append(opts, noRetries)
	}
	out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &q.url,
		MaxNumberOfMessages:         int32(max),
		WaitTimeSeconds:             int32(q.waitTime / time.Second),
		VisibilityTimeout:           int32(visibility / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
		ReceiveRequestAttemptId:     id,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqs receive: %w", err)
	}
	msgs := make([]*worker.Message, 0, len(out.Messages))
	for i := range out.Messages {
		msgs = append(msgs, convert(&out.Messages[i], q.url))
	}
	return msgs, nil
}

// noRetries makes one call a single attempt.
func noRetries(o *sqs.Options) { o.RetryMaxAttempts = 1 }

func attemptID(ctx context.Context) *string {
	if id := worker.ReceiveAttemptID(ctx); id != "" {
		return &id
	}
	return nil
}

func convert(in *types.Message, queueURL string) *worker.Message {
	m := &worker.Message{
		ID:               aws.ToString(in.MessageId),
		ReceiptHandle:    aws.ToString(in.ReceiptHandle),
		Body:             aws.ToString(in.Body),
		QueueURL:         queueURL,
		SystemAttributes: in.Attributes,
	}
	a := in.Attributes
	m.ReceiveCount, _ = strconv.Atoi(a[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	m.SentAt = millis(a[string(types.MessageSystemAttributeNameSentTimestamp)])
	m.FirstReceivedAt = millis(a[string(types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp)])
	m.SenderID = a[string(types.MessageSystemAttributeNameSenderId)]
	m.GroupID = a[string(types.MessageSystemAttributeNameMessageGroupId)]
	m.DeduplicationID = a[string(types.MessageSystemAttributeNameMessageDeduplicationId)]
	if len(in.MessageAttributes) > 0 {
		m.Attributes = make(map[string]worker.Attribute, len(in.MessageAttributes))
		for k, v := range in.MessageAttributes {
			m.Attributes[k] = worker.Attribute{
				DataType:    aws.ToString(v.DataType),
				StringValue: aws.ToString(v.StringValue),
				BinaryValue: v.BinaryValue,
			}
		}
	}
	return m
}

func millis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Delete implements worker.Queue with one DeleteMessageBatch.
func (q *Queue) Delete(ctx context.Context, receipts []string) ([]error, error) {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(receipts))
	for i := range receipts {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: &receipts[i]}
	}
	out, err := q.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &q.url, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("sqs delete batch: %w", err)
	}
	return entryErrors(len(receipts), out.Failed), nil
}

// ChangeVisibility implements worker.Queue with one ChangeMessageVisibilityBatch.
func (q *Queue) ChangeVisibility(ctx context.Context, changes []worker.VisibilityChange) ([]error, error) {
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(changes))
	for i := range changes {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			ReceiptHandle:     &changes[i].ReceiptHandle,
			VisibilityTimeout: int32(changes[i].Timeout / time.Second),
		}
	}
	out, err := q.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &q.url, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("sqs change visibility batch: %w", err)
	}
	return entryErrors(len(changes), out.Failed), nil
}

// entryErrors places each failed entry's error at the index its Id names.
func entryErrors(n int, failed []types.BatchResultErrorEntry) []error {
	errs := make([]error, n)
	for _, f := range failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= n {
			continue
		}
		errs[i] = entryError(aws.ToString(f.Code), aws.ToString(f.Message), f.SenderFault)
	}
	return errs
}

// EntryError is a per-entry failure of a batch call.
type EntryError struct {
	Code        string
	Message     string
	SenderFault bool
}

func (e *EntryError) Error() string { return e.Code + ": " + e.Message }

// Unwrap lets errors.Is find worker.ErrLeaseLost for the codes that mean the
// receipt handle is dead.
func (e *EntryError) Unwrap() error {
	if leaseLost(e.Code, e.Message) {
		return worker.ErrLeaseLost
	}
	return nil
}

func entryError(code, msg string, sender bool) error {
	return &EntryError{Code: code, Message: msg, SenderFault: sender}
}

// leaseLost is the one table of SQS error codes that mean "this receipt
// handle will never work again": retrying them only wastes requests.
func leaseLost(code, msg string) bool {
	switch code {
	case "ReceiptHandleIsInvalid", "AWS.SimpleQueueService.ReceiptHandleIsInvalid",
		"MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight":
		return true
	case "InvalidParameterValue":
		// SQS reports an expired receipt handle this way.
		return strings.Contains(strings.ToLower(msg), "receipt handle")
	}
	return false
}

// Send implements worker.DeadLetterQueue: the message goes to this queue
// with the given body and attributes.
func (q *Queue) Send(ctx context.Context, d *worker.DeadLetter) error {
	in := &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: &d.Body}
	if len(d.Attributes) > 0 {
		in.MessageAttributes = make(map[string]types.MessageAttributeValue, len(d.Attributes))
		for k, v := range d.Attributes {
			av := types.MessageAttributeValue{DataType: aws.String(v.DataType)}
			if strings.HasPrefix(v.DataType, "Binary") {
				av.BinaryValue = v.BinaryValue
			} else {
				av.StringValue = aws.String(v.StringValue)
			}
			in.MessageAttributes[k] = av
		}
	}
	if d.GroupID != "" {
		in.MessageGroupId = &d.GroupID
	}
	if d.DeduplicationID != "" {
		in.MessageDeduplicationId = &d.DeduplicationID
	}
	if d.TraceHeader != "" {
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: &d.TraceHeader},
		}
	}
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("sqs send to %s: %w", q.url, err)
	}
	return nil
}

// ErrorCode returns the AWS error code of err, or "" if it has none.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
