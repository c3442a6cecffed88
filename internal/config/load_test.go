package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// base holds the smallest set of keys that validates; cases layer their
// mistake on top of it so each one reports exactly one problem.
var base = map[string]string{
	"queue.url":       "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
	"handler.type":    "exec",
	"handler.command": "[worker]",
}

// yamlWith renders base with over applied as a nested YAML file. Keys are
// dotted; values are YAML snippets; "-" deletes a base key; a key without a
// dot is written at the top level as is.
func yamlWith(over map[string]string) string {
	kv := maps.Clone(base)
	for k, v := range over {
		if v == "-" {
			delete(kv, k)
		} else {
			kv[k] = v
		}
	}
	var b strings.Builder
	sections := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		sec, leaf, ok := strings.Cut(k, ".")
		if !ok {
			fmt.Fprintf(&b, "%s: %s\n", k, kv[k])
			continue
		}
		sections[sec] = append(sections[sec], fmt.Sprintf("  %s: %s\n", leaf, kv[k]))
	}
	for _, sec := range slices.Sorted(maps.Keys(sections)) {
		b.WriteString(sec + ":\n" + strings.Join(sections[sec], ""))
	}
	return b.String()
}

var minimal = yamlWith(nil)

// clearEnv keeps a developer's own SQSFLEET_* variables out of the tests.
// t.Setenv registers the restore; the Unsetenv makes the variable truly
// absent rather than empty.
func clearEnv(t testing.TB) {
	t.Helper()
	for _, k := range keys {
		name := EnvVar(k.name)
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sqsfleet.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// load runs Load the way main does: flags registered, then parsed from args,
// with file (if not empty) passed as --config and env set first.
func load(t *testing.T, file string, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	clearEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	Flags(fs)
	if file != "" {
		args = append([]string{"--config", writeFile(t, file)}, args...)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return Load(fs, ForRun)
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	return e.Problems
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	t.Setenv("SQSFLEET_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/q")
	t.Setenv("SQSFLEET_HANDLER_TYPE", "exec")
	t.Setenv("SQSFLEET_HANDLER_COMMAND", "worker")

	for name, fs := range map[string]*pflag.FlagSet{
		"unset flags":   func() *pflag.FlagSet { fs := pflag.NewFlagSet("t", pflag.ContinueOnError); Flags(fs); return fs }(),
		"foreign flags": pflag.NewFlagSet("t", pflag.ContinueOnError),
		"empty --config": func() *pflag.FlagSet {
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			Flags(fs)
			_ = fs.Parse([]string{"--config="})
			return fs
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Load(fs, ForRun)
			if err != nil {
				t.Fatal(err)
			}
			want := Defaults()
			want.Queue.URL = "https://sqs.eu-west-1.amazonaws.com/1/q"
			want.Handler.Type = "exec"
			want.Handler.Command = []string{"worker"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDefaultValues(t *testing.T) {
	// The documented defaults are a public interface; pin them.
	d := Defaults()
	checks := []struct {
		key       string
		got, want any
	}{
		{"queue.dlq_url", d.Queue.DLQURL, ""},
		{"queue.wait_time", d.Queue.WaitTime, 20 * time.Second},
		{"queue.batch_size", d.Queue.BatchSize, 10},
		{"queue.visibility_timeout", d.Queue.VisibilityTimeout, 30 * time.Second},
		{"queue.max_attempts", d.Queue.MaxAttempts, 5},
		{"retry.base_delay", d.Retry.BaseDelay, 10 * time.Second},
		{"retry.max_delay", d.Retry.MaxDelay, 15 * time.Minute},
		{"worker.concurrency", d.Worker.Concurrency, 10},
		{"worker.shutdown_timeout", d.Worker.ShutdownTimeout, 25 * time.Second},
		{"handler.timeout", d.Handler.Timeout, 15 * time.Minute},
		{"handler.permanent_statuses", d.Handler.PermanentStatuses, []int{422}},
		{"message.envelope", d.Message.Envelope, "none"},
		{"http.addr", d.HTTP.Addr, ":8080"},
		{"log.level", d.Log.Level, "info"},
		{"log.format", d.Log.Format, "json"},
		{"health.unhealthy_after", d.Health.UnhealthyAfter, 60 * time.Second},
		{"scaler.enabled", d.Scaler.Enabled, false},
		{"scaler.interval", d.Scaler.Interval, 60 * time.Second},
		{"scaler.fleet", d.Scaler.Fleet, "auto"},
		{"scaler.static_size", d.Scaler.StaticSize, 1},
		{"scaler.publisher", d.Scaler.Publisher, "cloudwatch"},
		{"scaler.namespace", d.Scaler.Namespace, "SQSFleet"},
		{"scaler.metric_name", d.Scaler.MetricName, "BacklogPerInstance"},
		{"scaler.dimension_name", d.Scaler.DimensionName, "QueueName"},
		{"scaler.dimension_value", d.Scaler.DimensionValue, ""},
		{"scaler.include_in_flight", d.Scaler.IncludeInFlight, false},
		{"scaler.include_delayed", d.Scaler.IncludeDelayed, false},
		{"scaler.leader_only", d.Scaler.LeaderOnly, false},
		{"scaler.scale_in_protection", d.Scaler.ScaleInProtection, false},
		{"scaler.protection_hold_down", d.Scaler.ProtectionHold, 30 * time.Second},
		{"scaler.instance_id", d.Scaler.InstanceID, ""},
		{"payload.s3_resolve", d.Payload.S3Resolve, true},
		{"payload.s3_cleanup", d.Payload.S3Cleanup, false},
		{"payload.s3_path_style", d.Payload.S3PathStyle, false},
		{"tracing.enabled", d.Tracing.Enabled, false},
		{"tracing.endpoint", d.Tracing.Endpoint, ""},
		{"tracing.service_name", d.Tracing.ServiceName, "sqsfleet"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s default = %v, want %v", c.key, c.got, c.want)
		}
	}
}

func TestNoDefaultSearchPath(t *testing.T) {
	// A broken sqsfleet.yaml in the working directory must be ignored when
	// --config is not given.
	clearEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sqsfleet.yaml"), []byte("queue: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("SQSFLEET_QUEUE_URL", "http://localhost:4566/000000000000/q")
	t.Setenv("SQSFLEET_HANDLER_TYPE", "http")
	t.Setenv("SQSFLEET_HANDLER_URL", "http://localhost:8000/")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Flags(fs)
	if _, err := Load(fs, ForRun); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedence(t *testing.T) {
	file := yamlWith(map[string]string{"queue.batch_size": "3", "retry.max_delay": "3m"})
	// batch_size: file 3, env 4, flag 5. max_delay: file 3m, env 4m, flag 5m.
	env := map[string]string{"SQSFLEET_QUEUE_BATCH_SIZE": "4", "SQSFLEET_RETRY_MAX_DELAY": "4m"}
	flags := []string{"--queue.batch_size=5", "--retry.max_delay=5m"}
	tests := []struct {
		name      string
		file      bool
		env       bool
		flags     bool
		wantBatch int
		wantMax   time.Duration
	}{
		{"default", false, false, false, 10, 15 * time.Minute},
		{"file over default", true, false, false, 3, 3 * time.Minute},
		{"env over default", false, true, false, 4, 4 * time.Minute},
		{"env over file", true, true, false, 4, 4 * time.Minute},
		{"flag over default", false, false, true, 5, 5 * time.Minute},
		{"flag over file", true, false, true, 5, 5 * time.Minute},
		{"flag over env and file", true, true, true, 5, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{
				// Required keys via env when the file is absent; env for
				// them does not affect the keys under test.
				"SQSFLEET_QUEUE_URL":       "https://sqs.us-east-1.amazonaws.com/1/q",
				"SQSFLEET_HANDLER_TYPE":    "exec",
				"SQSFLEET_HANDLER_COMMAND": "worker",
			}
			if tt.env {
				for k, v := range env {
					e[k] = v
				}
			}
			f := ""
			if tt.file {
				f = file
			}
			var args []string
			if tt.flags {
				args = flags
			}
			cfg, err := load(t, f, e, args...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Queue.BatchSize != tt.wantBatch || cfg.Retry.MaxDelay != tt.wantMax {
				t.Errorf("batch_size, max_delay = %d, %s; want %d, %s",
					cfg.Queue.BatchSize, cfg.Retry.MaxDelay, tt.wantBatch, tt.wantMax)
			}
		})
	}
}

func TestEverySourceCoversEveryKey(t *testing.T) {
	// Each key set through one source at a time, to a non-default value, so
	// a key missing from the env binding or the flag set shows up here.
	values := map[string]struct {
		yaml, env string
		flag      []string
		check     func(*Config) bool
	}{
		"queue.url":                   {"https://example.com/1/a", "https://example.com/1/a", []string{"https://example.com/1/a"}, func(c *Config) bool { return c.Queue.URL == "https://example.com/1/a" }},
		"queue.dlq_url":               {"https://example.com/1/d", "https://example.com/1/d", []string{"https://example.com/1/d"}, func(c *Config) bool { return c.Queue.DLQURL == "https://example.com/1/d" }},
		"queue.wait_time":             {"7s", "7s", []string{"7s"}, func(c *Config) bool { return c.Queue.WaitTime == 7*time.Second }},
		"queue.batch_size":            {"7", "7", []string{"7"}, func(c *Config) bool { return c.Queue.BatchSize == 7 }},
		"queue.visibility_timeout":    {"7s", "7s", []string{"7s"}, func(c *Config) bool { return c.Queue.VisibilityTimeout == 7*time.Second }},
		"queue.max_attempts":          {"7", "7", []string{"7"}, func(c *Config) bool { return c.Queue.MaxAttempts == 7 }},
		"retry.base_delay":            {"7s", "7s", []string{"7s"}, func(c *Config) bool { return c.Retry.BaseDelay == 7*time.Second }},
		"retry.max_delay":             {"7m", "7m", []string{"7m"}, func(c *Config) bool { return c.Retry.MaxDelay == 7*time.Minute }},
		"worker.concurrency":          {"7", "7", []string{"7"}, func(c *Config) bool { return c.Worker.Concurrency == 7 }},
		"worker.shutdown_timeout":     {"7s", "7s", []string{"7s"}, func(c *Config) bool { return c.Worker.ShutdownTimeout == 7*time.Second }},
		"handler.type":                {"exec", "exec", []string{"exec"}, func(c *Config) bool { return c.Handler.Type == "exec" }},
		"handler.command":             {"[a, b]", "a b", []string{"a,b"}, func(c *Config) bool { return reflect.DeepEqual(c.Handler.Command, []string{"a", "b"}) }},
		"handler.url":                 {"http://h/x", "http://h/x", []string{"http://h/x"}, func(c *Config) bool { return c.Handler.URL == "http://h/x" }},
		"handler.timeout":             {"7m", "7m", []string{"7m"}, func(c *Config) bool { return c.Handler.Timeout == 7*time.Minute }},
		"handler.permanent_statuses":  {"[400, 410]", "400,410", []string{"400,410"}, func(c *Config) bool { return reflect.DeepEqual(c.Handler.PermanentStatuses, []int{400, 410}) }},
		"handler.batch_size":          {"7", "7", []string{"7"}, func(c *Config) bool { return c.Handler.BatchSize == 7 }},
		"handler.batch_window":        {"2s", "2s", []string{"2s"}, func(c *Config) bool { return c.Handler.BatchWindow == 2*time.Second }},
		"message.envelope":            {"eventbridge", "eventbridge", []string{"eventbridge"}, func(c *Config) bool { return c.Message.Envelope == "eventbridge" }},
		"http.addr":                   {`"127.0.0.1:7"`, "127.0.0.1:7", []string{"127.0.0.1:7"}, func(c *Config) bool { return c.HTTP.Addr == "127.0.0.1:7" }},
		"log.level":                   {"debug", "debug", []string{"debug"}, func(c *Config) bool { return c.Log.Level == "debug" }},
		"log.format":                  {"console", "console", []string{"console"}, func(c *Config) bool { return c.Log.Format == "console" }},
		"health.unhealthy_after":      {"7m", "7m", []string{"7m"}, func(c *Config) bool { return c.Health.UnhealthyAfter == 7*time.Minute }},
		"scaler.enabled":              {"true", "true", []string{"true"}, func(c *Config) bool { return c.Scaler.Enabled }},
		"scaler.interval":             {"10s", "10s", []string{"10s"}, func(c *Config) bool { return c.Scaler.Interval == 10*time.Second }},
		"scaler.fleet":                {"ecs", "ecs", []string{"ecs"}, func(c *Config) bool { return c.Scaler.Fleet == "ecs" }},
		"scaler.static_size":          {"7", "7", []string{"7"}, func(c *Config) bool { return c.Scaler.StaticSize == 7 }},
		"scaler.asg_name":             {"workers", "workers", []string{"workers"}, func(c *Config) bool { return c.Scaler.ASGName == "workers" }},
		"scaler.ecs_cluster":          {"prod", "prod", []string{"prod"}, func(c *Config) bool { return c.Scaler.ECSCluster == "prod" }},
		"scaler.ecs_service":          {"jobs", "jobs", []string{"jobs"}, func(c *Config) bool { return c.Scaler.ECSService == "jobs" }},
		"scaler.publisher":            {"emf", "emf", []string{"emf"}, func(c *Config) bool { return c.Scaler.Publisher == "emf" }},
		"scaler.namespace":            {"Team/Jobs", "Team/Jobs", []string{"Team/Jobs"}, func(c *Config) bool { return c.Scaler.Namespace == "Team/Jobs" }},
		"scaler.metric_name":          {"Backlog", "Backlog", []string{"Backlog"}, func(c *Config) bool { return c.Scaler.MetricName == "Backlog" }},
		"scaler.dimension_name":       {"Queue", "Queue", []string{"Queue"}, func(c *Config) bool { return c.Scaler.DimensionName == "Queue" }},
		"scaler.dimension_value":      {"jobs-prod", "jobs-prod", []string{"jobs-prod"}, func(c *Config) bool { return c.Scaler.DimensionValue == "jobs-prod" }},
		"scaler.include_in_flight":    {"true", "1", []string{"true"}, func(c *Config) bool { return c.Scaler.IncludeInFlight }},
		"scaler.include_delayed":      {"true", "TRUE", []string{"true"}, func(c *Config) bool { return c.Scaler.IncludeDelayed }},
		"scaler.leader_only":          {"true", "true", []string{"true"}, func(c *Config) bool { return c.Scaler.LeaderOnly }},
		"scaler.scale_in_protection":  {"true", "true", []string{"true"}, func(c *Config) bool { return c.Scaler.ScaleInProtection }},
		"scaler.protection_hold_down": {"7m", "7m", []string{"7m"}, func(c *Config) bool { return c.Scaler.ProtectionHold == 7*time.Minute }},
		"scaler.instance_id":          {"i-0123456789abcdef0", "i-0123456789abcdef0", []string{"i-0123456789abcdef0"}, func(c *Config) bool { return c.Scaler.InstanceID == "i-0123456789abcdef0" }},
		"payload.s3_resolve":          {"false", "false", []string{"false"}, func(c *Config) bool { return !c.Payload.S3Resolve }},
		"payload.s3_cleanup":          {"true", "true", []string{"true"}, func(c *Config) bool { return c.Payload.S3Cleanup }},
		"payload.s3_path_style":       {"true", "true", []string{"true"}, func(c *Config) bool { return c.Payload.S3PathStyle }},
		"tracing.enabled":             {"true", "true", []string{"true"}, func(c *Config) bool { return c.Tracing.Enabled }},
		"tracing.endpoint":            {"http://otel:4318", "http://otel:4318", []string{"http://otel:4318"}, func(c *Config) bool { return c.Tracing.Endpoint == "http://otel:4318" }},
		"tracing.service_name":        {"jobs", "jobs", []string{"jobs"}, func(c *Config) bool { return c.Tracing.ServiceName == "jobs" }},
	}
	for _, k := range keys {
		v, ok := values[k.name]
		if !ok {
			t.Errorf("key %s has no case in this test", k.name)
			continue
		}
		t.Run(k.name+"/yaml", func(t *testing.T) {
			cfg, err := load(t, yamlWith(map[string]string{k.name: v.yaml}), nil)
			if err != nil || !v.check(cfg) {
				t.Errorf("err %v, cfg %+v", err, cfg)
			}
		})
		t.Run(k.name+"/env", func(t *testing.T) {
			cfg, err := load(t, minimal, map[string]string{EnvVar(k.name): v.env})
			if err != nil || !v.check(cfg) {
				t.Errorf("err %v, cfg %+v", err, cfg)
			}
		})
		t.Run(k.name+"/flag", func(t *testing.T) {
			var args []string
			for _, f := range v.flag {
				args = append(args, "--"+k.name+"="+f)
			}
			cfg, err := load(t, minimal, nil, args...)
			if err != nil || !v.check(cfg) {
				t.Errorf("err %v, cfg %+v", err, cfg)
			}
		})
	}
}

func TestEnvVarNames(t *testing.T) {
	for key, want := range map[string]string{
		"queue.url":                  "SQSFLEET_QUEUE_URL",
		"retry.max_delay":            "SQSFLEET_RETRY_MAX_DELAY",
		"handler.permanent_statuses": "SQSFLEET_HANDLER_PERMANENT_STATUSES",
		"health.unhealthy_after":     "SQSFLEET_HEALTH_UNHEALTHY_AFTER",
	} {
		if got := EnvVar(key); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		yaml map[string]string // over base
		env  map[string]string
		args []string
		key  string
		want string // substring of the one reported line
	}{
		{name: "batch_size 11", env: map[string]string{"SQSFLEET_QUEUE_BATCH_SIZE": "11"},
			key: "queue.batch_size", want: "config: queue.batch_size: must be between 1 and 10, got 11"},
		{name: "batch_size 0", args: []string{"--queue.batch_size=0"},
			key: "queue.batch_size", want: "must be between 1 and 10, got 0"},
		{name: "missing queue url", yaml: map[string]string{"queue.url": "-"},
			key: "queue.url", want: "config: queue.url: is required"},
		{name: "queue url without scheme", env: map[string]string{"SQSFLEET_QUEUE_URL": "sqs.us-east-1.amazonaws.com/1/q"},
			key: "queue.url", want: "must be an absolute http or https URL"},
		{name: "queue url wrong scheme", env: map[string]string{"SQSFLEET_QUEUE_URL": "arn:aws:sqs:us-east-1:1:q"},
			key: "queue.url", want: "must be an absolute http or https URL"},
		{name: "dlq url relative", env: map[string]string{"SQSFLEET_QUEUE_DLQ_URL": "/1/dlq"},
			key: "queue.dlq_url", want: "must be an absolute http or https URL"},
		{name: "wait_time over 20s", env: map[string]string{"SQSFLEET_QUEUE_WAIT_TIME": "21s"},
			key: "queue.wait_time", want: "must be between 0s and 20s, got 21s"},
		{name: "wait_time negative", env: map[string]string{"SQSFLEET_QUEUE_WAIT_TIME": "-1s"},
			key: "queue.wait_time", want: "must be between 0s and 20s, got -1s"},
		{name: "wait_time fractional", env: map[string]string{"SQSFLEET_QUEUE_WAIT_TIME": "1500ms"},
			key: "queue.wait_time", want: "must be whole seconds, got 1.5s"},
		{name: "visibility 0", env: map[string]string{"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT": "0s"},
			key: "queue.visibility_timeout", want: "must be between 1s and 12h, got 0s"},
		{name: "visibility over 12h", env: map[string]string{"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT": "12h1s"},
			key: "queue.visibility_timeout", want: "must be between 1s and 12h, got 12h0m1s"},
		{name: "visibility fractional", env: map[string]string{"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT": "2.5s"},
			key: "queue.visibility_timeout", want: "must be whole seconds, got 2.5s"},
		{name: "max_attempts 0", env: map[string]string{"SQSFLEET_QUEUE_MAX_ATTEMPTS": "0"},
			key: "queue.max_attempts", want: "must be at least 1, got 0"},
		{name: "base_delay negative", env: map[string]string{"SQSFLEET_RETRY_BASE_DELAY": "-1s"},
			key: "retry.base_delay", want: "must be between 0s and 11h59m, got -1s"},
		{name: "base_delay over 12h", env: map[string]string{"SQSFLEET_RETRY_BASE_DELAY": "13h", "SQSFLEET_RETRY_MAX_DELAY": "11h"},
			key: "retry.base_delay", want: "must be between 0s and 11h59m, got 13h"},
		{name: "max_delay below base", env: map[string]string{"SQSFLEET_RETRY_BASE_DELAY": "1m", "SQSFLEET_RETRY_MAX_DELAY": "30s"},
			key: "retry.max_delay", want: "must be at least retry.base_delay (1m), got 30s"},
		{name: "max_delay over 12h", env: map[string]string{"SQSFLEET_RETRY_MAX_DELAY": "24h"},
			key: "retry.max_delay", want: "must be at most 11h59m (SQS keeps a message hidden at most 12h from its receive, less a minute for clock skew), got 24h"},
		// 12h itself cannot be honoured: the window is counted from the
		// receive, which is always earlier than the retry.
		{name: "max_delay 12h", env: map[string]string{"SQSFLEET_RETRY_MAX_DELAY": "12h"},
			key: "retry.max_delay", want: "must be at most 11h59m"},
		{name: "concurrency 0", env: map[string]string{"SQSFLEET_WORKER_CONCURRENCY": "0"},
			key: "worker.concurrency", want: "must be between 1 and 10000, got 0"},
		{name: "concurrency 10001", env: map[string]string{"SQSFLEET_WORKER_CONCURRENCY": "10001"},
			key: "worker.concurrency", want: "must be between 1 and 10000, got 10001"},
		{name: "shutdown negative", env: map[string]string{"SQSFLEET_WORKER_SHUTDOWN_TIMEOUT": "-5s"},
			key: "worker.shutdown_timeout", want: "must be at least 0s, got -5s"},
		{name: "unknown handler type", env: map[string]string{"SQSFLEET_HANDLER_TYPE": "grpc"},
			key: "handler.type", want: `must be "exec", "http" or "lambda", got "grpc"`},
		{name: "missing handler type", yaml: map[string]string{"handler.type": "-", "handler.command": "-"},
			key: "handler.type", want: "is required"},
		{name: "missing command", yaml: map[string]string{"handler.command": "-"},
			key: "handler.command", want: `is required when handler.type is "exec"`},
		{name: "empty program", yaml: map[string]string{"handler.command": "['', x]"},
			key: "handler.command", want: "must not be empty"},
		{name: "missing handler url", yaml: map[string]string{"handler.type": "http"},
			key: "handler.url", want: `is required when handler.type is "http"`},
		{name: "handler url not http", yaml: map[string]string{"handler.type": "http", "handler.url": "ftp://host/x"},
			key: "handler.url", want: "must be an absolute http or https URL"},
		{name: "handler timeout 0", env: map[string]string{"SQSFLEET_HANDLER_TIMEOUT": "0s"},
			key: "handler.timeout", want: "must be greater than 0s and at most 11h58m50s (SQS keeps a message hidden at most 12h from its receive, less the time to settle it), got 0s"},
		{name: "handler timeout negative", env: map[string]string{"SQSFLEET_HANDLER_TIMEOUT": "-1m"},
			key: "handler.timeout", want: "got -1m"},
		{name: "handler timeout over 12h", env: map[string]string{"SQSFLEET_HANDLER_TIMEOUT": "13h"},
			key: "handler.timeout", want: "got 13h"},
		// Extensions stop at 12h from the receive: a 12h handler would
		// still run when its message reappeared.
		{name: "handler timeout 12h", env: map[string]string{"SQSFLEET_HANDLER_TIMEOUT": "12h"},
			key: "handler.timeout", want: "at most 11h58m50s"},
		{name: "handler timeout leaves no time to settle", env: map[string]string{"SQSFLEET_HANDLER_TIMEOUT": "11h59m", "SQSFLEET_QUEUE_VISIBILITY_TIMEOUT": "2s"},
			key: "handler.timeout", want: "at most 11h58m58s"},
		{name: "permanent status 200", env: map[string]string{"SQSFLEET_HANDLER_PERMANENT_STATUSES": "422 200 600"},
			key: "handler.permanent_statuses", want: "must be HTTP statuses between 400 and 599, got 200, 600"},
		{name: "batch size above concurrency", env: map[string]string{"SQSFLEET_HANDLER_BATCH_SIZE": "11"},
			key: "handler.batch_size", want: "must be between 1 and 10, got 11"},
		{name: "batch window over 5s", env: map[string]string{"SQSFLEET_HANDLER_BATCH_SIZE": "5", "SQSFLEET_HANDLER_BATCH_WINDOW": "6s"},
			key: "handler.batch_window", want: "must be between 0s and 5s, got 6s"},
		{name: "handler timeout within the batch window", env: map[string]string{"SQSFLEET_HANDLER_BATCH_SIZE": "5", "SQSFLEET_HANDLER_BATCH_WINDOW": "3s", "SQSFLEET_HANDLER_TIMEOUT": "3s"},
			key: "handler.timeout", want: "must be longer than handler.batch_window (3s), which it covers, got 3s"},
		{name: "lambda url list with a bad one", env: map[string]string{"SQSFLEET_HANDLER_TYPE": "lambda", "SQSFLEET_HANDLER_URL": "http://a:9000/x, ftp://b/x"},
			key: "handler.url", want: `must be an absolute http or https URL, got "ftp://b/x"`},
		{name: "http addr without colon", env: map[string]string{"SQSFLEET_HTTP_ADDR": "8080"},
			key: "http.addr", want: `must be host:port such as ":8080"`},
		{name: "http addr bad port", env: map[string]string{"SQSFLEET_HTTP_ADDR": "localhost:http"},
			key: "http.addr", want: `got "localhost:http"`},
		{name: "log level", env: map[string]string{"SQSFLEET_LOG_LEVEL": "verbose"},
			key: "log.level", want: `must be debug, info, warn or error, got "verbose"`},
		{name: "envelope", env: map[string]string{"SQSFLEET_MESSAGE_ENVELOPE": "SNS"},
			key: "message.envelope", want: `must be none, sns, eventbridge or auto, got "SNS"`},
		{name: "envelope with lambda", env: map[string]string{"SQSFLEET_MESSAGE_ENVELOPE": "sns", "SQSFLEET_HANDLER_TYPE": "lambda"},
			key: "message.envelope", want: `applies to handlers called per message`},
		{name: "envelope with batches", env: map[string]string{"SQSFLEET_MESSAGE_ENVELOPE": "auto", "SQSFLEET_HANDLER_BATCH_SIZE": "5"},
			key: "message.envelope", want: `bodies reach the handler as SQS delivered them`},
		{name: "log format", env: map[string]string{"SQSFLEET_LOG_FORMAT": "text"},
			key: "log.format", want: `must be json or console, got "text"`},
		{name: "unhealthy_after 0", env: map[string]string{"SQSFLEET_HEALTH_UNHEALTHY_AFTER": "0s"},
			key: "health.unhealthy_after", want: "must be greater than 0s, got 0s"},
		{name: "scaler interval 45s", env: map[string]string{"SQSFLEET_SCALER_INTERVAL": "45s"},
			key: "scaler.interval", want: "must be 10s, 30s or 60s, got 45s"},
		{name: "scaler interval 5m", env: map[string]string{"SQSFLEET_SCALER_INTERVAL": "5m"},
			key: "scaler.interval", want: "must be 10s, 30s or 60s, got 5m"},
		{name: "scaler fleet", env: map[string]string{"SQSFLEET_SCALER_FLEET": "k8s"},
			key: "scaler.fleet", want: `must be asg, ecs, static or auto, got "k8s"`},
		{name: "scaler static size negative", env: map[string]string{"SQSFLEET_SCALER_STATIC_SIZE": "-1"},
			key: "scaler.static_size", want: "must be between 0 and 1000000, got -1"},
		{name: "scaler publisher", env: map[string]string{"SQSFLEET_SCALER_PUBLISHER": "statsd"},
			key: "scaler.publisher", want: `must be cloudwatch, emf or none, got "statsd"`},
		{name: "scaler namespace AWS/", env: map[string]string{"SQSFLEET_SCALER_NAMESPACE": "AWS/SQS"},
			key: "scaler.namespace", want: `must not start with "AWS/"`},
		{name: "scaler namespace characters", env: map[string]string{"SQSFLEET_SCALER_NAMESPACE": "my$ns"},
			key: "scaler.namespace", want: "may contain only letters"},
		{name: "tracing endpoint", env: map[string]string{"SQSFLEET_TRACING_ENDPOINT": "otel:4318"},
			key: "tracing.endpoint", want: "must be an absolute http or https URL"},
		{name: "tracing service name empty", env: map[string]string{"SQSFLEET_TRACING_ENABLED": "true", "SQSFLEET_TRACING_SERVICE_NAME": " "},
			key: "tracing.service_name", want: "must not be empty when tracing.enabled is set"},
		{name: "scaler namespace empty", yaml: map[string]string{"scaler.namespace": `""`},
			key: "scaler.namespace", want: "is required"},
		{name: "scaler metric name empty", yaml: map[string]string{"scaler.metric_name": `" "`},
			key: "scaler.metric_name", want: "is required"},
		{name: "scaler metric name non-ASCII", env: map[string]string{"SQSFLEET_SCALER_METRIC_NAME": "Rückstand"},
			key: "scaler.metric_name", want: "must be printable ASCII"},
		{name: "scaler dimension value too long", env: map[string]string{"SQSFLEET_SCALER_DIMENSION_VALUE": strings.Repeat("v", 1025)},
			key: "scaler.dimension_value", want: "must be at most 1024 characters, got 1025"},
		{name: "scaler asg name too long", env: map[string]string{"SQSFLEET_SCALER_ASG_NAME": strings.Repeat("ä", 256)},
			key: "scaler.asg_name", want: "must be at most 255 characters, got 256"},
		{name: "scaler dimension colon", env: map[string]string{"SQSFLEET_SCALER_DIMENSION_NAME": ":Queue"},
			key: "scaler.dimension_name", want: `must not start with ":"`},
		{name: "scaler leader_only static", env: map[string]string{"SQSFLEET_SCALER_LEADER_ONLY": "true", "SQSFLEET_SCALER_FLEET": "static"},
			key: "scaler.leader_only", want: "needs scaler.fleet asg, ecs or auto"},
		{name: "scaler hold-down negative", env: map[string]string{"SQSFLEET_SCALER_PROTECTION_HOLD_DOWN": "-1s"},
			key: "scaler.protection_hold_down", want: "must be between 1s and 1h, got -1s"},
		{name: "scaler instance id", env: map[string]string{"SQSFLEET_SCALER_INSTANCE_ID": "i-xyz"},
			key: "scaler.instance_id", want: `must be an EC2 instance id such as i-0123456789abcdef0, got "i-xyz"`},
		{name: "bad bool in env", env: map[string]string{"SQSFLEET_SCALER_ENABLED": "yes"},
			key: "scaler.enabled", want: `must be true or false, got "yes" (from env SQSFLEET_SCALER_ENABLED)`},
		{name: "bad bool in yaml", yaml: map[string]string{"scaler.leader_only": "[x]"},
			key: "scaler.leader_only", want: "must be true or false, got a list"},

		// Decoding: the source of the bad value is named.
		{name: "bad duration string in env", env: map[string]string{"SQSFLEET_QUEUE_WAIT_TIME": "twenty"},
			key: "queue.wait_time", want: `must be a duration such as "20s" or "15m", got "twenty" (from env SQSFLEET_QUEUE_WAIT_TIME)`},
		{name: "duration without unit in yaml", yaml: map[string]string{"retry.base_delay": "20"},
			key: "retry.base_delay", want: `must be a duration such as "20s" or "15m", got 20 (from `},
		{name: "bad int in env", env: map[string]string{"SQSFLEET_WORKER_CONCURRENCY": "ten"},
			key: "worker.concurrency", want: `must be an integer, got "ten" (from env SQSFLEET_WORKER_CONCURRENCY)`},
		{name: "fractional int in yaml", yaml: map[string]string{"queue.max_attempts": "2.5"},
			key: "queue.max_attempts", want: "must be an integer, got 2.5"},
		{name: "mapping for a string", yaml: map[string]string{"log.level": "{x: 1}"},
			key: "log.level", want: "must be a string, got a mapping"},
		{name: "bad status list in env", env: map[string]string{"SQSFLEET_HANDLER_PERMANENT_STATUSES": "4xx"},
			key: "handler.permanent_statuses", want: `must be an integer, got "4xx"`},
		{name: "bad flag value", args: []string{"--worker.concurrency=ten"},
			key: "worker.concurrency", want: `must be an integer, got "ten" (from flag --worker.concurrency)`},
		{name: "bad bool flag", args: []string{"--scaler.enabled=yes"},
			key: "scaler.enabled", want: `must be true or false, got "yes" (from flag --scaler.enabled)`},
		{name: "bare integer duration flag", args: []string{"--queue.wait_time=20"},
			key: "queue.wait_time", want: `got "20" (from flag --queue.wait_time)`},
		{name: "bad element in command", yaml: map[string]string{"handler.command": "[a, {b: c}]"},
			key: "handler.command", want: "element 1 must be a string, got a mapping"},

		// File structure.
		{name: "unknown key", yaml: map[string]string{"queue.batchsize": "5"},
			key: "queue.batchsize", want: "unknown key in "},
		{name: "unknown key suggests", yaml: map[string]string{"queue.batchsize": "5"},
			key: "queue.batchsize", want: "(did you mean queue.batch_size?)"},
		{name: "unknown section", yaml: map[string]string{"worker.concurency": "5"},
			key: "worker.concurency", want: "did you mean worker.concurrency?"},
		{name: "unknown top-level key", yaml: map[string]string{"verbose": "true"},
			key: "verbose", want: "unknown key"},
		{name: "dotted key under a section", yaml: map[string]string{"log": `{"level.x": debug}`},
			key: "log.level.x", want: "unknown key"},
		{name: "empty key", yaml: map[string]string{`""`: "1"},
			key: `""`, want: `config: "": unknown key`},
		{name: "key with colon and space", yaml: map[string]string{`"a: b"`: "1"},
			key: `"a: b"`, want: `config: "a: b": unknown key`},
		{name: "scalar section", yaml: map[string]string{"log": "debug"},
			key: "log", want: `must be a mapping of keys, got "debug"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, yamlWith(tt.yaml), tt.env, tt.args...)
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("config returned along with error")
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", len(ps), err)
			}
			if ps[0].Key != tt.key {
				t.Errorf("key = %q, want %q", ps[0].Key, tt.key)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\ndoes not contain\n  %s", err, tt.want)
			}
		})
	}
}

func TestValidBoundaries(t *testing.T) {
	tests := map[string]map[string]string{
		"wait_time 0":                  {"SQSFLEET_QUEUE_WAIT_TIME": "0s"},
		"wait_time 20s":                {"SQSFLEET_QUEUE_WAIT_TIME": "20s"},
		"batch 1":                      {"SQSFLEET_QUEUE_BATCH_SIZE": "1"},
		"visibility 1s":                {"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT": "1s"},
		"visibility 12h":               {"SQSFLEET_QUEUE_VISIBILITY_TIMEOUT": "12h"},
		"max_attempts 1":               {"SQSFLEET_QUEUE_MAX_ATTEMPTS": "1"},
		"base_delay 0":                 {"SQSFLEET_RETRY_BASE_DELAY": "0s"},
		"max_delay = base":             {"SQSFLEET_RETRY_BASE_DELAY": "1m", "SQSFLEET_RETRY_MAX_DELAY": "1m"},
		"max_delay 11h59m":             {"SQSFLEET_RETRY_MAX_DELAY": "11h59m"},
		"concurrency 10000":            {"SQSFLEET_WORKER_CONCURRENCY": "10000"},
		"shutdown 0":                   {"SQSFLEET_WORKER_SHUTDOWN_TIMEOUT": "0s"},
		"handler timeout at its limit": {"SQSFLEET_HANDLER_TIMEOUT": "11h58m50s"},
		"statuses 400 599":             {"SQSFLEET_HANDLER_PERMANENT_STATUSES": "400, 599"},
		"addr port 0":                  {"SQSFLEET_HTTP_ADDR": "127.0.0.1:0"},
		"addr ipv6":                    {"SQSFLEET_HTTP_ADDR": "[::1]:9090"},
		"http handler":                 {"SQSFLEET_HANDLER_TYPE": "http", "SQSFLEET_HANDLER_URL": "https://user:pw@app.internal:8443/sqs"},
		"value with whitespace":        {"SQSFLEET_LOG_LEVEL": " warn\n"},
		"scaler interval 10s":          {"SQSFLEET_SCALER_INTERVAL": "10s"},
		"scaler interval 30s":          {"SQSFLEET_SCALER_INTERVAL": "30s"},
		"scaler static size 0":         {"SQSFLEET_SCALER_FLEET": "static", "SQSFLEET_SCALER_STATIC_SIZE": "0"},
		"scaler no dimension":          {"SQSFLEET_SCALER_DIMENSION_NAME": " "},
		"scaler hold-down 1s":          {"SQSFLEET_SCALER_PROTECTION_HOLD_DOWN": "1s"},
		"scaler old instance id":       {"SQSFLEET_SCALER_INSTANCE_ID": "i-0123abcd"},
		"scaler bool false":            {"SQSFLEET_SCALER_ENABLED": "false"},
		"scaler asg name 255 chars":    {"SQSFLEET_SCALER_ASG_NAME": strings.Repeat("ä", 255)},
		"scaler dimension value 1024":  {"SQSFLEET_SCALER_DIMENSION_VALUE": strings.Repeat("v", 1024)},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := load(t, minimal, env); err != nil {
				t.Error(err)
			}
		})
	}
	for name, over := range map[string]map[string]string{
		"empty http addr disables": {"http.addr": `""`},
		"no permanent statuses":    {"handler.permanent_statuses": "[]"},
		"bare zero duration":       {"retry.base_delay": "0"},
		"integral float int":       {"queue.batch_size": "4.0"},
		"null key keeps default":   {"log.level": ""},
		"null section":             {"log": ""},
		"empty section":            {"log": "{}"},
		"http with unused command": {"handler.type": "http", "handler.url": "http://localhost/"},
		"exec with unused bad url": {"handler.url": "not a url"},
		"command as string":        {"handler.command": "python3 w.py"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := load(t, yamlWith(over), nil); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCommandSplitting(t *testing.T) {
	tests := []struct {
		name string
		file string // handler.command in YAML, absent if empty
		env  string
		args []string
		want []string
	}{
		{name: "env splits on spaces", env: "python3  /app/worker.py --verbose",
			want: []string{"python3", "/app/worker.py", "--verbose"}},
		{name: "env has no shell quoting", env: `sh -c "echo hi"`,
			want: []string{"sh", "-c", `"echo`, `hi"`}},
		{name: "env tabs and newlines", env: "a\tb\nc",
			want: []string{"a", "b", "c"}},
		{name: "yaml list keeps spaces", file: `["sh", "-c", "echo hi"]`,
			want: []string{"sh", "-c", "echo hi"}},
		{name: "yaml string splits", file: `"python3 /app/worker.py"`,
			want: []string{"python3", "/app/worker.py"}},
		{name: "yaml list of scalars", file: `[sleep, 5]`,
			want: []string{"sleep", "5"}},
		{name: "flag single value splits", args: []string{"--handler.command", "python3 /app/worker.py"},
			want: []string{"python3", "/app/worker.py"}},
		{name: "flag commas verbatim", args: []string{"--handler.command=sh,-c,echo hi"},
			want: []string{"sh", "-c", "echo hi"}},
		{name: "flag CSV quoting keeps a comma", args: []string{`--handler.command=sh,-c,"echo a,b"`},
			want: []string{"sh", "-c", "echo a,b"}},
		{name: "flag repeated", args: []string{"--handler.command=sh", "--handler.command=-c", "--handler.command=echo hi"},
			want: []string{"sh", "-c", "echo hi"}},
		{name: "env beats yaml", file: `[from-file]`, env: "from-env x",
			want: []string{"from-env", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := tt.file
			if cmd == "" {
				cmd = "-"
			}
			file := yamlWith(map[string]string{"handler.command": cmd})
			env := map[string]string{}
			if tt.env != "" {
				env["SQSFLEET_HANDLER_COMMAND"] = tt.env
			}
			cfg, err := load(t, file, env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Handler.Command, tt.want) {
				t.Errorf("command = %q, want %q", cfg.Handler.Command, tt.want)
			}
		})
	}
}

// Flags are kept as text and decoded like the other sources; a bool flag
// needs no value.
func TestFlagValues(t *testing.T) {
	cfg, err := load(t, minimal, nil, "--scaler.enabled", "--payload.s3_resolve=false", "--handler.permanent_statuses=410,422",
		"--handler.permanent_statuses", "429", "--log.level=warn", "--log.level=debug")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Scaler.Enabled || cfg.Payload.S3Resolve || cfg.Log.Level != "debug" ||
		!reflect.DeepEqual(cfg.Handler.PermanentStatuses, []int{410, 422, 429}) {
		t.Errorf("enabled %v, s3_resolve %v, level %q (the last flag wins), statuses %v", cfg.Scaler.Enabled,
			cfg.Payload.S3Resolve, cfg.Log.Level, cfg.Handler.PermanentStatuses)
	}
}

// An empty list flag empties the list, over the file's.
func TestEmptyListFlag(t *testing.T) {
	cfg, err := load(t, yamlWith(map[string]string{"handler.permanent_statuses": "[410]"}), nil, "--handler.permanent_statuses=")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Handler.PermanentStatuses) != 0 {
		t.Errorf("statuses %v, want none", cfg.Handler.PermanentStatuses)
	}
}

func TestPermanentStatusesEnv(t *testing.T) {
	for env, want := range map[string][]int{
		"400,422":    {400, 422},
		"400 422":    {400, 422},
		" 400, 422 ": {400, 422},
		"410":        {410},
	} {
		cfg, err := load(t, minimal, map[string]string{"SQSFLEET_HANDLER_PERMANENT_STATUSES": env})
		if err != nil {
			t.Fatalf("%q: %v", env, err)
		}
		if !reflect.DeepEqual(cfg.Handler.PermanentStatuses, want) {
			t.Errorf("%q: got %v, want %v", env, cfg.Handler.PermanentStatuses, want)
		}
	}
}

func TestMultipleProblems(t *testing.T) {
	_, err := load(t, yamlWith(map[string]string{"queue.batchsize": "3"}), map[string]string{
		"SQSFLEET_QUEUE_BATCH_SIZE":   "11",
		"SQSFLEET_WORKER_CONCURRENCY": "0",
		"SQSFLEET_LOG_LEVEL":          "verbose",
		"SQSFLEET_HANDLER_TIMEOUT":    "soon",
	})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	wantPrefixes := []string{
		"config: queue.batchsize: unknown key",
		"config: queue.batch_size: must be between 1 and 10, got 11",
		"config: worker.concurrency: must be between 1 and 10000, got 0",
		"config: handler.timeout: must be a duration",
		`config: log.level: must be debug, info, warn or error, got "verbose"`,
	}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("want %d lines, got %d:\n%v", len(wantPrefixes), len(lines), err)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], p)
		}
	}
	if got := len(problemsOf(t, err)); got != len(lines) {
		t.Errorf("%d problems for %d lines", got, len(lines))
	}
}

func TestFileErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	invalid := filepath.Join(dir, "invalid.yaml")
	if err := os.WriteFile(invalid, []byte("queue:\n  url: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.yaml")
	if err := os.WriteFile(list, []byte("- a\n- b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	tests := []struct {
		name, path, want string
		is               error
	}{
		{"missing", missing, missing, fs.ErrNotExist},
		{"directory", dir, dir, nil},
		{"invalid YAML", invalid, invalid + ": invalid YAML", nil},
		{"not a mapping", list, list + ": invalid YAML", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := pflag.NewFlagSet("t", pflag.ContinueOnError)
			Flags(flags)
			if err := flags.Parse([]string{"--config", tt.path}); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(flags, ForRun)
			if err == nil {
				t.Fatalf("no error, config %+v", cfg)
			}
			if !strings.HasPrefix(err.Error(), "config: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestValidateInCode(t *testing.T) {
	c := Defaults()
	if c.check(ForRun).err() == nil {
		t.Error("Defaults() validated without queue.url and handler.type")
	}
	c.Queue.URL = "https://sqs.us-east-1.amazonaws.com/1/q"
	c.Handler.Type = "http"
	c.Handler.URL = "http://localhost:8000/"
	if err := c.check(ForRun).err(); err != nil {
		t.Fatal(err)
	}
	c.Queue.BatchSize = 11
	c.Retry.MaxDelay = time.Second
	err := c.check(ForRun).err()
	want := "config: queue.batch_size: must be between 1 and 10, got 11\n" +
		"config: retry.max_delay: must be at least retry.base_delay (10s), got 1s"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestErrorIsOneLinePerProblem(t *testing.T) {
	e := &Error{Problems: []Problem{{Key: "a\nb", Msg: "x\ny"}, {Key: "c", Msg: "z"}}}
	if got, want := e.Error(), "config: a\\nb: x\\ny\nconfig: c: z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRedacted(t *testing.T) {
	c := Defaults()
	c.Queue.URL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
	c.Queue.DLQURL = "https://admin:hunter2@sqs.example.com/1/dlq"
	c.Handler.Type = "http"
	c.Handler.URL = "https://app:s3cret@app.internal/sqs?access_token=abc&mode=fast&sig=x&id=3f2a9c1e7b6d4e0f8a1b2c3d"
	c.Handler.Command = []string{"python3", "w.py"}
	c.Tracing.Endpoint = "https://otel:s3cret@collector.example.com:4318"
	before := c.Handler.URL

	r := c.Redacted()
	if len(r) != len(keys) {
		t.Errorf("Redacted has %d entries, want one per key (%d)", len(r), len(keys))
	}
	for _, k := range keys {
		if _, ok := r[k.name]; !ok {
			t.Errorf("Redacted lacks %s", k.name)
		}
	}
	checks := map[string]any{
		"queue.url":                  "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
		"queue.dlq_url":              "https://admin:REDACTED@sqs.example.com/1/dlq",
		"handler.url":                "https://app:REDACTED@app.internal/sqs?access_token=REDACTED&mode=REDACTED&sig=REDACTED&id=REDACTED",
		"handler.command":            []string{"python3", "w.py"},
		"queue.wait_time":            "20s",
		"retry.max_delay":            "15m",
		"queue.batch_size":           10,
		"handler.permanent_statuses": []int{422},
		"http.addr":                  ":8080",
		"tracing.endpoint":           "https://otel:REDACTED@collector.example.com:4318",
	}
	for k, want := range checks {
		if !reflect.DeepEqual(r[k], want) {
			t.Errorf("%s = %#v, want %#v", k, r[k], want)
		}
	}
	if c.Handler.URL != before {
		t.Error("Redacted modified the config")
	}
	// The rule itself is internal/redact's, tested there.

	// A lambda handler's list: each URL masked on its own.
	c.Handler.Type = "lambda"
	c.Handler.URL = " http://127.0.0.1:9000/x , https://u:pw@fn.internal/y?token=abc,"
	if got, want := c.Redacted()["handler.url"], "http://127.0.0.1:9000/x,https://u:REDACTED@fn.internal/y?token=REDACTED"; got != want {
		t.Errorf("lambda handler.url = %q, want %q", got, want)
	}
	if got := c.LambdaURLs(); len(got) != 2 || got[0] != "http://127.0.0.1:9000/x" {
		t.Errorf("LambdaURLs() = %q", got)
	}
}

func TestValidationMessagesRedactURLs(t *testing.T) {
	_, err := load(t, minimal, map[string]string{"SQSFLEET_QUEUE_DLQ_URL": "ftp://me:hunter2@host/q"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v leaks the password", err)
	}
}

func TestFlags(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Flags(fs)
	if fs.Lookup("config") == nil {
		t.Error("no --config flag")
	}
	for _, k := range keys {
		f := fs.Lookup(k.name)
		if f == nil {
			t.Errorf("no flag --%s", k.name)
			continue
		}
		if !strings.Contains(f.Usage, EnvVar(k.name)) {
			t.Errorf("--%s usage %q does not name %s", k.name, f.Usage, EnvVar(k.name))
		}
	}
	usage := fs.FlagUsages()
	for _, want := range []string{"--queue.wait_time duration", "(default 20s)", "(default 422)", `(default ":8080")`, "--handler.command strings"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
}

func TestShippedConfigs(t *testing.T) {
	dir := filepath.Join("..", "..", "configs")
	t.Run("sqsfleet.yaml", func(t *testing.T) {
		path := filepath.Join(dir, "sqsfleet.yaml")
		cfg := loadPath(t, path)
		// The reference file documents the defaults, so apart from the
		// required example values it must equal them.
		want := Defaults()
		want.Queue.URL = cfg.Queue.URL
		want.Handler.Type = "exec"
		want.Handler.Command = cfg.Handler.Command
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("reference config differs from the defaults:\n got  %+v\n want %+v", cfg, want)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !strings.Contains(string(data), EnvVar(k.name)) {
				t.Errorf("%s does not document %s", path, EnvVar(k.name))
			}
		}
	})
	t.Run("local.yaml", func(t *testing.T) {
		cfg := loadPath(t, filepath.Join(dir, "local.yaml"))
		if cfg.Queue.URL != "http://127.0.0.1:4566/000000000000/sqsfleet-demo" || cfg.Queue.DLQURL != "" ||
			cfg.Queue.VisibilityTimeout != 10*time.Second || cfg.Queue.MaxAttempts != 3 ||
			cfg.Retry.BaseDelay != time.Second || cfg.Retry.MaxDelay != 5*time.Second ||
			cfg.Worker.Concurrency != 4 || !reflect.DeepEqual(cfg.Handler.Command, []string{"configs/demo-handler.sh"}) ||
			cfg.Log.Format != "console" || cfg.HTTP.Addr != "127.0.0.1:8080" {
			t.Errorf("unexpected local config %+v", cfg)
		}
		if fi, err := os.Stat(filepath.Join(dir, "demo-handler.sh")); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("demo-handler.sh missing or not executable: %v", err)
		}
	})
}

func loadPath(t *testing.T, path string) *Config {
	t.Helper()
	clearEnv(t)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Flags(fs)
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(fs, ForRun)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func FuzzLoad(f *testing.F) {
	clearEnv(f)
	for _, seed := range []string{
		"",
		minimal,
		yamlWith(map[string]string{"queue.batch_size": "11", "queue.wait_time": "20"}),
		"queue: 5\nhandler: [a, b]\n",
		"queue:\n  url: {a: {b: c}}\n",
		"handler: {command: [1, 2.5, true, null, {x: y}]}\n",
		"a: &x [*x]\n",
		"? [a, b]\n: c\n",
		"queue.batch_size: 99999999999999999999999\n",
		"retry: {base_delay: 9223372036854775807ns, max_delay: -9223372036854775808ns}\n",
		"\xff\xfe",
		"- 1\n- 2\n",
		"? !00", // once produced a problem with an empty key
		"queue: {url: 'http://u:p@[::1%25en0]:80/?token=x'}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := pflag.NewFlagSet("fuzz", pflag.ContinueOnError)
		Flags(fs)
		if err := fs.Set("config", path); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(fs, ForRun)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("want exactly one of config and error, got %v and %v", cfg, err)
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				lines := strings.Split(e.Error(), "\n")
				if len(lines) != len(e.Problems) || len(e.Problems) == 0 {
					t.Fatalf("%d problems printed as %d lines", len(e.Problems), len(lines))
				}
				for _, p := range e.Problems {
					if p.Key == "" || p.Msg == "" {
						t.Fatalf("empty key or message in %+v", p)
					}
				}
			}
			return
		}
		if err := cfg.check(ForRun).err(); err != nil {
			t.Fatalf("Load returned a config that does not validate: %v", err)
		}
		_ = cfg.Redacted()
	})
}

func TestLoadForScaler(t *testing.T) {
	queueOnly := "queue:\n  url: https://sqs.us-east-1.amazonaws.com/1/q\n"
	loadFor := func(t *testing.T, file string, env map[string]string, cmd Command) (*Config, error) {
		t.Helper()
		clearEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		Flags(fs)
		if err := fs.Parse([]string{"--config", writeFile(t, file)}); err != nil {
			t.Fatal(err)
		}
		return Load(fs, cmd)
	}

	if _, err := loadFor(t, queueOnly, nil, ForScaler); err != nil {
		t.Errorf("scaler with only queue.url: %v", err)
	}
	if _, err := loadFor(t, queueOnly, nil, ForRun); err == nil || !strings.Contains(err.Error(), "handler.type: is required") {
		t.Errorf("run with only queue.url: err = %v, want handler.type required", err)
	}
	// The run rules are the default.
	if _, err := load(t, queueOnly, nil); err == nil {
		t.Error("Load accepted a config without handler keys")
	}
	// The scaler still needs its queue, and still reports bad values.
	for name, tt := range map[string]struct {
		file string
		env  map[string]string
		key  string
	}{
		"no queue":            {"log:\n  level: info\n", nil, "queue.url"},
		"bad handler type":    {queueOnly, map[string]string{"SQSFLEET_HANDLER_TYPE": "grpc"}, "handler.type"},
		"bad scaler interval": {queueOnly, map[string]string{"SQSFLEET_SCALER_INTERVAL": "1m30s"}, "scaler.interval"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadFor(t, tt.file, tt.env, ForScaler)
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != tt.key {
				t.Errorf("problems %v, want one for %s", err, tt.key)
			}
		})
	}

	c := Defaults()
	c.Queue.URL = "https://sqs.us-east-1.amazonaws.com/1/q"
	if err := c.check(ForScaler).err(); err != nil {
		t.Errorf("Validate(ForScaler) = %v", err)
	}
	if err := c.check(ForRun).err(); err == nil {
		t.Error("Validate accepted a config without handler keys")
	}
}
