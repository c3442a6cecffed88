// Command fleetdemo (make fleet-demo) runs a real fleet of `sqsfleet run`
// daemons against the SQS emulator under target tracking, in compressed
// time, and draws it beside what `sqsfleet simulate` predicted for the same
// traffic and parameters.
//
// The workers, the queue and the backlog are real: a controller starts a
// daemon per instance (after a boot delay), stops one with SIGTERM to scale
// in (it drains), reads the backlog with package scaler's own Queue, adds
// the metric's lag itself (the emulator has none), and applies the
// target-tracking rules of package scaler/sim (the same Policy the
// simulator uses) with every AWS period divided by the compression factor:
// at 12, a simulated minute is 5 real seconds. The processing time is
// measured first from a daemon's own /metrics, and the prediction is made
// from it before the run; nothing is fitted to the run.
package main
