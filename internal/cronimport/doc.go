// Package cronimport turns an Elastic Beanstalk cron.yaml into the Terraform
// queue module's schedules value, for `sqsfleet schedules import`.
//
// cron.yaml schedules are Unix cron expressions evaluated in UTC; the queue
// module's are EventBridge Scheduler expressions. Convert translates only
// what means exactly the same in both and refuses the rest, naming the line,
// rather than produce a schedule that fires at other times than the old one
// did. The main gap is the two day fields: Unix cron fires when either the
// day of the month or the day of the week matches (or, when one of them
// starts with *, when both do), while EventBridge takes one of them and
// needs ? in the other.
package cronimport
