package config

import (
	"encoding/csv"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "SQSFLEET_"

// ConfigFlag names the YAML file. It has no default path: a daemon that
// picks up a stray ./sqsfleet.yaml is harder to reason about.
const ConfigFlag = "config"

// Config is the daemon's whole configuration, shaped like the YAML file.
// Each leaf field declares a key, named by its section's key tag and its
// own ("queue.wait_time"); env var, flag, redaction and the unknown-key check
// derive from the tags, so a field is all a new setting needs. default is in
// config syntax. check is a rule of the key alone: "lo..hi" or "lo.." bounds
// a number, duration (" whole": in seconds) or string's length (" ascii":
// printable), "a|b" lists the choices, "url" asks for an absolute http(s)
// URL if set.
type Config struct {
	Queue struct {
		URL               string        `key:"url" check:"url" usage:"URL of the SQS queue to receive from (required)"`
		DLQURL            string        `key:"dlq_url" check:"url" usage:"dead-letter queue URL; empty uses the target of the queue's RedrivePolicy"`
		WaitTime          time.Duration `key:"wait_time" default:"20s" check:"0s..20s whole" usage:"long-poll wait per ReceiveMessage, 0s..20s"`
		BatchSize         int           `key:"batch_size" default:"10" check:"1..10" usage:"messages per ReceiveMessage, 1..10"`
		VisibilityTimeout time.Duration `key:"visibility_timeout" default:"30s" check:"1s..12h whole" usage:"initial visibility timeout, extended while a handler runs, 1s..12h"`
		MaxAttempts       int           `key:"max_attempts" default:"5" check:"1.." usage:"receives before a failing message is dead-lettered, >= 1"`
	} `key:"queue"`
	Retry struct {
		BaseDelay time.Duration `key:"base_delay" default:"10s" check:"0s..11h59m" usage:"backoff after the first failure, doubled per attempt, 0s..11h59m"`
		MaxDelay  time.Duration `key:"max_delay" default:"15m" usage:"cap on the backoff, retry.base_delay..11h59m (12h from the receive, less a minute)"`
	} `key:"retry"`
	Worker struct {
		Concurrency     int           `key:"concurrency" default:"10" check:"1..10000" usage:"handlers running at once, 1..10000"`
		ShutdownTimeout time.Duration `key:"shutdown_timeout" default:"25s" check:"0s.." usage:"how long to wait for running handlers on SIGTERM"`
	} `key:"worker"`
	Handler struct {
		Type              string        `key:"type" usage:"\"exec\", \"http\" or \"lambda\" (required)"`
		Command           []string      `key:"command" usage:"exec handler argv, comma-separated or repeated; a single value is split on whitespace (required for exec)"`
		URL               string        `key:"url" usage:"URL the http handler POSTs each message to (required for http); lambda: invoke URLs, comma-separated, default the emulator's on localhost:9000"`
		Timeout           time.Duration `key:"timeout" default:"15m" usage:"per-message handler deadline, > 0, at most 11h59m less min(visibility_timeout, 10s); with batches it covers batch_window and the batch call"`
		PermanentStatuses []int         `key:"permanent_statuses" default:"422" usage:"http handler statuses that dead-letter at once, 400..599"`
		BatchSize         int           `key:"batch_size" usage:"messages per handler call: 0 one at a time (lambda: min(10, worker.concurrency)); 1..worker.concurrency sends batches in Lambda's SQS event format"`
		BatchWindow       time.Duration `key:"batch_window" check:"0s..5s" usage:"how long a batch waits to fill from several receives, 0s..5s"`
	} `key:"handler"`
	Message struct { // how bodies are handed to handlers
		Envelope string `key:"envelope" default:"none" check:"none|sns|eventbridge|auto" usage:"unwrap bodies for exec and http handlers: none, sns (SNS notifications), eventbridge (EventBridge events) or auto (either, when recognised)"`
	} `key:"message"`
	HTTP struct { // the health and metrics listener
		Addr string `key:"addr" default:":8080" usage:"health and metrics listen address host:port; \"\" disables"`
	} `key:"http"`
	Log struct {
		Level  string `key:"level" default:"info" check:"debug|info|warn|error" usage:"debug, info, warn or error"`
		Format string `key:"format" default:"json" check:"json|console" usage:"json or console"`
	} `key:"log"`
	Health struct {
		UnhealthyAfter time.Duration `key:"unhealthy_after" default:"60s" usage:"report unhealthy when no receive has succeeded for this long, > 0"`
	} `key:"health"`
	Scaler struct { // the backlog-per-instance metric and scale-in protection
		Enabled           bool          `key:"enabled" usage:"sqsfleet run also publishes the backlog-per-instance metric (and protects, with scaler.scale_in_protection)"`
		Interval          time.Duration `key:"interval" default:"60s" check:"10s|30s|60s" usage:"how often the metric is computed and published: 10s, 30s or 60s"`
		Fleet             string        `key:"fleet" default:"auto" check:"asg|ecs|static|auto" usage:"where the fleet size comes from: asg, ecs, static or auto"`
		StaticSize        int           `key:"static_size" default:"1" check:"0..1000000" usage:"fleet size when scaler.fleet is static, >= 0"`
		ASGName           string        `key:"asg_name" check:"0..255" usage:"Auto Scaling group name; empty discovers it from the instance metadata"`
		ECSCluster        string        `key:"ecs_cluster" usage:"ECS cluster name or ARN; empty reads it from the task metadata endpoint"`
		ECSService        string        `key:"ecs_service" usage:"ECS service name; empty reads it from the task metadata endpoint"`
		Publisher         string        `key:"publisher" default:"cloudwatch" check:"cloudwatch|emf|none" usage:"how the metric is published: cloudwatch (PutMetricData), emf (a log line on stdout) or none"`
		Namespace         string        `key:"namespace" default:"SQSFleet" check:"1..255 ascii" usage:"CloudWatch namespace of the metric"`
		MetricName        string        `key:"metric_name" default:"BacklogPerInstance" check:"1..255 ascii" usage:"CloudWatch metric name"`
		DimensionName     string        `key:"dimension_name" default:"QueueName" check:"0..255 ascii" usage:"name of the metric's one dimension; \"\" publishes none"`
		DimensionValue    string        `key:"dimension_value" check:"0..1024 ascii" usage:"value of the dimension; empty uses the queue's name"`
		IncludeInFlight   bool          `key:"include_in_flight" usage:"count messages in flight (ApproximateNumberOfMessagesNotVisible) as backlog"`
		IncludeDelayed    bool          `key:"include_delayed" usage:"count delayed messages (ApproximateNumberOfMessagesDelayed) as backlog"`
		LeaderOnly        bool          `key:"leader_only" usage:"publish from one elected daemon instead of every daemon (asg and ecs fleets)"`
		ScaleInProtection bool          `key:"scale_in_protection" usage:"protect this instance or task from scale-in while it holds messages"`
		ProtectionHold    time.Duration `key:"protection_hold_down" default:"30s" check:"1s..1h" usage:"how long the worker must be idle before protection is released, 1s..1h"`
		InstanceID        string        `key:"instance_id" usage:"this EC2 instance's id; empty reads it from IMDSv2"`
	} `key:"scaler"`
	Payload struct { // bodies the SQS extended client libraries put in S3
		S3Resolve   bool `key:"s3_resolve" default:"true" usage:"read bodies the SQS extended client libraries stored in S3 and stream them to exec and http handlers"`
		S3Cleanup   bool `key:"s3_cleanup" usage:"delete a payload's S3 object after its message succeeded (not with SNS fan-out, which shares the object)"`
		S3PathStyle bool `key:"s3_path_style" usage:"address S3 buckets in the path (S3-compatible stores, emulators) instead of the host name"`
	} `key:"payload"`
	Tracing struct { // OpenTelemetry spans over OTLP/HTTP (OTEL_* variables apply too)
		Enabled     bool   `key:"enabled" usage:"record one OpenTelemetry span per message and export it with OTLP over HTTP"`
		Endpoint    string `key:"endpoint" check:"url" usage:"OTLP/HTTP collector base URL (/v1/traces is appended); \"\" uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else the exporter's default, localhost:4318"`
		ServiceName string `key:"service_name" default:"sqsfleet" usage:"the spans' service.name resource attribute"`
	} `key:"tracing"`
}

// LambdaURLs is handler.url split into a lambda handler's invoke URLs.
func (c *Config) LambdaURLs() []string { return splitURLs(c.Handler.URL) }

// splitURLs splits a list at commas, and spaces, which URLs hold encoded.
func splitURLs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// key is one configuration key, as a leaf field of Config declares it.
type key struct {
	name, def, check, usage string
	index                   []int // of the field in Config
}

// keys lists every key in Config's order, the reference file's and reports'.
var keys = func() []key {
	var out []key
	for _, sec := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		for _, f := range reflect.VisibleFields(sec.Type) {
			tag := f.Tag.Get
			out = append(out, key{sec.Tag.Get("key") + "." + tag("key"), tag("default"), tag("check"), tag("usage"),
				[]int{sec.Index[0], f.Index[0]}})
		}
	}
	return out
}()

func (k key) field(c *Config) reflect.Value { return reflect.ValueOf(c).Elem().FieldByIndex(k.index) }

// Defaults returns the configuration no source changed (queue.url and
// handler.type unset), decoding the default tags as users write values.
func Defaults() *Config {
	v, c := viper.New(), &Config{}
	for _, k := range keys {
		if k.def != "" {
			v.Set(k.name, k.def)
		}
		if err := k.decode(v, c); err != nil {
			panic("config: default of " + k.name + ": " + err.Error())
		}
	}
	return c
}

// EnvVar returns the environment variable that sets key: SQSFLEET_QUEUE_URL.
func EnvVar(key string) string { return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_")) }

// Flags registers --config and a flag per key on fs, named like the key.
// Load applies only flags the user set, so none masks the file or env.
func Flags(fs *pflag.FlagSet) {
	fs.String(ConfigFlag, "", "YAML config file; empty reads no file")
	for _, k := range keys {
		// --help shows pflag's names: string, int, duration, bool, strings, ints.
		typ := strings.NewReplacer("time.D", "d", "[]string", "strings", "[]int", "ints").Replace(reflect.TypeFor[Config]().FieldByIndex(k.index).Type.String())
		f := fs.VarPF(&flagText{typ: typ}, k.name, "", k.usage+" (env "+EnvVar(k.name)+")")
		f.DefValue = k.def // for --help
		if typ == "bool" {
			f.NoOptDefVal = "true"
		}
	}
}

// flagText is a key's flag: its text is decoded like an env var's, so that
// a bad flag is reported like one.
type flagText struct {
	typ  string   // what --help shows
	vals []string // a list's values, or a scalar's last
}

func (f *flagText) String() string { return strings.Join(f.vals, ",") }
func (f *flagText) Type() string   { return f.typ }
func (f *flagText) Set(s string) error {
	if !strings.HasSuffix(f.typ, "s") || s == "" {
		f.vals = []string{s} // a scalar's last value; "" empties a list
		return nil
	}
	// Comma-separated, in CSV for a comma inside a value, as pflag's lists.
	vals, err := csv.NewReader(strings.NewReader(s)).Read()
	f.vals = append(f.vals, vals...)
	return err
}
