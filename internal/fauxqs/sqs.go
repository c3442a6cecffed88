package fauxqs

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// callTimeout bounds each helper call so a wedged emulator fails the test
// instead of hanging it until the global go test timeout.
const callTimeout = 10 * time.Second

// SQS returns a real SQS client talking to the emulator. It is built from an
// aws.Config literal rather than config.LoadDefaultConfig so that nothing
// from the developer's environment or ~/.aws leaks into tests. The client
// stays valid across Stop and Restart.
func (s *Server) SQS(t testing.TB) *sqs.Client {
	t.Helper()
	return s.newClient()
}

func (s *Server) newClient() *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint())
	})
}

func (s *Server) helperClient() *sqs.Client {
	s.clientOnce.Do(func() { s.client = s.newClient() })
	return s.client
}

// Send sends one message to queueURL through c (the client the test is
// exercising, so its middleware sees the call) and returns the message id;
// an error fails t.
func Send(t testing.TB, c *sqs.Client, queueURL, body string, attrs map[string]types.MessageAttributeValue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: &body, MessageAttributes: attrs})
	if err != nil {
		t.Fatalf("fauxqs: send to %s: %v", queueURL, err)
	}
	return aws.ToString(out.MessageId)
}

// CreateQueue creates a queue (or returns the existing one with compatible
// attributes) and returns its URL.
func (s *Server) CreateQueue(t testing.TB, name string, attrs map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.helperClient().CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: attrs,
	})
	if err != nil {
		t.Fatalf("fauxqs: CreateQueue %q: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// CreateQueueWithDLQ creates a dead-letter queue and a queue named name that
// redrives to it after maxReceiveCount receives. The dead-letter queue is
// name-dlq, or for a FIFO queue x.fifo, x-dlq.fifo (FIFO queues need FIFO
// dead-letter queues, whose names must end in .fifo).
func (s *Server) CreateQueueWithDLQ(t testing.TB, name string, maxReceiveCount int) (url, dlqURL string) {
	t.Helper()
	dlqName := name + "-dlq"
	var fifo map[string]string
	if base, ok := strings.CutSuffix(name, ".fifo"); ok {
		dlqName = base + "-dlq.fifo"
		fifo = map[string]string{"FifoQueue": "true"}
	}
	dlqURL = s.CreateQueue(t, dlqName, fifo)
	dlqARN := s.attributes(t, dlqURL, types.QueueAttributeNameQueueArn)[string(types.QueueAttributeNameQueueArn)]
	if dlqARN == "" {
		t.Fatalf("fauxqs: no QueueArn for %s", dlqURL)
	}
	// maxReceiveCount as a JSON number, the form AWS itself returns.
	policy, err := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}{dlqARN, maxReceiveCount})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{string(types.QueueAttributeNameRedrivePolicy): string(policy)}
	for k, v := range fifo {
		attrs[k] = v
	}
	return s.CreateQueue(t, name, attrs), dlqURL
}

// Counts returns the queue's approximate message counts. fauxqs updates them
// lazily (see the package documentation): expired in-flight and delayed
// messages are only moved back to visible by a receive on the queue.
func (s *Server) Counts(t testing.TB, queueURL string) (visible, notVisible, delayed int) {
	t.Helper()
	attrs := s.attributes(t, queueURL,
		types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	)
	num := func(name types.QueueAttributeName) int {
		n, err := strconv.Atoi(attrs[string(name)])
		if err != nil {
			t.Fatalf("fauxqs: attribute %s of %s: %v", name, queueURL, err)
		}
		return n
	}
	return num(types.QueueAttributeNameApproximateNumberOfMessages),
		num(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		num(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
}

func (s *Server) attributes(t testing.TB, queueURL string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.helperClient().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: names,
	})
	if err != nil {
		t.Fatalf("fauxqs: GetQueueAttributes %s: %v", queueURL, err)
	}
	return out.Attributes
}
