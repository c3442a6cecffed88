// Package envelope unwraps messages that reached the queue inside an SNS
// notification or an EventBridge event, so that a handler gets what was
// published rather than the wrapping.
//
// It is a worker.Handler decorator, not part of the engine: the engine
// keeps the message exactly as SQS delivered it (a dead-lettered message is
// redriven with its envelope intact), and only the handler sees the
// unwrapped copy. A handler that wants the raw delivery, such as a Lambda
// function fed SQS events, is simply not wrapped.
//
// A body that does not parse as the configured envelope fails for good: the
// error wraps worker.ErrEnvelope and is permanent with the reason
// "envelope" (worker.PermanentReason), so the engine dead-letters the
// message at once with that reason. Mode auto
// recognises each envelope by its fields and passes any other body through
// unchanged.
package envelope
