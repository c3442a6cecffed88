package sqstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
)

// backend is an SQS the contract runs against, through the real SDK client.
type backend struct {
	name   string
	client *sqs.Client
	create func(t *testing.T, name string, attrs map[string]string) string
}

func doubleBackend(t *testing.T) backend {
	s := sqstest.New(sqstest.Config{MaxWait: 3 * time.Second})
	c := sqstest.NewClient(s.Start(t))
	return backend{"double", c, func(t *testing.T, name string, attrs map[string]string) string {
		return s.MustCreateQueue(name, attrs)
	}}
}

func fauxqsBackend(t *testing.T) backend {
	emu := fauxqs.Start(t)
	return backend{"fauxqs", emu.Client(), func(t *testing.T, name string, attrs map[string]string) string {
		return emu.CreateQueue(t, name, attrs)
	}}
}

func cctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// receiveAll receives with a 1 s long poll until n messages came or a
// receive came back empty.
func receiveAll(t *testing.T, b backend, url string, n int, vis int32) []types.Message {
	t.Helper()
	var got []types.Message
	for len(got) < n {
		out, err := b.client.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{
			QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: vis,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			t.Fatalf("%s: receive: %v", b.name, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		got = append(got, out.Messages...)
	}
	return got
}

// contract is what fauxqs and the double agree on, so what the double's
// wire protocol is checked against.
var contract = []struct {
	name string
	run  func(t *testing.T, b backend)
}{
	{"RoundTrip", func(t *testing.T, b backend) {
		url := b.create(t, "rt", nil)
		_, err := b.client.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("héllo {\"x\":1}"),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"s": {DataType: aws.String("String"), StringValue: aws.String("v")},
				"n": {DataType: aws.String("Number"), StringValue: aws.String("42")},
				"b": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 255}},
			}})
		if err != nil { // the SDK checked the MD5s of body and attributes
			t.Fatal(err)
		}
		got := receiveAll(t, b, url, 1, 30)
		if len(got) != 1 {
			t.Fatalf("received %d", len(got))
		}
		m := got[0]
		if aws.ToString(m.Body) != "héllo {\"x\":1}" || m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" ||
			string(m.MessageAttributes["b"].BinaryValue) != "\x00\x01\xff" || aws.ToString(m.MessageAttributes["n"].StringValue) != "42" {
			t.Errorf("message %+v", m)
		}
	}},
	{"VisibilityAndStaleHandles", func(t *testing.T, b backend) {
		url := b.create(t, "vis", nil)
		if _, err := b.client.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
		m1 := receiveAll(t, b, url, 1, 30)
		if len(m1) != 1 || len(receiveAll(t, b, url, 1, 30)) != 0 {
			t.Fatal("not exactly one delivery while hidden")
		}
		if _, err := b.client.ChangeMessageVisibility(cctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: &url,
			ReceiptHandle: m1[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
		m2 := receiveAll(t, b, url, 1, 30)
		if len(m2) != 1 || m2[0].Attributes["ApproximateReceiveCount"] != "2" || aws.ToString(m2[0].ReceiptHandle) == aws.ToString(m1[0].ReceiptHandle) {
			t.Fatalf("redelivery %+v", m2)
		}
		out, err := b.client.ChangeMessageVisibilityBatch(cctx(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url,
			Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
				{Id: aws.String("old"), ReceiptHandle: m1[0].ReceiptHandle, VisibilityTimeout: 10},
				{Id: aws.String("new"), ReceiptHandle: m2[0].ReceiptHandle, VisibilityTimeout: 10},
			}})
		if err != nil || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "old" ||
			aws.ToString(out.Failed[0].Code) != "ReceiptHandleIsInvalid" || len(out.Successful) != 1 {
			t.Fatalf("batch: %+v, %v", out, err)
		}
		del, err := b.client.DeleteMessageBatch(cctx(t), &sqs.DeleteMessageBatchInput{QueueUrl: &url,
			Entries: []types.DeleteMessageBatchRequestEntry{{Id: aws.String("a"), ReceiptHandle: m2[0].ReceiptHandle}}})
		if err != nil || len(del.Successful) != 1 {
			t.Fatalf("delete: %+v, %v", del, err)
		}
	}},
	{"MissingQueue", func(t *testing.T, b backend) {
		_, err := b.client.GetQueueUrl(cctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
		if c := apiCode(err); c != "AWS.SimpleQueueService.NonExistentQueue" && c != "QueueDoesNotExist" {
			t.Errorf("err %v, code %q", err, c)
		}
	}},
	{"TooManyBatchEntries", func(t *testing.T, b backend) {
		url := b.create(t, "batch", nil)
		var es []types.SendMessageBatchRequestEntry
		for i := range 11 {
			es = append(es, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String("x")})
		}
		_, err := b.client.SendMessageBatch(cctx(t), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: es})
		if c := apiCode(err); !strings.Contains(c, "TooManyEntriesInBatchRequest") {
			t.Errorf("11 entries: err %v, code %q", err, c)
		}
		out, err := b.client.SendMessageBatch(cctx(t), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: es[:10]})
		if err != nil || len(out.Successful) != 10 {
			t.Errorf("10 entries: %+v, %v", out, err)
		}
	}},
	{"FIFOOrderAndDeduplication", func(t *testing.T, b backend) {
		url := b.create(t, "order.fifo", map[string]string{"FifoQueue": "true"})
		var ids []string
		for i, body := range []string{"a1", "a2", "a3", "a1-again"} {
			dedup := fmt.Sprint("d", i)
			if body == "a1-again" {
				dedup = "d0" // a duplicate: accepted, never delivered
			}
			out, err := b.client.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(body),
				MessageGroupId: aws.String("a"), MessageDeduplicationId: aws.String(dedup)})
			if err != nil {
				t.Fatalf("send %s: %v", body, err)
			}
			ids = append(ids, aws.ToString(out.MessageId))
		}
		var order []string
		for range 4 {
			got := receiveAll(t, b, url, 1, 30)
			if len(got) == 0 {
				break
			}
			for _, m := range got {
				order = append(order, aws.ToString(m.Body))
				if m.Attributes["MessageGroupId"] != "a" {
					t.Errorf("group id %q", m.Attributes["MessageGroupId"])
				}
				if _, err := b.client.DeleteMessage(cctx(t), &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if strings.Join(order, " ") != "a1 a2 a3" {
			t.Errorf("delivered %q, want a1 a2 a3 (the duplicate never)", order)
		}
		if ids[3] == "" {
			t.Error("the duplicate send returned no message id")
		}
	}},
	{"Redrive", func(t *testing.T, b backend) {
		dlq := b.create(t, "rd-dlq", nil)
		url := b.create(t, "rd", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:rd-dlq","maxReceiveCount":1}`})
		if _, err := b.client.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
		m := receiveAll(t, b, url, 1, 30)
		if len(m) != 1 {
			t.Fatal("no first delivery")
		}
		if _, err := b.client.ChangeMessageVisibility(cctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		if again := receiveAll(t, b, url, 1, 30); len(again) != 0 {
			t.Fatalf("delivered past maxReceiveCount: %+v", again)
		}
		if moved := receiveAll(t, b, dlq, 1, 30); len(moved) != 1 || aws.ToString(moved[0].Body) != "x" {
			t.Fatalf("DLQ: %+v", moved)
		}
	}},
	{"QueueAttributes", func(t *testing.T, b backend) {
		url := b.create(t, "attrs.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "45"})
		out, err := b.client.GetQueueAttributes(cctx(t), &sqs.GetQueueAttributesInput{QueueUrl: &url,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		a := out.Attributes
		if a["FifoQueue"] != "true" || a["ContentBasedDeduplication"] != "true" || a["VisibilityTimeout"] != "45" ||
			a["MaximumMessageSize"] == "" || !strings.HasSuffix(a["QueueArn"], ":attrs.fifo") {
			t.Errorf("attributes %v", a)
		}
		u, err := b.client.GetQueueUrl(cctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("attrs.fifo")})
		if err != nil || !strings.HasSuffix(aws.ToString(u.QueueUrl), "/attrs.fifo") {
			t.Errorf("GetQueueUrl %v, %v", aws.ToString(u.QueueUrl), err)
		}
	}},
	{"DelaySeconds", func(t *testing.T, b backend) {
		url := b.create(t, "delay", nil)
		if _, err := b.client.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), DelaySeconds: 1}); err != nil {
			t.Fatal(err)
		}
		out, err := b.client.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url})
		if err != nil || len(out.Messages) != 0 {
			t.Fatalf("delivered during the delay: %+v, %v", out, err)
		}
		out, err = b.client.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 3})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("long poll across the delay: %+v, %v", out, err)
		}
	}},
}

// TestContract runs the same tests against fauxqs and against the double's
// HTTP protocol, both through the real SDK client.
func TestContract(t *testing.T) {
	for _, mk := range []func(*testing.T) backend{doubleBackend, fauxqsBackend} {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) { c.run(t, b) })
			}
		})
	}
}
