package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
)

// A message of the maximum size that the handler rejects (exit 65) must be
// dead-lettered at once, like any other. The failure record the daemon adds
// as an attribute does not fit next to a 1 MiB body, so the DLQ send must
// not insist on it.
//
// KNOWN BUG (worker/outcome.go, deadLetter): the DLQ SendMessage is refused
// ("Message must be shorter than 1048576 bytes"), the daemon logs "dead-letter
// send failed; keeping the message on the queue", and the message comes back:
// the handler runs again on every delivery up to max_attempts, after that
// every delivery fails the same send, and only SQS's own redrive (after
// maxReceiveCount receives, without a failure record) ends the loop. A queue
// without a RedrivePolicy (queue.dlq_url set) loops forever.
func TestOneMiBMessageRejectedIsDeadLettered(t *testing.T) {
	t.Parallel() // mostly waiting
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "big-rejected", 10)
	c := emu.SQS(t)
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	cmd := writeScript(t, dir, "reject.sh", `cat >/dev/null
echo "$SQSFLEET_RECEIVE_COUNT" >> "`+runs+`"
exit 65`)
	startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_RETRY_BASE_DELAY=1s",
		"SQSFLEET_RETRY_MAX_DELAY=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
	)
	body := strings.Repeat("z", 1<<20) // exactly the SQS maximum, no attributes
	id := fauxqs.Send(t, c, url, body, nil)

	got := receiveAll(t, c, dlq, 1, 8*time.Second)
	if n := len(recordLines(t, runs)); n != 1 {
		t.Errorf("handler ran %d times (receive counts %v) for a message it rejected with exit 65; want once", n, recordLines(t, runs))
	}
	if len(got) != 1 {
		t.Fatalf("rejected 1 MiB message not in the DLQ within 8s (%d there)", len(got))
	}
	if aws.ToString(got[0].Body) != body {
		t.Errorf("DLQ copy of %s has a %d-byte body, want the original %d bytes", id, len(aws.ToString(got[0].Body)), len(body))
	}
	if _, ok := got[0].MessageAttributes["sqsfleet-failure"]; !ok {
		t.Logf("DLQ copy carries no failure record (acceptable: it cannot fit)")
	}
}
