package worker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
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
	Error           string    `json:"error"`
	Reason          string    `json:"reason"` // "permanent" or "max_attempts"
	Attempts        int       `json:"attempts"`
	QueueURL        string    `json:"queue_url"`
	MessageID       string    `json:"message_id"`
	FirstReceivedAt time.Time `json:"first_received_at"`
	FailedAt        time.Time `json:"failed_at"`
}

// decide is the one place that turns a handler's result into an outcome.
//
//	nil                       -> delete (batched)
//	cancelled by shutdown     -> visibility 0, another instance takes it now
//	Permanent                 -> dead-letter, then delete
//	attempts >= max_attempts  -> dead-letter, then delete
//	RetryAfter                -> visibility = the asked delay
//	other error               -> visibility = backoff for this attempt
//
// It reports whether the message is gone from the queue for good (deleted or
// dead-lettered), so a FIFO group may move on, and otherwise the delay after
// which it comes back.
func (p *Pool) decide(l *lease, err error) (gone bool, delay time.Duration) {
	m := l.m
	switch {
	case err == nil:
		if l.claim() {
			p.deletes.add(l)
		}
		return true, 0
	case p.workCtx.Err() != nil:
		if l.claim() {
			p.log.Info("handler cancelled by shutdown; releasing message",
				zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
				zap.String("outcome", OutcomeRetry), groupField(m))
			p.settleRelease(l, 0)
		}
		return false, 0
	case IsPermanent(err):
		return p.deadLetter(l, err, "permanent")
	case m.ReceiveCount >= p.cfg.MaxAttempts:
		return p.deadLetter(l, err, "max_attempts")
	}
	delay = p.cfg.Backoff.Delay(m.ReceiveCount)
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		delay = ra.Delay
	}
	delay = min(max(delay, 0), maxVisibilityWindow)
	if !l.claim() {
		return false, delay
	}
	p.log.Warn("handler failed; will retry",
		zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
		zap.String("outcome", OutcomeRetry), zap.Duration("retry_in", delay), groupField(m), zap.Error(err))
	p.settleRelease(l, delay)
	return false, delay
}

// groupField logs a FIFO message's group: useful to follow one group in the
// logs, and never a metric label, whose cardinality it would explode.
func groupField(m *Message) zap.Field {
	if m.GroupID == "" {
		return zap.Skip()
	}
	return zap.String("group_id", m.GroupID)
}

// settleRelease returns a message to the queue after delay. The caller has
// claimed the lease.
func (p *Pool) settleRelease(l *lease, delay time.Duration) {
	p.done(l)
	p.metrics.Completed.WithLabelValues(OutcomeRetry).Inc()
	if !p.visibility.add(visChange{l: l, timeout: delay}) {
		// Only after shutdown: the message reappears when its current
		// visibility runs out, so nothing is lost.
		p.log.Warn("could not release message after shutdown; it reappears at its visibility timeout",
			zap.String("message_id", l.m.ID))
	}
}

// done removes a settled lease from the in-flight set.
func (p *Pool) done(l *lease) {
	p.leases.remove(l)
	p.metrics.InFlight.Dec()
}

// deadLetter sends the message to the DLQ with its failure record and then
// deletes it. The send comes first: a crash in between duplicates the
// message in the DLQ, it never loses it. If there is no DLQ or the send
// fails, the message stays on the queue.
func (p *Pool) deadLetter(l *lease, cause error, reason string) (gone bool, delay time.Duration) {
	if !l.claim() {
		return false, 0
	}
	m := l.m
	if p.cfg.DeadLetter == nil {
		p.log.Error("message failed for good but no dead-letter queue is configured; keeping it on the queue",
			zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
			zap.String("reason", reason), zap.String("outcome", OutcomeRetry), zap.Error(cause))
		delay := min(p.cfg.Backoff.Max, maxVisibilityWindow)
		p.settleRelease(l, delay)
		return false, delay
	}
	rec := FailureRecord{
		Error:           tail(cause.Error(), maxErrorText),
		Reason:          reason,
		Attempts:        m.ReceiveCount,
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
		delay := p.cfg.Backoff.Delay(m.ReceiveCount)
		p.log.Error("dead-letter send failed; keeping the message on the queue",
			zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
			zap.String("reason", reason), zap.String("outcome", OutcomeRetry),
			zap.Duration("retry_in", delay), zap.NamedError("cause", cause), zap.Error(err))
		p.settleRelease(l, delay)
		return false, delay
	}
	p.log.Error("message dead-lettered",
		zap.String("message_id", m.ID), zap.Int("receive_count", m.ReceiveCount),
		zap.String("reason", reason), zap.String("outcome", OutcomeDeadLetter), zap.Error(cause))
	p.metrics.Completed.WithLabelValues(OutcomeDeadLetter).Inc()
	p.observeAge(m)
	l.deadLettered = true
	p.deletes.add(l)
	return true, 0
}

func (p *Pool) observeAge(m *Message) {
	if !m.SentAt.IsZero() {
		p.metrics.MessageAge.Observe(p.now().Sub(m.SentAt).Seconds())
	}
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
	dl = &DeadLetter{Body: m.Body, Attributes: attrs, GroupID: m.GroupID}
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

	bare := rec
	bare.Error = ""
	b, _ := json.Marshal(bare) // strings, ints and times cannot fail
	base := len(b)
	errText := rec.Error
	for {
		room := maxSize - messageSize(m.Body, attrs) - len(FailureAttribute) - len("String")
		r := rec
		r.Error = errText
		b, _ := json.Marshal(r)
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

// maxDeleteTries bounds retries of a delete that failed for a reason other
// than a lost lease (throttling, a 5xx): past it the message is delivered
// again, which at-least-once delivery allows.
const maxDeleteTries = 3

func (p *Pool) flushDeletes(batch []*lease) {
	receipts := make([]string, len(batch))
	for i, l := range batch {
		receipts[i] = l.m.ReceiptHandle
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	errs, err := p.cfg.Queue.Delete(ctx, receipts)
	cancel()
	for i, l := range batch {
		e := err
		if e == nil && i < len(errs) {
			e = errs[i]
		}
		switch {
		case e == nil:
			p.done(l)
			// A dead-lettered message was counted when its send succeeded.
			if !l.deadLettered {
				p.metrics.Completed.WithLabelValues(OutcomeSuccess).Inc()
				p.observeAge(l.m)
			}
		case errors.Is(e, ErrLeaseLost):
			p.done(l)
			p.leases.mu.Lock()
			counted := l.lost // the extender already counted this lease
			p.leases.mu.Unlock()
			if !counted {
				p.metrics.LeasesLost.Inc()
			}
			p.log.Warn("delete refused: the visibility lease was lost, so the message will be delivered again",
				zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount))
		default:
			l.deleteTries++
			if l.deleteTries < maxDeleteTries && p.deletes.add(l) {
				continue
			}
			p.done(l)
			p.log.Error("delete failed; the message will be delivered again",
				zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount), zap.Error(e))
		}
	}
}

// ceilSecond rounds up to whole seconds, the unit SQS takes: a retry delay
// rounded down could come back sooner than the backoff promised.
func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}

func (p *Pool) flushVisibility(batch []visChange) {
	changes := make([]VisibilityChange, len(batch))
	for i, c := range batch {
		changes[i] = VisibilityChange{ReceiptHandle: c.l.m.ReceiptHandle, Timeout: ceilSecond(c.timeout)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	errs, err := p.cfg.Queue.ChangeVisibility(ctx, changes)
	cancel()
	for i, c := range batch {
		e := err
		if e == nil && i < len(errs) {
			e = errs[i]
		}
		if e != nil && !errors.Is(e, ErrLeaseLost) {
			// The message still comes back when its current visibility ends.
			p.errLog.warn(p.log, "visibility change failed; the message returns at its current visibility timeout",
				zap.String("message_id", c.l.m.ID), zap.Error(e))
		}
	}
}
