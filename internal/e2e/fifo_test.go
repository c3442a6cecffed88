package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
)

// sendGroups sends perGroup messages to each group, interleaved across
// groups, with bodies "<group>:<seq>".
func sendGroups(t *testing.T, c *sqs.Client, url string, groups []string, perGroup int) {
	t.Helper()
	var entries []types.SendMessageBatchRequestEntry
	flush := func() {
		if len(entries) == 0 {
			return
		}
		out, err := c.SendMessageBatch(testCtx(t), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("send batch: %v %+v", err, out)
		}
		entries = nil
	}
	for i := range perGroup {
		for _, g := range groups {
			body := fmt.Sprintf("%s:%d", g, i)
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(strings.NewReplacer(":", "_").Replace(body)), MessageBody: aws.String(body),
				MessageGroupId: aws.String(g), MessageDeduplicationId: aws.String(body),
			})
			if len(entries) == 10 {
				flush()
			}
		}
	}
	flush()
}

// groupLog records, per group, the sequence numbers in the order the
// handler saw them, and how many groups ran at once.
type groupLog struct {
	mu        sync.Mutex
	seq       map[string][]int
	running   map[string]int
	maxGroups int
	events    []string // "start g:i", "end g:i", in order
}

func newGroupLog() *groupLog {
	return &groupLog{seq: map[string][]int{}, running: map[string]int{}}
}

func parseBody(b string) (string, int) {
	g, n, _ := strings.Cut(b, ":")
	i, _ := strconv.Atoi(n)
	return g, i
}

func (l *groupLog) begin(body string) (g string, i int, overlap bool) {
	g, i = parseBody(body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq[g] = append(l.seq[g], i)
	l.running[g]++
	overlap = l.running[g] > 1
	active := 0
	for _, n := range l.running {
		if n > 0 {
			active++
		}
	}
	l.maxGroups = max(l.maxGroups, active)
	l.events = append(l.events, "start "+body)
	return g, i, overlap
}

func (l *groupLog) end(body string) {
	g, _ := parseBody(body)
	l.mu.Lock()
	l.running[g]--
	l.events = append(l.events, "end "+body)
	l.mu.Unlock()
}

func (l *groupLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.seq {
		n += len(s)
	}
	return n
}

func (l *groupLog) index(event string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.events {
		if e == event {
			return i
		}
	}
	return -1
}

func fifoHandler(t *testing.T, log *groupLog, fail func(body string, receiveCount int) error) worker.Handler {
	return worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		_, _, overlap := log.begin(m.Body)
		defer log.end(m.Body)
		if overlap {
			t.Errorf("two messages of one group ran at once: %s", m.Body)
		}
		if m.GroupID == "" {
			t.Errorf("FIFO message %s has no group id", m.Body)
		}
		// Random small delays: handlers finish out of step, so the order
		// the log sees is the engine's doing, not the scheduler's.
		time.Sleep(time.Duration(rand.IntN(4)) * time.Millisecond)
		if fail != nil {
			return fail(m.Body, m.ReceiveCount)
		}
		return nil
	})
}

func wantOrder(t *testing.T, log *groupLog, g string, want []int) {
	t.Helper()
	log.mu.Lock()
	got := append([]int(nil), log.seq[g]...)
	log.mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("group %s handled in order %v, want %v", g, got, want)
	}
}

func seqTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestFIFOOrderPerGroupParallelAcrossGroups(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "orders.fifo", 10)
	c := emu.SQS(t)
	groups := []string{"g1", "g2", "g3", "g4", "g5"}
	const per = 20
	sendGroups(t, c, url, groups, per)

	log := newGroupLog()
	startEngine(t, emu, url, dlq, fifoHandler(t, log, nil), nil)
	wait.For(t, 60*time.Second, "every message handled and deleted", func() bool {
		return log.total() >= len(groups)*per && drained(t, emu, url)
	})
	for _, g := range groups {
		wantOrder(t, log, g, seqTo(per))
	}
	if log.maxGroups < 2 {
		t.Errorf("at most %d group(s) ran at once; groups must run in parallel", log.maxGroups)
	}
}

func TestFIFORetryBlocksOnlyItsGroup(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "retry.fifo", 10)
	c := emu.SQS(t)
	const per = 8
	sendGroups(t, c, url, []string{"a", "b"}, per)

	log := newGroupLog()
	e := startEngine(t, emu, url, dlq, fifoHandler(t, log, func(body string, rc int) error {
		if body == "a:3" && rc == 1 {
			return errors.New("transient")
		}
		return nil
	}), func(cfg *worker.Config) {
		cfg.Backoff = worker.Backoff{Base: 2 * time.Second, Max: 2 * time.Second, Rand: func() float64 { return 0.99 }}
	})
	wait.For(t, 30*time.Second, "both groups done", func() bool { return log.total() >= 2*per+1 && drained(t, emu, url) })
	e.stop(t)

	// a:3 failed once and was retried; nothing of group a ran between the
	// failure and the retry, and the group then continued in order.
	wantOrder(t, log, "a", append(seqTo(4), 3, 4, 5, 6, 7))
	wantOrder(t, log, "b", seqTo(per))
	// Group b was not held up by a's retry: it finished before a:3 came back.
	first := log.index("end a:3")
	var second int
	log.mu.Lock()
	for i := first + 1; i < len(log.events); i++ {
		if log.events[i] == "start a:3" {
			second = i
		}
	}
	log.mu.Unlock()
	if endB := log.index(fmt.Sprintf("end b:%d", per-1)); endB > second {
		t.Errorf("group b finished after a's retry (event %d > %d): the retry blocked other groups", endB, second)
	}
}

func TestFIFOPermanentFailureGoesToFIFODLQWithItsGroup(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "perm.fifo", 10)
	c := emu.SQS(t)
	sendGroups(t, c, url, []string{"a"}, 4)
	log := newGroupLog()
	startEngine(t, emu, url, dlq, fifoHandler(t, log, func(body string, _ int) error {
		if body == "a:1" {
			return worker.Permanent(errors.New("bad order"))
		}
		return nil
	}), nil)

	got := receiveAll(t, c, dlq, 1, 20*time.Second)
	if len(got) != 1 || aws.ToString(got[0].Body) != "a:1" {
		t.Fatalf("DLQ = %+v, want a:1", got)
	}
	if g := got[0].Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]; g != "a" {
		t.Errorf("DLQ message group = %q, want a", g)
	}
	if rec := failureRecord(t, got[0]); rec.Reason != "permanent" || !strings.Contains(rec.Error, "bad order") {
		t.Errorf("failure record = %+v", rec)
	}
	wait.For(t, 20*time.Second, "group continues after the dead letter", func() bool { return log.total() >= 4 && drained(t, emu, url) })
	wantOrder(t, log, "a", seqTo(4))
}

// A slow head of a group, with a visibility timeout far shorter than it
// takes, must not let the messages queued behind it time out and come back
// out of order or twice: their leases are extended while they wait.
func TestFIFOSlowMessageKeepsSuccessorsInOrder(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "slow.fifo", 10)
	c := emu.SQS(t)
	sendGroups(t, c, url, []string{"s"}, 5)
	log := newGroupLog()
	var eng atomic.Pointer[engine]
	renewals := func() float64 {
		if e := eng.Load(); e != nil {
			return e.meter.Requests("ChangeMessageVisibilityBatch")
		}
		return 0
	}
	e := startEngine(t, emu, url, dlq, worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		_, i, _ := log.begin(m.Body)
		defer log.end(m.Body)
		if i == 0 {
			// The head holds its group until the engine has renewed the
			// leases seven times, at half the 1 s timeout each: past three
			// of the timeouts it was received with. Should renewals stop,
			// it gives up after 10 s, and the head's second delivery
			// fails wantOrder.
			wait.Until(10*time.Second, func() bool { return renewals() >= 7 })
		}
		return nil
	}), func(cfg *worker.Config) { cfg.VisibilityTimeout = time.Second })
	eng.Store(e)
	wait.For(t, 30*time.Second, "group done", func() bool { return log.total() >= 5 && drained(t, emu, url) })
	e.stop(t)
	wantOrder(t, log, "s", seqTo(5))
	if got := e.meter.Requests("ReceiveMessage"); got == 0 {
		t.Error("no receives counted")
	}
}

func TestFIFOQueueRefusesStandardDLQ(t *testing.T) {
	_, stderr, code := runBinary(t, []string{
		"SQSFLEET_QUEUE_URL=http://127.0.0.1:1/000000000000/orders.fifo",
		"SQSFLEET_QUEUE_DLQ_URL=http://127.0.0.1:1/000000000000/orders-dlq",
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND=true",
		"SQSFLEET_HTTP_ADDR=127.0.0.1:0", "AWS_REGION=us-east-1",
	}, "run")
	if code != 2 || !strings.Contains(stderr, "queue.dlq_url") || !strings.Contains(stderr, "FIFO") {
		t.Errorf("exit %d, stderr %q; want 2 naming queue.dlq_url", code, stderr)
	}
}
