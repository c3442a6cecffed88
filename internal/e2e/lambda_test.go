package e2e

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

// The Lambda tests run a real Lambda runtime: AWS's Runtime Interface
// Emulator (the one inside AWS's Lambda base images, built by
// scripts/lambda-rie-install.sh) running internal/e2e/lambdafn, a function
// written with aws-lambda-go as for Lambda itself, with the sqsfleet binary
// in front of it as handler.type lambda.

// lambdaTools builds the emulator (once per machine) and the function (once
// per test binary).
var lambdaTools = sync.OnceValues(func() (tools [2]string, err error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return tools, err
	}
	if err := installRIE(root); err != nil {
		return tools, err
	}
	dir, err := os.MkdirTemp("", "sqsfleet-lambdafn")
	if err != nil {
		return tools, err
	}
	fn := filepath.Join(dir, "bootstrap")
	out, err := exec.Command("go", "build", "-o", fn, "github.com/sqsfleet/sqsfleet/internal/e2e/lambdafn").CombinedOutput()
	if err != nil {
		return tools, fmt.Errorf("building lambdafn: %w\n%s", err, out)
	}
	return [2]string{filepath.Join(root, ".tools", "lambda-rie", "bin", "aws-lambda-rie"), fn}, nil
})

// installRIE runs scripts/lambda-rie-install.sh under a file lock, as
// internal/fauxqs does for its emulator: several test binaries may find it
// missing on a fresh clone at once.
func installRIE(root string) error {
	tools := filepath.Join(root, ".tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(tools, "lambda-rie.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	for {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "lambda-rie-install.sh"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/lambda-rie-install.sh: %w\n%s", err, out)
	}
	return nil
}

// lambdaRuntime is one emulator running the function.
type lambdaRuntime struct {
	url string // the invoke URL
	log string // where the function appends each event it receives
}

// startLambda starts the emulator with the function, its timeout set to
// timeoutSeconds, and waits until it accepts connections.
func startLambda(t *testing.T, timeoutSeconds int) *lambdaRuntime {
	t.Helper()
	tools, err := lambdaTools()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "events.jsonl")
	// The emulator serves the function its Runtime API on 127.0.0.1:9001
	// unless told otherwise: two emulators on one network namespace must
	// each be given their own, as the README says for sidecars.
	cmd := exec.Command(tools[0], "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", freeAddr(t), tools[1])
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", timeoutSeconds),
		"LAMBDAFN_LOG="+logPath,
		"AWS_REGION=us-east-1",
	)
	var out strings.Builder
	var outMu sync.Mutex
	w := writerFunc(func(b []byte) (int, error) { outMu.Lock(); defer outMu.Unlock(); return out.Write(b) })
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			outMu.Lock()
			t.Logf("emulator output:\n%s", out.String())
			outMu.Unlock()
		}
	})
	wait.For(t, 15*time.Second, "the emulator to listen", func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return &lambdaRuntime{url: "http://" + addr + "/2015-03-31/functions/function/invocations", log: logPath}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// events is every event the function received, in order.
func (r *lambdaRuntime) events(t *testing.T) []events.SQSEvent {
	t.Helper()
	f, err := os.Open(r.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []events.SQSEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev events.SQSEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			// The line being written right now; the next look sees it whole.
			break
		}
		out = append(out, ev)
	}
	return out
}

// deliveries is how many times each body reached the function.
func (r *lambdaRuntime) deliveries(t *testing.T) map[string]int {
	n := map[string]int{}
	for _, ev := range r.events(t) {
		for _, rec := range ev.Records {
			n[rec.Body]++
		}
	}
	return n
}

func lambdaDaemonEnv(url string, rt *lambdaRuntime, extra ...string) []string {
	return append([]string{
		"SQSFLEET_QUEUE_URL=" + url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT=5s",
		"SQSFLEET_HANDLER_TYPE=lambda",
		"SQSFLEET_HANDLER_URL=" + rt.url,
		"SQSFLEET_RETRY_BASE_DELAY=1s",
		"SQSFLEET_RETRY_MAX_DELAY=2s",
		"SQSFLEET_WORKER_SHUTDOWN_TIMEOUT=5s",
		"SQSFLEET_LOG_LEVEL=debug",
	}, extra...)
}

// TestLambdaFunctionBatchWithPartialFailures: a batch gathered from several
// receives in the window reaches the function as one event, field for
// field as Lambda builds it; the messages the function lists in
// batchItemFailures are retried on their own and dead-lettered with the
// batch's verdict in their failure record, the others are deleted.
func TestLambdaFunctionBatchWithPartialFailures(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "lambda-partial", 10)
	c := emu.SQS(t)
	rt := startLambda(t, 30)

	bodies := []string{"ok-1", "fail-a", "ok-2", "ok-3", "fail-b", "ok-4"}
	ids := map[string]string{}
	for i, b := range bodies {
		var attrs map[string]types.MessageAttributeValue
		if i == 0 {
			attrs = map[string]types.MessageAttributeValue{
				"tenant": {DataType: aws.String("String"), StringValue: aws.String("acme")},
				"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
			}
		}
		// One at a time: the batch has to be gathered across receives.
		ids[b] = fauxqs.Send(t, c, url, b, attrs)
	}
	d := startDaemon(t, emu, lambdaDaemonEnv(url, rt,
		"SQSFLEET_HANDLER_BATCH_SIZE=6",
		"SQSFLEET_HANDLER_BATCH_WINDOW=3s",
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=2",
		"SQSFLEET_QUEUE_BATCH_SIZE=2",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)...)

	dead := receiveN(t, c, dlq, 2, 40*time.Second, "fail-a and fail-b")
	for _, m := range dead {
		b := aws.ToString(m.Body)
		if !strings.HasPrefix(b, "fail-") {
			t.Errorf("dead-lettered %q, which the function did not fail", b)
		}
		rec := failureRecord(t, m)
		if !strings.Contains(rec.Error, "batchItemFailures") || !strings.Contains(rec.Error, "batch of") {
			t.Errorf("failure record of %q does not name the batch verdict: %q", b, rec.Error)
		}
		if rec.Attempts != 2 {
			t.Errorf("failure record of %q: %d attempts, want 2", b, rec.Attempts)
		}
	}
	wait.For(t, 10*time.Second, "the source queue to drain", func() bool { return drained(t, emu, url) })

	evs := rt.events(t)
	if len(evs) == 0 || len(evs[0].Records) != 6 {
		n := 0
		if len(evs) > 0 {
			n = len(evs[0].Records)
		}
		t.Fatalf("first event has %d records, want all 6 gathered in the window", n)
	}
	got := rt.deliveries(t)
	for _, b := range bodies {
		want := 1
		if strings.HasPrefix(b, "fail-") {
			want = 2
		}
		if got[b] != want {
			t.Errorf("%q reached the function %d times, want %d", b, got[b], want)
		}
	}

	// The event as the function decoded it, checked against what Lambda
	// puts in each record (AWS's sample SQS event).
	for _, r := range evs[0].Records {
		sum := md5.Sum([]byte(r.Body))
		switch {
		case r.MessageId != ids[r.Body]:
			t.Errorf("%q: messageId %q, want %q", r.Body, r.MessageId, ids[r.Body])
		case r.ReceiptHandle == "":
			t.Errorf("%q: no receiptHandle", r.Body)
		case r.Md5OfBody != hex.EncodeToString(sum[:]):
			t.Errorf("%q: md5OfBody %q, want %x", r.Body, r.Md5OfBody, sum)
		case r.EventSource != "aws:sqs":
			t.Errorf("%q: eventSource %q", r.Body, r.EventSource)
		case r.EventSourceARN != "arn:aws:sqs:us-east-1:000000000000:lambda-partial":
			t.Errorf("%q: eventSourceARN %q", r.Body, r.EventSourceARN)
		case r.AWSRegion != "us-east-1":
			t.Errorf("%q: awsRegion %q", r.Body, r.AWSRegion)
		case r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" ||
			r.Attributes["ApproximateFirstReceiveTimestamp"] == "" || r.Attributes["SenderId"] == "":
			t.Errorf("%q: attributes %v lack one of Lambda's four", r.Body, r.Attributes)
		}
		if r.Body == "ok-1" {
			tenant, blob := r.MessageAttributes["tenant"], r.MessageAttributes["blob"]
			if tenant.DataType != "String" || aws.ToString(tenant.StringValue) != "acme" ||
				blob.DataType != "Binary" || string(blob.BinaryValue) != "\x00\x01\x02" {
				t.Errorf("message attributes %+v", r.MessageAttributes)
			}
		}
	}
	if !d.alive() {
		t.Error("daemon died")
	}
}

// TestLambdaFunctionErrorFailsTheBatch: a function error (the emulator
// answers 200 with errorMessage and errorType) fails every message of its
// batch, the ones the function had no quarrel with included, as Lambda does;
// each is retried on its own and, past max attempts, dead-lettered with the
// function's error.
func TestLambdaFunctionErrorFailsTheBatch(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "lambda-error", 10)
	c := emu.SQS(t)
	rt := startLambda(t, 30)
	sendN(t, c, url, "fine", 2)
	fauxqs.Send(t, c, url, "error-boom", nil)
	startDaemon(t, emu, lambdaDaemonEnv(url, rt,
		"SQSFLEET_HANDLER_BATCH_SIZE=3",
		"SQSFLEET_HANDLER_BATCH_WINDOW=2s",
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=2",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)...)
	dead := receiveN(t, c, dlq, 3, 40*time.Second, "the whole batch of 3")
	for _, m := range dead {
		rec := failureRecord(t, m)
		if !strings.Contains(rec.Error, "errorString") || !strings.Contains(rec.Error, "function failed on") {
			t.Errorf("failure record of %q does not carry the function error: %q", aws.ToString(m.Body), rec.Error)
		}
	}
	for b, n := range rt.deliveries(t) {
		if n != 2 {
			t.Errorf("%q reached the function %d times, want 2 (max attempts)", b, n)
		}
	}
}

// TestLambdaFunctionTimeout: the emulator ends an invocation at
// AWS_LAMBDA_FUNCTION_TIMEOUT and answers with "Task timed out"; the batch
// fails and its message is retried, then dead-lettered with that reason.
func TestLambdaFunctionTimeout(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "lambda-timeout", 10)
	c := emu.SQS(t)
	rt := startLambda(t, 1)
	fauxqs.Send(t, c, url, "sleep=30s", nil)
	startDaemon(t, emu, lambdaDaemonEnv(url, rt,
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=1",
		"SQSFLEET_HANDLER_TIMEOUT=20s",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)...)
	dead := receiveN(t, c, dlq, 1, 30*time.Second, "the timed-out message")
	if rec := failureRecord(t, dead[0]); !strings.Contains(rec.Error, "Task timed out after 1.00 seconds") {
		t.Errorf("failure record does not carry the emulator's timeout: %q", rec.Error)
	}
}

// TestLambdaFunctionFIFOOrder: on a FIFO queue each group reaches the
// function in order, one record per group per event; a record the function
// fails stops its group (the later ones come after its retry), while the
// other group goes on.
func TestLambdaFunctionFIFOOrder(t *testing.T) {
	emu := fauxqs.Start(t)
	url := emu.CreateQueue(t, "lambda-order.fifo", map[string]string{"FifoQueue": "true"})
	c := emu.SQS(t)
	rt := startLambda(t, 30)
	var entries []types.SendMessageBatchRequestEntry
	for i := range 4 {
		for _, g := range []string{"A", "B"} {
			body := fmt.Sprintf("%s-%d", g, i)
			if g == "A" && i == 1 {
				body = "failfirst-A-1"
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(fmt.Sprintf("%s%d", g, i)), MessageBody: aws.String(body),
				MessageGroupId: aws.String(g), MessageDeduplicationId: aws.String(body),
			})
		}
	}
	out, err := c.SendMessageBatch(testCtx(t), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("send: %v %+v", err, out)
	}
	startDaemon(t, emu, lambdaDaemonEnv(url, rt,
		"SQSFLEET_HANDLER_BATCH_SIZE=5",
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=2",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)...)
	wait.For(t, 40*time.Second, "the FIFO queue to drain", func() bool { return drained(t, emu, url) })

	seq := map[string][]string{}
	for _, ev := range rt.events(t) {
		groups := map[string]bool{}
		for _, r := range ev.Records {
			g := r.Attributes["MessageGroupId"]
			if groups[g] {
				t.Errorf("one event holds two records of group %s: %v", g, ev.Records)
			}
			groups[g] = true
			if r.Attributes["SequenceNumber"] == "" || r.Attributes["MessageDeduplicationId"] == "" {
				t.Errorf("FIFO record %q lacks SequenceNumber or MessageDeduplicationId: %v", r.Body, r.Attributes)
			}
			seq[g] = append(seq[g], r.Body)
		}
	}
	if got, want := strings.Join(seq["A"], " "), "A-0 failfirst-A-1 failfirst-A-1 A-2 A-3"; got != want {
		t.Errorf("group A reached the function as %q, want %q", got, want)
	}
	if got, want := strings.Join(seq["B"], " "), "B-0 B-1 B-2 B-3"; got != want {
		t.Errorf("group B reached the function as %q, want %q", got, want)
	}
}

// TestExecBatchThroughTheDaemon: with handler.batch_size, the exec handler
// gets Lambda's SQS event on stdin and answers with the partial batch
// response on stdout; the message it lists is retried on its own.
func TestExecBatchThroughTheDaemon(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "exec-batch", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	// Saves each event, and fails the record whose body is "bad" (its
	// messageId is the one just before it in the compact JSON).
	command := writeScript(t, dir, "batch.sh", `ev=$(cat); n=$(ls "$0".ev.* 2>/dev/null | wc -l)
printf '%s' "$ev" > "$0.ev.$n"
id=$(printf '%s' "$ev" | grep -o '"messageId":"[^"]*","receiptHandle":"[^"]*","body":"bad"' | cut -d'"' -f4)
if [ -n "$id" ]; then printf '{"batchItemFailures":[{"itemIdentifier":"%s"}]}' "$id"; fi`)
	for _, b := range []string{"good-1", "bad", "good-2", "good-3"} {
		fauxqs.Send(t, c, url, b, nil)
	}
	startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+command,
		"SQSFLEET_HANDLER_BATCH_SIZE=4",
		"SQSFLEET_HANDLER_BATCH_WINDOW=3s",
		"SQSFLEET_QUEUE_MAX_ATTEMPTS=2",
		"SQSFLEET_RETRY_BASE_DELAY=1s",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)
	dead := receiveAll(t, c, dlq, 1, 30*time.Second)
	if len(dead) != 1 || aws.ToString(dead[0].Body) != "bad" {
		t.Fatalf("DLQ holds %d messages, want only \"bad\"", len(dead))
	}
	if rec := failureRecord(t, dead[0]); !strings.Contains(rec.Error, "listed in batchItemFailures") {
		t.Errorf("failure record %q", rec.Error)
	}
	wait.For(t, 10*time.Second, "the queue to drain", func() bool { return drained(t, emu, url) })
	first, err := os.ReadFile(filepath.Join(dir, "batch.sh.ev.0"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(first, &ev); err != nil || len(ev.Records) != 4 {
		t.Errorf("first event: %d records (%v), want the 4 messages in one batch:\n%s", len(ev.Records), err, first)
	}
}

// TestBatchWindowLongerThanVisibility: a message waiting in the batch
// window past its visibility timeout stays hidden (the heartbeats extend it
// as they do a running message's), so it is handled once, not received
// again by another poll while it waits.
func TestBatchWindowLongerThanVisibility(t *testing.T) {
	emu := fauxqs.Start(t)
	url := emu.CreateQueue(t, "window-hidden", nil)
	c := emu.SQS(t)
	var mu sync.Mutex
	var batches [][]string
	b, err := handler.NewBatch(handler.BatchConfig{
		Handler: handler.BatchHandlerFunc(func(_ context.Context, msgs []*worker.Message) (map[string]error, error) {
			var ids []string
			for _, m := range msgs {
				ids = append(ids, fmt.Sprintf("%s#%d", m.Body, m.ReceiveCount))
			}
			mu.Lock()
			batches = append(batches, ids)
			mu.Unlock()
			return nil, nil
		}),
		Size:   10,
		Window: 4 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	fauxqs.Send(t, c, url, "lonely", nil)
	startEngine(t, emu, url, "", b, func(cfg *worker.Config) { cfg.VisibilityTimeout = time.Second })
	wait.For(t, 20*time.Second, "the queue to drain", func() bool { return drained(t, emu, url) })
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 1 || strings.Join(batches[0], ",") != "lonely#1" {
		t.Errorf("batches %v, want one holding the first delivery only", batches)
	}
}
