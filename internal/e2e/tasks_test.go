package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// taskHit is what a Beanstalk-style application saw of one request.
type taskHit struct{ method, uri, body, name, at, path, attrs string }

// Scheduled tasks through the daemon and the emulator: sqsfleet's task body
// and Elastic Beanstalk's periodic-task message both reach the task's
// endpoint on the handler URL's host as sqsd would POST them, and the exec
// handler sees the task in its environment. A duplicate delivery carries the
// same scheduled time; a malformed task is dead-lettered at once.
func TestScheduledTasksThroughTheDaemon(t *testing.T) {
	emu := fauxqs.Start(t)
	httpURL, httpDLQ := emu.CreateQueueWithDLQ(t, "tasks-http", 10)
	execURL, _ := emu.CreateQueueWithDLQ(t, "tasks-exec", 10)
	c := emu.SQS(t)

	var mu sync.Mutex
	var hits []taskHit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var attrs []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Aws-Sqsd-Attr-") {
				attrs = append(attrs, k)
			}
		}
		slices.Sort(attrs)
		mu.Lock()
		hits = append(hits, taskHit{r.Method, r.URL.RequestURI(), string(b), r.Header.Get("X-Aws-Sqsd-Taskname"),
			r.Header.Get("X-Aws-Sqsd-Scheduled-At"), r.Header.Get("X-Aws-Sqsd-Path"), strings.Join(attrs, ",")})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	out := filepath.Join(dir, "tasks")
	cmd := writeScript(t, dir, "task.sh", `echo "$SQSFLEET_TASK_NAME|$SQSFLEET_TASK_PATH|$SQSFLEET_TASK_SCHEDULED_AT|$(cat)" >> "`+out+`"`)

	common := []string{"SQSFLEET_QUEUE_WAIT_TIME=1s", "SQSFLEET_RETRY_BASE_DELAY=1s", "SQSFLEET_RETRY_MAX_DELAY=1s"}
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+httpURL, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=http", "SQSFLEET_HANDLER_URL="+srv.URL+"/work")...)
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+execURL, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND="+cmd)...)

	// The documented body, as the queue module's schedules send it, twice:
	// at-least-once delivery in the small.
	own := `{"sqsfleet_task":{"name":"nightly-report","path":"/tasks/report?full=1","scheduled_at":"2026-12-02T03:00:00Z"}}`
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	eb := map[string]types.MessageAttributeValue{
		"beanstalk.sqsd.task_name":      str("backup"),
		"beanstalk.sqsd.path":           str("/backup"),
		"beanstalk.sqsd.scheduled_time": str("2026-12-02 04:30:00 UTC"),
		"tenant":                        str("acme"),
	}
	for _, q := range []string{httpURL, execURL} {
		fauxqs.Send(t, c, q, own, nil)
		fauxqs.Send(t, c, q, own, nil)
		fauxqs.Send(t, c, q, "elasticbeanstalk scheduled job", eb)
		fauxqs.Send(t, c, q, "an ordinary message", nil)
	}
	bad := fauxqs.Send(t, c, httpURL, `{"sqsfleet_task":{"name":"nightly-report","path":"https://elsewhere.example/x","scheduled_at":"2026-12-02T03:00:00Z"}}`, nil)

	wait.ForState(t, 30*time.Second, "every message handled", func() (bool, string) {
		mu.Lock()
		n := len(hits)
		mu.Unlock()
		lines := recordLines(t, out)
		return n == 4 && len(lines) == 4 && drained(t, emu, httpURL) && drained(t, emu, execURL),
			fmt.Sprintf("http app got %d requests, exec ran %d times", n, len(lines))
	})

	mu.Lock()
	got := slices.Clone(hits)
	mu.Unlock()
	report := taskHit{"POST", "/tasks/report?full=1", "", "nightly-report", "2026-12-02T03:00:00Z", "/tasks/report?full=1", ""}
	backup := taskHit{"POST", "/backup", "", "backup", "2026-12-02T04:30:00Z", "/backup", "X-Aws-Sqsd-Attr-Tenant"}
	plain := taskHit{"POST", "/work", "an ordinary message", "", "", "/work", ""} // X-Aws-Sqsd-Path: handler.url's path
	counts := map[taskHit]int{}
	for _, h := range got {
		counts[h]++
	}
	if counts[report] != 2 || counts[backup] != 1 || counts[plain] != 1 {
		t.Errorf("the app saw %+v\nwant twice %+v, once %+v and once %+v", got, report, backup, plain)
	}

	lines := recordLines(t, out)
	slices.Sort(lines)
	want := []string{
		"|||an ordinary message",
		"backup|/backup|2026-12-02T04:30:00Z|elasticbeanstalk scheduled job",
		"nightly-report|/tasks/report?full=1|2026-12-02T03:00:00Z|" + own,
		"nightly-report|/tasks/report?full=1|2026-12-02T03:00:00Z|" + own,
	}
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Errorf("exec handler saw\n%q\nwant\n%q", lines, want)
	}

	dead := receiveN(t, c, httpDLQ, 1, 20*time.Second, "the malformed task")
	rec := failureRecord(t, dead[0])
	if rec.MessageID != bad || rec.Reason != "permanent" || rec.Attempts != 1 || !strings.Contains(rec.Error, "path") {
		t.Errorf("failure record %+v, want the malformed task, permanent after 1 attempt, naming the path", rec)
	}
}
