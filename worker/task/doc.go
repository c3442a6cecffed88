// Package task recognises scheduled-task messages: messages that ask the
// daemon to run one of an application's periodic tasks rather than to
// process a payload.
//
// Two forms are accepted. The first is sqsfleet's own JSON body, which the
// Terraform queue module's EventBridge Scheduler schedules send and which
// anyone can send by other means:
//
//	{"sqsfleet_task": {"name": "nightly-report", "path": "/tasks/report", "scheduled_at": "2026-12-02T03:00:00Z"}}
//
// The second is the message the Elastic Beanstalk worker daemon (sqsd)
// enqueues for a cron.yaml task: the body "elasticbeanstalk scheduled job"
// with the String attributes beanstalk.sqsd.task_name, beanstalk.sqsd.path
// and beanstalk.sqsd.scheduled_time. A Beanstalk environment's queue can thus
// be drained by sqsfleet while the two run side by side.
//
// The schedule lives outside the fleet, so no instance has to be elected to
// send it; the price is that a task, like any SQS message, is delivered at
// least once. ScheduledAt is the same on every delivery of one firing, so an
// application deduplicates on (Name, ScheduledAt).
package task
