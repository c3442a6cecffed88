package config

import (
	"strings"
	"time"
)

// Config is the daemon's whole configuration after defaults, the YAML file,
// SQSFLEET_* environment variables and flags have been merged, in that order
// of increasing precedence.
//
// Each leaf field declares one key: its name is the section's key tag and
// its own, dotted ("queue.wait_time"); default is in config syntax ("" is
// the zero value); usage is the flag's help. Every source, the redacted view
// and the check for unknown keys are derived from these tags, so adding a
// field is the only step needed to make a setting configurable everywhere.
type Config struct {
	Queue   Queue   `key:"queue"`
	Retry   Retry   `key:"retry"`
	Worker  Worker  `key:"worker"`
	Handler Handler `key:"handler"`
	Message Message `key:"message"`
	HTTP    HTTP    `key:"http"`
	Log     Log     `key:"log"`
	Health  Health  `key:"health"`
	Scaler  Scaler  `key:"scaler"`
	Payload Payload `key:"payload"`
	Tracing Tracing `key:"tracing"`
}

// Queue is the "queue" section.
type Queue struct {
	URL               string        `key:"url" usage:"URL of the SQS queue to receive from (required)"`
	DLQURL            string        `key:"dlq_url" usage:"dead-letter queue URL; empty uses the target of the queue's RedrivePolicy"`
	WaitTime          time.Duration `key:"wait_time" default:"20s" usage:"long-poll wait per ReceiveMessage, 0s..20s"`
	BatchSize         int           `key:"batch_size" default:"10" usage:"messages per ReceiveMessage, 1..10"`
	VisibilityTimeout time.Duration `key:"visibility_timeout" default:"30s" usage:"initial visibility timeout, extended while a handler runs, 1s..12h"`
	MaxAttempts       int           `key:"max_attempts" default:"5" usage:"receives before a failing message is dead-lettered, >= 1"`
}

// Retry is the "retry" section.
type Retry struct {
	BaseDelay time.Duration `key:"base_delay" default:"10s" usage:"backoff after the first failure, doubled per attempt, 0s..11h59m"`
	MaxDelay  time.Duration `key:"max_delay" default:"15m" usage:"cap on the backoff, retry.base_delay..11h59m (12h from the receive, less a minute)"`
}

// Worker is the "worker" section.
type Worker struct {
	Concurrency     int           `key:"concurrency" default:"10" usage:"handlers running at once, 1..10000"`
	ShutdownTimeout time.Duration `key:"shutdown_timeout" default:"25s" usage:"how long to wait for running handlers on SIGTERM"`
}

// Handler is the "handler" section.
type Handler struct {
	Type              string        `key:"type" usage:"\"exec\", \"http\" or \"lambda\" (required)"`
	Command           []string      `key:"command" usage:"exec handler argv, comma-separated or repeated; a single value is split on whitespace (required for exec)"`
	URL               string        `key:"url" usage:"URL the http handler POSTs each message to (required for http); lambda: invoke URLs, comma-separated, default the emulator's on localhost:9000"`
	Timeout           time.Duration `key:"timeout" default:"15m" usage:"per-message handler deadline, > 0, at most 11h59m less min(visibility_timeout, 10s); with batches it covers batch_window and the batch call"`
	PermanentStatuses []int         `key:"permanent_statuses" default:"422" usage:"http handler statuses that dead-letter at once, 400..599"`
	BatchSize         int           `key:"batch_size" default:"0" usage:"messages per handler call: 0 one at a time (lambda: min(10, worker.concurrency)); 1..worker.concurrency sends batches in Lambda's SQS event format"`
	BatchWindow       time.Duration `key:"batch_window" default:"0s" usage:"how long a batch waits to fill from several receives, 0s..5s"`
}

// LambdaURLs is handler.url split into the invoke URLs of a lambda
// handler: comma-separated, blanks ignored; none means the handler's
// default.
func (h Handler) LambdaURLs() []string { return splitURLs(h.URL) }

// splitURLs splits a comma-separated list of URLs, ignoring blanks.
func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// HTTP is the "http" section: the health and metrics listener.
type HTTP struct {
	Addr string `key:"addr" default:":8080" usage:"health and metrics listen address host:port; \"\" disables"`
}

// Message is the "message" section: how bodies are handed to handlers.
type Message struct {
	Envelope string `key:"envelope" default:"none" usage:"unwrap bodies for exec and http handlers: none, sns (SNS notifications), eventbridge (EventBridge events) or auto (either, when recognised)"`
}

// Log is the "log" section.
type Log struct {
	Level  string `key:"level" default:"info" usage:"debug, info, warn or error"`
	Format string `key:"format" default:"json" usage:"json or console"`
}

// Health is the "health" section.
type Health struct {
	UnhealthyAfter time.Duration `key:"unhealthy_after" default:"60s" usage:"report unhealthy when no receive has succeeded for this long, > 0"`
}

// Scaler is the "scaler" section: the backlog-per-instance metric that drives
// target-tracking scaling, and scale-in protection.
type Scaler struct {
	Enabled           bool          `key:"enabled" usage:"sqsfleet run also publishes the backlog-per-instance metric (and protects, with scaler.scale_in_protection)"`
	Interval          time.Duration `key:"interval" default:"60s" usage:"how often the metric is computed and published: 10s, 30s or 60s"`
	Fleet             string        `key:"fleet" default:"auto" usage:"where the fleet size comes from: asg, ecs, static or auto"`
	StaticSize        int           `key:"static_size" default:"1" usage:"fleet size when scaler.fleet is static, >= 0"`
	ASGName           string        `key:"asg_name" usage:"Auto Scaling group name; empty discovers it from the instance metadata"`
	ECSCluster        string        `key:"ecs_cluster" usage:"ECS cluster name or ARN; empty reads it from the task metadata endpoint"`
	ECSService        string        `key:"ecs_service" usage:"ECS service name; empty reads it from the task metadata endpoint"`
	Publisher         string        `key:"publisher" default:"cloudwatch" usage:"how the metric is published: cloudwatch (PutMetricData), emf (a log line on stdout) or none"`
	Namespace         string        `key:"namespace" default:"SQSFleet" usage:"CloudWatch namespace of the metric"`
	MetricName        string        `key:"metric_name" default:"BacklogPerInstance" usage:"CloudWatch metric name"`
	DimensionName     string        `key:"dimension_name" default:"QueueName" usage:"name of the metric's one dimension; \"\" publishes none"`
	DimensionValue    string        `key:"dimension_value" usage:"value of the dimension; empty uses the queue's name"`
	IncludeInFlight   bool          `key:"include_in_flight" usage:"count messages in flight (ApproximateNumberOfMessagesNotVisible) as backlog"`
	IncludeDelayed    bool          `key:"include_delayed" usage:"count delayed messages (ApproximateNumberOfMessagesDelayed) as backlog"`
	LeaderOnly        bool          `key:"leader_only" usage:"publish from one elected daemon instead of every daemon (asg and ecs fleets)"`
	ScaleInProtection bool          `key:"scale_in_protection" usage:"protect this instance or task from scale-in while it holds messages"`
	ProtectionHold    time.Duration `key:"protection_hold_down" default:"30s" usage:"how long the worker must be idle before protection is released, 1s..1h"`
	InstanceID        string        `key:"instance_id" usage:"this EC2 instance's id; empty reads it from IMDSv2"`
}

// Payload is the "payload" section: message bodies stored in S3 by the SQS
// extended client libraries.
type Payload struct {
	S3Resolve   bool `key:"s3_resolve" default:"true" usage:"read bodies the SQS extended client libraries stored in S3 and stream them to exec and http handlers"`
	S3Cleanup   bool `key:"s3_cleanup" usage:"delete a payload's S3 object after its message succeeded (not with SNS fan-out, which shares the object)"`
	S3PathStyle bool `key:"s3_path_style" usage:"address S3 buckets in the path (S3-compatible stores, emulators) instead of the host name"`
}

// Tracing is the "tracing" section: OpenTelemetry spans of message
// processing, exported with OTLP over HTTP. The exporter's own OTEL_*
// environment variables (headers, TLS, sampling, batching) apply too.
type Tracing struct {
	Enabled     bool   `key:"enabled" usage:"record one OpenTelemetry span per message and export it with OTLP over HTTP"`
	Endpoint    string `key:"endpoint" usage:"OTLP/HTTP collector base URL (/v1/traces is appended); \"\" uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else the exporter's default, localhost:4318"`
	ServiceName string `key:"service_name" default:"sqsfleet" usage:"the spans' service.name resource attribute"`
}
