package worker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"time"

	"go.uber.org/zap"
)

// FailureAttribute is the message attribute that carries the failure record
// on a dead-lettered message.
const FailureAttribute = "sqsfleet-failure"

// maxAttributes is the SQS limit on message attributes per message.
const maxAttributes = 10

// maxErrorText bounds the error text in a failure record: the record rides
// in a message attribute, and the whole message must stay under the SQS size
// limit. The tail is kept because that is where a stack trace or a
// command's last words are.
const maxErrorText = 4096

// FailureRecord is the JSON value of the sqsfleet-failure attribute.
type FailureRecord struct {
	Error string `json:"error"`
	// Reason is "permanent" (the handler said so), "envelope" (the body is
	// not in the configured SNS or EventBridge envelope), "max_attempts" (it
	// failed max_attempts times) or "crash_loop" (delivered so often
	// without an outcome that the daemon would not run it again), or the
	// reason given to PermanentReason, such as "payload_missing" (the body
	// the message points to in S3 does not exist).
	Reason          string    `json:"reason"`
	Attempts        int       `json:"attempts"`
	QueueURL        string    `json:"queue_url"`
	MessageID       string    `json:"message_id"`
	FirstReceivedAt time.Time `json:"first_received_at"`
	FailedAt        time.Time `json:"failed_at"`
	// DroppedAttributes names the message's own attributes left out to
	// make room for this record (SQS allows ten, within the size limit),
	// so that whoever redrives the message knows what it cannot restore.
	DroppedAttributes []string `json:"dropped_attributes,omitempty"`
}

// deadLetter sends the message to the DLQ with its failure record and then
// deletes it. The send comes first, with the message kept hidden: a crash in
// between duplicates the message in the DLQ, it never loses it. If there is
// no DLQ or the send fails, the message stays on the queue.
func (p *Pool) deadLetter(l *lease, o outcome) (gone bool, delay time.Duration) {
	m := l.m
	cause, reason := o.cause, o.reason
	if p.cfg.DeadLetter == nil {
		p.log.Error("message failed for good but no dead-letter queue is configured; keeping it on the queue",
			zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
			zap.String("reason", reason), zap.String("outcome", OutcomeRetry), zap.Error(cause))
		delay := min(p.cfg.Backoff.Max, l.maxDelay(p.now()))
		p.release(l, delay)
		return false, delay
	}
	p.leases.hold(l)
	rec := FailureRecord{
		Error:           tail(cause.Error(), maxErrorText),
		Reason:          reason,
		Attempts:        o.attempts,
		QueueURL:        p.cfg.QueueURL,
		MessageID:       m.ID,
		FirstReceivedAt: m.FirstReceivedAt.UTC(),
		FailedAt:        p.now().UTC(),
	}
	dl, dropped, recordDropped := buildDeadLetter(m, rec, p.cfg.MaxMessageSize, p.cfg.FIFO)
	if len(dropped) > 0 {
		p.log.Warn("dropped message attributes to make room for the failure record (SQS allows 10 attributes and a size limit)",
			zap.String("message_id", m.ID), zap.Strings("dropped_attributes", dropped))
	}
	if recordDropped {
		p.log.Warn("message too large to carry its failure record; dead-lettering it without, record follows",
			zap.String("message_id", m.ID), zap.Any("failure", rec))
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	err := p.cfg.DeadLetter.Send(ctx, dl)
	cancel()
	if err != nil {
		delay := min(p.cfg.Backoff.Delay(o.attempts), l.maxDelay(p.now()))
		p.log.Error("dead-letter send failed; keeping the message on the queue",
			zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
			zap.String("reason", reason), zap.String("outcome", OutcomeRetry),
			zap.Duration("retry_in", delay), zap.NamedError("cause", cause), zap.Error(err))
		p.release(l, delay)
		return false, delay
	}
	p.log.Error("message dead-lettered",
		zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount), zap.Int("attempts", o.attempts),
		zap.String("reason", reason), zap.String("outcome", OutcomeDeadLetter), zap.Error(cause))
	p.metrics.Completed.WithLabelValues(OutcomeDeadLetter).Inc()
	p.observeAge(m)
	l.deadLettered = true
	p.queueDelete(l)
	return true, 0
}

// DefaultMaxMessageSize is the SQS limit on a message: body plus every
// attribute's name, type and value.
const DefaultMaxMessageSize = 1 << 20

// minErrorText is the least error text worth keeping in a record that had to
// shrink to fit; below it, an original attribute is dropped instead.
const minErrorText = 256

// buildDeadLetter copies the message and adds the failure record, within the
// SQS limits that a failing message may already be close to: ten attributes
// and maxSize bytes. The body is never cut: it is what someone will redrive.
// To make room it first shortens the record's error text, then drops
// original attributes (the last by name first). If even the body and a bare
// record do not fit, the record is left out (recordDropped) and the caller
// logs it instead. dropped lists the original attributes left out. fifo is
// the DLQ's type (SQS pairs a FIFO queue only with a FIFO DLQ, and a standard
// queue with a standard one), which decides the group and deduplication ids.
func buildDeadLetter(m *Message, rec FailureRecord, maxSize int, fifo bool) (dl *DeadLetter, dropped []string, recordDropped bool) {
	attrs := make(map[string]Attribute, len(m.Attributes)+1)
	for k, v := range m.Attributes {
		if k != FailureAttribute { // a message re-driven from a DLQ carries an old record
			attrs[k] = v
		}
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	drop := func() {
		last := names[len(names)-1]
		names = names[:len(names)-1]
		delete(attrs, last)
		dropped = append(dropped, last)
	}
	for len(attrs) >= maxAttributes {
		drop()
	}
	// AWSTraceHeader is a system attribute, so it is not among the
	// attributes copied above; carried over, the trace survives the DLQ
	// and a redrive.
	dl = &DeadLetter{Body: m.Body, Attributes: attrs, GroupID: m.GroupID,
		TraceHeader: m.SystemAttributes[TraceHeaderAttribute]}
	if fifo {
		// A FIFO queue accepts a send whose deduplication id it saw in the
		// last five minutes and then never delivers it. The source's id (or
		// the message id) can recur there: two sources sharing this DLQ
		// with content-based deduplication of equal bodies, or a message
		// redriven and failing again. So every dead letter gets an id of
		// its own; the SDK's retries of this one send reuse it, which is
		// the duplicate the window is for. The price is a duplicate in the
		// DLQ when we resend after a lost response, never a lost message.
		dl.DeduplicationID = rand.Text()
		if dl.GroupID == "" {
			// Cannot come from a FIFO source, whose messages all have a
			// group; a FIFO DLQ refuses a send without one.
			dl.GroupID = m.ID
		}
	}
	// A standard DLQ refuses any deduplication id, and keeps a fair queue's
	// group id for fairness, so GroupID passes through as it came.

	errText := rec.Error
	for {
		// The names dropped so far go into the record, which grows with
		// each drop; the bare size is measured with them.
		bare := rec
		bare.Error = ""
		bare.DroppedAttributes = dropped
		b, _ := json.Marshal(bare) // strings, ints and times cannot fail
		base := len(b)
		room := maxSize - messageSize(m.Body, attrs) - len(FailureAttribute) - len("String")
		r := bare
		r.Error = errText
		b, _ = json.Marshal(r)
		if len(b) <= room {
			attrs[FailureAttribute] = Attribute{DataType: "String", StringValue: string(b)}
			return dl, dropped, false
		}
		// JSON escaping can make the text longer on the wire, so cut in
		// proportion and check again.
		if avail := room - base; avail >= minErrorText && len(errText) > 0 {
			keep := len(errText) * avail / (len(b) - base)
			if keep >= minErrorText && keep < len(errText) {
				errText = tail(errText, keep-len("…"))
				continue
			}
		}
		if len(names) == 0 {
			delete(attrs, FailureAttribute)
			return dl, dropped, true
		}
		drop()
		errText = rec.Error
	}
}

// messageSize is how SQS measures a message against its size limit.
func messageSize(body string, attrs map[string]Attribute) int {
	n := len(body)
	for k, v := range attrs {
		n += len(k) + len(v.DataType) + len(v.StringValue) + len(v.BinaryValue)
	}
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
