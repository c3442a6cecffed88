package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demoqueue setup|send|await [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4566", "emulator endpoint")
	queue := fs.String("queue", "", "queue URL")
	name := fs.String("name", "sqsfleet-demo", "queue name for setup")
	timeout := fs.Duration("timeout", 90*time.Second, "how long await waits")
	_ = fs.Parse(os.Args[2:])

	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: endpoint,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "setup":
		err = setup(ctx, client, *name)
	case "send":
		err = send(ctx, client, *queue, fs.Args())
	case "await":
		err = await(ctx, client, *queue, *timeout)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoqueue:", err)
		os.Exit(1)
	}
}

func setup(ctx context.Context, c *sqs.Client, name string) error {
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return err
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return err
	}
	// maxReceiveCount at least 2 x max_attempts + 1 (max_attempts is 3 in
	// configs/local.yaml): SQS's redrive is the safety net behind the
	// daemon's crash-loop guard, the daemon dead-letters first and says why.
	policy, _ := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes["QueueArn"],
		"maxReceiveCount":     "7",
	})
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"RedrivePolicy": string(policy)},
	})
	if err != nil {
		return err
	}
	fmt.Println(aws.ToString(q.QueueUrl))
	return nil
}

func send(ctx context.Context, c *sqs.Client, queue string, bodies []string) error {
	for _, b := range bodies {
		out, err := c.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:    &queue,
			MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"source": {DataType: aws.String("String"), StringValue: aws.String("demo")},
			},
		})
		if err != nil {
			return err
		}
		fmt.Printf("sent %s: %s\n", aws.ToString(out.MessageId), b)
	}
	return nil
}

// await waits until the queue has nothing visible or in flight, then prints
// what landed in its DLQ.
func await(ctx context.Context, c *sqs.Client, queue string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: &queue,
			AttributeNames: []types.QueueAttributeName{
				types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			},
		})
		if err != nil {
			return err
		}
		vis, inflight := a.Attributes["ApproximateNumberOfMessages"], a.Attributes["ApproximateNumberOfMessagesNotVisible"]
		if vis == "0" && inflight == "0" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue not drained after %s (visible %s, in flight %s)", timeout, vis, inflight)
		}
		time.Sleep(500 * time.Millisecond)
	}
	dlqURL := queue + "-dlq"
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &dlqURL, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 1,
	})
	if err != nil {
		return err
	}
	fmt.Printf("queue drained; %d message(s) in the DLQ:\n", len(out.Messages))
	for _, m := range out.Messages {
		fmt.Printf("  body %q\n  sqsfleet-failure %s\n", aws.ToString(m.Body), aws.ToString(m.MessageAttributes["sqsfleet-failure"].StringValue))
	}
	return nil
}
