package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/worker"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustOpen opens the DLQ at url for a test, which cannot go on without it.
func mustOpen(t *testing.T, api SQS, url string) *DLQ {
	t.Helper()
	d, err := Open(testCtx(t), api, url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return d
}

// failed is a message as the engine dead-letters it: its own attributes
// plus the failure record.
type failed struct {
	body   string
	group  string
	attrs  map[string]string
	record *worker.FailureRecord // nil: none, as SQS's own redrive leaves it
}

func record(reason, source, errText string, failedAt time.Time) *worker.FailureRecord {
	return &worker.FailureRecord{Error: errText, Reason: reason, Attempts: 3, QueueURL: source,
		MessageID: "orig-" + reason, FirstReceivedAt: failedAt.Add(-time.Minute), FailedAt: failedAt}
}

// put sends the messages to url (a DLQ) and returns their ids in order.
func put(t *testing.T, c *sqs.Client, url string, msgs ...failed) []string {
	t.Helper()
	var ids []string
	for i, m := range msgs {
		in := &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(m.body), MessageAttributes: map[string]types.MessageAttributeValue{}}
		for k, v := range m.attrs {
			in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
		if m.record != nil {
			b, err := json.Marshal(m.record)
			if err != nil {
				t.Fatal(err)
			}
			in.MessageAttributes[worker.FailureAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(string(b))}
		}
		if m.group != "" {
			in.MessageGroupId = aws.String(m.group)
			in.MessageDeduplicationId = aws.String(time.Now().Format("150405.000000000") + "-" + string(rune('a'+i%26)))
		}
		out, err := c.SendMessage(testCtx(t), in)
		if err != nil {
			t.Fatalf("send %q: %v", m.body, err)
		}
		ids = append(ids, aws.ToString(out.MessageId))
	}
	return ids
}

// drain receives every message visible in url now, deleting them if del,
// else hiding them for a minute; it stops at the first empty long poll.
func drain(t *testing.T, c *sqs.Client, url string, del bool) []types.Message {
	t.Helper()
	var got []types.Message
	for {
		out, err := c.ReceiveMessage(testCtx(t), &sqs.ReceiveMessageInput{
			QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		if len(out.Messages) == 0 {
			return got
		}
		got = append(got, out.Messages...)
		if del {
			for _, m := range out.Messages {
				if _, err := c.DeleteMessage(testCtx(t), &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// wantReleased fails t unless the DLQ at url hands out n messages at once
// after what: a scan releases what it looked at rather than leaving it
// hidden. The messages are hidden for a minute afterwards.
func wantReleased(t *testing.T, c *sqs.Client, url string, n int, what string) {
	t.Helper()
	if got := drain(t, c, url, false); len(got) != n {
		t.Errorf("after %s the DLQ hands out %d messages at once, want %d", what, len(got), n)
	}
}

// report is what Write prints of a summary or stats; a failed write fails
// t.
func report(t *testing.T, r interface{ Write(io.Writer) error }) string {
	t.Helper()
	var out bytes.Buffer
	if err := r.Write(&out); err != nil {
		t.Fatalf("write: %v", err)
	}
	return out.String()
}

func bodies(msgs []types.Message) map[string]types.Message {
	out := map[string]types.Message{}
	for _, m := range msgs {
		out[aws.ToString(m.Body)] = m
	}
	return out
}

// cancelAfter is a Progress that cancels the redrive's context once n
// messages moved, as a SIGINT half-way would.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Update(s *Summary) {
	if s.Moved >= c.n {
		c.cancel()
	}
}
func (c *cancelAfter) Event(string) {}
func (c *cancelAfter) Done()        {}

// sqsRedrive has the emulator move a message to the queue's DLQ the way SQS
// does, for a queue whose RedrivePolicy has maxReceiveCount 1: received
// once, made visible, and received again.
func sqsRedrive(t *testing.T, c *sqs.Client, queue, body string) {
	t.Helper()
	if _, err := c.SendMessage(testCtx(t), &sqs.SendMessageInput{QueueUrl: &queue, MessageBody: &body}); err != nil {
		t.Fatal(err)
	}
	got := drain(t, c, queue, false)
	if len(got) != 1 {
		t.Fatalf("received %d messages from %s, want 1", len(got), queue)
	}
	if _, err := c.ChangeMessageVisibility(testCtx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: &queue, ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if again := drain(t, c, queue, false); len(again) != 0 {
		t.Fatalf("the second receive returned %d messages; want the message moved to the DLQ", len(again))
	}
}
