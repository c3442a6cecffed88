// Package ratelog keeps a failure that repeats from flooding the log. While
// SQS or an AWS API is down, every poller, heartbeat and scaler interval
// fails the same way every few seconds, and the first line says all there is
// to say; a line every Every, with a count of the ones left out, says the
// rest.
//
// It is zap's own sampler (zapcore.NewSamplerWithOptions) keyed, as zap's
// sampler is, by level and message: each distinct message is limited on its
// own, so a flood of one failure (receives during an outage) cannot use up
// the allowance of another (visibility extensions, whose failures put
// messages at risk). The sampler's hook counts what it drops, and the next
// line written with the same message carries that count in the "suppressed"
// field. A caller that learns the failure is over can ask how many lines went
// unlogged (Unlogged) to say so in its recovery line.
//
// Only the failure lines go through a Logger from this package; everything
// else a component logs goes to its plain logger, unsampled.
package ratelog
