package handler

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// AttrHeaderName maps a message attribute name to the suffix of its
// X-Aws-Sqsd-Attr- header: bytes that are valid in an HTTP token (RFC 9110:
// letters, digits and !#$%&'*+-.^_`|~) are kept, case included, and every
// other byte becomes '-'. The result has the same length as name, and
// X-Aws-Sqsd-Attr- followed by it is always a valid header field name. SQS
// attribute names (letters, digits, '-', '_', '.') pass unchanged.
func AttrHeaderName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !isTokenByte(c) {
			b[i] = '-'
		}
	}
	return string(b)
}

func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// sanitizeHeaderValue makes v safe as a header field value: net/http
// rejects control characters other than tab, and CR or LF would otherwise
// split the header. Invalid UTF-8 becomes U+FFFD.
func sanitizeHeaderValue(v string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return ' '
		}
		return r
	}, v)
}

// queue returns the sanitised queue name of queueURL, from the cache when
// it is the last one seen.
func (h *HTTP) queue(queueURL string) string {
	if c := h.queueName.Load(); c != nil && c.url == queueURL {
		return c.name
	}
	c := &queueName{url: queueURL, name: sanitizeHeaderValue(awssqs.ParseQueueURL(queueURL).Name)}
	h.queueName.Store(c)
	return c.name
}

// The headers every call sends the same value of. Shared: net/http only
// reads them, and Set replaces a value rather than writing into it.
var (
	userAgent       = []string{"sqsfleet"}
	jsonContentType = []string{"application/json"}
)

func (h *HTTP) newRequest(ctx context.Context, m *worker.Message) (*http.Request, error) {
	// A shallow copy of the parsed target with this call's context (what
	// NewRequestWithContext builds, without parsing the URL again).
	req := h.target.WithContext(ctx)
	if m.Payload != nil {
		// Streamed from S3 as it is sent, never held whole; it cannot be
		// read twice, so there is no GetBody and a request the transport
		// cannot send fails and the message is retried.
		req.Body, req.ContentLength = io.NopCloser(m.Payload.Body), m.Payload.Size
		if req.ContentLength == 0 {
			req.Body = http.NoBody
		}
	} else {
		body := m.Body
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
		// Lets the transport resend the body when a reused keep-alive
		// connection turns out to be closed before the request went out.
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	// The names below are already in canonical form, so they are stored
	// directly rather than through Set, which canonicalises each one again.
	// Every value of the request shares one backing array (one allocation
	// instead of one per header); the constant ones share package slices.
	hd := make(http.Header, 8+len(m.Attributes))
	req.Header = hd
	vals := make([]string, 0, 9+len(m.Attributes))
	value := func(v string) []string {
		vals = append(vals, v)
		return vals[len(vals)-1 : len(vals) : len(vals)]
	}
	hd["User-Agent"] = userAgent
	hd["Content-Type"] = jsonContentType
	hd[HeaderMsgID] = value(sanitizeHeaderValue(m.ID))
	if q := h.queue(m.QueueURL); q != "" {
		hd[HeaderQueue] = value(q)
	}
	if !m.FirstReceivedAt.IsZero() {
		hd[HeaderFirstReceivedAt] = value(m.FirstReceivedAt.UTC().Format(time.RFC3339))
	}
	hd[HeaderReceiveCount] = value(strconv.Itoa(m.ReceiveCount))
	if m.SenderID != "" {
		hd[HeaderSenderID] = value(sanitizeHeaderValue(m.SenderID))
	}
	if !m.SentAt.IsZero() {
		hd[HeaderSentAt] = value(m.SentAt.UTC().Format(time.RFC3339))
	}
	hd[HeaderPath] = value(h.path)
	envelopeHeaders(hd, m)
	setTraceHeaders(hd, m)
	if p := m.Payload; p != nil {
		hd[HeaderPayloadBucket] = value(sanitizeHeaderValue(p.Bucket))
		hd[HeaderPayloadKey] = value(sanitizeHeaderValue(p.Key))
	}
	if len(m.Attributes) == 0 {
		return req, nil
	}
	// Attribute headers are stored under their exact name rather than via
	// Set, which would canonicalise "myAttr" to "Myattr" and hide the
	// attribute's case from the application. byFold keeps one header per
	// case-insensitive name, as HTTP sees them.
	byFold := make(map[string]string, len(m.Attributes))
	for _, name := range sortedAttrNames(m.Attributes) {
		if task.IsBeanstalkAttr(name) {
			continue // sqsd's own, and not forwarded by sqsd either
		}
		a := m.Attributes[name]
		v := sanitizeHeaderValue(attrValue(a))
		key := HeaderAttrPrefix + AttrHeaderName(name)
		fold := strings.ToLower(key)
		if prev, ok := byFold[fold]; ok {
			delete(hd, prev)
		}
		byFold[fold] = key
		hd[key] = value(v)
		if strings.EqualFold(name, "Content-Type") && !isBinary(a) {
			if ct := strings.TrimSpace(v); ct != "" {
				hd.Set("Content-Type", ct)
			}
		}
	}
	return req, nil
}

// envelopeHeaders adds what an unwrapped envelope said about m.
func envelopeHeaders(hd http.Header, m *worker.Message) {
	for _, f := range envelopeFields(m) {
		hd[f.header] = []string{sanitizeHeaderValue(f.value)}
	}
}
