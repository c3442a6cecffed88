package sqstest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

type queue struct {
	name, url, arn string
	attrs          map[string]string // as set, validated
	created        time.Time
	modified       time.Time

	fifo, contentDedup bool
	visibility         int // seconds
	delay              int
	wait               int
	maxSize            int
	retention          int
	redriveTarget      string // DLQ name
	maxReceive         int

	msgs     []*message                 // not deleted, in send order
	byID     map[string]*message        // every message ever sent here, for Message
	dedup    map[string]dedupEntry      // FIFO: deduplication id -> first send
	attempts map[string]*receiveAttempt // FIFO: ReceiveRequestAttemptId -> result
	seq      uint64                     // FIFO SequenceNumber
}

type dedupEntry struct {
	at time.Time
	id string
	sn string
}

type receiveAttempt struct {
	at       time.Time
	msgs     []*message
	receipts []string
	hidden   []time.Time // each message's hiddenUntil as that receive left it
}

// queueAttrNames are the attributes CreateQueue and SetQueueAttributes take
// that the double models.
var settable = []string{
	"VisibilityTimeout", "MaximumMessageSize", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
	"MessageRetentionPeriod", "FifoQueue", "ContentBasedDeduplication", "RedrivePolicy",
	"DeduplicationScope", "FifoThroughputLimit", "SqsManagedSseEnabled", "Policy",
}

func intAttr(attrs map[string]string, name string, def, lo, hi int) (int, error) {
	v, ok := attrs[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalidAttrValue(name, v)
	}
	return n, nil
}

func invalidAttrValue(name, v string) *Error {
	return senderErr("com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue",
		"Invalid value for the parameter %s: %q.", name, v)
}

// applyAttrsLocked validates attrs and applies them to q (creating when new).
func (s *Server) applyAttrsLocked(q *queue, attrs map[string]string, creating bool) error {
	for k := range attrs {
		if !slices.Contains(settable, k) {
			return senderErr("com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName",
				"Unknown Attribute %s.", k)
		}
	}
	merged := maps.Clone(q.attrs)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, attrs)
	fifo := strings.HasSuffix(q.name, ".fifo")
	if v, ok := attrs["FifoQueue"]; ok {
		if !creating && (v == "true") != q.fifo {
			return invalidAttrValue("FifoQueue", v)
		}
		if v != "true" && v != "false" || (v == "true") != fifo {
			return invalidAttrValue("FifoQueue", v)
		}
	} else if creating && fifo {
		// A .fifo name without FifoQueue=true is not a valid standard
		// queue name either.
		return invalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if v, ok := attrs["ContentBasedDeduplication"]; ok && (!fifo || v != "true" && v != "false") {
		return invalidAttrValue("ContentBasedDeduplication", v)
	}
	var err error
	var vis, delay, wait, size, ret int
	if vis, err = intAttr(merged, "VisibilityTimeout", defaultVisibility, 0, int(MaxVisibility/time.Second)); err != nil {
		return err
	}
	if delay, err = intAttr(merged, "DelaySeconds", 0, 0, MaxDelaySeconds); err != nil {
		return err
	}
	if wait, err = intAttr(merged, "ReceiveMessageWaitTimeSeconds", 0, 0, MaxWaitSeconds); err != nil {
		return err
	}
	if size, err = intAttr(merged, "MaximumMessageSize", DefaultMaxSize, MinMaxSize, DefaultMaxSize); err != nil {
		return err
	}
	if ret, err = intAttr(merged, "MessageRetentionPeriod", defaultRetention, 60, 1209600); err != nil {
		return err
	}
	target, maxRecv := "", 0
	if raw := merged["RedrivePolicy"]; raw != "" {
		var pol struct {
			Target string          `json:"deadLetterTargetArn"`
			Max    json.RawMessage `json:"maxReceiveCount"`
		}
		if json.Unmarshal([]byte(raw), &pol) != nil {
			return invalidAttrValue("RedrivePolicy", raw)
		}
		maxRecv, err = strconv.Atoi(strings.Trim(string(pol.Max), `"`))
		if err != nil || maxRecv < 1 || maxRecv > 1000 {
			return invalidAttrValue("RedrivePolicy", raw)
		}
		a, err := arn.Parse(pol.Target)
		target = a.Resource
		dlq := s.queues[target]
		if err != nil || a.Partition != "aws" || a.Service != "sqs" || dlq == nil {
			return invalidParam("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.", raw)
		}
		// SQS requires the dead-letter queue to be of the source's type.
		if dlq.fifo != fifo {
			return invalidParam("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.", raw)
		}
	}
	q.attrs = merged
	q.fifo = fifo
	q.contentDedup = merged["ContentBasedDeduplication"] == "true"
	q.visibility, q.delay, q.wait, q.maxSize, q.retention = vis, delay, wait, size, ret
	q.redriveTarget, q.maxReceive = target, maxRecv
	q.modified = s.clock.Now()
	return nil
}

func validQueueName(name string) bool {
	base := strings.TrimSuffix(name, ".fifo")
	if base == "" || len(name) > maxQueueNameLength {
		return false
	}
	for _, r := range base {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (s *Server) createQueueLocked(name string, attrs map[string]string) (string, error) {
	if !validQueueName(name) {
		return "", invalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if q := s.queues[name]; q != nil {
		// SQS returns the existing queue when the attributes match and
		// refuses the call when they differ.
		for k, v := range attrs {
			if q.attrs[k] != v {
				return "", senderErr("com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists",
					"A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return q.url, nil
	}
	now := s.clock.Now()
	q := &queue{
		name:     name,
		url:      s.cfg.URLBase + "/" + s.cfg.Account + "/" + name,
		arn:      "arn:aws:sqs:" + s.cfg.Region + ":" + s.cfg.Account + ":" + name,
		created:  now,
		dedup:    map[string]dedupEntry{},
		attempts: map[string]*receiveAttempt{},
		byID:     map[string]*message{},
	}
	if err := s.applyAttrsLocked(q, attrs, true); err != nil {
		return "", err
	}
	s.queues[name] = q
	return q.url, nil
}

// CreateQueue creates a queue (or returns the existing one with the same
// attributes) and returns its URL.
func (s *Server) CreateQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	return call(s, ctx, "CreateQueue", name, func() (string, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, err := s.createQueueLocked(name, attrs)
		return u, 0, err
	})
}

// MustCreateQueue is CreateQueue for test set-up: a failure is a bug in the
// test, so it panics.
func (s *Server) MustCreateQueue(name string, attrs map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.createQueueLocked(name, attrs)
	if err != nil {
		panic(err)
	}
	return u
}

// MustCreateQueueWithDLQ creates NAME-dlq (NAME-dlq.fifo for a FIFO name)
// and NAME with a RedrivePolicy to it, and returns both URLs.
func (s *Server) MustCreateQueueWithDLQ(name string, attrs map[string]string, maxReceiveCount int) (url, dlqURL string) {
	base, suffix := strings.CutSuffix(name, ".fifo")
	dlqName := base + "-dlq"
	dlqAttrs := map[string]string{}
	if suffix {
		dlqName += ".fifo"
		dlqAttrs["FifoQueue"] = "true"
	}
	dlqURL = s.MustCreateQueue(dlqName, dlqAttrs)
	a := maps.Clone(attrs)
	if a == nil {
		a = map[string]string{}
	}
	a["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:%s:%s:%s","maxReceiveCount":%d}`,
		s.cfg.Region, s.cfg.Account, dlqName, maxReceiveCount)
	return s.MustCreateQueue(name, a), dlqURL
}

// queueLocked finds the queue of a URL.
func (s *Server) queueLocked(url string) (*queue, error) {
	if url == "" {
		return nil, missingParam("QueueUrl")
	}
	if q := s.queues[nameOf(url)]; q != nil {
		return q, nil
	}
	return nil, noQueue()
}

// GetQueueURL returns the URL of the named queue.
func (s *Server) GetQueueURL(ctx context.Context, name string) (string, error) {
	return call(s, ctx, "GetQueueUrl", name, func() (string, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		q := s.queues[name]
		if q == nil {
			return "", 0, noQueue()
		}
		return q.url, 0, nil
	})
}

// ListQueues returns the URLs of the queues whose names start with prefix.
func (s *Server) ListQueues(ctx context.Context, prefix string) ([]string, error) {
	return call(s, ctx, "ListQueues", "", func() ([]string, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []string
		for name, q := range s.queues {
			if strings.HasPrefix(name, prefix) {
				out = append(out, q.url)
			}
		}
		slices.Sort(out)
		return out, len(out), nil
	})
}

// GetQueueAttributes returns the named attributes ("All" for every one).
func (s *Server) GetQueueAttributes(ctx context.Context, url string, names []string) (map[string]string, error) {
	return call(s, ctx, "GetQueueAttributes", url, func() (map[string]string, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(url)
		if err != nil {
			return nil, 0, err
		}
		out, err := s.selectAttrsLocked(q, names)
		return out, 0, err
	})
}

// selectAttrsLocked returns the named attributes of q ("All" for every one);
// a name SQS does not know is refused, as SQS does.
func (s *Server) selectAttrsLocked(q *queue, names []string) (map[string]string, error) {
	all := s.attributesLocked(q)
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all, nil
		}
		v, ok := all[n]
		if !ok && !slices.Contains(types.QueueAttributeName("").Values(), types.QueueAttributeName(n)) {
			return nil, senderErr("com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName",
				"Unknown Attribute %s.", n)
		}
		if ok {
			out[n] = v
		}
	}
	return out, nil
}

func (s *Server) attributesLocked(q *queue) map[string]string {
	now := s.clock.Now()
	s.expireLocked(q, now)
	visible, inflight, delayed := 0, 0, 0
	for _, m := range q.msgs {
		switch {
		case !m.hiddenUntil.After(now):
			visible++
		case m.receiveCount > 0 && m.receipt != "":
			inflight++
		default:
			delayed++
		}
	}
	a := map[string]string{
		"QueueArn":                              q.arn,
		"VisibilityTimeout":                     strconv.Itoa(q.visibility),
		"MaximumMessageSize":                    strconv.Itoa(q.maxSize),
		"MessageRetentionPeriod":                strconv.Itoa(q.retention),
		"DelaySeconds":                          strconv.Itoa(q.delay),
		"ReceiveMessageWaitTimeSeconds":         strconv.Itoa(q.wait),
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.modified.Unix(), 10),
		"SqsManagedSseEnabled":                  "true",
	}
	if q.fifo {
		a["FifoQueue"] = "true"
		a["ContentBasedDeduplication"] = strconv.FormatBool(q.contentDedup)
		a["DeduplicationScope"] = "queue"
		a["FifoThroughputLimit"] = "perQueue"
	}
	if p := q.attrs["RedrivePolicy"]; p != "" {
		a["RedrivePolicy"] = p
	}
	return a
}

// SetQueueAttributes changes attributes of an existing queue.
func (s *Server) SetQueueAttributes(ctx context.Context, url string, attrs map[string]string) error {
	_, err := call(s, ctx, "SetQueueAttributes", url, func() (struct{}, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(url)
		if err != nil {
			return struct{}{}, 0, err
		}
		return struct{}{}, 0, s.applyAttrsLocked(q, attrs, false)
	})
	return err
}

// PurgeQueue deletes every message of the queue.
func (s *Server) PurgeQueue(ctx context.Context, url string) error {
	_, err := call(s, ctx, "PurgeQueue", url, func() (struct{}, int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(url)
		if err != nil {
			return struct{}{}, 0, err
		}
		for _, m := range q.msgs {
			m.deleted = true
		}
		q.msgs = nil
		return struct{}{}, 0, nil
	})
	return err
}

// Counts returns the queue's message counts, exact (SQS's are approximate):
// visible, in flight, delayed.
func (s *Server) Counts(url string) (visible, inFlight, delayed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return 0, 0, 0
	}
	a := s.attributesLocked(q)
	num := func(k string) int { n, _ := strconv.Atoi(a[k]); return n }
	return num("ApproximateNumberOfMessages"), num("ApproximateNumberOfMessagesNotVisible"), num("ApproximateNumberOfMessagesDelayed")
}

// MessageState is a message as the double holds it, for assertions; reading
// it changes nothing.
type MessageState struct {
	MessageID       string
	Body            string
	GroupID         string
	DeduplicationID string
	Attributes      map[string]MessageAttribute
	ReceiveCount    int
	ReceiptHandle   string // of the latest receive, the only one accepted
	SentAt          time.Time
	FirstReceive    time.Time
	ReceivedAt      time.Time // of the latest receive
	HiddenUntil     time.Time // end of the delay or of the visibility timeout
	Deleted         bool
}

func (m *message) state() MessageState {
	return MessageState{
		MessageID: m.id, Body: m.body, GroupID: m.groupID, DeduplicationID: m.dedupID,
		Attributes: cloneAttrs(m.attrs), ReceiveCount: m.receiveCount, ReceiptHandle: m.receipt,
		SentAt: m.sentAt, FirstReceive: m.firstReceive, ReceivedAt: m.receivedAt,
		HiddenUntil: m.hiddenUntil, Deleted: m.deleted,
	}
}

// Peek returns the queue's messages that are not deleted, in send order,
// visible or not, without receiving them.
func (s *Server) Peek(url string) []MessageState {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return nil
	}
	s.expireLocked(q, s.clock.Now())
	out := make([]MessageState, len(q.msgs))
	for i, m := range q.msgs {
		out[i] = m.state()
	}
	return out
}

// Message returns the state of a message sent to the queue at url, deleted
// or not (a message redriven elsewhere is found in its new queue).
func (s *Server) Message(url, id string) (MessageState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(url)
	if err != nil {
		return MessageState{}, false
	}
	m := q.byID[id]
	if m == nil {
		return MessageState{}, false
	}
	return m.state(), true
}
