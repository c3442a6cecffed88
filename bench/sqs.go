package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// awsConfig is the SDK configuration for the emulator: the SDK's default
// HTTP client and retryer, as config.LoadDefaultConfig gives the daemon,
// without reading anything from the environment or ~/.aws.
func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// emuEnv is what a child process (the daemon binary, the engine child)
// needs to reach the emulator through the SDK's standard chain.
func emuEnv(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL_SQS=" + endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// queueSeq makes queue names unique within a run.
var queueSeq atomic.Int64

// createQueue creates a fresh queue for one phase, with a dead-letter queue
// behind a RedrivePolicy as in a real deployment (maxReceiveCount 10, above
// the daemon's default max_attempts of 5).
func createQueue(ctx context.Context, cl *sqs.Client, phase string) (string, error) {
	name := fmt.Sprintf("bench-%s-%d-%d", phase, time.Now().Unix(), queueSeq.Add(1))
	dlq, err := cl.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return "", fmt.Errorf("create queue %s-dlq: %w", name, err)
	}
	attrs, err := cl.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       dlq.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("dlq arn: %w", err)
	}
	policy, _ := json.Marshal(map[string]any{
		"deadLetterTargetArn": attrs.Attributes[string(types.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     10,
	})
	q, err := cl.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{string(types.QueueAttributeNameRedrivePolicy): string(policy)},
	})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(q.QueueUrl), nil
}

// seed sends n messages with bodies from body(i), ten per SendMessageBatch,
// from several goroutines.
func seed(ctx context.Context, cl *sqs.Client, url string, n int, body func(i int) string) error {
	const senders = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for range senders {
		wg.Go(func() {
			for {
				start := int(next.Add(10)) - 10
				if start >= n {
					return
				}
				end := min(start+10, n)
				entries := make([]types.SendMessageBatchRequestEntry, 0, end-start)
				for i := start; i < end; i++ {
					entries = append(entries, types.SendMessageBatchRequestEntry{
						Id:          aws.String(strconv.Itoa(i - start)),
						MessageBody: aws.String(body(i)),
					})
				}
				if err := sendBatch(ctx, cl, url, entries); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func sendBatch(ctx context.Context, cl *sqs.Client, url string, entries []types.SendMessageBatchRequestEntry) error {
	out, err := cl.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return fmt.Errorf("seed %s: %w", url, err)
	}
	if len(out.Failed) > 0 {
		f := out.Failed[0]
		return fmt.Errorf("seed %s: %d entries failed, first: %s %s", url, len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
	}
	return nil
}

// paddedBody is a message body of exactly size bytes that starts with its
// index, e.g. `{"i":42,"pad":"xxxx…"}`.
func paddedBody(size int) func(i int) string {
	return func(i int) string {
		head := `{"i":` + strconv.Itoa(i) + `,"pad":"`
		pad := max(size-len(head)-2, 0)
		return head + strings.Repeat("x", pad) + `"}`
	}
}

// wakeBody marks the messages wake sends, so that handlers can ignore them.
const wakeBody = "bench-wake"

// wake sends a few small messages to url. A consumer that is shutting down
// lets its pending 20-second long polls finish rather than cancel them (see
// the README's Shutdown section); these messages end them at once, so a
// phase does not wait out the long-poll wait. The draining consumer gives
// them straight back.
func wake(ctx context.Context, cl *sqs.Client, url string) error {
	entries := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(wakeBody)}
	}
	return sendBatch(ctx, cl, url, entries)
}

// wakeUntil calls wake every 250 ms until done is closed or ctx ends.
func wakeUntil(ctx context.Context, cl *sqs.Client, url string, done <-chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		_ = wake(ctx, cl, url)
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observedQueue reports every receipt handle whose delete succeeded, so an
// in-process phase knows when a message's outcome is final, and every
// ChangeVisibility call with its number of entries.
type observedQueue struct {
	worker.Queue
	deleted func(receipt string, at time.Time)
	changed func(entries int, at time.Time) // may be nil
}

func (q *observedQueue) ChangeVisibility(ctx context.Context, changes []worker.VisibilityChange) ([]error, error) {
	if q.changed != nil {
		q.changed(len(changes), time.Now())
	}
	return q.Queue.ChangeVisibility(ctx, changes)
}

func (q *observedQueue) Delete(ctx context.Context, receipts []string) ([]error, error) {
	errs, err := q.Queue.Delete(ctx, receipts)
	if err == nil {
		now := time.Now()
		for i, r := range receipts {
			if i >= len(errs) || errs[i] == nil {
				q.deleted(r, now)
			}
		}
	}
	return errs, err
}

// messagePathOps are the operations a running consumer makes per message;
// start-up calls (GetQueueAttributes, once per process) are left out of the
// per-message figures.
var messagePathOps = []string{"ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "SendMessage"}

func meterCounts(m *awssqs.Meter) map[string]float64 {
	out := make(map[string]float64, len(messagePathOps))
	for _, op := range messagePathOps {
		out[op] = m.Requests(op)
	}
	return out
}

func sumCounts(c map[string]float64) float64 {
	var n float64
	for _, v := range c {
		n += v
	}
	return n
}
