// Package awssqs adapts the AWS SDK's SQS client to the engine's small
// interfaces (worker.Queue, worker.DeadLetterQueue) and counts every SQS
// request it makes, because requests are what SQS bills.
//
// It is the engine's only route to the SQS service client (the scaler reads
// queue attributes on its own). It is public so that a Go program embedding
// the engine can consume a real queue. It
// converts between SDK and engine types, maps per-entry batch failures to an
// error at the entry's index, and classifies AWS error codes in one table.
// It does not retry: the SDK's retryer does. ParseQueueURL is the one reader
// of queue URLs (name, account, region) for the engine's adapters and the
// daemon alike.
//
// ReceiveMessage responses, the one large and frequent payload, are decoded
// by this package rather than the SDK (decode.go with jsoncursor.go and
// jsonstring.go, ReceiveOptions): one pass, each body copied once, and the
// body MD5 checked in small pieces, with the SDK's semantics (a mismatch
// fails the receive). Every other response, and
// every error response, goes through the SDK's own decoder.
package awssqs
