package scaler_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/scaler"
)

// TestQueueBacklog reads GetQueueAttributes from the emulator with 3
// visible, 2 in flight and 1 delayed message.
func TestQueueBacklog(t *testing.T) {
	srv := fauxqs.Start(t)
	client := srv.SQS(t)
	url := srv.CreateQueue(t, "scaler-backlog", nil)
	ctx := testCtx(t)
	for i := range 5 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("m" + string(rune('0'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("later"), DelaySeconds: 900}); err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < 2 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: int32(2 - got), VisibilityTimeout: 600, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		got += len(out.Messages)
	}
	if v, nv, d := srv.Counts(t, url); v != 3 || nv != 2 || d != 1 {
		t.Fatalf("emulator counts %d/%d/%d, want 3 visible, 2 in flight, 1 delayed", v, nv, d)
	}

	for _, tt := range []struct {
		name              string
		inFlight, delayed bool
		want              int64
	}{
		{"visible only", false, false, 3},
		{"plus in flight", true, false, 5},
		{"plus delayed", false, true, 4},
		{"all", true, true, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := scaler.NewQueue(scaler.QueueConfig{API: client, URL: url, IncludeInFlight: tt.inFlight, IncludeDelayed: tt.delayed})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := q.Backlog(ctx); err != nil || n != tt.want {
				t.Errorf("Backlog = %d, %v; want %d", n, err, tt.want)
			}
		})
	}

	missing, _ := scaler.NewQueue(scaler.QueueConfig{API: client, URL: strings.TrimSuffix(url, "scaler-backlog") + "no-such-queue"})
	if _, err := missing.Backlog(ctx); err == nil {
		t.Error("no error for a queue that does not exist")
	}
}
