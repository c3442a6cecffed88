// Package otelspan records one OpenTelemetry span per message the daemon
// processes, so that a trace backend shows the consumer's work next to the
// producer's.
//
// Wrap is a worker.Handler decorator meant to be the outermost one: the span
// covers everything done for a delivery (unwrapping an envelope, reading a
// payload from S3, the handler itself). Each span is a "process" operation
// of kind consumer, named "process <queue name>", with the messaging
// semantic conventions' attributes for Amazon SQS, and ends with an error
// status when processing failed.
//
// The producer's context is a link, not the parent: a message may be
// processed long after it was sent, and several times, and the messaging
// conventions model that as a separate trace linked to the creation
// context. The context comes from the W3C traceparent/tracestate message
// attributes (as OpenTelemetry's SQS instrumentations write them) and from
// the AWSTraceHeader system attribute (X-Ray's header, which SQS fills in
// for producers traced by X-Ray), whose root and parent map directly onto a
// W3C trace id and span id.
//
// NewProvider builds the tracer provider that exports those spans with
// OTLP over HTTP; its Shutdown flushes what is still buffered.
package otelspan
