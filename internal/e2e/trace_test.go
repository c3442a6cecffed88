package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

const (
	traceXRay   = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceState  = "rojo=00f067aa0ba902b7"
)

// sendTraced sends body with the W3C trace context attributes and, with
// xray, the AWSTraceHeader system attribute; it returns the message id.
func sendTraced(t *testing.T, c *sqs.Client, url, body string, xray bool) string {
	t.Helper()
	in := &sqs.SendMessageInput{
		QueueUrl:    aws.String(url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"traceparent": {DataType: aws.String("String"), StringValue: aws.String(traceParent)},
			"tracestate":  {DataType: aws.String("String"), StringValue: aws.String(traceState)},
		},
	}
	if xray {
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(traceXRay)},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.SendMessage(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// Trace context from the producer reaches both handlers through the daemon:
// W3C traceparent/tracestate attributes as headers and
// TRACEPARENT/TRACESTATE, the AWSTraceHeader system attribute (asked of SQS
// on every receive) as X-Amzn-Trace-Id and _X_AMZN_TRACE_ID. The emulator
// drops AWSTraceHeader, so that part runs against the strict double, which
// keeps it as SQS documents.
func TestTraceContextThroughTheDaemon(t *testing.T) {
	t.Run("emulator", func(t *testing.T) {
		emu := fauxqs.Start(t)
		httpURL, _ := emu.CreateQueueWithDLQ(t, "trace-http", 10)
		execURL, _ := emu.CreateQueueWithDLQ(t, "trace-exec", 10)
		checkTrace(t, emu.Env(), httpURL, execURL, emu.SQS(t), false, func(url string) bool { return drained(t, emu, url) })
	})
	t.Run("strict double", func(t *testing.T) {
		s := sqstest.New(sqstest.Config{MaxWait: 2 * time.Second})
		endpoint := s.Start(t)
		httpURL, _ := s.MustCreateQueueWithDLQ("trace-http", nil, 10)
		execURL, _ := s.MustCreateQueueWithDLQ("trace-exec", nil, 10)
		checkTrace(t, sqstest.Env(endpoint), httpURL, execURL, sqstest.NewClient(endpoint), true, func(url string) bool {
			v, nv, _ := s.Counts(url)
			return v == 0 && nv == 0
		})
	})
}

func checkTrace(t *testing.T, base []string, httpURL, execURL string, c *sqs.Client, xray bool, drained func(string) bool) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Amzn-Trace-Id")+"|"+r.Header.Get("traceparent")+"|"+r.Header.Get("tracestate"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	out := filepath.Join(dir, "trace")
	cmd := writeScript(t, dir, "trace.sh", `echo "$_X_AMZN_TRACE_ID|$TRACEPARENT|$TRACESTATE" >> "`+out+`"`)

	startDaemonEnv(t, base, "SQSFLEET_QUEUE_WAIT_TIME=1s", "SQSFLEET_QUEUE_URL="+httpURL, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=http", "SQSFLEET_HANDLER_URL="+srv.URL)
	startDaemonEnv(t, base, "SQSFLEET_QUEUE_WAIT_TIME=1s", "SQSFLEET_QUEUE_URL="+execURL, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND="+cmd)

	want := "|" + traceParent + "|" + traceState
	if xray {
		want = traceXRay + want
	}
	for _, q := range []string{httpURL, execURL} {
		sendTraced(t, c, q, "traced", xray)
	}
	wait.ForState(t, 20*time.Second, "both handlers saw the trace context", func() (bool, string) {
		mu.Lock()
		h := append([]string(nil), seen...)
		mu.Unlock()
		e := recordLines(t, out)
		return len(h) == 1 && h[0] == want && len(e) == 1 && e[0] == want && drained(httpURL) && drained(execURL),
			fmt.Sprintf("http saw %q, exec saw %q, want %q", h, e, want)
	})
}
