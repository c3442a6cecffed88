package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// SQS is the part of the SQS client the commands use: the adapter's calls
// and the queue attribute reads.
type SQS interface {
	awssqs.API
	awssqs.QueueAPI
}

// InputError is an error in what the user asked for (a URL that is not a
// queue, a destination of the wrong kind): the command line exits 2 on it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// DLQ is one dead-letter queue, opened for the commands.
type DLQ struct {
	api  SQS
	info awssqs.QueueInfo
	q    *awssqs.Queue
	now  func() time.Time

	// Looked up once per run: the URL of each source ARN, the kind of each
	// destination queue.
	urls  map[string]string
	kinds map[string]kindResult
}

type kindResult struct {
	fifo, self bool // self: the queue is this DLQ
	err        error
}

// receiveWait is the long poll of each scan receive: long enough that SQS
// asks all its servers (an empty answer then means an empty queue), short
// enough that the end of a scan is not felt.
const receiveWait = time.Second

// Open checks that url is a queue and reads what the commands need to know
// about it. A URL that is not a queue is an *InputError.
func Open(ctx context.Context, api SQS, url string) (*DLQ, error) {
	info, err := awssqs.DescribeQueue(ctx, api, url)
	if err != nil {
		if awssqs.IsNoSuchQueue(err) {
			return nil, inputErrorf("--dlq %s: no such queue", url)
		}
		return nil, err
	}
	return &DLQ{
		api: api, info: info, q: awssqs.NewQueue(api, url, receiveWait), now: time.Now,
		urls: map[string]string{}, kinds: map[string]kindResult{},
	}, nil
}

// Info is what SQS said about the DLQ when it was opened.
func (d *DLQ) Info() awssqs.QueueInfo { return d.info }

// Entry is one examined message with its failure record decoded.
type Entry struct {
	Message *worker.Message
	// Record is the decoded failure record; nil without one.
	Record *worker.FailureRecord
	// Reason is the record's reason, ReasonSQSRedrive without a record, or
	// ReasonUnknown for a record that could not be read.
	Reason string
	// Source is the URL of the queue the message failed on ("" when
	// unknown); SourceARN is DeadLetterQueueSourceArn when SQS set it.
	Source    string
	SourceARN string
	// FailedAt is the record's failure time or, without a record, when the
	// message was sent (SQS keeps no time of its move).
	FailedAt time.Time
	// Error is the record's error text, ErrorClass its folded class.
	Error      string
	ErrorClass string
}

// entry decodes m. Source ARNs are resolved to URLs once per DLQ; a
// resolution that fails leaves Source empty and says why in Error.
func (d *DLQ) entry(ctx context.Context, m *worker.Message) *Entry {
	e := &Entry{Message: m, FailedAt: m.SentAt, SourceARN: m.SystemAttributes[sourceARNAttribute]}
	raw, ok := m.Attributes[worker.FailureAttribute]
	switch {
	case !ok:
		e.Reason = ReasonSQSRedrive
		e.ErrorClass = "(no failure record: moved by SQS after maxReceiveCount receives)"
	default:
		var rec worker.FailureRecord
		if err := json.Unmarshal([]byte(raw.StringValue), &rec); err != nil || rec.Reason == "" {
			e.Reason = ReasonUnknown
			e.Error = "unreadable failure record: " + raw.StringValue
			e.ErrorClass = "(unreadable failure record)"
			break
		}
		e.Record = &rec
		e.Reason = rec.Reason
		e.Source = rec.QueueURL
		e.Error = rec.Error
		e.ErrorClass = ErrorClass(rec.Error)
		if !rec.FailedAt.IsZero() {
			e.FailedAt = rec.FailedAt
		}
	}
	if e.Source == "" && e.SourceARN != "" {
		e.Source = d.sourceURL(ctx, e.SourceARN)
	}
	return e
}

// sourceARNAttribute is the system attribute SQS sets on a message it moved
// to a dead-letter queue: the ARN of the queue it came from.
const sourceARNAttribute = "DeadLetterQueueSourceArn"

func (d *DLQ) sourceURL(ctx context.Context, arn string) string {
	if u, ok := d.urls[arn]; ok {
		return u
	}
	u, err := awssqs.QueueURLOfARN(ctx, d.api, arn)
	if err != nil {
		u = ""
	}
	d.urls[arn] = u
	return u
}

var errNoQueue = errors.New("no such queue")

// errSelf refuses a destination that is the DLQ itself: what a redrive
// sends there it would receive again, until its time limit.
var errSelf = errors.New("it is the DLQ itself")

// kindOf reports whether the queue at url is FIFO, once per URL.
func (d *DLQ) kindOf(ctx context.Context, url string) (bool, error) {
	if k, ok := d.kinds[url]; ok {
		return k.fifo, k.err
	}
	info, err := awssqs.DescribeQueue(ctx, d.api, url)
	switch {
	case awssqs.IsNoSuchQueue(err):
		err = errNoQueue
	case err == nil && (url == d.info.URL || info.ARN != "" && info.ARN == d.info.ARN):
		err = errSelf
	}
	d.kinds[url] = kindResult{fifo: info.FIFO, err: err}
	return info.FIFO, err
}

// Filter chooses messages: by reason (any of Reasons; none means any) and
// by a regular expression matched against the error text and the body.
type Filter struct {
	Reasons []string
	Match   *regexp.Regexp
}

// Selects reports whether e passes the filter.
func (f Filter) Selects(e *Entry) bool {
	if len(f.Reasons) > 0 && !slices.Contains(f.Reasons, e.Reason) {
		return false
	}
	if f.Match != nil && !f.Match.MatchString(e.Error) && !f.Match.MatchString(e.Message.Body) {
		return false
	}
	return true
}

// Bounds limit a scan in time.
type Bounds struct {
	// MaxTime is how long the scan may run; default 1m. Receiving stops at
	// it, and messages examined are released.
	MaxTime time.Duration
	// Margin is how much longer than MaxTime a received message may stay
	// hidden if the process dies before releasing it; default 30s.
	Margin time.Duration
}

func (b Bounds) withDefaults(maxTime time.Duration) Bounds {
	if b.MaxTime <= 0 {
		b.MaxTime = maxTime
	}
	if b.Margin <= 0 {
		b.Margin = 30 * time.Second
	}
	return b
}
