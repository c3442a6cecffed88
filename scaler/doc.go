// Package scaler computes and publishes the metric that scales a fleet of
// sqsfleet workers, and protects busy workers from scale-in.
//
// # The model
//
// AWS's recommended way to scale SQS consumers is target tracking on
// backlog per instance: the messages waiting divided by the instances that
// take them. The policy's target is the acceptable backlog per instance,
// acceptable latency divided by the average processing time per message
// (times the messages one instance handles at once). The policy then keeps
// adding or removing instances so that the metric stays at the target.
//
// The value is backlog / max(1, fleet size), rounded to two decimals:
//   - backlog is ApproximateNumberOfMessages from GetQueueAttributes,
//     optionally plus the messages in flight (NotVisible) and the delayed
//     ones;
//   - fleet size comes from a [FleetSizer]: the InService instances of an
//     Auto Scaling group ([ASGFleet]), the running tasks of an ECS service
//     ([ECSFleet]) or a fixed number ([StaticFleet]).
//
// An empty fleet counts as one instance. Otherwise a queue with a backlog and
// no workers would publish 0 (or nothing), and a policy could never scale
// the fleet out from zero: the classic way to get this wrong by hand.
//
// # Who publishes
//
// By default every daemon computes and publishes the same value. CloudWatch
// aggregates the datapoints of one minute and target tracking uses their
// average, so identical values from many daemons change nothing but the
// number of PutMetricData calls. With an [Elector] only the elected daemon
// publishes (the lowest InService instance id, or the lowest running task
// ARN); an election that fails publishes anyway, because a duplicate value
// is harmless and a missing one stalls the policy.
//
// # Scale-in protection
//
// A [Guard] turns scale-in protection of its own instance or task on when
// the worker starts holding messages and off once it has been idle for a
// hold-down period, so a worker between two messages does not flap, and off
// when it stops. Protection that lapses by itself (ECS task protection) is
// renewed before it does. EC2 instance protection does not lapse: a daemon
// killed with SIGKILL leaves it on, which is why a Guard also clears it when
// it starts idle.
//
// # Failures
//
// Nothing here is fatal to the worker. A failed GetQueueAttributes, fleet
// lookup, publish or protection call is counted in
// sqsfleet_scaler_errors_total{operation}, logged at most every 30 seconds
// per operation (with the number of repeats), and tried again at the next
// interval. Discovery (this instance's id, its Auto Scaling group, its ECS
// service) is retried the same way, so a fleet that starts while an API is
// unavailable comes right by itself.
//
// This package never imports package worker: the engine's activity reaches
// a Guard through the one-method [Activity] interface, wired in internal/app.
package scaler
