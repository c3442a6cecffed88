package sqstest_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/sqstest"
)

// fauxqs accepts AWSTraceHeader on send and never returns it.
func TestHTTPAWSTraceHeader(t *testing.T) {
	s, c, _ := strictDouble(t, sqstest.Config{})
	url := s.MustCreateQueue("q", nil)
	const hdr = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	str := func(v string) types.MessageSystemAttributeValue {
		return types.MessageSystemAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	for range 3 { // one per receive below
		if _, err := c.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"),
			MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": str(hdr)}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.SendMessage(cctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"),
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"Other": str("v")}})
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") {
		t.Errorf("a system attribute other than AWSTraceHeader: %v, want InvalidParameterValue", err)
	}

	for _, tc := range []struct {
		names []types.MessageSystemAttributeName
		want  string
	}{
		{[]types.MessageSystemAttributeName{types.MessageSystemAttributeNameSenderId}, ""},
		{[]types.MessageSystemAttributeName{types.MessageSystemAttributeNameAWSTraceHeader}, hdr},
		{[]types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}, hdr},
	} {
		out, err := c.ReceiveMessage(cctx(t), &sqs.ReceiveMessageInput{QueueUrl: &url, MessageSystemAttributeNames: tc.names, MaxNumberOfMessages: 1})
		if err != nil || len(out.Messages) != 1 {
			t.Fatal(out, err)
		}
		if got := out.Messages[0].Attributes["AWSTraceHeader"]; got != tc.want {
			t.Errorf("asked for %v: AWSTraceHeader %q, want %q", tc.names, got, tc.want)
		}
	}
}
