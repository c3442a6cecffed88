package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// Two FIFO queues with content-based deduplication share one FIFO DLQ, and
// each gets a message with the same body, which the handler rejects. Both
// must arrive in the DLQ: before each dead letter had an id of its own, the
// second send reused the first one's deduplication id, SQS accepted it and
// dropped it, and the daemon deleted its source: a lost message.
func TestFIFODeadLettersWithEqualBodiesFromTwoQueuesBothArrive(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	fifo := map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}
	dlq := emu.CreateQueue(t, "shared-dlq.fifo", fifo)
	script := t.TempDir() + "/reject.sh"
	if err := os.WriteFile(script, []byte("cat >/dev/null; exit 65\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, name := range []string{"a", "b"} {
		url := emu.CreateQueue(t, "orders-"+name+".fifo", fifo)
		sources = append(sources, url)
		if _, err := c.SendMessage(testCtx(t), &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(`{"order":42}`), MessageGroupId: aws.String("customer-" + name),
		}); err != nil {
			t.Fatal(err)
		}
		startDaemon(t, emu,
			"SQSFLEET_QUEUE_URL="+url,
			"SQSFLEET_QUEUE_DLQ_URL="+dlq,
			"SQSFLEET_QUEUE_WAIT_TIME=1s",
			"SQSFLEET_HANDLER_TYPE=exec",
			"SQSFLEET_HANDLER_COMMAND=sh "+script,
			"SQSFLEET_HTTP_ADDR="+freeAddr(t),
		)
	}
	for _, url := range sources {
		wait.For(t, 20*time.Second, "source "+url+" empty", func() bool { return drained(t, emu, url) })
	}
	got := receiveN(t, c, dlq, 2, 10*time.Second, "2: a dead letter was dropped as a duplicate while its source was deleted")
	// Different groups, so the test's receive is not held up by the first
	// one's group lock; deduplication is queue-wide all the same.
	groups := map[string]bool{}
	for _, m := range got {
		groups[m.Attributes["MessageGroupId"]] = true
	}
	if !groups["customer-a"] || !groups["customer-b"] {
		t.Errorf("dead-letter groups = %v, want customer-a and customer-b", groups)
	}
}
