// Package sim models a fleet of sqsfleet workers under target tracking, to
// see how it will scale before it is deployed: traffic arrives, workers
// boot, take messages and drain, the daemon publishes backlog per instance
// as package scaler does, and CloudWatch alarms and the scaling service
// resize the fleet by the rules AWS documents for target-tracking policies.
//
// The model is discrete in time (a step of at most a second) and carries
// counts, not messages: the queue is a list of arrival cohorts, the
// handlers a ring of slot occupancy over the coming steps built from the
// processing-time distribution. A day of a million messages a second over
// thousands of instances therefore costs the same as a day of ten.
//
// [Policy] is the target-tracking rules on their own, one datapoint per
// alarm period, so that a controller driving real processes can apply the
// same rules. Nothing here talks to AWS.
package sim
