// Package redact is the one rule for printing a URL that may carry
// credentials: the configuration's start-up log and validation messages, the
// daemon's logs, and the http handler's errors (which end up in logs and in
// the sqsfleet-failure record on the dead-letter queue) all print URLs
// through it, so a token hidden in one place cannot show in another.
//
// It sits apart from internal/config because the engine's handlers need it
// too, and the engine must not import the configuration package.
package redact
