package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// Events as EventBridge delivers them to a queue target: the whole event is
// the SQS body. The first is the EC2 state-change sample of the EventBridge
// user guide; the second the shape of a scheduled rule's event, whose
// detail is empty.
const (
	ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": [
    "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"
  ],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`
	ec2Detail      = `{"instance-id": "i-1234567890abcdef0", "state": "terminated"}`
	scheduledEvent = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2015-10-08T16:53:06Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule","arn:aws:events:us-east-1:123456789012:rule/other"],"detail":{}}`
)

// seenRequest is what the application behind the http handler got.
type seenRequest struct {
	body   string
	header http.Header
}

// A topic delivers to queues through real SNS subscriptions in the
// emulator, with and without raw message delivery, and EventBridge-shaped
// events arrive beside them. Three daemons, configured only through
// message.envelope: http with auto, exec with sns, exec with eventbridge.
// Each handler gets the published message and its metadata; a body in the
// wrong envelope is dead-lettered at once with reason "envelope", its body
// untouched.
func TestEnvelopesEndToEnd(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	topic := emu.CreateTopic(t, "orders")
	rawTopic := emu.CreateTopic(t, "orders-raw")
	httpQ, httpDLQ := emu.CreateQueueWithDLQ(t, "env-http", 11)
	snsQ, snsDLQ := emu.CreateQueueWithDLQ(t, "env-sns", 11)
	ebQ, ebDLQ := emu.CreateQueueWithDLQ(t, "env-eb", 11)
	for _, q := range []string{httpQ, snsQ} {
		emu.SubscribeQueue(t, topic, q, false)
		emu.SubscribeQueue(t, rawTopic, q, true)
	}

	var mu sync.Mutex
	var seen []seenRequest
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{body: string(b), header: r.Header.Clone()})
		mu.Unlock()
	}))
	t.Cleanup(app.Close)

	// Each exec run leaves its stdin and environment in a directory named
	// after the SQS message id, under one directory per daemon.
	dir := t.TempDir()
	recorder := func(name string) (cmd, out string) {
		out = filepath.Join(dir, name)
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		return writeScript(t, dir, name+".sh", `d="`+out+`/$SQSFLEET_MESSAGE_ID"
mkdir -p "$d" && cat > "$d/body" && env -0 > "$d/env" && touch "$d/done"`), out
	}
	snsCmd, snsOut := recorder("sns")
	ebCmd, ebOut := recorder("eb")

	common := []string{"SQSFLEET_QUEUE_WAIT_TIME=1s", "SQSFLEET_RETRY_BASE_DELAY=1s", "SQSFLEET_RETRY_MAX_DELAY=1s"}
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+httpQ, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=http", "SQSFLEET_HANDLER_URL="+app.URL+"/events", "SQSFLEET_MESSAGE_ENVELOPE=auto")...)
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+snsQ, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND="+snsCmd, "SQSFLEET_MESSAGE_ENVELOPE=sns")...)
	startDaemon(t, emu, append(common, "SQSFLEET_QUEUE_URL="+ebQ, "SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND="+ebCmd, "SQSFLEET_MESSAGE_ENVELOPE=eventbridge")...)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bin := []byte{0, 1, 0xfe, 0xff}
	pub, err := emu.SNS(t).Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Message:  aws.String(`{"order":42}`),
		Subject:  aws.String("Order placed"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"tenant":   {DataType: aws.String("String"), StringValue: aws.String("acme")},
			"priority": {DataType: aws.String("Number"), StringValue: aws.String("7")},
			"sig":      {DataType: aws.String("Binary"), BinaryValue: bin},
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	snsID := aws.ToString(pub.MessageId)
	if _, err := emu.SNS(t).Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(rawTopic),
		Message:  aws.String("raw body"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"tenant": {DataType: aws.String("String"), StringValue: aws.String("beta")},
		},
	}); err != nil {
		t.Fatalf("Publish raw: %v", err)
	}
	fauxqs.Send(t, c, httpQ, ec2Event, nil)
	ebID := fauxqs.Send(t, c, ebQ, scheduledEvent, nil)
	fauxqs.Send(t, c, ebQ, `{"order":42}`, nil) // not an event

	// http, auto: the notification unwrapped, the raw delivery and the event
	// as they are meant to be read.
	wait.ForState(t, 30*time.Second, "three requests to the app", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 3 && drained(t, emu, httpQ), fmt.Sprintf("%d requests", len(seen))
	})
	mu.Lock()
	byBody := map[string]http.Header{}
	for _, r := range seen {
		byBody[r.body] = r.header
	}
	mu.Unlock()
	checkHeaders := func(what string, h http.Header, want map[string]string) {
		t.Helper()
		if h == nil {
			t.Errorf("%s: no request with the expected body; bodies: %q", what, keys(byBody))
			return
		}
		for k, v := range want {
			if got, ok := h[http.CanonicalHeaderKey(k)]; v == "" && ok {
				t.Errorf("%s: %s = %q, want absent", what, k, got)
			} else if v != "" && h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), v)
			}
		}
	}
	notified := byBody[`{"order":42}`]
	checkHeaders("notification", notified, map[string]string{
		"X-Sqsfleet-Sns-Topic-Arn":  topic,
		"X-Sqsfleet-Sns-Message-Id": snsID,
		"X-Sqsfleet-Sns-Subject":    "Order placed",
		"X-Aws-Sqsd-Attr-tenant":    "acme",
		"X-Aws-Sqsd-Attr-priority":  "7",
		"X-Aws-Sqsd-Attr-sig":       base64.StdEncoding.EncodeToString(bin),
		"X-Aws-Sqsd-Path":           "/events",
		"X-Sqsfleet-Event-Id":       "",
	})
	if notified != nil {
		if _, err := time.Parse(time.RFC3339, notified.Get("X-Sqsfleet-Sns-Timestamp")); err != nil {
			t.Errorf("X-Sqsfleet-Sns-Timestamp: %v", err)
		}
		if _, err := time.Parse(time.RFC3339, notified.Get("X-Aws-Sqsd-Sent-At")); err != nil {
			t.Errorf("X-Aws-Sqsd-Sent-At: %v", err)
		}
	}
	checkHeaders("raw delivery", byBody["raw body"], map[string]string{
		"X-Aws-Sqsd-Attr-tenant":   "beta",
		"X-Sqsfleet-Sns-Topic-Arn": "",
		"X-Sqsfleet-Event-Id":      "",
	})
	checkHeaders("event", byBody[ec2Detail], map[string]string{
		"X-Sqsfleet-Event-Id":          "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		"X-Sqsfleet-Event-Source":      "aws.ec2",
		"X-Sqsfleet-Event-Detail-Type": "EC2 Instance State-change Notification",
		"X-Sqsfleet-Event-Time":        "2017-12-22T18:43:48Z",
		"X-Sqsfleet-Event-Account":     "111122223333",
		"X-Sqsfleet-Event-Region":      "us-west-1",
		"X-Sqsfleet-Event-Resources":   "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0",
		"X-Sqsfleet-Sns-Topic-Arn":     "",
	})

	// exec, sns: the notification's message and metadata; the raw delivery
	// is not a notification and goes to the DLQ as it came.
	dead := receiveN(t, c, snsDLQ, 1, 30*time.Second, "the raw delivery")
	if b := aws.ToString(dead[0].Body); b != "raw body" {
		t.Errorf("dead-lettered body %q, want the delivery unchanged", b)
	}
	if rec := failureRecord(t, dead[0]); rec.Reason != "envelope" || rec.Attempts != 1 ||
		!strings.Contains(rec.Error, "envelope sns: not in the expected envelope: body is not a JSON object") {
		t.Errorf("failure record %+v", rec)
	}
	runs := execRuns(t, snsOut, 1)
	var run execRun
	for _, r := range runs {
		run = r
	}
	if run.body != `{"order":42}` {
		t.Errorf("exec stdin %q, want the SNS Message", run.body)
	}
	for k, v := range map[string]string{
		"SQSFLEET_SNS_TOPIC_ARN":  topic,
		"SQSFLEET_SNS_MESSAGE_ID": snsID,
		"SQSFLEET_SNS_SUBJECT":    "Order placed",
		"SQSFLEET_ATTR_TENANT":    "acme",
		"SQSFLEET_ATTR_PRIORITY":  "7",
		"SQSFLEET_ATTR_SIG":       base64.StdEncoding.EncodeToString(bin),
	} {
		if run.env[k] != v {
			t.Errorf("exec %s = %q, want %q", k, run.env[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, run.env["SQSFLEET_SNS_TIMESTAMP"]); err != nil {
		t.Errorf("SQSFLEET_SNS_TIMESTAMP: %v", err)
	}

	// exec, eventbridge: the scheduled event's empty detail and its
	// metadata; a body that is not an event goes to the DLQ.
	dead = receiveAll(t, c, ebDLQ, 1, 30*time.Second)
	if len(dead) != 1 || aws.ToString(dead[0].Body) != `{"order":42}` {
		t.Fatalf("eventbridge DLQ holds %d messages (%v), want the one that is not an event", len(dead), dead)
	}
	if rec := failureRecord(t, dead[0]); rec.Reason != "envelope" || !strings.Contains(rec.Error, `envelope eventbridge: not in the expected envelope: field "id" is missing`) {
		t.Errorf("failure record %+v", rec)
	}
	runs = execRuns(t, ebOut, 1)
	ev, ok := runs[ebID]
	if !ok {
		t.Fatalf("no exec run for the event %s: %v", ebID, runs)
	}
	if ev.body != "{}" {
		t.Errorf("exec stdin %q, want the event's detail", ev.body)
	}
	for k, v := range map[string]string{
		"SQSFLEET_EVENT_ID":          "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
		"SQSFLEET_EVENT_SOURCE":      "aws.events",
		"SQSFLEET_EVENT_DETAIL_TYPE": "Scheduled Event",
		"SQSFLEET_EVENT_TIME":        "2015-10-08T16:53:06Z",
		"SQSFLEET_EVENT_ACCOUNT":     "123456789012",
		"SQSFLEET_EVENT_REGION":      "us-east-1",
		"SQSFLEET_EVENT_RESOURCES":   "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule,arn:aws:events:us-east-1:123456789012:rule/other",
	} {
		if ev.env[k] != v {
			t.Errorf("exec %s = %q, want %q", k, ev.env[k], v)
		}
	}
	if _, ok := ev.env["SQSFLEET_SNS_TOPIC_ARN"]; ok {
		t.Error("an event run has SNS metadata")
	}

	wait.ForState(t, 20*time.Second, "every source queue drained", func() (bool, string) {
		return drained(t, emu, httpQ) && drained(t, emu, snsQ) && drained(t, emu, ebQ), "a queue still holds messages"
	})
	if v, nv, dl := emu.Counts(t, httpDLQ); v+nv+dl != 0 {
		t.Errorf("http DLQ holds %d messages, want none: auto passes what it does not recognise", v+nv+dl)
	}
}

type execRun struct {
	body string
	env  map[string]string
}

// execRuns waits until want exec runs have finished and returns them by
// SQS message id.
func execRuns(t *testing.T, dir string, want int) map[string]execRun {
	t.Helper()
	var runs map[string]execRun
	wait.ForState(t, 30*time.Second, fmt.Sprintf("%d exec runs", want), func() (bool, string) {
		runs = map[string]execRun{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			d := filepath.Join(dir, e.Name())
			if _, err := os.Stat(filepath.Join(d, "done")); err != nil {
				continue
			}
			body, err1 := os.ReadFile(filepath.Join(d, "body"))
			env, err2 := os.ReadFile(filepath.Join(d, "env"))
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			runs[e.Name()] = execRun{body: string(body), env: parseEnv(env)}
		}
		return len(runs) >= want, fmt.Sprintf("%d runs", len(runs))
	})
	if len(runs) != want {
		t.Errorf("%d exec runs, want %d", len(runs), want)
	}
	return runs
}

func parseEnv(b []byte) map[string]string {
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
