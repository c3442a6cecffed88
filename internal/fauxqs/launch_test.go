package fauxqs

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Launch is Start for programs without a testing.TB (the benchmark): the
// emulator runs until Close, and Close stops its process.
func TestLaunchAndClose(t *testing.T) {
	t.Parallel()
	s, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	pid := s.PID()
	if pid == 0 {
		t.Fatal("PID is 0 for a running emulator")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := s.Client()
	q, err := cl.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("launched")})
	if err != nil {
		t.Fatalf("CreateQueue: %v\nstderr:\n%s", err, s.StderrTail())
	}
	if _, err := cl.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("hi")}); err != nil {
		t.Fatal(err)
	}

	s.Close()
	closed = true
	if s.PID() != 0 {
		t.Errorf("PID = %d after Close, want 0", s.PID())
	}
	// The process is gone (Close waits for it), and so is the endpoint.
	if p, _ := os.FindProcess(pid); p.Signal(syscall.Signal(0)) == nil {
		t.Errorf("emulator process %d still running after Close", pid)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if _, err := cl.ListQueues(short, &sqs.ListQueuesInput{}, func(o *sqs.Options) { o.RetryMaxAttempts = 1 }); err == nil {
		t.Error("ListQueues succeeded after Close")
	}
	s.Close() // idempotent
}
