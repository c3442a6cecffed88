package e2e

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/otlpfake"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// With tracing.enabled the daemon exports one consumer span per message to
// an OTLP/HTTP collector, linked to the producer's trace context, with an
// error status for the message that failed. The batch processor's delay is
// set far beyond the test, so the spans can only arrive through the flush
// at the end of the drain. The emulator drops AWSTraceHeader, so the X-Ray
// link runs against the strict double, which keeps it as SQS documents.
func TestOpenTelemetrySpansThroughTheDaemon(t *testing.T) {
	t.Run("emulator", func(t *testing.T) {
		emu := fauxqs.Start(t)
		url, _ := emu.CreateQueueWithDLQ(t, "otel-jobs", 10)
		checkSpans(t, emu.Env(), url, emu.SQS(t), false, func() bool { return drained(t, emu, url) })
	})
	t.Run("strict double", func(t *testing.T) {
		s := sqstest.New(sqstest.Config{MaxWait: 2 * time.Second})
		endpoint := s.Start(t)
		url, _ := s.MustCreateQueueWithDLQ("otel-jobs", nil, 10)
		checkSpans(t, sqstest.Env(endpoint), url, sqstest.NewClient(endpoint), true, func() bool {
			v, nv, _ := s.Counts(url)
			return v == 0 && nv == 0
		})
	})
}

func checkSpans(t *testing.T, base []string, url string, c *sqs.Client, xray bool, drained func() bool) {
	recv := otlpfake.Start(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); string(b) == "fail" {
			w.WriteHeader(http.StatusUnprocessableEntity) // permanent: dead-lettered at once
		}
	}))
	t.Cleanup(app.Close)
	d := startDaemonEnv(t, base, "SQSFLEET_QUEUE_WAIT_TIME=1s", "SQSFLEET_QUEUE_URL="+url, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=http", "SQSFLEET_HANDLER_URL="+app.URL,
		"SQSFLEET_TRACING_ENABLED=true", "SQSFLEET_TRACING_ENDPOINT="+recv.URL(), "SQSFLEET_TRACING_SERVICE_NAME=otel-e2e",
		"OTEL_BSP_SCHEDULE_DELAY=600000")

	ids := map[string]string{} // body by message id
	for _, body := range []string{"ok", "fail"} {
		ids[sendTraced(t, c, url, body, xray)] = body
	}
	wait.For(t, 30*time.Second, "both messages settled", drained)
	if got := recv.Spans(); len(got) != 0 {
		t.Fatalf("%d spans exported before the drain; the flush at shutdown would be untested", len(got))
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}

	spans := recv.Spans()
	if len(spans) != 2 {
		t.Fatalf("collector got %d spans (refused %q), want 2", len(spans), recv.Refused())
	}
	for _, s := range spans {
		id := s.Attr("messaging.message.id")
		body, ok := ids[id]
		if !ok {
			t.Errorf("span for unknown message id %q", id)
			continue
		}
		if s.Name != "process otel-jobs" || s.Kind != tracepb.Span_SPAN_KIND_CONSUMER {
			t.Errorf("%s: span %q kind %v, want \"process otel-jobs\" consumer", body, s.Name, s.Kind)
		}
		for k, v := range map[string]string{
			"messaging.system":           "aws_sqs",
			"messaging.operation.type":   "process",
			"messaging.destination.name": "otel-jobs",
			"aws.sqs.queue.url":          url,
		} {
			if s.Attr(k) != v {
				t.Errorf("%s: %s = %q, want %q", body, k, s.Attr(k), v)
			}
		}
		if s.Resource["service.name"] != "otel-e2e" {
			t.Errorf("%s: service.name %q", body, s.Resource["service.name"])
		}
		if len(s.ParentSpanId) != 0 {
			t.Errorf("%s: span has a parent; the producer must be a link", body)
		}
		wantLinks := []string{"4bf92f3577b34da6a3ce929d0e0e4736"}
		if xray {
			wantLinks = append(wantLinks, "5759e988bd862e3fe1be46a994272793")
		}
		var links []string
		for _, l := range s.Links {
			links = append(links, hex.EncodeToString(l.TraceId))
		}
		if len(links) != len(wantLinks) || links[0] != wantLinks[0] || (xray && links[1] != wantLinks[1]) {
			t.Errorf("%s: links to traces %v, want %v", body, links, wantLinks)
		}
		failed := s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR
		if failed != (body == "fail") {
			t.Errorf("%s: status %v", body, s.Status)
		}
		if body == "fail" && s.Attr("error.type") != "permanent" {
			t.Errorf("fail: error.type %q, want permanent", s.Attr("error.type"))
		}
	}
}
