package awssqs

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/worker"
)

// captureAPI records the ReceiveMessage input; the other methods are unused.
type captureAPI struct {
	API
	in *sqs.ReceiveMessageInput
}

func (c *captureAPI) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	c.in = in
	return &sqs.ReceiveMessageOutput{}, nil
}

func TestReceivePassesAttemptIDAndParameters(t *testing.T) {
	api := &captureAPI{}
	q := NewQueue(api, "https://sqs.eu-west-1.amazonaws.com/1/q.fifo", 20*time.Second)
	if _, err := q.Receive(worker.WithReceiveAttemptID(context.Background(), "try-1"), 7, 45*time.Second); err != nil {
		t.Fatal(err)
	}
	in := api.in
	if aws.ToString(in.ReceiveRequestAttemptId) != "try-1" || in.MaxNumberOfMessages != 7 ||
		in.WaitTimeSeconds != 20 || in.VisibilityTimeout != 45 || len(in.MessageAttributeNames) != 1 || in.MessageAttributeNames[0] != "All" {
		t.Errorf("input = %+v", in)
	}
	if _, err := q.Receive(context.Background(), 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if api.in.ReceiveRequestAttemptId != nil {
		t.Errorf("attempt id %q sent without one in the context", *api.in.ReceiveRequestAttemptId)
	}
}
