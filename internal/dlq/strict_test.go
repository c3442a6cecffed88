package dlq

import (
	"regexp"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/sqstest"
)

// Against the strict double, where SQS differs from the emulator: a FIFO
// receive hands out several messages of one group, SQS sets
// DeadLetterQueueSourceArn on the messages its redrive policy moves, and
// AWSTraceHeader travels with a message.
//
// Messages SQS moved itself go back to the queue their
// DeadLetterQueueSourceArn names, trace header and group kept, in group
// order; a message not selected holds the rest of its group in the DLQ, so
// that a redrive never reorders a group.
func TestRedriveStrictFIFOGroupsAndSQSMovedMessages(t *testing.T) {
	sq := sqstest.New(sqstest.Config{MaxWait: 100 * time.Millisecond})
	c := sqstest.NewClient(sq.Start(t))
	source, dlqURL := sq.MustCreateQueueWithDLQ("orders.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}, 1)
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	for _, m := range []struct{ group, body string }{{"g1", "g1-1"}, {"g1", "g1-2"}, {"g1", "g1-3"}, {"g2", "g2-1"}} {
		sq.MustSend(source, sqstest.SendInput{Body: m.body, GroupID: m.group, PriorReceives: 1,
			SystemAttributes: map[string]sqstest.MessageAttribute{"AWSTraceHeader": {DataType: "String", StringValue: trace}}})
	}
	// The next receive finds every message past maxReceiveCount and moves
	// it, as SQS does.
	if got, err := sq.ReceiveMessage(testCtx(t), source, sqstest.ReceiveInput{MaxMessages: 10, WaitSeconds: sqstest.Seconds(0)}); err != nil || len(got) != 0 {
		t.Fatalf("receive on the source: %d messages, %v; want all moved to the DLQ", len(got), err)
	}
	if v, _, _ := sq.Counts(dlqURL); v != 4 {
		t.Fatalf("DLQ holds %d visible, want 4", v)
	}

	d := mustOpen(t, c, dlqURL)
	sum, err := d.Redrive(testCtx(t), RedriveOptions{Filter: Filter{Match: regexp.MustCompile(`-1$|-3$`)}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Moved != 2 || sum.MovedTo[source] != 2 || sum.Skipped[skipNotSelected] != 1 || sum.Skipped[skipBehindGroup] != 1 {
		t.Fatalf("summary %+v: want g1-1 and g2-1 moved to the source, g1-2 not selected, g1-3 held behind it", sum)
	}
	d = mustOpen(t, c, dlqURL)
	if sum, err = d.Redrive(testCtx(t), RedriveOptions{}); err != nil || sum.Moved != 2 {
		t.Fatalf("second redrive: %+v, %v; want g1-2 and g1-3 moved", sum, err)
	}

	var order []string
	for {
		got, err := sq.ReceiveMessage(testCtx(t), source, sqstest.ReceiveInput{MaxMessages: 10, WaitSeconds: sqstest.Seconds(0)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		for _, m := range got {
			if m.Attributes["AWSTraceHeader"] != trace {
				t.Errorf("%s: AWSTraceHeader %q, want %q", m.Body, m.Attributes["AWSTraceHeader"], trace)
			}
			if g := m.Attributes["MessageGroupId"]; g != m.Body[:2] {
				t.Errorf("%s in group %q", m.Body, g)
			}
			if _, ok := m.MessageAttributes["sqsfleet-failure"]; ok {
				t.Errorf("%s carries a failure record", m.Body)
			}
			order = append(order, m.Body)
			if err := sq.DeleteMessage(testCtx(t), source, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	var g1 []string
	for _, b := range order {
		if b[:2] == "g1" {
			g1 = append(g1, b)
		}
	}
	if len(order) != 4 || len(g1) != 3 || g1[0] != "g1-1" || g1[1] != "g1-2" || g1[2] != "g1-3" {
		t.Errorf("the source received %v; want all four, group g1 in order 1, 2, 3 (the bodies were deduplicated or reordered)", order)
	}
	if v, nv, _ := sq.Counts(dlqURL); v+nv != 0 {
		t.Errorf("DLQ still holds %d", v+nv)
	}
}
