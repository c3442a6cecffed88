// Package s3payload reads message bodies that the Amazon SQS extended client
// libraries (Java, Python, Spring Cloud AWS and their ports) stored in S3
// because they exceed the SQS size limit, so that those producers work with
// sqsfleet unchanged.
//
// Such a message carries the attribute ExtendedPayloadSize (SQSLargePayloadSize
// in older library versions), the payload's size, and a body that is the
// library's Jackson serialisation of its pointer class:
//
//	["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]
//
// (com.amazon.sqs.javamessaging.MessageS3Pointer in older versions). As in
// the libraries, the attribute is what marks a pointer; a body of that shape
// without it is an ordinary body.
//
// Resolver is a worker.Handler wrapped around another: for a pointer it opens
// the object with GetObject and hands the next handler a copy of the message
// whose Payload streams the object, so memory stays bounded whatever its
// size; other messages pass through untouched. It is a step of its own so
// that handlers which must see the pointer (batch and Lambda handlers, as
// Lambda's own SQS integration passes pointers on) are simply not wrapped,
// and so that a step which rewrites the body first (an SNS envelope) can be
// wrapped around it.
//
// Failures: an object or bucket that does not exist is permanent
// (worker.PermanentReason with "payload_missing"); anything else, access
// denied and throttling included, is retried. A read that fails while the
// handler streams the object is retried whatever the handler concluded, as
// the handler saw a truncated body.
//
// Cleanup (off by default, because an SNS topic fanning one message out to
// several queues shares one object among them) deletes the object once SQS
// has confirmed the message's delete: Queue wraps the engine's worker.Queue
// for that. Deleting earlier would dead-letter as payload_missing a message
// delivered again after its delete was lost. A dead-lettered message keeps
// its pointer and its object.
package s3payload
