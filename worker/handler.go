package worker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Handler processes one message. Returning nil means success and the message
// is deleted. Returning an error wrapped with Permanent sends the message to
// the dead-letter queue at once; an error wrapped with RetryAfter asks for the
// message to come back after that delay; any other error is retried with
// exponential backoff until queue.max_attempts, then dead-lettered.
//
// ctx is cancelled when handler.timeout passes or when the daemon gives up
// waiting at shutdown; a handler should return promptly when it is.
// Delivery is at least once: a handler must be idempotent.
type Handler interface {
	Handle(ctx context.Context, m *Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message) error

// Handle calls f(ctx, m).
func (f HandlerFunc) Handle(ctx context.Context, m *Message) error { return f(ctx, m) }

// permanentError marks a failure that retrying cannot fix.
type permanentError struct {
	err    error
	reason string // the failure record's reason; "" means "permanent"
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying will not fix (bad input, a
// message the handler can never process). The engine dead-letters the
// message without further attempts. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// PermanentReason is Permanent with reason recorded as the failure record's
// reason (and logged) instead of "permanent", for a step before the handler
// that knows the cause better than "the handler said so": "payload_missing"
// when the body stored in S3 is gone. An empty reason is "permanent".
// PermanentReason(nil, reason) is nil.
func PermanentReason(err error, reason string) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err, reason: reason}
}

// permanentReason is the failure record's reason for a Permanent err.
func permanentReason(err error) string {
	var p *permanentError
	if errors.As(err, &p) && p.reason != "" {
		return p.reason
	}
	return reasonPermanent
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ErrEnvelope is wrapped by the error of a message whose body is not in the
// envelope the daemon expects (worker/envelope). Retrying cannot change a
// body, so such an error is also permanent, with the reason "envelope"
// (PermanentReason) rather than "permanent": it tells the body (or the
// subscription that produced it) apart from a handler's own verdict.
var ErrEnvelope = errors.New("not in the expected envelope")

// RetryAfterError asks for the message to be retried after Delay rather than
// after the computed backoff, as an HTTP 429 or 503 with Retry-After does.
type RetryAfterError struct {
	Err   error
	Delay time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.Delay)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with a requested retry delay. RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, Delay: d}
}
