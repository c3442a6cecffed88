// Package fauxqs runs the fauxqs SQS emulator (https://www.npmjs.com/package/fauxqs)
// as a child process for tests.
//
// sqsfleet's engine is mostly about SQS edge cases (visibility timeouts,
// batch partial failures, redrive, outages), and hand-written fakes agree
// with whatever the engine assumes. Testing against a real wire-compatible
// emulator, driven through the real aws-sdk-go-v2 client, keeps those
// assumptions honest without needing AWS or Docker. The package lives in
// non-test files so the tests of several packages, and end-to-end tests that
// launch the daemon binary, can share it.
//
// The emulator is installed into .tools/fauxqs by scripts/fauxqs-install.sh
// (Start does that on first use) and launched with the Node 22 binary that
// script installs, through scripts/fauxqs.mjs. Set FAUXQS_NODE to use another
// Node >= 22 instead (then the install step is skipped, and FAUXQS_APP may
// point at fauxqs's dist/app.js).
//
// # Emulator behaviour (fauxqs 2.4.1), as observed by this package's tests
//
// Queue URLs look like http://sqs.us-east-1.localhost:PORT/000000000000/NAME:
// they carry the port of the emulator that created them, but neither side
// routes by them. The Go SDK sends every request to its BaseEndpoint and
// passes the URL in the request body, and fauxqs resolves the queue from the
// region in an sqs.REGION. host prefix plus the last path segment, ignoring
// scheme, host, port and account. So an AWS-style URL such as
// https://sqs.us-east-1.amazonaws.com/123456789012/NAME works against the
// emulator too, and URLs stay valid across Restart.
//
// Receiving:
//   - A long poll returns as soon as a message is sent (within milliseconds).
//   - A long poll cancelled by the client is not noticed by the emulator: the
//     request stays parked until WaitTimeSeconds runs out, and a message sent
//     meanwhile is handed to that dead request. It goes in flight and only
//     reappears after the visibility timeout, with ApproximateReceiveCount
//     already incremented. Real SQS documents the same risk; shutting the
//     engine down by cancelling long polls can strand messages this way.
//   - ReceiveMessage honours a per-request VisibilityTimeout. Note that the
//     Go SDK omits a zero ReceiveMessageInput.VisibilityTimeout, so 0 cannot
//     be requested per receive; ChangeMessageVisibility with 0 does work and
//     makes the message visible at once.
//   - ApproximateReceiveCount counts every receive, starting at 1.
//
// Batches:
//   - ChangeMessageVisibilityBatch reports ReceiptHandleIsInvalid per entry
//     (SenderFault true) for a handle that is not in flight: a made-up one,
//     or one whose message has since been released or received again.
//   - DeleteMessageBatch reports success for every entry, even a made-up
//     receipt handle, so per-entry delete failures never happen here.
//
// Redrive: a message is moved to the dead-letter queue lazily, by the receive
// that would make its ApproximateReceiveCount exceed maxReceiveCount; that
// receive returns nothing for it. The count travels with the message: with
// maxReceiveCount 2, the first receive from the dead-letter queue reports 4.
// GetQueueAttributes returns RedrivePolicy exactly as it was set, which
// CreateQueueWithDLQ does in AWS's own form, e.g.
// {"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:q-dlq","maxReceiveCount":2}.
//
// Counters are lazy: an in-flight message whose visibility timeout expired,
// or a delayed message whose delay passed, is still counted as not visible,
// or delayed, until a receive on that queue (or an active long poll, which
// checks every 20ms) notices. Poll with ReceiveMessage, not Counts, when
// waiting for a message to come back.
//
// Outages: Stop drops open connections without a response, so a long poll
// in progress fails at once with a transport error (EOF); the SDK's retries
// then end in "connection refused".
//
// Persistence (WithPersistence) keeps queues, attributes and messages,
// including their in-flight state, across Stop and Restart.
package fauxqs
