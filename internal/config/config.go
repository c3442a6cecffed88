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
