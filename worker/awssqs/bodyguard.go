package awssqs

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// bodyGuard is the SDK's HTTP client with each request body first read
// into memory and handed to net/http as a plain byte reader.
//
// Why: the SDK wraps request bodies in a closer whose WriteTo returns
// io.EOF, as an error, once the body is closed, and it closes the body as
// soon as the response headers are in. net/http's transport, after writing
// a body of known length, checks for extra bytes with one more copy from the
// body, which goes through WriteTo; and because the SDK's body is not a
// reader net/http knows to be in memory, it sends the headers and the body
// to the server before that check. When the server answers before the check
// runs (the transport's writer was descheduled, which under full CPU here
// happened about once in 50,000 requests), the check fails with io.EOF, the
// transport closes the connection, and the response still being read fails
// with "use of closed network connection" (aws-sdk-go-v2 issue #2737). For
// ReceiveMessage that lost up to ten received messages until their
// visibility timeout; for a DLQ send it made a delivered copy look failed.
// A body net/http knows is in memory has none of this: it is written with
// the headers in one piece and never touched again. It also lets the
// transport resend a request by itself when a kept-alive connection turns
// out dead before anything was written. SQS request bodies are small (the
// largest is a DLQ send, under 1 MiB), so the copy is cheap.
type bodyGuard struct {
	next aws.HTTPClient
}

func (g bodyGuard) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := readBody(req.Body, req.ContentLength)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
	}
	return g.next.Do(req)
}

// readBody reads a request body of length n (-1: unknown).
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// GuardBodies returns c with every request body handed to net/http as an
// in-memory copy (see bodyGuard in this file for why). NewClient applies it
// to the SQS client; the daemon applies it to its whole AWS configuration,
// so the scaler's clients have it too.
func GuardBodies(c aws.HTTPClient) aws.HTTPClient {
	if _, ok := c.(bodyGuard); ok || c == nil {
		return c
	}
	return bodyGuard{next: c}
}

// guardBodies installs bodyGuard in an SQS client's options.
func guardBodies(o *sqs.Options) {
	if o.HTTPClient == nil {
		return // the SDK resolves its default client before options run
	}
	o.HTTPClient = GuardBodies(o.HTTPClient)
}
