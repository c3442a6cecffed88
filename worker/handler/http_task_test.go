package handler

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// taskApp is a small stand-in for a Beanstalk worker application: "/" takes
// messages, "/tasks/report" is a cron.yaml task endpoint.
type taskApp struct {
	mu   sync.Mutex
	hits []appHit
}

type appHit struct {
	path, query, method string
	header              http.Header
	body                string
}

func newTaskApp(t *testing.T, status int) (*taskApp, *httptest.Server) {
	t.Helper()
	app := &taskApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		app.mu.Lock()
		app.hits = append(app.hits, appHit{path: r.URL.Path, query: r.URL.RawQuery, method: r.Method, header: r.Header.Clone(), body: string(b)})
		app.mu.Unlock()
		if r.URL.Path == "/tasks/report" {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "report says no")
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return app, srv
}

func (a *taskApp) last(t *testing.T) appHit {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.hits) == 0 {
		t.Fatal("the app got no request")
	}
	return a.hits[len(a.hits)-1]
}

func TestHTTPTaskRequest(t *testing.T) {
	own := sqsfleetTask(task.Task{Name: "nightly report", Path: "/tasks/report?full=1", ScheduledAt: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)})
	eb := beanstalkTask("nightly report", "/tasks/report?full=1")

	for name, m := range map[string]*worker.Message{"sqsfleet body": own, "beanstalk message": eb} {
		t.Run(name, func(t *testing.T) {
			app, srv := newTaskApp(t, http.StatusOK)
			// The handler URL's path and query (a token here) belong to
			// ordinary messages; a task names its own endpoint.
			h := newHTTP(t, HTTPConfig{URL: srv.URL + "/work?token=s3cret"})
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := app.last(t)
			if got.method != http.MethodPost || got.path != "/tasks/report" || got.query != "full=1" || got.body != "" {
				t.Errorf("request %s %s?%s with body %q, want POST /tasks/report?full=1 with an empty body", got.method, got.path, got.query, got.body)
			}
			want := map[string]string{
				"X-Aws-Sqsd-Taskname":      "nightly report",
				"X-Aws-Sqsd-Scheduled-At":  "2026-12-02T03:00:00Z",
				"X-Aws-Sqsd-Path":          "/tasks/report?full=1",
				"X-Aws-Sqsd-Msgid":         m.ID,
				"X-Aws-Sqsd-Receive-Count": "3",
				"X-Aws-Sqsd-Attr-tenant":   "acme",
				"Content-Length":           "0",
			}
			for k, v := range want {
				if g := got.header.Get(k); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			for k := range got.header {
				if strings.HasPrefix(strings.ToLower(k), "x-aws-sqsd-attr-beanstalk") {
					t.Errorf("sqsd's own attribute forwarded as %s", k)
				}
			}

			// An ordinary message still goes to the handler URL, whole.
			if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
				t.Fatal(err)
			}
			got = app.last(t)
			if got.path != "/work" || got.query != "token=s3cret" || got.body != handlerTestMessage().Body || got.header.Get("X-Aws-Sqsd-Taskname") != "" {
				t.Errorf("ordinary message: %s?%s body %q taskname %q", got.path, got.query, got.body, got.header.Get("X-Aws-Sqsd-Taskname"))
			}
		})
	}
}

func TestHTTPTaskFailures(t *testing.T) {
	app, srv := newTaskApp(t, http.StatusInternalServerError)
	h := newHTTP(t, HTTPConfig{URL: srv.URL + "/work?token=s3cret"})
	m := handlerTestMessage()
	m.Body = task.Body(task.Task{Name: "r", Path: "/tasks/report", ScheduledAt: time.Now()})

	err := h.Handle(context.Background(), m)
	if err == nil || worker.IsPermanent(err) {
		t.Fatalf("a 500 from the task endpoint: err %v, want a retryable error", err)
	}
	// The error names the endpoint that failed, not the handler URL.
	if !strings.Contains(err.Error(), srv.URL+"/tasks/report: status 500") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q should quote the task's URL, without the handler URL's token", err)
	}

	// A malformed task is dead-lettered before anything is sent.
	n := len(app.hits)
	m.Body = `{"sqsfleet_task": {"name": "r", "path": "http://elsewhere.example/x", "scheduled_at": "2026-12-02T03:00:00Z"}}`
	err = h.Handle(context.Background(), m)
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "path") {
		t.Errorf("malformed task: err %v, want a permanent error about the path", err)
	}
	if len(app.hits) != n {
		t.Error("a malformed task reached the app")
	}

	// Transport errors name the task URL too.
	srv.Close()
	m.Body = task.Body(task.Task{Name: "r", Path: "/tasks/report", ScheduledAt: time.Now()})
	err = h.Handle(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "/tasks/report") {
		t.Errorf("transport error %v should name the task URL", err)
	}
}
