package config

import "time"

// Config is the daemon's whole configuration after defaults, the YAML file,
// SQSFLEET_* environment variables and flags have been merged, in that order
// of increasing precedence. Field comments give the key and its default.
type Config struct {
	Queue   Queue
	Retry   Retry
	Worker  Worker
	Handler Handler
	HTTP    HTTP
	Log     Log
	Health  Health
	Scaler  Scaler
	Payload Payload
}

// Queue is the "queue" section.
type Queue struct {
	URL               string        // queue.url, required
	DLQURL            string        // queue.dlq_url, default "" (use the queue's redrive policy target)
	WaitTime          time.Duration // queue.wait_time, default 20s, 0..20s
	BatchSize         int           // queue.batch_size, default 10, 1..10
	VisibilityTimeout time.Duration // queue.visibility_timeout, default 30s, 1s..12h, whole seconds
	MaxAttempts       int           // queue.max_attempts, default 5, >= 1
}

// Retry is the "retry" section.
type Retry struct {
	BaseDelay time.Duration // retry.base_delay, default 10s, >= 0
	MaxDelay  time.Duration // retry.max_delay, default 15m, >= base_delay, <= 12h
}

// Worker is the "worker" section.
type Worker struct {
	Concurrency     int           // worker.concurrency, default 10, >= 1
	ShutdownTimeout time.Duration // worker.shutdown_timeout, default 25s, >= 0
}

// Handler is the "handler" section.
type Handler struct {
	Type              string        // handler.type: "exec" or "http", required
	Command           []string      // handler.command: argv for exec; env var split on spaces
	URL               string        // handler.url: where the http handler POSTs
	Timeout           time.Duration // handler.timeout, default 15m, > 0
	PermanentStatuses []int         // handler.permanent_statuses, default [422]: http statuses that dead-letter at once
}

// HTTP is the "http" section: the health and metrics listener.
type HTTP struct {
	Addr string // http.addr, default ":8080"; "" disables the listener
}

// Log is the "log" section.
type Log struct {
	Level  string // log.level: debug, info, warn, error; default info
	Format string // log.format: json or console; default json
}

// Health is the "health" section.
type Health struct {
	UnhealthyAfter time.Duration // health.unhealthy_after, default 60s, > 0
}

// Scaler is the "scaler" section: the backlog-per-instance metric that drives
// target-tracking scaling, and scale-in protection.
type Scaler struct {
	Enabled           bool          // scaler.enabled, default false: `sqsfleet run` also runs the scaler loop
	Interval          time.Duration // scaler.interval, default 60s; 10s, 30s or 60s
	Fleet             string        // scaler.fleet: asg, ecs, static or auto; default auto
	StaticSize        int           // scaler.static_size, default 1, >= 0: the fleet size for fleet static
	ASGName           string        // scaler.asg_name, default "" (discovered from IMDS)
	ECSCluster        string        // scaler.ecs_cluster, default "" (from the task metadata endpoint)
	ECSService        string        // scaler.ecs_service, default "" (from the task metadata endpoint)
	Publisher         string        // scaler.publisher: cloudwatch, emf or none; default cloudwatch
	Namespace         string        // scaler.namespace, default "SQSFleet"
	MetricName        string        // scaler.metric_name, default "BacklogPerInstance"
	DimensionName     string        // scaler.dimension_name, default "QueueName"; "" publishes no dimension
	DimensionValue    string        // scaler.dimension_value, default "" (the queue's name)
	IncludeInFlight   bool          // scaler.include_in_flight, default false: add ApproximateNumberOfMessagesNotVisible
	IncludeDelayed    bool          // scaler.include_delayed, default false: add ApproximateNumberOfMessagesDelayed
	LeaderOnly        bool          // scaler.leader_only, default false: publish from one elected daemon only
	ScaleInProtection bool          // scaler.scale_in_protection, default false
	ProtectionHold    time.Duration // scaler.protection_hold_down, default 30s: idle time before protection is released
	InstanceID        string        // scaler.instance_id, default "" (from IMDSv2)
}

// Payload is the "payload" section: message bodies stored in S3 by the SQS
// extended client libraries.
type Payload struct {
	S3Resolve   bool // payload.s3_resolve, default true: stream the S3 object a pointer names to exec and http handlers
	S3Cleanup   bool // payload.s3_cleanup, default false: delete the object once the message is deleted after success
	S3PathStyle bool // payload.s3_path_style, default false: path-style S3 URLs, for S3-compatible stores and emulators
}
