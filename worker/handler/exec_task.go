package handler

import (
	"time"

	"github.com/sqsfleet/sqsfleet/worker/task"
)

// Environment variables the exec handler sets for a scheduled task (see
// package task), on top of the message's usual ones. They are reserved like
// those: unset for an ordinary message, whatever the daemon's environment
// holds.
const (
	// EnvTaskName is the task's name.
	EnvTaskName = "SQSFLEET_TASK_NAME"
	// EnvTaskPath is the task's path, as the schedule gives it.
	EnvTaskPath = "SQSFLEET_TASK_PATH"
	// EnvTaskScheduledAt is when the schedule fired, UTC, RFC 3339 to the
	// second: the same on every delivery of one firing.
	EnvTaskScheduledAt = "SQSFLEET_TASK_SCHEDULED_AT"
)

func taskEnv(t task.Task) []string {
	return []string{
		EnvTaskName + "=" + t.Name,
		EnvTaskPath + "=" + t.Path,
		EnvTaskScheduledAt + "=" + t.ScheduledAt.UTC().Format(time.RFC3339),
	}
}
