package sqstest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faults"
)

// SendInput is one message to send.
type SendInput struct {
	Body string
	// DelaySeconds delays this message (0: the queue's DelaySeconds). FIFO
	// queues refuse a per-message delay.
	DelaySeconds    int
	Attributes      map[string]MessageAttribute
	GroupID         string
	DeduplicationID string
	// SystemAttributes are message system attributes: SQS accepts only
	// AWSTraceHeader, a String (an X-Ray trace header), and returns it as
	// the AWSTraceHeader system attribute on receive.
	SystemAttributes map[string]MessageAttribute
	// PriorReceives is for test set-up through the Go API only: the message
	// looks received that many times already, so its next receive reports
	// ApproximateReceiveCount PriorReceives+1.
	PriorReceives int
}

// SendResult is what a send returns. A FIFO duplicate returns the first
// message's id: SQS accepts it and does not deliver it.
type SendResult struct {
	MessageID       string
	MD5OfBody       string
	MD5OfAttributes string
	SequenceNumber  string
	// Duplicate reports a FIFO send dropped by deduplication (not on the
	// wire: SQS does not tell the sender).
	Duplicate bool
}

// SendMessage sends one message.
func (s *Server) SendMessage(ctx context.Context, url string, in SendInput) (SendResult, error) {
	return call(s, ctx, "SendMessage", url, func() (SendResult, int, error) {
		r, err := s.send(url, in)
		return r, 1, err
	})
}

// MustSend is SendMessage for test set-up: it panics on failure and applies
// no faults.
func (s *Server) MustSend(url string, in SendInput) SendResult {
	r, err := s.send(url, in)
	if err != nil {
		panic(err)
	}
	return r
}

func (s *Server) send(url string, in SendInput) (SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return SendResult{}, err
	}
	return s.sendLocked(q, in)
}

// sendLocked validates and enqueues one message.
func (s *Server) sendLocked(q *queue, in SendInput) (SendResult, error) {
	if e := validBody(in.Body); e != nil {
		return SendResult{}, e
	}
	asize, e := validAttributes(in.Attributes)
	if e != nil {
		return SendResult{}, e
	}
	if size := len(in.Body) + asize; size > q.maxSize {
		return SendResult{}, invalidParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.maxSize)
	}
	for name, a := range in.SystemAttributes {
		if name != "AWSTraceHeader" {
			return SendResult{}, invalidParam("Message system attribute name '%s' is invalid.", name)
		}
		if a.DataType != "String" || a.StringValue == "" {
			return SendResult{}, invalidParam("Message system attribute AWSTraceHeader must be a non-empty String.")
		}
	}
	if in.DelaySeconds < 0 || in.DelaySeconds > MaxDelaySeconds {
		return SendResult{}, badValue("DelaySeconds", in.DelaySeconds, "Must be between 0 and 900, if provided.")
	}
	if in.GroupID != "" && !validGroupOrDedupID(in.GroupID) {
		return SendResult{}, badValue("MessageGroupId", in.GroupID, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	const wrongType = "The request include parameter that is not valid for this queue type."
	now := s.clock.Now()
	dedupKey := ""
	if q.fifo {
		if in.GroupID == "" {
			return SendResult{}, missingParam("MessageGroupId")
		}
		if in.DelaySeconds != 0 {
			return SendResult{}, badValue("DelaySeconds", in.DelaySeconds, wrongType)
		}
		switch {
		case in.DeduplicationID != "":
			if !validGroupOrDedupID(in.DeduplicationID) {
				return SendResult{}, badValue("MessageDeduplicationId", in.DeduplicationID, "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
			}
			dedupKey = in.DeduplicationID
		case q.contentDedup:
			dedupKey = contentDedupID(in.Body)
		default:
			return SendResult{}, invalidParam("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
	} else if in.DeduplicationID != "" {
		return SendResult{}, badValue("MessageDeduplicationId", in.DeduplicationID, wrongType)
	}
	md5Attrs := attributesMD5(in.Attributes)
	if q.fifo {
		// SQS keeps tracking a deduplication id after the message is
		// received and deleted: the window runs from the first send.
		if d, ok := q.dedup[dedupKey]; ok && now.Before(d.at.Add(DedupWindow)) {
			return SendResult{MessageID: d.id, MD5OfBody: md5Hex([]byte(in.Body)), MD5OfAttributes: md5Attrs,
				SequenceNumber: d.sn, Duplicate: true}, nil
		}
	}
	m := &message{
		q: q, id: s.newID(), body: in.Body, md5Body: md5Hex([]byte(in.Body)),
		attrs: cloneAttrs(in.Attributes), md5Attrs: md5Attrs,
		groupID: in.GroupID, sentAt: now, receiveCount: in.PriorReceives,
		traceHeader: in.SystemAttributes["AWSTraceHeader"].StringValue,
	}
	if in.PriorReceives > 0 {
		m.firstReceive = now
	}
	delay := q.delay
	if in.DelaySeconds != 0 {
		delay = in.DelaySeconds
	}
	m.hiddenUntil = now.Add(time.Duration(delay) * time.Second)
	if q.fifo {
		q.seq++
		m.seq = fmt.Sprintf("%020d", q.seq)
		// The id a consumer sees is the one the producer gave, or the
		// content hash SQS made.
		m.dedupID = dedupKey
		q.dedup[dedupKey] = dedupEntry{at: now, id: m.id, sn: m.seq}
	}
	q.msgs = append(q.msgs, m)
	q.byID[m.id] = m
	s.bumpLocked()
	return SendResult{MessageID: m.id, MD5OfBody: m.md5Body, MD5OfAttributes: md5Attrs, SequenceNumber: m.seq}, nil
}

func cloneAttrs(a map[string]MessageAttribute) map[string]MessageAttribute {
	if len(a) == 0 {
		return nil
	}
	out := maps.Clone(a)
	for k, v := range out {
		v.BinaryValue = slices.Clone(v.BinaryValue)
		out[k] = v
	}
	return out
}

// SendBatchEntry is one entry of SendMessageBatch.
type SendBatchEntry struct {
	ID string
	SendInput
}

// SendBatchResult is one successful entry of SendMessageBatch.
type SendBatchResult struct {
	ID string
	SendResult
}

// SendMessageBatch sends up to 10 messages; entries fail one by one.
func (s *Server) SendMessageBatch(ctx context.Context, url string, entries []SendBatchEntry) ([]SendBatchResult, []BatchResultError, error) {
	type res struct {
		ok     []SendBatchResult
		failed []BatchResultError
	}
	r, err := call(s, ctx, "SendMessageBatch", url, func() (res, int, error) {
		ok, failed, err := s.sendBatch(url, entries)
		return res{ok, failed}, len(entries), err
	})
	return r.ok, r.failed, err
}

func (s *Server) sendBatch(url string, entries []SendBatchEntry) ([]SendBatchResult, []BatchResultError, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(entries))
	total := 0
	for i, e := range entries {
		ids[i] = e.ID
		asize, _ := validAttributes(e.Attributes)
		total += len(e.Body) + asize
	}
	if e := checkBatch(ids); e != nil {
		return nil, nil, e
	}
	if total > q.maxSize {
		return nil, nil, batchTooLong(total, q.maxSize)
	}
	var ok []SendBatchResult
	var failed []BatchResultError
	for _, e := range entries {
		r, err := s.sendLocked(q, e.SendInput)
		if err != nil {
			failed = append(failed, entryErr(e.ID, err))
			continue
		}
		ok = append(ok, SendBatchResult{ID: e.ID, SendResult: r})
	}
	return ok, failed, nil
}

// ReceiveInput is a ReceiveMessage request.
type ReceiveInput struct {
	// MaxMessages is 1 to 10 (0: 1).
	MaxMessages int
	// WaitSeconds is the long-poll wait, 0 to 20 (nil: the queue's
	// ReceiveMessageWaitTimeSeconds).
	WaitSeconds *int
	// VisibilitySeconds hides the returned messages, 0 to 43200 (nil: the
	// queue's VisibilityTimeout).
	VisibilitySeconds *int
	// AttemptID is the ReceiveRequestAttemptId (FIFO only).
	AttemptID string
}

// Seconds returns a pointer to n, for ReceiveInput.
func Seconds(n int) *int { return &n }

// ReceiveMessage receives up to MaxMessages messages, long-polling.
func (s *Server) ReceiveMessage(ctx context.Context, url string, in ReceiveInput) ([]Message, error) {
	var n int
	kind, err := s.inject(ctx, "ReceiveMessage")
	if err != nil {
		s.record("ReceiveMessage", url, kind, 0, err)
		return nil, err
	}
	got, err := s.receive(ctx, url, in)
	n = len(got)
	if err == nil && kind == faults.Lost {
		got, err = nil, ErrResponseLost
	}
	s.record("ReceiveMessage", url, kind, n, err)
	return got, err
}

func (s *Server) receive(ctx context.Context, url string, in ReceiveInput) ([]Message, error) {
	s.mu.Lock()
	q, err := s.queueLocked(url)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	max := in.MaxMessages
	if max == 0 {
		max = 1
	}
	wait := q.wait
	if in.WaitSeconds != nil {
		wait = *in.WaitSeconds
	}
	vis := q.visibility
	if in.VisibilitySeconds != nil {
		vis = *in.VisibilitySeconds
	}
	s.mu.Unlock()
	switch {
	case max < 1 || max > MaxBatch:
		return nil, badValue("MaxNumberOfMessages", max, "Must be between 1 and 10, if provided.")
	case wait < 0 || wait > MaxWaitSeconds:
		return nil, badValue("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided.")
	case vis < 0 || vis > int(MaxVisibility/time.Second):
		return nil, badValue("VisibilityTimeout", vis, "Must be between 0 and 43200, if provided.")
	}
	d := time.Duration(wait) * time.Second
	if s.cfg.MaxWait > 0 && d > s.cfg.MaxWait {
		d = s.cfg.MaxWait
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, next, err := s.receiveLocked(q, max, vis, in.AttemptID)
		changed := s.changed
		s.mu.Unlock()
		if err != nil || len(got) > 0 || d == 0 {
			return got, err
		}
		var wakeC <-chan time.Time
		var wake *time.Timer
		if !next.IsZero() && !s.manual {
			// With the real clock nobody announces that a message's
			// visibility ran out, so a timer does.
			wake = time.NewTimer(time.Until(next) + time.Millisecond)
			wakeC = wake.C
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-deadline.C:
			err = errPollOver
		case <-changed:
		case <-wakeC:
		}
		if wake != nil {
			wake.Stop()
		}
		if err == errPollOver {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

var errPollOver = errors.New("long poll over")

// receiveLocked takes what one receive gets now, and when nothing, the time
// the next hidden message becomes visible (zero if none).
func (s *Server) receiveLocked(q *queue, max, vis int, attemptID string) ([]Message, time.Time, error) {
	now := s.clock.Now()
	s.expireLocked(q, now)
	if q.fifo && attemptID != "" {
		if got, ok, err := s.retryAttemptLocked(q, attemptID, vis, now); ok || err != nil {
			return got, time.Time{}, err
		}
	}
	var picked []*message
	locked := map[string]bool{} // FIFO groups with a message in flight or waiting ahead
	if q.fifo {
		for _, m := range q.msgs {
			if m.hiddenUntil.After(now) {
				locked[m.groupID] = true
			}
		}
	}
	var next time.Time
	for i := 0; i < len(q.msgs) && len(picked) < max; i++ {
		m := q.msgs[i]
		if m.hiddenUntil.After(now) {
			if next.IsZero() || m.hiddenUntil.Before(next) {
				next = m.hiddenUntil
			}
			continue
		}
		if q.fifo && locked[m.groupID] {
			continue
		}
		if q.maxReceive > 0 && m.receiveCount >= q.maxReceive {
			if dlq := s.queues[q.redriveTarget]; dlq != nil {
				q.msgs = slices.Delete(q.msgs, i, i+1)
				i--
				m.q, m.receipt, m.hiddenUntil = dlq, "", now
				// SQS names the queue a message came from when it moves it.
				m.dlqSource = q.arn
				dlq.msgs = append(dlq.msgs, m)
				dlq.byID[m.id] = m
				continue
			}
		}
		picked = append(picked, m)
	}
	if len(picked) == 0 {
		return nil, next, nil
	}
	out := make([]Message, len(picked))
	att := &receiveAttempt{at: now}
	for i, m := range picked {
		m.receiveCount++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.receivedAt = now
		m.hiddenUntil = now.Add(time.Duration(vis) * time.Second)
		m.receipt = s.newReceiptLocked(m)
		out[i] = m.out(now)
		att.msgs = append(att.msgs, m)
		att.receipts = append(att.receipts, m.receipt)
		att.hidden = append(att.hidden, m.hiddenUntil)
	}
	if q.fifo && attemptID != "" {
		q.attempts[attemptID] = att
	}
	s.bumpLocked()
	return out, time.Time{}, nil
}

// retryAttemptLocked answers a FIFO receive retried with a known attempt id:
// within 5 minutes, and if none of its messages was deleted or had its
// visibility changed since, the same messages with the same receipt handles,
// their visibility timeout reset. Otherwise SQS refuses the id.
func (s *Server) retryAttemptLocked(q *queue, id string, vis int, now time.Time) ([]Message, bool, error) {
	att := q.attempts[id]
	if att == nil {
		return nil, false, nil
	}
	if !now.Before(att.at.Add(DedupWindow)) {
		delete(q.attempts, id)
		return nil, false, nil
	}
	for i, m := range att.msgs {
		if m.deleted || m.receipt != att.receipts[i] || !m.hiddenUntil.Equal(att.hidden[i]) || m.q != q {
			return nil, true, badValue("ReceiveRequestAttemptId", id,
				"The receiveRequestAttemptId is not valid anymore since the receive call is not retryable.")
		}
	}
	out := make([]Message, len(att.msgs))
	for i, m := range att.msgs {
		m.hiddenUntil = now.Add(time.Duration(vis) * time.Second)
		att.hidden[i] = m.hiddenUntil
		out[i] = m.out(now)
	}
	s.bumpLocked()
	return out, true, nil
}

// expireLocked drops messages older than the retention period.
func (s *Server) expireLocked(q *queue, now time.Time) {
	ret := time.Duration(q.retention) * time.Second
	q.msgs = slices.DeleteFunc(q.msgs, func(m *message) bool {
		if now.Sub(m.sentAt) >= ret {
			m.deleted = true
			return true
		}
		return false
	})
}

// lookupLocked finds the message of a receipt handle in q.
func (s *Server) lookupLocked(q *queue, rh string) (*message, *Error) {
	if rh == "" {
		return nil, missingParam("ReceiptHandle")
	}
	m := s.receipts[rh]
	if m == nil || m.q != q {
		return nil, receiptInvalid(rh)
	}
	return m, nil
}

func (s *Server) deleteLocked(q *queue, rh string, now time.Time) error {
	m, e := s.lookupLocked(q, rh)
	if e != nil {
		return e
	}
	if m.receipt != rh {
		if s.cfg.StaleDelete == StaleDeleteInvalid {
			return receiptInvalid(rh)
		}
		return nil // AWS: "the request will still succeed, but the message might not be deleted"
	}
	if m.deleted {
		return nil // deleting again with the latest handle succeeds
	}
	if q.fifo && !m.hiddenUntil.After(now) {
		return receiptExpired(rh)
	}
	m.deleted = true
	q.msgs = slices.DeleteFunc(q.msgs, func(x *message) bool { return x == m })
	return nil
}

// DeleteMessage deletes the message of a receipt handle.
func (s *Server) DeleteMessage(ctx context.Context, url, receipt string) error {
	_, err := call(s, ctx, "DeleteMessage", url, func() (struct{}, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(url)
		if err == nil {
			err = s.deleteLocked(q, receipt, s.clock.Now())
			s.bumpLocked()
		}
		return struct{}{}, 1, err
	})
	return err
}

// BatchEntry is one entry of DeleteMessageBatch or
// ChangeMessageVisibilityBatch (VisibilitySeconds is for the latter).
type BatchEntry struct {
	ID                string
	ReceiptHandle     string
	VisibilitySeconds int
}

// DeleteMessageBatch deletes up to 10 messages; entries fail one by one.
// It returns the ids of the entries that succeeded.
func (s *Server) DeleteMessageBatch(ctx context.Context, url string, entries []BatchEntry) ([]string, []BatchResultError, error) {
	return s.batch(ctx, "DeleteMessageBatch", url, entries, s.deleteEntry)
}

// ChangeMessageVisibilityBatch changes the visibility of up to 10 messages;
// entries fail one by one. It returns the ids of the entries that succeeded.
func (s *Server) ChangeMessageVisibilityBatch(ctx context.Context, url string, entries []BatchEntry) ([]string, []BatchResultError, error) {
	return s.batch(ctx, "ChangeMessageVisibilityBatch", url, entries, s.changeEntry)
}

func (s *Server) deleteEntry(q *queue, e BatchEntry, now time.Time) error {
	return s.deleteLocked(q, e.ReceiptHandle, now)
}

func (s *Server) changeEntry(q *queue, e BatchEntry, now time.Time) error {
	return s.changeLocked(q, e.ReceiptHandle, e.VisibilitySeconds, now)
}

type batchResult struct {
	ok     []string
	failed []BatchResultError
}

func (s *Server) batch(ctx context.Context, op, url string, entries []BatchEntry, do func(*queue, BatchEntry, time.Time) error) ([]string, []BatchResultError, error) {
	r, err := call(s, ctx, op, url, func() (batchResult, int, error) {
		r, err := s.runBatch(url, entries, do)
		return r, len(entries), err
	})
	return r.ok, r.failed, err
}

// runBatch checks a batch and applies do to each entry.
func (s *Server) runBatch(url string, entries []BatchEntry, do func(*queue, BatchEntry, time.Time) error) (batchResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return batchResult{}, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	if e := checkBatch(ids); e != nil {
		return batchResult{}, e
	}
	var r batchResult
	now := s.clock.Now()
	for _, e := range entries {
		if err := do(q, e, now); err != nil {
			r.failed = append(r.failed, entryErr(e.ID, err))
		} else {
			r.ok = append(r.ok, e.ID)
		}
	}
	s.bumpLocked()
	return r, nil
}

func (s *Server) changeLocked(q *queue, rh string, secs int, now time.Time) error {
	m, e := s.lookupLocked(q, rh)
	if e != nil {
		return e
	}
	if m.deleted || m.receipt != rh {
		return receiptInvalid(rh)
	}
	if secs < 0 || secs > int(MaxVisibility/time.Second) {
		return badValue("VisibilityTimeout", secs, "Must be between 0 and 43200, if provided.")
	}
	if !m.hiddenUntil.After(now) {
		return notInflight()
	}
	// SQS counts the 12 hours from the receive, not from this call, and
	// refuses rather than clamps.
	if now.Add(time.Duration(secs) * time.Second).After(m.receivedAt.Add(MaxVisibility)) {
		return badValue("VisibilityTimeout", secs, "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
	}
	m.hiddenUntil = now.Add(time.Duration(secs) * time.Second)
	return nil
}

// ChangeMessageVisibility sets the remaining visibility timeout of the
// message of a receipt handle.
func (s *Server) ChangeMessageVisibility(ctx context.Context, url, receipt string, seconds int) error {
	_, err := call(s, ctx, "ChangeMessageVisibility", url, func() (struct{}, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(url)
		if err == nil {
			err = s.changeLocked(q, receipt, seconds, s.clock.Now())
			s.bumpLocked()
		}
		return struct{}{}, 1, err
	})
	return err
}
