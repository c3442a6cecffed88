package handler

import (
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// Request headers of a scheduled task (see package task), as the Elastic
// Beanstalk worker daemon sends them to a cron.yaml task's endpoint.
const (
	// HeaderTaskName is the task's name.
	HeaderTaskName = "X-Aws-Sqsd-Taskname"
	// HeaderScheduledAt is when the schedule fired, UTC, RFC 3339 to the
	// second ("2026-12-02T03:00:00Z"): the same on every delivery of one
	// firing, so an application can deduplicate on it with the task name.
	HeaderScheduledAt = "X-Aws-Sqsd-Scheduled-At"
)

// taskRequest turns req, built for the message that carries t, into the
// request for the task: a POST with an empty body to t.Path on the
// handler URL's scheme, host and port, with the task headers. The
// handler URL's own path and query are not used: a task names its own
// endpoint, as in cron.yaml. It returns the redacted URL for errors.
func (h *HTTP) taskRequest(req *http.Request, t task.Task) string {
	u := *h.target.URL // req.URL is shared with h.target: replace, never modify
	ref, err := url.Parse(t.Path)
	if err == nil { // task.Parse validated it; keep the handler URL otherwise
		u.Path, u.RawPath, u.RawQuery = ref.Path, ref.RawPath, ref.RawQuery
	}
	u.Fragment, u.RawFragment = "", ""
	// Credentials in the handler URL already travel in the Authorization
	// header; the query, which may hold a token, is not this endpoint's.
	u.User = nil
	req.URL = &u
	req.Body = http.NoBody
	req.ContentLength = 0
	req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	req.Header[HeaderTaskName] = []string{sanitizeHeaderValue(t.Name)}
	req.Header[HeaderScheduledAt] = []string{t.ScheduledAt.UTC().Format(time.RFC3339)}
	// HeaderPath names the task's path (and query) here, not handler.url's.
	req.Header[HeaderPath] = []string{sanitizeHeaderValue(t.Path)}
	return redact.URL(u.String())
}
