package envelope

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/sqsfleet/sqsfleet/worker"
)

// Mode says which envelope messages arrive in.
type Mode string

// The modes of message.envelope.
const (
	None        Mode = "none"        // bodies are handed over as SQS delivered them
	SNS         Mode = "sns"         // every body is an SNS notification (subscription without raw delivery)
	EventBridge Mode = "eventbridge" // every body is an EventBridge event (a rule targeting the queue)
	Auto        Mode = "auto"        // unwrap either when recognised; pass anything else through
)

// Modes lists the valid modes, for validation messages.
var Modes = []Mode{None, SNS, EventBridge, Auto}

// ParseMode checks a message.envelope value; "" means None.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return None, nil
	}
	for _, m := range Modes {
		if Mode(s) == m {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown envelope %q: want none, sns, eventbridge or auto", s)
}

// Wrap returns a handler that unwraps each message according to mode
// before calling h. For None it returns h itself.
func Wrap(mode Mode, h worker.Handler) worker.Handler {
	if mode == None || mode == "" {
		return h
	}
	return &handler{mode: mode, next: h}
}

type handler struct {
	mode Mode
	next worker.Handler
}

func (u *handler) Handle(ctx context.Context, m *worker.Message) error {
	out, err := Unwrap(u.mode, m)
	if err != nil {
		return err
	}
	return u.next.Handle(ctx, out)
}

// Unwrap returns the message a handler should see. For an SNS notification
// that is a copy of m whose Body is the notification's Message, whose
// Attributes are m's plus the SNS message attributes (which win on a name
// both have), and whose SNS field holds the rest. For an EventBridge event
// it is a copy whose Body is the event's detail, as JSON text exactly as it
// appeared in the event, and whose Event field holds the metadata. m itself
// is never changed. With None, and with Auto for a body that is neither, m
// is returned as is.
//
// An error wraps worker.ErrEnvelope and is worker.Permanent.
func Unwrap(mode Mode, m *worker.Message) (*worker.Message, error) {
	switch mode {
	case None, "":
		return m, nil
	case SNS:
		fields, err := object(m.Body)
		if err != nil {
			return nil, reject(mode, err)
		}
		return unwrapSNS(m, fields)
	case EventBridge:
		fields, err := object(m.Body)
		if err != nil {
			return nil, reject(mode, err)
		}
		return unwrapEvent(m, fields)
	case Auto:
		fields, err := object(m.Body)
		if err != nil {
			return m, nil // not JSON or not an object: not an envelope
		}
		switch {
		case looksSNS(fields):
			return unwrapSNS(m, fields)
		case looksEvent(fields):
			return unwrapEvent(m, fields)
		}
		return m, nil
	}
	return nil, fmt.Errorf("envelope: unknown mode %q", mode)
}

// reject builds the permanent failure of a body that is not in the
// envelope mode expects; its failure record's reason is "envelope".
func reject(mode Mode, err error) error {
	return worker.PermanentReason(fmt.Errorf("envelope %s: %w: %w", mode, worker.ErrEnvelope, err), "envelope")
}

// object decodes body as one JSON object, keeping each member's raw text.
func object(body string) (map[string]json.RawMessage, error) {
	b := bytes.TrimSpace([]byte(body))
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("body is not a JSON object (starts with %q)", head(body))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	return fields, nil
}

// head quotes the start of a body for an error message.
func head(s string) string {
	const n = 32
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// looksSNS recognises an SNS notification in auto mode: SNS always writes
// these three fields, and Type "Notification" is its own vocabulary.
func looksSNS(f map[string]json.RawMessage) bool {
	var typ string
	if json.Unmarshal(f["Type"], &typ) != nil || typ != "Notification" {
		return false
	}
	_, topic := f["TopicArn"]
	_, msg := f["Message"]
	return topic && msg
}

// looksEvent recognises an EventBridge event in auto mode: detail-type is a
// name no other common producer uses, and source and detail come with it.
func looksEvent(f map[string]json.RawMessage) bool {
	_, dt := f["detail-type"]
	_, src := f["source"]
	_, detail := f["detail"]
	return dt && src && detail
}

// str decodes the JSON string member name. required fails on absence, null
// or an empty string.
func str(f map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", fmt.Errorf("field %q is missing", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q is not a string", name)
	}
	if required && s == "" {
		return "", fmt.Errorf("field %q is empty", name)
	}
	return s, nil
}

// snsAttribute is one entry of an SNS notification's MessageAttributes.
type snsAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

func unwrapSNS(m *worker.Message, f map[string]json.RawMessage) (*worker.Message, error) {
	fail := func(err error) (*worker.Message, error) { return nil, reject(SNS, err) }
	typ, err := str(f, "Type", true)
	if err != nil {
		return fail(err)
	}
	if typ != "Notification" {
		// A SubscriptionConfirmation reaches the queue when a topic in
		// another account subscribes it; it needs a person (or the
		// Terraform that subscribed) to confirm, not a handler.
		return fail(fmt.Errorf("Type is %q, not \"Notification\" (an SNS message that is not a notification)", typ))
	}
	n := &worker.SNSNotification{}
	for _, v := range []struct {
		name     string
		to       *string
		required bool
	}{
		{"MessageId", &n.MessageID, true},
		{"TopicArn", &n.TopicARN, true},
		{"Timestamp", &n.Timestamp, true},
		{"Subject", &n.Subject, false},
	} {
		if *v.to, err = str(f, v.name, v.required); err != nil {
			return fail(err)
		}
	}
	raw, ok := f["Message"]
	if !ok {
		return fail(fmt.Errorf("field %q is missing", "Message"))
	}
	var body string
	if err := json.Unmarshal(raw, &body); err != nil {
		return fail(fmt.Errorf("field %q is not a string", "Message"))
	}
	out := *m
	out.Body = body
	out.SNS = n
	out.Event = nil
	if raw, ok := f["MessageAttributes"]; ok && string(raw) != "null" {
		var attrs map[string]snsAttribute
		if err := json.Unmarshal(raw, &attrs); err != nil {
			return fail(fmt.Errorf("field %q is not a map of {Type, Value}: %w", "MessageAttributes", err))
		}
		merged := make(map[string]worker.Attribute, len(m.Attributes)+len(attrs))
		maps.Copy(merged, m.Attributes)
		for name, a := range attrs {
			if a.Type == "" {
				return fail(fmt.Errorf("message attribute %q has no Type", name))
			}
			wa := worker.Attribute{DataType: a.Type}
			if a.Type == "Binary" || strings.HasPrefix(a.Type, "Binary.") {
				// SNS carries a Binary value base64-encoded in the JSON.
				b, err := base64.StdEncoding.DecodeString(a.Value)
				if err != nil {
					return fail(fmt.Errorf("message attribute %q: Binary value is not base64: %w", name, err))
				}
				wa.BinaryValue = b
			} else {
				// String, Number, and String.Array (a JSON array as text,
				// which reads as a custom String type) carry text.
				wa.StringValue = a.Value
			}
			merged[name] = wa
		}
		out.Attributes = merged
	}
	return &out, nil
}

func unwrapEvent(m *worker.Message, f map[string]json.RawMessage) (*worker.Message, error) {
	fail := func(err error) (*worker.Message, error) { return nil, reject(EventBridge, err) }
	e := &worker.Event{}
	var err error
	for _, v := range []struct {
		name string
		to   *string
	}{
		{"id", &e.ID},
		{"source", &e.Source},
		{"detail-type", &e.DetailType},
		{"time", &e.Time},
		{"account", &e.Account},
		{"region", &e.Region},
	} {
		if *v.to, err = str(f, v.name, true); err != nil {
			return fail(err)
		}
	}
	raw, ok := f["resources"]
	if !ok {
		return fail(fmt.Errorf("field %q is missing", "resources"))
	}
	if err := json.Unmarshal(raw, &e.Resources); err != nil {
		return fail(fmt.Errorf("field %q is not an array of strings", "resources"))
	}
	detail, ok := f["detail"]
	if !ok {
		return fail(fmt.Errorf("field %q is missing", "detail"))
	}
	out := *m
	out.Body = string(detail)
	out.Event = e
	out.SNS = nil
	return &out, nil
}
