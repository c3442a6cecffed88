package handler

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/redact"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// Request headers set by the HTTP handler. They are those of the Elastic
// Beanstalk worker daemon (sqsd), so EB worker applications move over
// unchanged.
const (
	HeaderMsgID           = "X-Aws-Sqsd-Msgid"
	HeaderQueue           = "X-Aws-Sqsd-Queue"
	HeaderFirstReceivedAt = "X-Aws-Sqsd-First-Received-At"
	HeaderReceiveCount    = "X-Aws-Sqsd-Receive-Count"
	HeaderSenderID        = "X-Aws-Sqsd-Sender-Id"
	HeaderSentAt          = "X-Aws-Sqsd-Sent-At"
	HeaderPath            = "X-Aws-Sqsd-Path"
	// HeaderAttrPrefix prefixes one header per message attribute; the rest
	// of the name is AttrHeaderName(attribute name).
	HeaderAttrPrefix = "X-Aws-Sqsd-Attr-"
	// HeaderPayloadBucket and HeaderPayloadKey name the S3 object the body
	// was read from, when the message carried an SQS extended client
	// pointer (see worker.Payload). sqsd has no such headers, hence
	// sqsfleet's own prefix.
	HeaderPayloadBucket = "X-Sqsfleet-Payload-Bucket"
	HeaderPayloadKey    = "X-Sqsfleet-Payload-Key"
)

// Request headers with what an unwrapped envelope said about the message
// (worker/envelope). sqsd has no counterpart, hence sqsfleet's own prefix.
const (
	HeaderSNSSubject   = "X-Sqsfleet-Sns-Subject"
	HeaderSNSTopicARN  = "X-Sqsfleet-Sns-Topic-Arn"
	HeaderSNSMessageID = "X-Sqsfleet-Sns-Message-Id"
	HeaderSNSTimestamp = "X-Sqsfleet-Sns-Timestamp"

	HeaderEventID         = "X-Sqsfleet-Event-Id"
	HeaderEventSource     = "X-Sqsfleet-Event-Source"
	HeaderEventDetailType = "X-Sqsfleet-Event-Detail-Type"
	HeaderEventTime       = "X-Sqsfleet-Event-Time"
	HeaderEventAccount    = "X-Sqsfleet-Event-Account"
	HeaderEventRegion     = "X-Sqsfleet-Event-Region"
	HeaderEventResources  = "X-Sqsfleet-Event-Resources"
)

const (
	defaultResponseTail   = 4096
	defaultHTTPConcurrent = 10
	// maxResponseDrain is how much of a response body Handle reads at most.
	// Reading a body to EOF lets the keep-alive connection be reused; past
	// this much it is cheaper to drop the connection than to read on, and a
	// hostile or broken endpoint cannot make us read forever.
	maxResponseDrain = 64 << 10
)

// HTTPConfig configures an HTTP handler.
type HTTPConfig struct {
	// URL is where every message is POSTed (http or https).
	URL string
	// Concurrency is the size of the keep-alive pool: at most this many
	// connections to the endpoint, all of which may stay idle for reuse. Set
	// it to the worker concurrency. Default 10. Ignored when Client is set.
	Concurrency int
	// PermanentStatuses are response statuses that dead-letter the message at
	// once. nil means [422]; an empty non-nil slice means none.
	PermanentStatuses []int
	// Client, when set, is used as is (its transport, timeouts and redirect
	// policy included) instead of the handler's own client.
	Client *http.Client
	// ResponseTail is how many bytes of a failed response's body are quoted
	// in the error. They are taken from the start of the body, where error
	// responses put their message. Default 4096.
	ResponseTail int
	// Source names the queue in the events of HandleBatch.
	Source EventSource
}

// HTTP is the handler that POSTs each message to a URL the way the Elastic
// Beanstalk worker daemon does. It is safe for concurrent use.
//
// Request: the body is the message body, byte for byte. Headers:
//
//	X-Aws-Sqsd-Msgid               message id
//	X-Aws-Sqsd-Queue               queue name (last path segment of the queue URL)
//	X-Aws-Sqsd-First-Received-At   first receive time, UTC, RFC 3339
//	X-Aws-Sqsd-Receive-Count       1 on the first delivery
//	X-Aws-Sqsd-Sender-Id           sender account or principal, when known
//	X-Aws-Sqsd-Sent-At             when the producer sent it, UTC, RFC 3339, when known
//	X-Aws-Sqsd-Path                the path of URL ("/" when it has none)
//	X-Aws-Sqsd-Attr-<name>         one per message attribute, see below
//	X-Sqsfleet-Sns-*               when an SNS envelope was unwrapped: Subject
//	                               (when there was one), Topic-Arn, Message-Id,
//	                               Timestamp
//	X-Sqsfleet-Event-*             when an EventBridge envelope was unwrapped:
//	                               Id, Source, Detail-Type, Time, Account,
//	                               Region, Resources (comma-separated ARNs)
//	X-Amzn-Trace-Id                the AWSTraceHeader system attribute, when set
//	Traceparent, Tracestate        the traceparent and tracestate String
//	                               attributes (W3C trace context), when set
//	X-Sqsfleet-Payload-Bucket      S3 bucket of a body stored in S3 (worker.Payload)
//	X-Sqsfleet-Payload-Key         its key; the body is then streamed from the object
//	User-Agent                     sqsfleet
//	Content-Type                   application/json, unless the message has an
//	                               attribute named Content-Type (any case)
//
// Attribute header names are HeaderAttrPrefix + AttrHeaderName(name), with
// the name's case preserved on the wire. String and Number attributes carry
// their value, Binary attributes their standard base64 encoding. Control
// characters in any header value (CR and LF included) are replaced by spaces,
// so a message cannot inject headers. When distinct attribute names map to
// the same header (case-insensitively), the one whose name sorts last wins.
//
// A scheduled task (package task: sqsfleet's task body, or the Elastic
// Beanstalk daemon's periodic-task message) is POSTed instead to the task's
// path on the URL's scheme, host and port, with an empty body and, besides
// the headers above, X-Aws-Sqsd-Taskname, X-Aws-Sqsd-Scheduled-At and
// X-Aws-Sqsd-Path (see HeaderTaskName). Attributes named beanstalk.sqsd.*
// are never forwarded as X-Aws-Sqsd-Attr- headers. A malformed task is
// dead-lettered at once.
//
// Response: any 2xx status is success. A status listed in PermanentStatuses
// dead-letters the message at once. 429 and 503 with a Retry-After header
// (seconds or HTTP date) ask for a retry after that delay. Any other status,
// including 3xx (redirects are not followed: they would turn the POST into a
// GET without a body), a transport error, or the handler timeout is a
// retryable failure. Errors quote the status and the start of the body. At
// most 64 KiB of any response body is read.
//
// Errors end up in logs and in the failure record on the dead-letter queue,
// so the URL's secrets (userinfo, query values, fragment) are masked in
// them wherever they appear: in the URL net/http quotes, and in a response
// body that echoes the request or the token (internal/redact).
type HTTP struct {
	url         string
	path        string // X-Aws-Sqsd-Path, sanitised
	redactedURL string
	scrub       *redact.Scrubber
	client      *http.Client
	// rt is the handler's own transport, called directly: its client
	// follows no redirect and sets no timeout or cookie, so Client.Do
	// would only copy the headers and the URL for redirects that never
	// happen. nil when the caller supplied a Client, which is used as is.
	rt http.RoundTripper
	// target is the request every call starts from: the URL is parsed
	// once, not per message.
	target       *http.Request
	basicAuth    []string // the Authorization value for a URL with user info
	permanent    []int
	responseTail int
	source       EventSource
	// queueName caches the X-Aws-Sqsd-Queue value of the last queue URL
	// seen: a daemon consumes one queue, so it is parsed once, not per
	// message.
	queueName atomic.Pointer[queueName]
}

type queueName struct{ url, name string }

// NewHTTP validates cfg and returns a handler.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Parse's error quotes the whole URL.
		return nil, fmt.Errorf("http handler: url: %w", redact.NewScrubber(cfg.URL).Error(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http handler: url %q: want http:// or https:// with a host", redact.URL(cfg.URL))
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("http handler: concurrency %d is negative", cfg.Concurrency)
	}
	if cfg.ResponseTail < 0 {
		return nil, fmt.Errorf("http handler: response tail %d is negative", cfg.ResponseTail)
	}
	permanent := cfg.PermanentStatuses
	if permanent == nil {
		permanent = []int{http.StatusUnprocessableEntity}
	}
	for _, s := range permanent {
		if s < 100 || s > 599 || (s >= 200 && s <= 299) {
			return nil, fmt.Errorf("http handler: permanent status %d is not a 1xx, 3xx, 4xx or 5xx status", s)
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/" // where a request to a bare host goes
	}
	h := &HTTP{
		url:          cfg.URL,
		path:         sanitizeHeaderValue(path),
		redactedURL:  redact.URL(cfg.URL),
		scrub:        redact.NewScrubber(cfg.URL),
		client:       cfg.Client,
		permanent:    slices.Clone(permanent),
		responseTail: cfg.ResponseTail,
		source:       cfg.Source,
	}
	if h.responseTail == 0 {
		h.responseTail = defaultResponseTail
	}
	if h.target, err = http.NewRequest(http.MethodPost, cfg.URL, nil); err != nil {
		return nil, fmt.Errorf("http handler: url: %w", h.scrub.Error(err))
	}
	if u.User != nil {
		// What http.Client does for a URL with credentials, and the
		// transport alone does not.
		pw, _ := u.User.Password()
		h.basicAuth = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))}
	}
	if h.client == nil {
		n := cfg.Concurrency
		if n == 0 {
			n = defaultHTTPConcurrent
		}
		// Cloning DefaultTransport keeps its dial timeouts and proxy
		// settings. net/http's default of 2 idle connections per host would
		// make most of n concurrent workers open a fresh connection per
		// message.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = n
		tr.MaxIdleConnsPerHost = n
		tr.MaxConnsPerHost = n
		h.rt = tr
		h.client = &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return h, nil
}

// Handle POSTs m; see HTTP for the contract.
func (h *HTTP) Handle(ctx context.Context, m *worker.Message) error {
	t, isTask, err := task.Parse(m)
	if err != nil {
		// A malformed task never succeeds: dead-letter it with the reason.
		return worker.Permanent(fmt.Errorf("http handler: %w", err))
	}
	req, err := h.newRequest(ctx, m)
	if err != nil {
		return fmt.Errorf("http handler: %w", h.scrub.Error(err))
	}
	target := h.redactedURL
	if isTask {
		target = h.taskRequest(req, t)
	}
	resp, err := h.do(ctx, req, target)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, maxResponseDrain)
		return nil
	}
	return h.statusError(resp, target)
}

// do sends req, masking the URL's secrets in a transport error; target is
// the redacted URL errors name.
func (h *HTTP) do(ctx context.Context, req *http.Request, target string) (*http.Response, error) {
	var resp *http.Response
	var err error
	if h.rt != nil {
		if h.basicAuth != nil && req.Header.Get("Authorization") == "" {
			req.Header["Authorization"] = h.basicAuth
		}
		if resp, err = h.rt.RoundTrip(req); err != nil {
			// As http.Client reports it: the method and URL, then the cause.
			err = &url.Error{Op: "Post", URL: target, Err: err}
		}
	} else {
		resp, err = h.client.Do(req)
	}
	if err != nil {
		// net/http's *url.Error quotes the URL, query and all.
		err = h.scrub.Error(err)
		// The transport usually wraps ctx.Err() itself; make sure callers can
		// always tell a timeout from a connection failure.
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return nil, fmt.Errorf("http handler: %w: %w", cerr, err)
		}
		return nil, fmt.Errorf("http handler: %w", err)
	}
	return resp, nil
}

// statusError is the failure a response with a status other than 2xx
// stands for; see HTTP.
func (h *HTTP) statusError(resp *http.Response, target string) error {
	// The body is the endpoint's: it may echo the request line or the
	// token. It is scrubbed before it is cut to the tail, so that a secret
	// the cut would split is still masked whole.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, int64(h.responseTail+h.scrub.Longest())))
	if rest := maxResponseDrain - int64(len(head)); rest > 0 {
		_, _ = io.CopyN(io.Discard, resp.Body, rest)
	}
	quoted := h.scrub.String(string(head))
	quoted = quoted[:min(len(quoted), h.responseTail)]
	err := fmt.Errorf("http handler: POST %s: status %s%s", target, responseStatus(resp), bodySuffix(quoted))
	if slices.Contains(h.permanent, resp.StatusCode) {
		return worker.Permanent(err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfterHeader(resp.Header.Get("Retry-After"), time.Now()); ok {
			return worker.RetryAfter(err, d)
		}
	}
	return err
}

// responseStatus is resp.Status, falling back to the code when a server sent a
// bare status line.
func responseStatus(resp *http.Response) string {
	if resp.Status != "" {
		return resp.Status
	}
	return strconv.Itoa(resp.StatusCode)
}

func bodySuffix(b string) string {
	s := strings.TrimSpace(strings.ToValidUTF8(b, "\uFFFD"))
	if s == "" {
		return ""
	}
	return ": " + s
}

// parseRetryAfterHeader parses a Retry-After value, delta-seconds or HTTP-date
// (RFC 9110 section 10.2.3), into a delay from now. A date in the past is a
// zero delay. Huge values are clamped rather than overflowing; bounding the
// delay to what SQS can honour is the engine's business.
func parseRetryAfterHeader(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		if err != nil || secs > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64/int64(time.Second)) * time.Second, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
