// Package dlq is `sqsfleet dlq`: it reads a dead-letter queue to say why
// messages failed (Stats, Show) and sends chosen ones back to the queue they
// came from once the cause is fixed (Redrive). It reaches SQS through
// worker/awssqs only.
//
// Reading a queue in SQS means receiving, so every command holds what it
// has examined: a released message would come back on the next receive and
// the scan would see the same few again and again. Each scan therefore has
// a time limit (Bounds.MaxTime) and asks, on every receive, for a
// visibility that ends Bounds.Margin after it, so that even a scan killed
// outright leaves nothing hidden for longer than that. When it ends, or is
// interrupted, it releases every message it still holds (visibility 0);
// only a message that Redrive sent to its destination is deleted, and only
// after that send succeeded, so a crash in between duplicates a message,
// never loses one. Receiving raises a message's ApproximateReceiveCount in
// the DLQ; nothing else about it changes.
//
// A FIFO DLQ shows a scan only the messages at the head of each message
// group: SQS hands out no message of a group while an earlier one is held.
// Stats and Show say so; Redrive moves a group's messages in order and
// stops at the first one of a group it does not move.
//
// The failure record (worker.FailureRecord, attribute sqsfleet-failure)
// gives a message's reason, error and source queue. A message without one
// was moved by SQS itself (the source queue's RedrivePolicy) and has reason
// sqs_redrive; its source is the queue its DeadLetterQueueSourceArn system
// attribute names. Reasons lists the fixed set of reasons.
package dlq
