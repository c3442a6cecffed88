package dlq

import (
	"fmt"
	"strings"
)

// Reason is one documented reason a message is in the DLQ.
type Reason struct {
	Name    string
	Meaning string
}

// Reasons is the fixed list of reasons, as the engine writes them in the
// failure record, plus the two this package gives to messages without a
// readable record. README documents the same list.
var Reasons = []Reason{
	{"permanent", "the handler said the message can never succeed (worker.Permanent, exit code 65, or a handler.permanent_statuses HTTP status)"},
	{"max_attempts", "the handler failed queue.max_attempts times"},
	{"crash_loop", "delivered more than twice queue.max_attempts times without an outcome (the daemon died while running it), so it was not run again"},
	{"envelope", "the body did not parse as the configured envelope (SNS, EventBridge)"},
	{"payload_missing", "the S3 object holding the message's payload does not exist"},
	{ReasonSQSRedrive, "no failure record: SQS moved the message itself after the source queue's RedrivePolicy maxReceiveCount receives"},
	{ReasonUnknown, "a failure record that could not be read (altered, or written by a newer sqsfleet)"},
}

// Reasons this package gives to messages without a readable record.
const (
	ReasonSQSRedrive = "sqs_redrive"
	ReasonUnknown    = "unknown"
)

// CheckReasons returns an error naming the first of names that is not a
// documented reason, and the list of those that are.
func CheckReasons(names []string) error {
	for _, n := range names {
		known := false
		for _, r := range Reasons {
			known = known || r.Name == n
		}
		if !known {
			return fmt.Errorf("unknown reason %q: want one of %s", n, ReasonNames())
		}
	}
	return nil
}

// ReasonNames is the list of reasons, comma-separated.
func ReasonNames() string {
	names := make([]string, len(Reasons))
	for i, r := range Reasons {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}
