package worker

import (
	"io"
	"strings"
)

// Payload is a message body stored outside SQS, as the Amazon SQS extended
// client libraries store bodies over the SQS size limit in S3 and send a
// pointer instead. A step wrapped around the handler (worker/s3payload)
// fills it in on a copy of the message it hands on; the engine's own copy
// keeps the pointer, so a dead-lettered message still points to its object.
//
// The body is a stream, never held in memory whole: handlers that can
// stream (exec's stdin, the http handler's request body) copy it through,
// and a Go handler reads it with BodyReader. It can be read once.
type Payload struct {
	// Bucket and Key name the S3 object holding the body.
	Bucket string
	Key    string
	// Size is the body's length in bytes, or -1 when unknown.
	Size int64
	// Body streams the object. The step that set it closes it once the
	// handler has returned; a handler need not read it to the end.
	Body io.Reader
}

// BodyReader returns the message's body as a stream: the payload when the
// body is stored outside SQS, else Body. Handlers that accept both kinds of
// message read the body through it.
func (m *Message) BodyReader() io.Reader {
	if m.Payload != nil {
		return m.Payload.Body
	}
	return strings.NewReader(m.Body)
}

// BodySize is the length of what BodyReader returns, or -1 when unknown.
func (m *Message) BodySize() int64 {
	if m.Payload != nil {
		return m.Payload.Size
	}
	return int64(len(m.Body))
}
