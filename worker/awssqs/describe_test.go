package awssqs_test

import (
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/sqstest"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// DescribeQueue takes the kind from FifoQueue and the counts SQS keeps;
// a missing queue is IsNoSuchQueue; QueueURLOfARN finds a queue by ARN.
func TestDescribeQueueAndARN(t *testing.T) {
	emu := fauxqs.Start(t)
	c := client(emu, nil)
	fifo := emu.CreateQueue(t, "kind.fifo", map[string]string{"FifoQueue": "true"})
	std := emu.CreateQueue(t, "kind", nil)
	fauxqs.Send(t, c, std, "x", nil)
	info, err := awssqs.DescribeQueue(ctx(t), c, fifo)
	if err != nil || !info.FIFO || info.ARN == "" {
		t.Fatalf("FIFO queue: %+v, %v", info, err)
	}
	info, err = awssqs.DescribeQueue(ctx(t), c, std)
	if err != nil || info.FIFO || info.Messages != 1 {
		t.Fatalf("standard queue: %+v, %v; want standard with 1 message", info, err)
	}
	if u, err := awssqs.QueueURLOfARN(ctx(t), c, info.ARN); err != nil || path(u) != path(std) {
		t.Errorf("QueueURLOfARN(%s) = %s, %v; want %s", info.ARN, u, err, std)
	}
	if _, err := awssqs.QueueURLOfARN(ctx(t), c, "arn:aws:s3:::bucket"); err == nil {
		t.Error("an S3 ARN resolved to a queue")
	}
	_, err = awssqs.DescribeQueue(ctx(t), c, std+"-missing")
	if !awssqs.IsNoSuchQueue(err) {
		t.Errorf("missing queue: err %v, want IsNoSuchQueue", err)
	}
}

// A send carries the trace header as the AWSTraceHeader system attribute,
// which SQS returns on receive (the strict double models it; fauxqs drops
// it).
func TestSendTraceHeader(t *testing.T) {
	sq := sqstest.New(sqstest.Config{MaxWait: 100 * time.Millisecond})
	c := clientAt(sq.Start(t), nil)
	url := sq.MustCreateQueue("traced", nil)
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	q := awssqs.NewQueue(c, url, 0)
	if err := q.Send(ctx(t), &worker.DeadLetter{Body: "b", TraceHeader: trace}); err != nil {
		t.Fatal(err)
	}
	got, err := q.Receive(ctx(t), 1, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("receive: %d, %v", len(got), err)
	}
	if h := got[0].SystemAttributes[worker.TraceHeaderAttribute]; h != trace {
		t.Errorf("AWSTraceHeader = %q, want %q", h, trace)
	}
}
