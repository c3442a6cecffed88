// Package e2e holds the end-to-end tests: the engine with its real SQS
// adapter and real handlers against the fauxqs emulator, and the sqsfleet
// binary itself run as a subprocess the way systemd or ECS runs it. It has
// no non-test code; its subpackage lambdafn is the Lambda function the
// lambda handler's tests run under AWS's Runtime Interface Emulator.
package e2e
