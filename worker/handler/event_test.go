package handler

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// The sample events of AWS's Lambda documentation ("Using Lambda with
// Amazon SQS": example standard queue message event and example FIFO
// queue message event), one record each. The event is checked against
// them rather than against our own output.
const (
	awsSampleStandard = `{"Records":[{
		"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
		"receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
		"body": "Test message.",
		"attributes": {
			"ApproximateReceiveCount": "1",
			"SentTimestamp": "1545082649183",
			"SenderId": "AIDAIENQZJOLO23YVJ4VO",
			"ApproximateFirstReceiveTimestamp": "1545082649185"
		},
		"messageAttributes": {
			"myAttribute": {
				"stringValue": "myValue",
				"stringListValues": [],
				"binaryListValues": [],
				"dataType": "String"
			}
		},
		"md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
		"eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
		"awsRegion": "us-east-2"
	}]}`
	awsSampleFIFO = `{"Records":[{
		"messageId": "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
		"receiptHandle": "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
		"body": "Test message.",
		"attributes": {
			"ApproximateReceiveCount": "1",
			"SentTimestamp": "1573251510774",
			"SequenceNumber": "18849496460467696128",
			"MessageGroupId": "1",
			"SenderId": "AIDAIO23YVJENQZJOL4VO",
			"MessageDeduplicationId": "1",
			"ApproximateFirstReceiveTimestamp": "1573251510774"
		},
		"messageAttributes": {},
		"md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
		"eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:fifo.fifo",
		"awsRegion": "us-east-2"
	}]}`
)

func ms(n int64) time.Time { return time.UnixMilli(n) }

func TestEventMatchesAWSSample(t *testing.T) {
	standard := &worker.Message{
		ID:            "059f36b4-87a3-44ab-83d2-661975830a7d",
		ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
		Body:          "Test message.",
		QueueURL:      "https://sqs.us-east-2.amazonaws.com/123456789012/my-queue",
		ReceiveCount:  1,
		SentAt:        ms(1545082649183), FirstReceivedAt: ms(1545082649185),
		SenderID: "AIDAIENQZJOLO23YVJ4VO",
		SystemAttributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    "1545082649183",
			"SenderId":                         "AIDAIENQZJOLO23YVJ4VO",
			"ApproximateFirstReceiveTimestamp": "1545082649185",
		},
		Attributes: map[string]worker.Attribute{"myAttribute": {DataType: "String", StringValue: "myValue"}},
	}
	fifo := &worker.Message{
		ID:            "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
		ReceiptHandle: "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
		Body:          "Test message.",
		QueueURL:      "https://sqs.us-east-2.amazonaws.com/123456789012/fifo.fifo",
		ReceiveCount:  1,
		SentAt:        ms(1573251510774), FirstReceivedAt: ms(1573251510774),
		SenderID: "AIDAIO23YVJENQZJOL4VO", GroupID: "1", DeduplicationID: "1",
		SystemAttributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    "1573251510774",
			"SequenceNumber":                   "18849496460467696128",
			"MessageGroupId":                   "1",
			"SenderId":                         "AIDAIO23YVJENQZJOL4VO",
			"MessageDeduplicationId":           "1",
			"ApproximateFirstReceiveTimestamp": "1573251510774",
		},
	}
	for name, tc := range map[string]struct {
		m      *worker.Message
		sample string
	}{
		"standard": {standard, awsSampleStandard},
		"fifo":     {fifo, awsSampleFIFO},
	} {
		t.Run(name, func(t *testing.T) {
			// The region comes from the queue URL, not from the fallback.
			got, err := EventSource{Region: "eu-west-1"}.Event([]*worker.Message{tc.m})
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("our event is not JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal([]byte(tc.sample), &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("event differs from AWS's sample:\n got %s\nwant %s", got, tc.sample)
			}
		})
	}
}

func TestEventFillsLambdasAttributesAndBinary(t *testing.T) {
	// A message whose system attributes SQS did not return (a Go program's
	// own Queue) still gets Lambda's four, from the message's fields.
	m := &worker.Message{
		ID: "id", Body: `<a & b>`, ReceiveCount: 3,
		QueueURL: "http://localhost:4566/000000000000/jobs",
		SentAt:   ms(1000), FirstReceivedAt: ms(2000), SenderID: "me",
		Attributes: map[string]worker.Attribute{"bin": {DataType: "Binary.gz", BinaryValue: []byte{1, 2}}},
	}
	b, err := EventSource{Region: "eu-west-1"}.Event([]*worker.Message{m})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"body":"<a & b>"`) {
		t.Errorf("body escaped: %s", b)
	}
	var ev struct {
		Records []struct {
			Attributes        map[string]string
			MessageAttributes map[string]map[string]any
			EventSourceARN    string
			AWSRegion         string
		}
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	want := map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1000", "ApproximateFirstReceiveTimestamp": "2000", "SenderId": "me"}
	if !reflect.DeepEqual(r.Attributes, want) {
		t.Errorf("attributes %v, want %v", r.Attributes, want)
	}
	if r.AWSRegion != "eu-west-1" || r.EventSourceARN != "arn:aws:sqs:eu-west-1:000000000000:jobs" {
		t.Errorf("region %q arn %q", r.AWSRegion, r.EventSourceARN)
	}
	bin := r.MessageAttributes["bin"]
	if bin["binaryValue"] != "AQI=" || bin["dataType"] != "Binary.gz" {
		t.Errorf("binary attribute %v", bin)
	}
	if _, ok := bin["stringValue"]; ok {
		t.Errorf("binary attribute carries a stringValue: %v", bin)
	}
}

func TestQueueARN(t *testing.T) {
	for _, tc := range []struct{ url, fallback, region, arn string }{
		{"https://sqs.us-east-2.amazonaws.com/123456789012/q", "x", "us-east-2", "arn:aws:sqs:us-east-2:123456789012:q"},
		{"https://us-west-1.queue.amazonaws.com/123456789012/q", "x", "us-west-1", "arn:aws:sqs:us-west-1:123456789012:q"},
		{"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "x", "cn-north-1", "arn:aws-cn:sqs:cn-north-1:123456789012:q"},
		{"https://sqs.us-gov-west-1.amazonaws.com/123456789012/q.fifo", "x", "us-gov-west-1", "arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q.fifo"},
		{"http://sqs.us-east-1.localhost:4566/000000000000/q", "x", "us-east-1", "arn:aws:sqs:us-east-1:000000000000:q"},
		{"http://127.0.0.1:4566/000000000000/q", "eu-west-1", "eu-west-1", "arn:aws:sqs:eu-west-1:000000000000:q"},
		{"http://127.0.0.1:4566/q", "eu-west-1", "eu-west-1", ""},
	} {
		region, arn := queueARN(tc.url, tc.fallback)
		if region != tc.region || arn != tc.arn {
			t.Errorf("queueARN(%q) = %q, %q; want %q, %q", tc.url, region, arn, tc.region, tc.arn)
		}
	}
}

func TestParseBatchResponse(t *testing.T) {
	msgs := []*worker.Message{{ID: "a"}, {ID: "b"}}
	for _, body := range []string{"", "null", " {} ", `{"batchItemFailures":null}`, `{"batchItemFailures":[]}`} {
		failed, err := parseBatchResponse([]byte(body), msgs)
		if err != nil || len(failed) != 0 {
			t.Errorf("%q: failed %v err %v; want all succeeded", body, failed, err)
		}
	}
	failed, err := parseBatchResponse([]byte(`{"batchItemFailures":[{"itemIdentifier":"b"}]}`), msgs)
	if err != nil || len(failed) != 1 || !errors.Is(failed["b"], errItemFailure) {
		t.Errorf("partial: failed %v err %v", failed, err)
	}
	// As Lambda: these fail the whole batch.
	for body, want := range map[string]string{
		`{"batchItemFailures":[{"itemIdentifier":""}]}`:   "without an itemIdentifier",
		`{"batchItemFailures":[{"itemIdentifier":null}]}`: "without an itemIdentifier",
		`{"batchItemFailures":[{"itemId":"a"}]}`:          "without an itemIdentifier",
		`{"batchItemFailures":[{"itemIdentifier":"z"}]}`:  `"z", which is not a message of this batch`,
		`{"errorMessage":"boom","errorType":"Oops"}`:      "function error Oops: boom",
		"Task timed out after 3.00 seconds":               "not a batch response",
		`["a"]`:                                           "not a batch response",
		`{"batchItemFailures":`:                           "not a batch response",
	} {
		failed, err := parseBatchResponse([]byte(body), msgs)
		if err == nil || !strings.Contains(err.Error(), want) || failed != nil {
			t.Errorf("%q: failed %v err %v; want a whole-batch failure containing %q", body, failed, err, want)
		}
	}
}

// FuzzParseBatchResponse: whatever a function answers, the response either
// fails the whole batch or names only messages of the batch.
func FuzzParseBatchResponse(f *testing.F) {
	for _, s := range []string{"", "null", "{}", `{"batchItemFailures":[{"itemIdentifier":"a"}]}`,
		`{"batchItemFailures":[{"itemIdentifier":""}]}`, `{"errorMessage":"x","errorType":"y"}`, "Task timed out after 3.00 seconds"} {
		f.Add([]byte(s))
	}
	msgs := []*worker.Message{{ID: "a"}, {ID: "b"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		failed, err := parseBatchResponse(body, msgs)
		if err != nil && failed != nil {
			t.Fatalf("both a batch error and item failures: %v %v", err, failed)
		}
		for id := range failed {
			if id != "a" && id != "b" {
				t.Fatalf("failure for %q, not a message of the batch", id)
			}
		}
	})
}
