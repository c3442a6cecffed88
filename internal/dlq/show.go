package dlq

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// ShowOptions are the options of Show.
type ShowOptions struct {
	// Limit is how many messages to print at most; default 100.
	Limit  int
	Filter Filter
	Bounds
}

// ShowResult says what Show did.
type ShowResult struct {
	Examined, Shown int
	Stop            Stop
}

// ShownMessage is the JSON object Show prints per message, one per line.
type ShownMessage struct {
	MessageID string `json:"message_id"`
	Reason    string `json:"reason"`
	// SourceQueue is the URL of the queue it failed on, "" when unknown.
	SourceQueue string `json:"source_queue"`
	ErrorClass  string `json:"error_class"`
	// Failure is the decoded sqsfleet-failure record; null without one.
	Failure *worker.FailureRecord `json:"failure"`
	Body    string                `json:"body"`
	// Attributes are the message attributes, the failure record left out.
	Attributes map[string]ShownAttribute `json:"attributes,omitempty"`
	// SystemAttributes are SQS's (SentTimestamp, MessageGroupId,
	// DeadLetterQueueSourceArn, AWSTraceHeader, ...).
	SystemAttributes map[string]string `json:"system_attributes,omitempty"`
}

// ShownAttribute is one message attribute; a binary value is base64.
type ShownAttribute struct {
	DataType    string `json:"data_type"`
	StringValue string `json:"string_value,omitempty"`
	BinaryValue []byte `json:"binary_value,omitempty"`
}

func shown(e *Entry) ShownMessage {
	m := e.Message
	out := ShownMessage{
		MessageID: m.ID, Reason: e.Reason, SourceQueue: e.Source, ErrorClass: e.ErrorClass,
		Failure: e.Record, Body: m.Body, SystemAttributes: m.SystemAttributes,
	}
	for k, v := range m.Attributes {
		if k == worker.FailureAttribute && e.Record != nil {
			continue
		}
		if out.Attributes == nil {
			out.Attributes = map[string]ShownAttribute{}
		}
		out.Attributes[k] = ShownAttribute(v)
	}
	return out
}

// Show prints the messages the filter selects, one JSON object per line
// (ShownMessage), up to opts.Limit, without consuming any: every examined
// message is released at the end.
func (d *DLQ) Show(ctx context.Context, opts ShowOptions, w io.Writer) (ShowResult, error) {
	if opts.Limit <= 0 {
		opts.Limit = 100
	}
	opts.Bounds = opts.Bounds.withDefaults(time.Minute)
	var res ShowResult
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	s := d.newScan(opts.Bounds)
	var err error
	for res.Stop == "" && err == nil {
		var msgs []*worker.Message
		msgs, res.Stop, err = s.next(ctx)
		for _, m := range msgs {
			s.hold(m)
			if res.Shown >= opts.Limit || err != nil {
				continue
			}
			e := d.entry(ctx, m)
			if !opts.Filter.Selects(e) {
				continue
			}
			if err = enc.Encode(shown(e)); err == nil {
				res.Shown++
			}
		}
		if res.Shown >= opts.Limit && res.Stop == "" {
			res.Stop = StopLimit
		}
	}
	res.Examined = s.examined
	if relErr := s.release(ctx); err == nil {
		err = relErr
	}
	return res, err
}
