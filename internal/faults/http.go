package faults

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// TargetOperation returns the operation of an AWS JSON protocol request, the
// part of its X-Amz-Target header after the last dot ("AmazonSQS.ReceiveMessage"
// gives "ReceiveMessage"), or "" when the header is missing.
func TargetOperation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	return t[strings.LastIndexByte(t, '.')+1:]
}

// ErrorResponse is an AWS JSON 1.0 error: the body's __type and message, and
// the X-Amzn-Query-Error header that query-compatible services (SQS) send
// and the SDK takes the error code from.
type ErrorResponse struct {
	Status     int
	Type       string // __type
	QueryError string // X-Amzn-Query-Error, e.g. "RequestThrottled;Sender"
	Message    string
}

// Write sends the error response.
func (e ErrorResponse) Write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if e.QueryError != "" {
		w.Header().Set("X-Amzn-Query-Error", e.QueryError)
	}
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, e.Type, e.Message)
}

// SQS's answers for the two refusals, as its smithy model declares them:
// RequestThrottled is a client fault with HTTP 403 and query code
// "RequestThrottled", which is in the SDK's retry.DefaultThrottleErrorCodes;
// an internal error is a 500, which the SDK retries by status.
var (
	SQSThrottled = ErrorResponse{Status: http.StatusForbidden, Type: "com.amazonaws.sqs#RequestThrottled",
		QueryError: "RequestThrottled;Sender", Message: "Rate exceeded (injected fault)"}
	SQSInternalError = ErrorResponse{Status: http.StatusInternalServerError, Type: "InternalError",
		QueryError: "InternalError;Receiver", Message: "We encountered an internal error. Please try again. (injected fault)"}
)

// Middleware applies m's decision to every request before next sees it.
// Throttle and ServerError answer with throttled and internal; Reset closes
// the connection without reading the request; Lost runs next into a
// response writer that discards everything, then closes the connection;
// Delay and Latency hold the request (or end it, unanswered, when the client
// gives up first). op names a request's operation (TargetOperation for AWS
// JSON protocols).
func Middleware(m *Model, op func(*http.Request) string, throttled, internal ErrorResponse, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := m.Decide(op(r))
		if f.Hold > 0 {
			t := time.NewTimer(f.Hold)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
		switch f.Kind {
		case Throttle:
			throttled.Write(w)
		case ServerError:
			internal.Write(w)
		case Reset:
			abort(w)
		case Lost:
			next.ServeHTTP(&discard{h: http.Header{}}, r)
			abort(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

type faultKey struct{}

// FromContext returns the decision Middleware made for the request whose
// context this is (the zero Fault outside Middleware), so the handler it
// lets through (a request served normally, or a lost response) can record it.
func FromContext(ctx context.Context) Fault {
	f, _ := ctx.Value(faultKey{}).(Fault)
	return f
}

// abort closes the client's connection without a response. On TCP it sets
// linger 0 so the close is an RST, as a dropped middlebox or a dead server
// looks to the client; without a hijackable connection (HTTP/2) it panics
// with http.ErrAbortHandler, which net/http turns into a reset stream.
func abort(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// discard is the ResponseWriter of a lost response: the handler's work is
// done, its answer goes nowhere.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discard) WriteHeader(int)             {}
