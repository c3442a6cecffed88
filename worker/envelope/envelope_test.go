package envelope

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sqsfleet/sqsfleet/worker"
)

// snsSample is the SQS body of an SNS notification as the SNS developer
// guide shows it ("Fanout to Amazon SQS queues"), with MessageAttributes in
// the {Type, Value} form SNS documents for them.
const snsSample = `{
  "Type" : "Notification",
  "MessageId" : "63a3f6b6-d533-4a47-aef9-fcf5cf758c76",
  "TopicArn" : "arn:aws:sns:us-west-2:123456789012:MyTopic",
  "Subject" : "Testing publish to subscribed queues",
  "Message" : "Hello world!",
  "Timestamp" : "2012-03-29T05:12:16.901Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEnTrFPa3...",
  "SigningCertURL" : "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
  "UnsubscribeURL" : "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c7fe3a54-ab0e-4ec2-88e0-db410a0f2bee",
  "MessageAttributes" : {
    "store" : {"Type":"String","Value":"example_corp"},
    "price" : {"Type":"Number","Value":"210.75"},
    "colors" : {"Type":"String.Array","Value":"[\"red\", \"green\"]"},
    "thumb" : {"Type":"Binary","Value":"AAH+/w=="}
  }
}`

// eventSample is the EC2 instance state-change event of the EventBridge
// user guide ("AWS service event metadata"), as a rule targeting an SQS
// queue delivers it: the whole event is the message body.
const eventSample = `{
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
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated"
  }
}`

const eventDetail = `{
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated"
  }`

func message(body string) *worker.Message {
	return &worker.Message{
		ID:         "sqs-id",
		Body:       body,
		Attributes: map[string]worker.Attribute{"sqs-attr": {DataType: "String", StringValue: "kept"}},
	}
}

func wantSNS(t *testing.T, got *worker.Message) {
	t.Helper()
	if got.Body != "Hello world!" {
		t.Errorf("body %q, want the SNS Message", got.Body)
	}
	want := &worker.SNSNotification{
		MessageID: "63a3f6b6-d533-4a47-aef9-fcf5cf758c76",
		TopicARN:  "arn:aws:sns:us-west-2:123456789012:MyTopic",
		Subject:   "Testing publish to subscribed queues",
		Timestamp: "2012-03-29T05:12:16.901Z",
	}
	if !reflect.DeepEqual(got.SNS, want) {
		t.Errorf("SNS %+v, want %+v", got.SNS, want)
	}
	wantAttrs := map[string]worker.Attribute{
		"sqs-attr": {DataType: "String", StringValue: "kept"},
		"store":    {DataType: "String", StringValue: "example_corp"},
		"price":    {DataType: "Number", StringValue: "210.75"},
		"colors":   {DataType: "String.Array", StringValue: `["red", "green"]`},
		"thumb":    {DataType: "Binary", BinaryValue: []byte{0, 1, 0xfe, 0xff}},
	}
	if !reflect.DeepEqual(got.Attributes, wantAttrs) {
		t.Errorf("attributes %+v, want %+v", got.Attributes, wantAttrs)
	}
	if got.ID != "sqs-id" || got.Event != nil {
		t.Errorf("id %q event %+v: the rest of the message must be the SQS one", got.ID, got.Event)
	}
}

func wantEvent(t *testing.T, got *worker.Message) {
	t.Helper()
	if got.Body != eventDetail {
		t.Errorf("body %q, want detail as it appeared %q", got.Body, eventDetail)
	}
	want := &worker.Event{
		ID:         "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		Source:     "aws.ec2",
		DetailType: "EC2 Instance State-change Notification",
		Time:       "2017-12-22T18:43:48Z",
		Account:    "111122223333",
		Region:     "us-west-1",
		Resources:  []string{"arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"},
	}
	if !reflect.DeepEqual(got.Event, want) {
		t.Errorf("event %+v, want %+v", got.Event, want)
	}
	if got.SNS != nil || got.Attributes["sqs-attr"].StringValue != "kept" {
		t.Errorf("SNS %+v attributes %+v: the rest of the message must be the SQS one", got.SNS, got.Attributes)
	}
}

func TestUnwrapSNS(t *testing.T) {
	for _, mode := range []Mode{SNS, Auto} {
		m := message(snsSample)
		got, err := Unwrap(mode, m)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		wantSNS(t, got)
		if m.Body != snsSample || m.SNS != nil || len(m.Attributes) != 1 {
			t.Errorf("%s: the delivered message was changed: %+v", mode, m)
		}
	}
}

func TestUnwrapEventBridge(t *testing.T) {
	for _, mode := range []Mode{EventBridge, Auto} {
		m := message(eventSample)
		got, err := Unwrap(mode, m)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		wantEvent(t, got)
		if m.Body != eventSample || m.Event != nil {
			t.Errorf("%s: the delivered message was changed: %+v", mode, m)
		}
	}
}

func TestUnwrapEventWithoutResources(t *testing.T) {
	// A custom event put with PutEvents and no Resources arrives with an
	// empty array, and its detail may be any JSON object.
	body := `{"version":"0","id":"e1","detail-type":"Order Placed","source":"com.example.orders","account":"123456789012","time":"2024-05-01T10:00:00Z","region":"eu-west-1","resources":[],"detail":{"order":42}}`
	got, err := Unwrap(EventBridge, message(body))
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != `{"order":42}` || len(got.Event.Resources) != 0 || got.Event.DetailType != "Order Placed" {
		t.Errorf("got body %q event %+v", got.Body, got.Event)
	}
}

func TestAutoPassesOtherBodiesThrough(t *testing.T) {
	for _, body := range []string{
		"",
		"plain text",
		`{"order": 42}`,
		`["a"]`,
		`{"Type": "Notification"}`,      // no TopicArn nor Message
		`{"source": "x", "detail": {}}`, // no detail-type
		`{"Type": "Other", "TopicArn": "a", "Message": "m"}`,
		`{not json`,
	} {
		m := message(body)
		got, err := Unwrap(Auto, m)
		if err != nil || got != m {
			t.Errorf("auto on %q: got %p, %v; want the same message, nil", body, got, err)
		}
	}
}

func TestNoneIsIdentity(t *testing.T) {
	m := message(snsSample)
	if got, err := Unwrap(None, m); got != m || err != nil {
		t.Errorf("none: %p, %v", got, err)
	}
	h := worker.HandlerFunc(func(context.Context, *worker.Message) error { return nil })
	if w := Wrap(None, h); reflect.ValueOf(w).Pointer() != reflect.ValueOf(h).Pointer() {
		t.Error("Wrap(None) must return the handler itself")
	}
}

func TestUnwrapRejects(t *testing.T) {
	snsWithout := func(field string) string {
		return strings.Replace(snsSample, `"`+field+`"`, `"x`+field+`"`, 1)
	}
	eventWithout := func(field string) string {
		return strings.Replace(eventSample, `"`+field+`"`, `"x`+field+`"`, 1)
	}
	tests := []struct {
		mode Mode
		body string
		want string // in the error
	}{
		{SNS, "plain text", "not a JSON object"},
		{SNS, `{"Type": `, "not valid JSON"},
		{SNS, eventSample, `field "Type" is missing`},
		{SNS, strings.Replace(snsSample, `"Notification"`, `"SubscriptionConfirmation"`, 1), `Type is "SubscriptionConfirmation"`},
		{SNS, snsWithout("Message"), `field "Message" is missing`},
		{SNS, snsWithout("MessageId"), `field "MessageId" is missing`},
		{SNS, snsWithout("TopicArn"), `field "TopicArn" is missing`},
		{SNS, snsWithout("Timestamp"), `field "Timestamp" is missing`},
		{SNS, strings.Replace(snsSample, `"Hello world!"`, `{"a":1}`, 1), `field "Message" is not a string`},
		{SNS, strings.Replace(snsSample, `"AAH+/w=="`, `"not base64!"`, 1), `"thumb": Binary value is not base64`},
		{SNS, strings.Replace(snsSample, `{"Type":"String","Value":"example_corp"}`, `"example_corp"`, 1), `"MessageAttributes" is not a map`},
		{EventBridge, snsSample, `field "id" is missing`},
		{EventBridge, "", "not a JSON object"},
		{EventBridge, eventWithout("detail-type"), `field "detail-type" is missing`},
		{EventBridge, eventWithout("detail"), `field "detail" is missing`},
		{EventBridge, eventWithout("resources"), `field "resources" is missing`},
		{EventBridge, strings.Replace(eventSample, `"111122223333"`, `111122223333`, 1), `field "account" is not a string`},
		{EventBridge, strings.Replace(eventSample, `"region": "us-west-1"`, `"region": ""`, 1), `field "region" is empty`},
		// Auto unwraps what it recognises, and then holds it to the rules.
		{Auto, strings.Replace(snsSample, `"AAH+/w=="`, `"%%%"`, 1), "envelope sns"},
		{Auto, eventWithout("region"), `field "region" is missing`},
	}
	for _, tt := range tests {
		got, err := Unwrap(tt.mode, message(tt.body))
		if err == nil {
			t.Errorf("%s on %.40q: no error, got %+v", tt.mode, tt.body, got)
			continue
		}
		if !errors.Is(err, worker.ErrEnvelope) || !worker.IsPermanent(err) {
			t.Errorf("%s: error %v must wrap ErrEnvelope and be permanent", tt.mode, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not say %q", tt.mode, err, tt.want)
		}
	}
}

func TestWrapHandsTheUnwrappedMessageOver(t *testing.T) {
	var seen *worker.Message
	h := Wrap(Auto, worker.HandlerFunc(func(_ context.Context, m *worker.Message) error {
		seen = m
		return nil
	}))
	if err := h.Handle(context.Background(), message(eventSample)); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, seen)

	// A rejected body never reaches the handler.
	seen = nil
	h = Wrap(SNS, worker.HandlerFunc(func(_ context.Context, m *worker.Message) error {
		seen = m
		return nil
	}))
	if err := h.Handle(context.Background(), message(eventSample)); !errors.Is(err, worker.ErrEnvelope) || seen != nil {
		t.Errorf("err %v, handler saw %+v", err, seen)
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"none", "sns", "eventbridge", "auto"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if m, err := ParseMode(""); err != nil || m != None {
		t.Errorf(`ParseMode("") = %q, %v; want none`, m, err)
	}
	if _, err := ParseMode("SNS"); err == nil {
		t.Error("ParseMode is case-sensitive, like every other enumerated key")
	}
}
