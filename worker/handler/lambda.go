package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker"
)

// DefaultLambdaURL is where the Lambda Runtime Interface Emulator takes
// invocations, published on port 9000 of the host as AWS's guides do (the
// emulator itself listens on 8080 inside the image, where sqsfleet's own
// http.addr listens by default).
const DefaultLambdaURL = "http://localhost:9000/2015-03-31/functions/function/invocations"

// LambdaConfig configures a Lambda handler.
type LambdaConfig struct {
	// URLs are the invoke URLs of the function's runtimes, each taking one
	// invocation at a time. Empty means []string{DefaultLambdaURL}.
	URLs []string
	// Source names the queue in events.
	Source EventSource
	// Client, when set, is used instead of the handler's own client.
	Client *http.Client
}

// Lambda is a BatchHandler that invokes a Lambda function the way Lambda's
// SQS event source mapping does: it POSTs the SQS event to an invoke URL of
// the Lambda Runtime Interface Emulator (or anything serving its invoke
// API) and reads the function's partial batch response. It is safe for
// concurrent use.
//
// The emulator runs one invocation at a time and answers a second one with
// an error (some versions crash on it), so Lambda sends at most one batch
// to each URL at once: wrap it in a Batch with MaxInFlight = len(URLs),
// and a call that still finds every URL busy waits for one.
//
// Outcome: status 200 with a partial batch response (see
// parseBatchResponse) gives each message its result. A function error (the
// emulator answers 200 with {"errorMessage","errorType"}, Lambda's Invoke
// API also sets X-Amz-Function-Error), the emulator's own timeout (200 with
// "Task timed out after N seconds"), any other status, or a transport error
// fails the whole batch, to be retried message by message.
type Lambda struct {
	urls   chan string
	scrub  map[string]*redact.Scrubber
	shown  map[string]string
	source EventSource
	client *http.Client
	n      int
}

// NewLambda validates cfg and returns the handler.
func NewLambda(cfg LambdaConfig) (*Lambda, error) {
	urls := cfg.URLs
	if len(urls) == 0 {
		urls = []string{DefaultLambdaURL}
	}
	h := &Lambda{
		urls:   make(chan string, len(urls)),
		scrub:  make(map[string]*redact.Scrubber, len(urls)),
		shown:  make(map[string]string, len(urls)),
		source: cfg.Source,
		client: cfg.Client,
		n:      len(urls),
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("lambda handler: url: %w", redact.NewScrubber(raw).Error(err))
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("lambda handler: url %q: want http:// or https:// with a host", redact.URL(raw))
		}
		if _, dup := h.scrub[raw]; dup {
			return nil, fmt.Errorf("lambda handler: url %q is listed twice", redact.URL(raw))
		}
		h.scrub[raw] = redact.NewScrubber(raw)
		h.shown[raw] = redact.URL(raw)
		h.urls <- raw
	}
	if h.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = len(urls)
		h.client = &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return h, nil
}

// Runtimes is how many invocations the handler can have at once, one per
// URL: the MaxInFlight of the Batch in front of it.
func (h *Lambda) Runtimes() int { return h.n }

// HandleBatch invokes the function with msgs; see Lambda.
func (h *Lambda) HandleBatch(ctx context.Context, msgs []*worker.Message) (map[string]error, error) {
	event, err := h.source.Event(msgs)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("lambda handler: %w", err))
	}
	var u string
	select {
	case u = <-h.urls:
	case <-ctx.Done():
		return nil, fmt.Errorf("lambda handler: waiting for a free runtime: %w", ctx.Err())
	}
	defer func() { h.urls <- u }()
	scrub := h.scrub[u]

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("lambda handler: %w", scrub.Error(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sqsfleet")
	resp, err := h.client.Do(req)
	if err != nil {
		err = scrub.Error(err)
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return nil, fmt.Errorf("lambda handler: invoke %s: %w: %w", h.shown[u], cerr, err)
		}
		return nil, fmt.Errorf("lambda handler: invoke %s: %w", h.shown[u], err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchResponse+1))
	if err != nil {
		return nil, fmt.Errorf("lambda handler: invoke %s: reading the response: %w", h.shown[u], scrub.Error(err))
	}
	if len(body) > maxBatchResponse {
		return nil, fmt.Errorf("lambda handler: invoke %s: response larger than %d bytes", h.shown[u], maxBatchResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("lambda handler: invoke %s: status %s%s", h.shown[u], responseStatus(resp), bodySuffix(scrub.String(trimQuote(body))))
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return nil, fmt.Errorf("lambda handler: %s", scrub.String((&FunctionError{Type: fe, Message: trimQuote(body)}).Error()))
	}
	failed, err := parseBatchResponse(body, msgs)
	if err != nil {
		return nil, fmt.Errorf("lambda handler: %s", scrub.String(err.Error()))
	}
	return failed, nil
}

// trimQuote is the start of a response body, for an error.
func trimQuote(b []byte) string {
	const limit = 1024
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
