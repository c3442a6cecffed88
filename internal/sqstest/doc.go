// Package sqstest is sqsfleet's one strict SQS test double: an in-memory SQS
// with a Go API for in-process use and an http.Handler that speaks SQS's AWS
// JSON 1.0 protocol, so the real aws-sdk-go-v2 client (and the daemon,
// through AWS_ENDPOINT_URL_SQS) can use it.
//
// It is stricter than the fauxqs emulator, never looser: where AWS documents
// a rule, the double enforces it, and where SQS may behave in two ways, the
// double takes the one that is harder on a consumer. The rules, each with
// the AWS documentation it follows (SQS API Reference and Developer Guide):
//
//   - Visibility: a message stays hidden at most 12 hours from the receive
//     that hid it. VisibilityTimeout is 0..43200 s; a ChangeMessageVisibility
//     that would end past receive + 12 h is rejected (InvalidParameterValue,
//     "Total VisibilityTimeout for the message is beyond the limit"), it does
//     not clamp. fauxqs accepts it.
//   - Receipt handles change on every receive. A handle of an earlier
//     receive, of a deleted message or one never issued is refused by
//     ChangeMessageVisibility (ReceiptHandleIsInvalid); a handle whose
//     message is visible again is refused with MessageNotInflight. For
//     DeleteMessage AWS documents that an old handle "succeeds, but the
//     message might not be deleted": Config.StaleDelete chooses between that
//     (the default, stricter than fauxqs, which deletes) and a
//     ReceiptHandleIsInvalid entry error. On FIFO queues a handle whose
//     visibility timeout has expired cannot delete ("The receipt handle has
//     expired").
//   - ApproximateReceiveCount rises on every receive.
//   - FIFO: MessageGroupId is required; one receive returns several messages
//     of one group, in order, up to MaxNumberOfMessages (fauxqs returns one
//     per group); a group with a message in flight is locked; a receive
//     retried with the same ReceiveRequestAttemptId within 5 minutes
//     returns the same messages and receipt handles, and resets their
//     visibility; deduplication over 5 minutes by MessageDeduplicationId, or
//     the SHA-256 of the body with ContentBasedDeduplication, where a
//     duplicate send is accepted (it returns the first message's id) but
//     never delivered, even after the first one was deleted; per-message
//     DelaySeconds is refused.
//   - Standard queues accept MessageGroupId (fair queues, 2025) and return
//     it on receive; MessageDeduplicationId is refused (InvalidParameterValue,
//     "The request include parameter that is not valid for this queue type").
//   - Per call: batches of 1 to 10 entries with distinct ids of at most 80
//     alphanumerics, hyphens or underscores; MaxNumberOfMessages 1..10;
//     WaitTimeSeconds 0..20; DelaySeconds 0..900; bodies of allowed Unicode
//     characters; body plus attributes within the queue's
//     MaximumMessageSize, and a SendMessageBatch within it in total; at most
//     10 message attributes with valid names, types and non-empty values.
//   - Redrive: a receive that would raise a message's receive count above
//     the RedrivePolicy's maxReceiveCount moves it to the dead-letter queue
//     instead, as SQS does, and the moved message carries the
//     DeadLetterQueueSourceArn system attribute naming the queue it left
//     (fauxqs sets none).
//   - Message system attributes: a send accepts AWSTraceHeader alone, a
//     non-empty String, and a receive returns it among the system
//     attributes when asked for (All or by name). fauxqs drops it.
//
// Time comes from Config.Clock, so a test can move past 5 minutes or 12
// hours without sleeping (ManualClock); long polls wake when a message
// becomes visible, whether by a send, a visibility change or the clock.
// The long poll's own wait is real time, capped by Config.MaxWait.
//
// Faults (throttling, 5xx, reset, lost responses, delays) come from one
// internal/faults model, applied to the Go API and, through
// faults.Middleware, to the HTTP handler. Every call is recorded (Calls).
//
// The package must not import package worker: worker's own tests import it.
package sqstest
