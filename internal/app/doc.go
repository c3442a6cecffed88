// Package app is the composition root: it parses the command line, loads the
// configuration, and builds the logger, the metrics registry, the AWS clients
// and the long-lived services, then runs them and decides the exit code.
// No other package knows how everything is put together; cmd/sqsfleet only
// calls Main.
package app
