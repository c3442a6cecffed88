package awssqs

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// bodyGuard is the SDK's HTTP client with each request body reduced to
// Read and Close.
//
// Why: the SDK wraps request bodies in a closer whose WriteTo returns
// io.EOF, as an error, once the body is closed, and it closes the body as
// soon as the response headers are in. net/http's transport, after writing
// a body of known length, checks for extra bytes with one more copy from the
// body, which goes through WriteTo. When the server answers before that
// check runs (its goroutine was descheduled, which under full CPU happens
// about once in 50,000 requests here), the check fails with io.EOF, the
// transport closes the connection, and the response body still being read
// fails with "use of closed network connection" (the aws-sdk-go-v2 issue
// "use of closed network connection", #2737). For ReceiveMessage that loses
// up to ten received messages until their visibility timeout. Without
// WriteTo the check reads, and a Read at end of body returns io.EOF, which
// copying treats as the normal end. The body's bytes were all written
// before; nothing else changes.
type bodyGuard struct {
	next sqs.HTTPClient
}

// readCloser hides every method of the body but Read and Close.
type readCloser struct{ io.ReadCloser }

func (g bodyGuard) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		if _, ok := req.Body.(readCloser); !ok {
			req.Body = readCloser{req.Body}
		}
	}
	return g.next.Do(req)
}

// guardBodies installs bodyGuard in an SQS client's options.
func guardBodies(o *sqs.Options) {
	if o.HTTPClient == nil {
		return // the SDK resolves its default client before options run
	}
	if _, ok := o.HTTPClient.(bodyGuard); !ok {
		o.HTTPClient = bodyGuard{next: o.HTTPClient}
	}
}
