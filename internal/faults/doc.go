// Package faults is the one fault model for sqsfleet's tests and tools: a
// seeded, per-request decision (throttle, server error, connection reset,
// lost response, delay) with a rate per kind, optionally limited to one
// operation, plus counters of requests and faults by operation.
//
// Why one model: the strict SQS test double (internal/sqstest) and the
// fault-injecting proxy of the benchmark both need the same kinds of
// failure, drawn the same way, so that a failure seen in one can be replayed
// in the other from its seed. The model itself knows nothing about SQS or
// HTTP; Middleware applies a decision in front of any http.Handler that
// speaks an AWS JSON protocol.
//
// The kinds and what a client sees:
//   - Throttle: the request is refused before it is acted on, with the error
//     the service documents for throttling (SQS: RequestThrottled, HTTP 403
//     in its smithy model, which the SDK's retryer counts as a throttle).
//   - ServerError: HTTP 500 InternalError, not acted on; the SDK retries it.
//   - Reset: the connection is closed (RST) before the request is acted on.
//   - Lost: the request IS acted on, then the connection is closed without a
//     response: the client cannot tell it from Reset, which is exactly the
//     case (a receive that hid messages, a send that enqueued one) that
//     idempotency tokens and visibility timeouts exist for.
//   - Delay: the request is held for a random time up to a maximum, then
//     served normally.
//
// A fixed Latency can be added to every request on top of these.
package faults
