package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

func batchTestMessages() []*worker.Message {
	return []*worker.Message{
		{ID: "a", Body: "alpha", QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", ReceiveCount: 1},
		{ID: "b", Body: "beta", QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", ReceiveCount: 2},
	}
}

// recordIDs reads the messageIds of an event.
func recordIDs(t *testing.T, event []byte) []string {
	t.Helper()
	var ev struct {
		Records []struct {
			MessageID string `json:"messageId"`
			Body      string `json:"body"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, event)
	}
	var ids []string
	for _, r := range ev.Records {
		ids = append(ids, r.MessageID)
	}
	return ids
}

func TestExecBatchEventOnStdinResponseOnStdout(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "stdin")
	h := shHandler(t, ExecConfig{}, `cat > "$1"; echo "queue $SQSFLEET_QUEUE_URL" >&2; printf '{"batchItemFailures":[{"itemIdentifier":"b"}]}'`, in)
	failed, err := h.HandleBatch(t.Context(), batchTestMessages())
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed["b"] == nil {
		t.Errorf("failed %v, want b", failed)
	}
	event, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recordIDs(t, event), ","); got != "a,b" {
		t.Errorf("stdin records %s, want a,b", got)
	}
}

func TestExecBatchOutcomes(t *testing.T) {
	for name, tc := range map[string]struct {
		script    string
		permanent bool
		want      string
	}{
		"silent success":    {script: `cat >/dev/null`},
		"exit 65":           {script: `echo bad batch >&2; exit 65`, permanent: true, want: "EX_DATAERR"},
		"exit 1":            {script: `exit 1`, want: "exit status 1"},
		"not a response":    {script: `echo hello`, want: "stdout: response is not a batch response"},
		"unknown messageId": {script: `echo '{"batchItemFailures":[{"itemIdentifier":"zz"}]}'`, want: `"zz", which is not a message of this batch`},
	} {
		t.Run(name, func(t *testing.T) {
			h := shHandler(t, ExecConfig{}, tc.script)
			failed, err := h.HandleBatch(t.Context(), batchTestMessages())
			if tc.want == "" {
				if err != nil || failed != nil {
					t.Fatalf("failed %v err %v, want success", failed, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || worker.IsPermanent(err) != tc.permanent {
				t.Errorf("err %v, want %q (permanent %v)", err, tc.want, tc.permanent)
			}
		})
	}
}

func TestHTTPBatchBodyAndResponse(t *testing.T) {
	var gotType, gotQueue string
	var gotIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		gotType, gotQueue = r.Header.Get("Content-Type"), r.Header.Get(HeaderQueue)
		gotIDs = recordIDs(t, body)
		if r.URL.Query().Get("mode") == "reject" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		_, _ = io.WriteString(w, `{"batchItemFailures":[{"itemIdentifier":"a"}]}`)
	}))
	defer srv.Close()

	h, err := NewHTTP(HTTPConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := h.HandleBatch(t.Context(), batchTestMessages())
	if err != nil || len(failed) != 1 || failed["a"] == nil {
		t.Fatalf("failed %v err %v, want a", failed, err)
	}
	if gotType != "application/json" || gotQueue != "jobs" || strings.Join(gotIDs, ",") != "a,b" {
		t.Errorf("request: type %q queue %q records %v", gotType, gotQueue, gotIDs)
	}

	h, err = NewHTTP(HTTPConfig{URL: srv.URL + "?mode=reject"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.HandleBatch(t.Context(), batchTestMessages()); !worker.IsPermanent(err) {
		t.Errorf("422: %v, want the whole batch permanent", err)
	}
}

func TestLambdaInvokeAndFunctionErrors(t *testing.T) {
	var mode atomic.Value
	mode.Store("partial")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/function/invocations" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		body, _ := io.ReadAll(r.Body)
		if got := strings.Join(recordIDs(t, body), ","); got != "a,b" {
			t.Errorf("records %s", got)
		}
		switch mode.Load() {
		case "partial":
			_, _ = io.WriteString(w, `{"batchItemFailures":[{"itemIdentifier":"b"}]}`)
		case "function error":
			// As the emulator reports it: 200 and the error as the body.
			_, _ = io.WriteString(w, `{"errorMessage":"kaputt","errorType":"errorString"}`)
		case "function error header":
			// As Lambda's Invoke API reports it.
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = io.WriteString(w, `"kaputt"`)
		case "timeout":
			_, _ = io.WriteString(w, `Task timed out after 3.00 seconds`)
		case "busy":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"errorMessage":"AlreadyReserved","errorType":"AlreadyReserved"}`)
		}
	}))
	defer srv.Close()
	h, err := NewLambda(LambdaConfig{URLs: []string{srv.URL + "/2015-03-31/functions/function/invocations"}})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := h.HandleBatch(t.Context(), batchTestMessages())
	if err != nil || len(failed) != 1 || failed["b"] == nil {
		t.Fatalf("partial: failed %v err %v", failed, err)
	}
	for m, want := range map[string]string{
		"function error":        "function error errorString: kaputt",
		"function error header": "function error Unhandled",
		"timeout":               "Task timed out after 3.00 seconds",
		"busy":                  "status 400 Bad Request",
	} {
		mode.Store(m)
		failed, err := h.HandleBatch(t.Context(), batchTestMessages())
		if err == nil || failed != nil || !strings.Contains(err.Error(), want) || worker.IsPermanent(err) {
			t.Errorf("%s: failed %v err %v, want a retryable whole-batch failure with %q", m, failed, err, want)
		}
	}
}

// Each URL takes one invocation at a time, as the emulator requires; more
// URLs, more at once.
func TestLambdaOneInvocationPerURL(t *testing.T) {
	var running, most atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
	}))
	defer srv.Close()
	h, err := NewLambda(LambdaConfig{URLs: []string{srv.URL + "/one", srv.URL + "/two"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.Runtimes() != 2 {
		t.Fatalf("Runtimes() = %d", h.Runtimes())
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := h.HandleBatch(t.Context(), batchTestMessages()); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if most.Load() != 2 {
		t.Errorf("%d invocations at once over 2 URLs, want 2", most.Load())
	}
}

func TestLambdaWaitingForARuntimeEndsWithTheContext(t *testing.T) {
	h, err := NewLambda(LambdaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	<-h.urls // the only runtime is busy
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.HandleBatch(ctx, batchTestMessages()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v", err)
	}
}

func TestNewLambdaRejectsBadURLs(t *testing.T) {
	for _, urls := range [][]string{{"ftp://x/y"}, {"localhost:9000"}, {"http://a/x", "http://a/x"}} {
		if _, err := NewLambda(LambdaConfig{URLs: urls}); err == nil {
			t.Errorf("%v accepted", urls)
		}
	}
	h, err := NewLambda(LambdaConfig{})
	if err != nil || <-h.urls != DefaultLambdaURL {
		t.Errorf("default URL: %v", err)
	}
}
