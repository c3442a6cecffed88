package handler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/sqsfleet/sqsfleet/worker"
)

// HandleBatch runs the command once for msgs, as Lambda would invoke a
// function: Lambda's SQS event (see EventSource.Event) is its stdin, and
// its stdout is read as Lambda's partial batch response
// ({"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}; nothing, null
// or an empty list means every message succeeded). The command should log
// to stderr, which is quoted in errors as for Handle. SQSFLEET_QUEUE_URL is
// set; the per-message variables of Handle are not, since the event
// carries each message's metadata.
//
// Exit status 0 with a response that is not a batch response, any other
// status, a signal, or the timeout fails the whole batch; exit status 65
// dead-letters the whole batch. Output past MaxEventBytes fails the batch.
func (h *Exec) HandleBatch(ctx context.Context, msgs []*worker.Message) (map[string]error, error) {
	event, err := h.source.Event(msgs)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("exec %s: %w", h.argv[0], err))
	}
	env := make([]string, len(h.env), len(h.env)+1)
	copy(env, h.env)
	if len(msgs) > 0 {
		env = append(env, EnvQueueURL+"="+msgs[0].QueueURL)
	}
	out := &cappedBuffer{limit: maxBatchResponse}
	if err := h.run(ctx, env, bytes.NewReader(event), out); err != nil {
		return nil, err
	}
	if out.over {
		return nil, fmt.Errorf("exec %s: batch response on stdout is larger than %d bytes", h.argv[0], maxBatchResponse)
	}
	failed, err := parseBatchResponse(out.buf.Bytes(), msgs)
	if err != nil {
		return nil, fmt.Errorf("exec %s: stdout: %w", h.argv[0], err)
	}
	return failed, nil
}

// cappedBuffer keeps the first limit bytes written to it and notes whether
// more came; it never fails a write, so the command never dies of SIGPIPE.
type cappedBuffer struct {
	mu    sync.Mutex
	limit int
	buf   bytes.Buffer
	over  bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.limit - c.buf.Len(); room < len(p) {
		c.over = true
		c.buf.Write(p[:max(room, 0)])
	} else {
		c.buf.Write(p)
	}
	return len(p), nil
}

// HandleBatch POSTs msgs as one request, as Lambda would invoke a
// function: the body is Lambda's SQS event (see EventSource.Event), and a
// 2xx response's body is read as Lambda's partial batch response
// ({"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}; empty, null
// or an empty list means every message succeeded). Statuses other than 2xx
// fail the whole batch as they fail a message in Handle: a permanent
// status dead-letters every message, 429 or 503 with Retry-After delays
// them all. The X-Aws-Sqsd-* headers of Handle are not sent but for
// X-Aws-Sqsd-Queue: the event carries each message's metadata.
func (h *HTTP) HandleBatch(ctx context.Context, msgs []*worker.Message) (map[string]error, error) {
	event, err := h.source.Event(msgs)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("http handler: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("http handler: %w", h.scrub.Error(err))
	}
	req.Header["User-Agent"] = []string{"sqsfleet"}
	req.Header["Content-Type"] = []string{"application/json"}
	if len(msgs) > 0 {
		if q := h.queue(msgs[0].QueueURL); q != "" {
			req.Header[HeaderQueue] = []string{q}
		}
	}
	resp, err := h.do(ctx, req, h.redactedURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, h.statusError(resp, h.redactedURL)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchResponse+1))
	if err != nil {
		return nil, fmt.Errorf("http handler: POST %s: reading the response: %w", h.redactedURL, h.scrub.Error(err))
	}
	if len(body) > maxBatchResponse {
		return nil, fmt.Errorf("http handler: POST %s: batch response larger than %d bytes", h.redactedURL, maxBatchResponse)
	}
	failed, err := parseBatchResponse(body, msgs)
	if err != nil {
		return nil, fmt.Errorf("http handler: POST %s: %s", h.redactedURL, h.scrub.String(err.Error()))
	}
	return failed, nil
}
