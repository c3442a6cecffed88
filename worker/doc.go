// Package worker is the sqsfleet engine: it long-polls a queue, runs a
// Handler for each message with bounded concurrency, keeps each message
// hidden while its handler runs, and decides each message's outcome in one
// place.
//
// # Delivery semantics
//
// Delivery is at least once. SQS may deliver a message twice, and a crash or
// a lost visibility lease can make the engine run it twice, so handlers must
// be idempotent. The engine itself never causes a duplicate in normal
// operation: a message is hidden (visibility timeout) from receipt until its
// outcome is confirmed (a delete until SQS acknowledges it), and its
// visibility is extended in batches (ChangeMessageVisibilityBatch) once half
// of it has passed.
//
// # Outcomes
//
//   - success (handler returns nil): deleted, in DeleteMessageBatch calls of
//     up to ten, flushed within FlushInterval; kept hidden until SQS confirms
//     the delete, with at most MaxPendingDeletes waiting before receiving
//     pauses;
//   - retryable failure: hidden for Backoff.Delay(attempt), so it returns
//     later rather than at once; RetryAfter asks for a delay;
//   - permanent failure (Permanent), or failure on the MaxAttempts-th
//     attempt: sent to the dead-letter queue with its body, its attributes,
//     its AWSTraceHeader and the sqsfleet-failure attribute (a JSON
//     FailureRecord, naming any attribute dropped to make room), then
//     deleted. The send comes first: a crash between the two duplicates the
//     message in the DLQ, it never loses it; a failed send leaves the message
//     on the queue;
//   - cancelled by shutdown: visibility set to 0, so another instance takes
//     it at once; not an attempt.
//
// An attempt is a delivery whose handler ran: ApproximateReceiveCount less
// the receives this process gave back unstarted (FIFO messages behind a
// failing one, messages received during shutdown). A message delivered more
// than twice MaxAttempts times without an outcome is dead-lettered without
// running (reason crash_loop); MinMaxReceiveCount is the RedrivePolicy
// maxReceiveCount that leaves room for that.
//
// # Timeouts
//
// Each attempt runs under HandlerTimeout; its context is then cancelled and
// the attempt counts as failed. VisibilityTimeout only needs to cover the gap
// between heartbeats, so it can stay short (30s) whatever the handler's
// duration: a crashed daemon's messages then return to the fleet quickly.
// The engine never extends visibility past HandlerTimeout plus a short
// margin to apply the outcome, nor past the 12 hours SQS allows per receive,
// counted from when the receive was sent (MaxHold); New refuses a
// HandlerTimeout above MaxHandlerTimeout.
//
// # Reading the code
//
// pool.go has Config, New, Run and Stats; poll.go the receivers; dispatch.go
// hands received messages to handlers, fifo.go to their FIFO group's
// runner; outcome.go decides and applies each message's outcome, and
// deadletter.go builds the failure record and sends it; lease.go and
// extender.go keep messages hidden while they are held; shutdown.go is Run's
// shutdown, one method per step. The handlers the daemon ships (exec, http)
// are in package handler, the SQS adapter in package awssqs, and the step
// that reads bodies stored in S3 by the SQS extended client libraries
// (Message.Payload) in package s3payload.
//
// # Embedding
//
// A Go program can run the engine in-process with its own Handler: build a
// queue with package awssqs and call New and Run. See the Example.
package worker
