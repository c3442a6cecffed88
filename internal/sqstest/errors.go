package sqstest

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an SQS error response. Code is what the SDK reports as the
// error code: SQS is query-compatible, so that is the X-Amzn-Query-Error
// code (e.g. "AWS.SimpleQueueService.NonExistentQueue"), while Type is the
// JSON body's __type.
type Error struct {
	Status  int
	Type    string
	Code    string
	Message string
	Sender  bool // the caller's fault (Sender) or SQS's (Receiver)
}

func (e *Error) Error() string { return "sqstest: " + e.Code + ": " + e.Message }

// ErrConnectionReset is returned by the Go API for an injected reset: the
// request was not acted on. ErrResponseLost is returned for an injected lost
// response: the request WAS acted on.
var (
	ErrConnectionReset = errors.New("sqstest: connection reset (injected fault, not acted on)")
	ErrResponseLost    = errors.New("sqstest: response lost (injected fault, acted on)")
)

func senderErr(typ, code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: typ, Code: code, Message: fmt.Sprintf(format, args...), Sender: true}
}

func invalidParam(format string, args ...any) *Error {
	return senderErr("com.amazon.coral.service#InvalidParameterValueException", "InvalidParameterValue", format, args...)
}

// badValue is SQS's wording for a parameter out of its range.
func badValue(param string, v any, reason string) *Error {
	return invalidParam("Value %v for parameter %s is invalid. Reason: %s", v, param, reason)
}

func missingParam(name string) *Error {
	return senderErr("com.amazon.coral.service#MissingParameterException", "MissingParameter",
		"The request must contain the parameter %s.", name)
}

func noQueue() *Error {
	return senderErr("com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
		"The specified queue does not exist.")
}

func throttled() *Error {
	return &Error{Status: http.StatusForbidden, Type: "com.amazonaws.sqs#RequestThrottled", Code: "RequestThrottled",
		Message: "Rate exceeded (injected fault)", Sender: true}
}

func internalError() *Error {
	return &Error{Status: http.StatusInternalServerError, Type: "InternalError", Code: "InternalError",
		Message: "We encountered an internal error. Please try again. (injected fault)"}
}

// Batch-level errors, with the codes of SQS's smithy model.
func emptyBatch() *Error {
	return senderErr("com.amazonaws.sqs#EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
		"There should be at least one SendMessageBatchRequestEntry in the request.")
}

func tooManyEntries(n int) *Error {
	return senderErr("com.amazonaws.sqs#TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
		"Maximum number of entries per request are 10. You have sent %d.", n)
}

func idsNotDistinct(id string) *Error {
	return senderErr("com.amazonaws.sqs#BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
		"Id %s repeated.", id)
}

func invalidEntryID(id string) *Error {
	return senderErr("com.amazonaws.sqs#InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
		"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. Got %q.", id)
}

func batchTooLong(n, limit int) *Error {
	return senderErr("com.amazonaws.sqs#BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
		"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", limit, n)
}

// Per-message errors, as single calls return them and as batch entries
// carry their Code and Message.
func receiptInvalid(rh string) *Error {
	return senderErr("com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
		"The input receipt handle %q is not a valid receipt handle.", rh)
}

func receiptExpired(rh string) *Error {
	return senderErr("com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
		"The receipt handle has expired: %q.", rh)
}

func notInflight() *Error {
	return senderErr("com.amazonaws.sqs#MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
		"The message referred to isn't in flight.")
}

// BatchResultError is a failed entry of a batch call.
type BatchResultError struct {
	ID          string
	Code        string
	Message     string
	SenderFault bool
}

func entryErr(id string, err error) BatchResultError {
	var e *Error
	if errors.As(err, &e) {
		return BatchResultError{ID: id, Code: e.Code, Message: e.Message, SenderFault: e.Sender}
	}
	return BatchResultError{ID: id, Code: "InternalError", Message: err.Error()}
}
