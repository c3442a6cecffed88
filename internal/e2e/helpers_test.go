package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// binPath is the sqsfleet binary built once for the subprocess tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sqsfleet-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "sqsfleet")
	// -race so the daemon's own goroutines are checked under the real
	// signal and subprocess paths too, not only in unit tests.
	build := exec.Command("go", "build", "-race", "-o", binPath, "github.com/sqsfleet/sqsfleet/cmd/sqsfleet")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sqsfleet:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClient(emu *fauxqs.Server, meter *awssqs.Meter) *sqs.Client {
	return awssqs.NewClient(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(emu.Endpoint()),
	}, meter)
}

// engine is a Pool wired as the daemon wires it, against the emulator.
type engine struct {
	pool    *worker.Pool
	meter   *awssqs.Meter
	metrics *worker.Metrics
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	done    chan error
}

// startEngine runs a Pool on url with DLQ dlqURL ("" for none). tweak may
// adjust the config before the pool is built.
func startEngine(t *testing.T, emu *fauxqs.Server, url, dlqURL string, h worker.Handler, tweak func(*worker.Config)) *engine {
	t.Helper()
	reg := prometheus.NewRegistry()
	e := &engine{meter: awssqs.NewMeter(reg), metrics: worker.NewMetrics(reg), reg: reg, done: make(chan error, 1)}
	c := newClient(emu, e.meter)
	cfg := worker.Config{
		Queue:             awssqs.NewQueue(c, url, 2*time.Second),
		Handler:           h,
		QueueURL:          url,
		Concurrency:       10,
		VisibilityTimeout: 5 * time.Second,
		HandlerTimeout:    time.Minute,
		MaxAttempts:       3,
		Backoff:           worker.Backoff{Base: time.Second, Max: 4 * time.Second},
		ShutdownTimeout:   5 * time.Second,
		FlushInterval:     20 * time.Millisecond,
		PollBackoff:       worker.Backoff{Base: 100 * time.Millisecond, Max: time.Second},
		Logger:            zaptest.NewLogger(t),
		Metrics:           e.metrics,
	}
	if dlqURL != "" {
		cfg.DeadLetter = awssqs.NewQueue(c, dlqURL, 0)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	p, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.pool = p
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- p.Run(ctx) }()
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop shuts the engine down and waits for Run to return.
func (e *engine) stop(t *testing.T) {
	t.Helper()
	e.cancel()
	select {
	case err, ok := <-e.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(e.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("engine did not stop within 30s")
	}
}

// sendN sends n messages with bodies prefix-0..n-1 and returns their ids.
func sendN(t *testing.T, c *sqs.Client, url, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := i; j < min(n, i+10); j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(fmt.Sprintf("%s-%d", prefix, j)),
			})
		}
		out, err := c.SendMessageBatch(testCtx(t), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("send batch: %v %+v", err, out)
		}
		for _, s := range out.Successful {
			ids = append(ids, aws.ToString(s.MessageId))
		}
	}
	return ids
}

// drained reports whether the queue holds nothing, visible or in flight.
func drained(t *testing.T, emu *fauxqs.Server, url string) bool {
	v, nv, d := emu.Counts(t, url)
	return v == 0 && nv == 0 && d == 0
}

// receiveAll receives from url until want messages arrived or timeout, with
// a short visibility so the test does not hold them long.
func receiveAll(t *testing.T, c *sqs.Client, url string, want int, timeout time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	wait.Until(timeout, func() bool {
		out, err := c.ReceiveMessage(testCtx(t), &sqs.ReceiveMessageInput{
			QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		got = append(got, out.Messages...)
		return len(got) >= want
	})
	return got
}

// receiveN receives from url until it has n messages or within has passed,
// and fails t unless it got exactly n; want says which they should be.
func receiveN(t *testing.T, c *sqs.Client, url string, n int, within time.Duration, want string) []types.Message {
	t.Helper()
	got := receiveAll(t, c, url, n, within)
	if len(got) != n {
		t.Fatalf("%s holds %d messages, want %s", path.Base(url), len(got), want)
	}
	return got
}

// calls records handler invocations per message id.
type calls struct {
	mu    sync.Mutex
	byID  map[string][]time.Time
	total int
}

func newCalls() *calls { return &calls{byID: map[string][]time.Time{}} }

func (c *calls) add(id string) {
	c.mu.Lock()
	c.byID[id] = append(c.byID[id], time.Now())
	c.total++
	c.mu.Unlock()
}

func (c *calls) times(id string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.byID[id]...)
}

func (c *calls) count() (distinct, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID), c.total
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
