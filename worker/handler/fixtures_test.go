package handler

import (
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// The messages the handler tests hand over, kept in one place so that the
// http and exec tests describe the same message, and an envelope written
// once cannot drift into two slightly different ones.

// handlerTestMessage is a FIFO message with every SQS field set.
func handlerTestMessage() *worker.Message {
	return &worker.Message{
		ID:              "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
		ReceiptHandle:   "rh",
		Body:            `{"hello":"world"}`,
		QueueURL:        "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo",
		ReceiveCount:    3,
		SentAt:          time.UnixMilli(1700000000123),
		FirstReceivedAt: time.UnixMilli(1700000004567),
		SenderID:        "AIDAEXAMPLE",
		GroupID:         "group-7",
	}
}

// sampleSNS is an SNS notification as worker/envelope unwraps it, with the
// given subject ("" for one published without a subject, which SNS then
// leaves out).
func sampleSNS(subject string) *worker.SNSNotification {
	return &worker.SNSNotification{
		MessageID: "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
		TopicARN:  "arn:aws:sns:us-east-2:123456789012:MyTopic",
		Subject:   subject,
		Timestamp: "2012-04-25T21:49:25.719Z",
	}
}

// sampleEvent is the EC2 instance state-change event of the EventBridge
// user guide as worker/envelope unwraps it, with a second instance among
// its resources so that a handler has a list to join.
func sampleEvent() *worker.Event {
	return &worker.Event{
		ID:         "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		Source:     "aws.ec2",
		DetailType: "EC2 Instance State-change Notification",
		Time:       "2017-12-22T18:43:48Z",
		Account:    "111122223333",
		Region:     "us-west-1",
		Resources: []string{
			"arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0",
			"arn:aws:ec2:us-west-1:123456789012:instance/i-0000000000000000f",
		},
	}
}

// sampleEventWant is what a handler must hand over for sampleEvent: each
// field's value under the name the handler gives that field.
func sampleEventWant(id, source, detailType, eventTime, account, region, resources string) map[string]string {
	return map[string]string{
		id:         "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		source:     "aws.ec2",
		detailType: "EC2 Instance State-change Notification",
		eventTime:  "2017-12-22T18:43:48Z",
		account:    "111122223333",
		region:     "us-west-1",
		resources: "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0," +
			"arn:aws:ec2:us-west-1:123456789012:instance/i-0000000000000000f",
	}
}

// beanstalkTask is a periodic task as Elastic Beanstalk's sqsd sends it,
// due at 2026-12-02 03:00 UTC: the fixed body, the task in sqsd's own
// attributes, and an attribute of the sender's ("tenant") beside them.
func beanstalkTask(name, path string) *worker.Message {
	m := handlerTestMessage()
	m.Body = task.BeanstalkBody
	m.Attributes = map[string]worker.Attribute{
		task.AttrBeanstalkTaskName:      {DataType: "String", StringValue: name},
		task.AttrBeanstalkPath:          {DataType: "String", StringValue: path},
		task.AttrBeanstalkScheduledTime: {DataType: "String", StringValue: "2026-12-02 03:00:00 UTC"},
		"tenant":                        {DataType: "String", StringValue: "acme"},
	}
	return m
}

// sqsfleetTask is tk in sqsfleet's own task body, with the same sender's
// attribute as beanstalkTask.
func sqsfleetTask(tk task.Task) *worker.Message {
	m := handlerTestMessage()
	m.Body = task.Body(tk)
	m.Attributes = map[string]worker.Attribute{"tenant": {DataType: "String", StringValue: "acme"}}
	return m
}

// checkNameMapping fails t unless fn, which turns an attribute name into a
// header or variable name, is deterministic, keeps name's length (a byte
// for a byte) and leaves its own output unchanged; it returns fn(name) for
// the caller's checks of the character set.
func checkNameMapping(t *testing.T, fnName string, fn func(string) string, name string) string {
	t.Helper()
	got := fn(name)
	if again := fn(name); again != got {
		t.Fatalf("%s(%q) not deterministic: %q then %q", fnName, name, got, again)
	}
	if len(got) != len(name) {
		t.Fatalf("%s(%q) = %q: length changed", fnName, name, got)
	}
	if fn(got) != got {
		t.Fatalf("%s not idempotent on %q", fnName, got)
	}
	return got
}

// checkHandleErr fails t unless Handle's err is an error exactly when
// wantErr, and then permanent or not as wanted and containing each of
// contains. It says whether there is an error for the caller to look at
// further.
func checkHandleErr(t *testing.T, err error, wantErr, permanent bool, contains []string) bool {
	t.Helper()
	if (err != nil) != wantErr {
		t.Fatalf("err = %v, want error %v", err, wantErr)
	}
	if err == nil {
		return false
	}
	if worker.IsPermanent(err) != permanent {
		t.Errorf("IsPermanent = %v, want %v: %v", worker.IsPermanent(err), permanent, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err %q does not contain %q", err, s)
		}
	}
	return true
}
