package fauxqs

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SNS returns a real SNS client talking to the emulator, which serves SNS on
// the same port as SQS and delivers to its SQS queues the way SNS does: an
// SNS notification in JSON, or with raw message delivery the bare message
// with its attributes as SQS message attributes. Configured like SQS's
// client: nothing from the environment or ~/.aws.
func (s *Server) SNS(t testing.TB) *sns.Client {
	t.Helper()
	return sns.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *sns.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint())
	})
}

// CreateTopic creates an SNS topic and returns its ARN.
func (s *Server) CreateTopic(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.SNS(t).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("fauxqs: CreateTopic %q: %v", name, err)
	}
	return aws.ToString(out.TopicArn)
}

// SubscribeQueue subscribes the queue at queueURL to the topic, with raw
// message delivery or without, and returns the subscription ARN.
func (s *Server) SubscribeQueue(t testing.TB, topicARN, queueURL string, raw bool) string {
	t.Helper()
	arn := s.QueueARN(t, queueURL)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := s.SNS(t).Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:              aws.String(topicARN),
		Protocol:              aws.String("sqs"),
		Endpoint:              aws.String(arn),
		Attributes:            map[string]string{"RawMessageDelivery": strconv.FormatBool(raw)},
		ReturnSubscriptionArn: true,
	})
	if err != nil {
		t.Fatalf("fauxqs: Subscribe %s to %s: %v", arn, topicARN, err)
	}
	return aws.ToString(out.SubscriptionArn)
}

// QueueARN returns the ARN of the queue at queueURL.
func (s *Server) QueueARN(t testing.TB, queueURL string) string {
	t.Helper()
	arn := s.attributes(t, queueURL, types.QueueAttributeNameQueueArn)[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		t.Fatalf("fauxqs: no QueueArn for %s", queueURL)
	}
	return arn
}
