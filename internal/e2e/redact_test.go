package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
)

// A token in handler.url's query and a password in its userinfo stay out of
// everything the daemon writes: its log and the sqsfleet-failure record on
// the DLQ, where handler errors end up. Two ways to fail: the endpoint
// refuses the connection (net/http's error quotes the URL), and the
// endpoint answers 500, a permanent status here, with a body that echoes
// the request line and the token.
func TestHandlerURLSecretsStayHidden(t *testing.T) {
	t.Parallel() // mostly waiting
	const token, password = "SECRET-c41f9e", "PASSWORD-0b7d2a"
	emu := fauxqs.Start(t)
	c := emu.SQS(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "no route for "+r.Method+" "+r.URL.RequestURI()+"; token "+r.URL.Query().Get("token")+" is unknown")
	}))
	t.Cleanup(app.Close)

	cases := []struct {
		name, endpoint, reason, explains string
		env                              []string
	}{
		{"refused", closed, "max_attempts", "connection refused", []string{"SQSFLEET_QUEUE_MAX_ATTEMPTS=1"}},
		{"rejected", strings.TrimPrefix(app.URL, "http://"), "permanent", "no route for POST /work?token=REDACTED",
			[]string{"SQSFLEET_HANDLER_PERMANENT_STATUSES=500"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, dlq := emu.CreateQueueWithDLQ(t, "secret-"+tc.name, 10)
			d := startDaemon(t, emu, append([]string{
				"SQSFLEET_QUEUE_URL=" + url,
				"SQSFLEET_QUEUE_WAIT_TIME=1s",
				"SQSFLEET_RETRY_BASE_DELAY=1s",
				"SQSFLEET_RETRY_MAX_DELAY=1s",
				"SQSFLEET_HANDLER_TYPE=http",
				"SQSFLEET_HANDLER_URL=http://app:" + password + "@" + tc.endpoint + "/work?token=" + token,
				"SQSFLEET_HTTP_ADDR=" + freeAddr(t),
			}, tc.env...)...)
			id := fauxqs.Send(t, c, url, "payload", nil)

			got := receiveN(t, c, dlq, 1, 20*time.Second, "the failed one")
			raw := aws.ToString(got[0].MessageAttributes[worker.FailureAttribute].StringValue)
			rec := failureRecord(t, got[0])
			if rec.MessageID != id || rec.Reason != tc.reason {
				t.Errorf("failure record %+v, want message %s, reason %s", rec, id, tc.reason)
			}
			// The error still says what went wrong, with the URL masked.
			if !strings.Contains(rec.Error, tc.explains) || !strings.Contains(rec.Error, "token=REDACTED") {
				t.Errorf("failure record error %q, want it to mention %q and token=REDACTED", rec.Error, tc.explains)
			}
			// The outcome is logged before the dead-letter send, but wait
			// for it rather than assume it.
			wait.For(t, 10*time.Second, "the failure logged", func() bool { return d.countLogged(tc.explains) > 0 })
			for _, secret := range []string{token, password} {
				if strings.Contains(raw, secret) {
					t.Errorf("the failure record shows %s: %s", secret, raw)
				}
				if n := d.countLogged(secret); n > 0 {
					t.Errorf("%d log lines show %s:\n%s", n, secret, d.log())
				}
			}
		})
	}
}
