package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "SQSFLEET_"

// ConfigFlag is the flag naming the YAML file. It is deliberately not
// defaulted to a search path: a daemon that silently picks up a stray
// ./sqsfleet.yaml is harder to reason about than one that reads nothing.
const ConfigFlag = "config"

// maxVisibility is SQS's ceiling for ChangeMessageVisibility and for a
// queue's visibility timeout; every delay the daemon implements by hiding a
// message (retries, handler leases) must fit under it.
const maxVisibility = 12 * time.Hour

// kind is how a key's raw value (YAML node, env string or flag) is decoded.
type kind int

const (
	kString kind = iota
	kInt
	kDuration
	kStrings // argv: YAML list, or a string split on whitespace
	kInts
	kBool
)

// key declares one configuration key. Every source (default, file, env,
// flag) is derived from this table so that adding a field here is the only
// step needed to make it configurable everywhere.
type key struct {
	name  string
	kind  kind
	usage string
	// field points into a Config, so the same table reads defaults out of
	// Defaults() and writes decoded values into the result.
	field func(*Config) any
}

var keys = []key{
	{"queue.url", kString, "URL of the SQS queue to receive from (required)", func(c *Config) any { return &c.Queue.URL }},
	{"queue.dlq_url", kString, "dead-letter queue URL; empty uses the target of the queue's RedrivePolicy", func(c *Config) any { return &c.Queue.DLQURL }},
	{"queue.wait_time", kDuration, "long-poll wait per ReceiveMessage, 0s..20s", func(c *Config) any { return &c.Queue.WaitTime }},
	{"queue.batch_size", kInt, "messages per ReceiveMessage, 1..10", func(c *Config) any { return &c.Queue.BatchSize }},
	{"queue.visibility_timeout", kDuration, "initial visibility timeout, extended while a handler runs, 1s..12h", func(c *Config) any { return &c.Queue.VisibilityTimeout }},
	{"queue.max_attempts", kInt, "receives before a failing message is dead-lettered, >= 1", func(c *Config) any { return &c.Queue.MaxAttempts }},
	{"retry.base_delay", kDuration, "backoff after the first failure, doubled per attempt, 0s..11h59m", func(c *Config) any { return &c.Retry.BaseDelay }},
	{"retry.max_delay", kDuration, "cap on the backoff, retry.base_delay..11h59m (12h from the receive, less a minute)", func(c *Config) any { return &c.Retry.MaxDelay }},
	{"worker.concurrency", kInt, "handlers running at once, 1..10000", func(c *Config) any { return &c.Worker.Concurrency }},
	{"worker.shutdown_timeout", kDuration, "how long to wait for running handlers on SIGTERM", func(c *Config) any { return &c.Worker.ShutdownTimeout }},
	{"handler.type", kString, `"exec" or "http" (required)`, func(c *Config) any { return &c.Handler.Type }},
	{"handler.command", kStrings, "exec handler argv, comma-separated or repeated; a single value is split on whitespace (required for exec)", func(c *Config) any { return &c.Handler.Command }},
	{"handler.url", kString, "URL the http handler POSTs each message to (required for http)", func(c *Config) any { return &c.Handler.URL }},
	{"handler.timeout", kDuration, "per-message handler deadline, > 0, at most 11h59m less min(visibility_timeout, 10s)", func(c *Config) any { return &c.Handler.Timeout }},
	{"handler.permanent_statuses", kInts, "http handler statuses that dead-letter at once, 400..599", func(c *Config) any { return &c.Handler.PermanentStatuses }},
	{"http.addr", kString, `health and metrics listen address host:port; "" disables`, func(c *Config) any { return &c.HTTP.Addr }},
	{"log.level", kString, "debug, info, warn or error", func(c *Config) any { return &c.Log.Level }},
	{"log.format", kString, "json or console", func(c *Config) any { return &c.Log.Format }},
	{"health.unhealthy_after", kDuration, "report unhealthy when no receive has succeeded for this long, > 0", func(c *Config) any { return &c.Health.UnhealthyAfter }},
	{"scaler.enabled", kBool, "sqsfleet run also publishes the backlog-per-instance metric (and protects, with scaler.scale_in_protection)", func(c *Config) any { return &c.Scaler.Enabled }},
	{"scaler.interval", kDuration, "how often the metric is computed and published: 10s, 30s or 60s", func(c *Config) any { return &c.Scaler.Interval }},
	{"scaler.fleet", kString, "where the fleet size comes from: asg, ecs, static or auto", func(c *Config) any { return &c.Scaler.Fleet }},
	{"scaler.static_size", kInt, "fleet size when scaler.fleet is static, >= 0", func(c *Config) any { return &c.Scaler.StaticSize }},
	{"scaler.asg_name", kString, "Auto Scaling group name; empty discovers it from the instance metadata", func(c *Config) any { return &c.Scaler.ASGName }},
	{"scaler.ecs_cluster", kString, "ECS cluster name or ARN; empty reads it from the task metadata endpoint", func(c *Config) any { return &c.Scaler.ECSCluster }},
	{"scaler.ecs_service", kString, "ECS service name; empty reads it from the task metadata endpoint", func(c *Config) any { return &c.Scaler.ECSService }},
	{"scaler.publisher", kString, "how the metric is published: cloudwatch (PutMetricData), emf (a log line on stdout) or none", func(c *Config) any { return &c.Scaler.Publisher }},
	{"scaler.namespace", kString, "CloudWatch namespace of the metric", func(c *Config) any { return &c.Scaler.Namespace }},
	{"scaler.metric_name", kString, "CloudWatch metric name", func(c *Config) any { return &c.Scaler.MetricName }},
	{"scaler.dimension_name", kString, `name of the metric's one dimension; "" publishes none`, func(c *Config) any { return &c.Scaler.DimensionName }},
	{"scaler.dimension_value", kString, "value of the dimension; empty uses the queue's name", func(c *Config) any { return &c.Scaler.DimensionValue }},
	{"scaler.include_in_flight", kBool, "count messages in flight (ApproximateNumberOfMessagesNotVisible) as backlog", func(c *Config) any { return &c.Scaler.IncludeInFlight }},
	{"scaler.include_delayed", kBool, "count delayed messages (ApproximateNumberOfMessagesDelayed) as backlog", func(c *Config) any { return &c.Scaler.IncludeDelayed }},
	{"scaler.leader_only", kBool, "publish from one elected daemon instead of every daemon (asg and ecs fleets)", func(c *Config) any { return &c.Scaler.LeaderOnly }},
	{"scaler.scale_in_protection", kBool, "protect this instance or task from scale-in while it holds messages", func(c *Config) any { return &c.Scaler.ScaleInProtection }},
	{"scaler.protection_hold_down", kDuration, "how long the worker must be idle before protection is released, 1s..1h", func(c *Config) any { return &c.Scaler.ProtectionHold }},
	{"scaler.instance_id", kString, "this EC2 instance's id; empty reads it from IMDSv2", func(c *Config) any { return &c.Scaler.InstanceID }},
	{"payload.s3_resolve", kBool, "read bodies the SQS extended client libraries stored in S3 and stream them to the handler", func(c *Config) any { return &c.Payload.S3Resolve }},
	{"payload.s3_cleanup", kBool, "delete a payload's S3 object after its message succeeded (not with SNS fan-out, which shares the object)", func(c *Config) any { return &c.Payload.S3Cleanup }},
	{"payload.s3_path_style", kBool, "address S3 buckets in the path (S3-compatible stores, emulators) instead of the host name", func(c *Config) any { return &c.Payload.S3PathStyle }},
}

// Defaults returns the configuration used for every key no source sets.
// queue.url and handler.type have no usable default, so a Config built from
// Defaults alone does not validate.
func Defaults() *Config {
	return &Config{
		Queue: Queue{
			WaitTime:          20 * time.Second,
			BatchSize:         10,
			VisibilityTimeout: 30 * time.Second,
			MaxAttempts:       5,
		},
		Retry: Retry{
			BaseDelay: 10 * time.Second,
			MaxDelay:  15 * time.Minute,
		},
		Worker: Worker{
			Concurrency:     10,
			ShutdownTimeout: 25 * time.Second,
		},
		Handler: Handler{
			Timeout:           15 * time.Minute,
			PermanentStatuses: []int{422},
		},
		HTTP:   HTTP{Addr: ":8080"},
		Log:    Log{Level: "info", Format: "json"},
		Health: Health{UnhealthyAfter: 60 * time.Second},
		Scaler: Scaler{
			Interval:       60 * time.Second,
			Fleet:          "auto",
			StaticSize:     1,
			Publisher:      "cloudwatch",
			Namespace:      "SQSFleet",
			MetricName:     "BacklogPerInstance",
			DimensionName:  "QueueName",
			ProtectionHold: 30 * time.Second,
		},
		Payload: Payload{S3Resolve: true},
	}
}

// EnvVar returns the environment variable that sets key, e.g.
// "queue.url" -> "SQSFLEET_QUEUE_URL".
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Flags registers --config and one flag per key on fs, each named exactly
// like its key so that the YAML file, the docs and the command line share one
// vocabulary. Flag defaults are the real defaults so --help shows them, but
// Load only applies flags the user set: an unset flag must not mask the file
// or the environment.
func Flags(fs *pflag.FlagSet) {
	fs.String(ConfigFlag, "", "YAML config file; empty reads no file")
	def := Defaults()
	for _, k := range keys {
		usage := k.usage + " (env " + EnvVar(k.name) + ")"
		switch p := k.field(def).(type) {
		case *string:
			fs.String(k.name, *p, usage)
		case *int:
			fs.Int(k.name, *p, usage)
		case *time.Duration:
			fs.Duration(k.name, *p, usage)
		case *[]string:
			fs.StringSlice(k.name, *p, usage)
		case *[]int:
			fs.IntSlice(k.name, *p, usage)
		case *bool:
			fs.Bool(k.name, *p, usage)
		}
	}
}

// Problem is one invalid key.
type Problem struct {
	Key string // dotted key, e.g. "queue.batch_size"
	Msg string // what is wrong, e.g. "must be between 1 and 10, got 11"
}

// Error lists every invalid key found, so that one run of the daemon reports
// all of a deployment's mistakes rather than one per restart.
type Error struct {
	Problems []Problem
}

// Error prints one line per problem, "config: <key>: <msg>".
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("config: ")
		b.WriteString(oneLine(p.Key))
		b.WriteString(": ")
		b.WriteString(oneLine(p.Msg))
	}
	return b.String()
}

// oneLine keeps the one-line-per-problem promise even when a key comes from
// a hostile or garbled YAML file.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// problems accumulates Problems; a nil *Error is never returned as a
// non-nil error interface.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Problems: slices.Clone(ps)}
}

// Command is what a configuration is loaded for. Commands share one set of
// keys (and so one file), but not every command needs every key: `sqsfleet
// scaler` reads the queue and never runs a handler.
type Command int

const (
	// ForRun is the worker daemon, `sqsfleet run`: queue.url and the
	// handler keys are required.
	ForRun Command = iota
	// ForScaler is `sqsfleet scaler`: only queue.url is required. Handler
	// keys that are set are still checked, so one file serves both
	// commands and a typo in it is reported by either.
	ForScaler
)

// Load builds the configuration from, in increasing precedence: defaults,
// the YAML file named by --config (none if empty), SQSFLEET_* environment
// variables, and the flags on fs that the user set. fs may be nil.
//
// A file that cannot be read or parsed is a plain error naming the file.
// Everything else wrong (unknown keys, undecodable values, failed
// validation) is collected into one *Error. Load validates for `sqsfleet
// run`; LoadFor chooses the command.
func Load(fs *pflag.FlagSet) (*Config, error) {
	return LoadFor(fs, ForRun)
}

// LoadFor is Load for the given command, which decides the required keys.
func LoadFor(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	cfg, err := resolve(fs, cmd)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// HTTPAddr returns http.addr as Load would resolve it from fs, the file and
// the environment, even when other keys are invalid or missing: `sqsfleet
// healthcheck` needs only this one value and must not fail because, say,
// the queue URL lives in a variable its environment lacks.
func HTTPAddr(fs *pflag.FlagSet) (string, error) {
	cfg, err := resolve(fs, ForRun)
	var cerr *Error
	if err != nil && !errors.As(err, &cerr) {
		return "", err
	}
	if cerr != nil {
		for _, p := range cerr.Problems {
			if p.Key == "http.addr" {
				return "", cerr
			}
		}
	}
	return cfg.HTTP.Addr, nil
}

// resolve is Load, except that with validation problems it returns the
// decoded config alongside the *Error (defaults standing in for bad keys).
func resolve(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	v := viper.New()
	def := Defaults()
	for _, k := range keys {
		v.SetDefault(k.name, deref(k.field(def)))
		// Explicit binding, not AutomaticEnv: viper's automatic lookup only
		// sees keys it already knows from somewhere, and an explicit name
		// does not depend on viper's replacer rules.
		if err := v.BindEnv(k.name, EnvVar(k.name)); err != nil {
			return nil, fmt.Errorf("config: bind %s: %w", k.name, err)
		}
	}

	var ps problems
	var file *viper.Viper // the file alone, to tell where a value came from
	path := ""
	if fs != nil {
		if f := fs.Lookup(ConfigFlag); f != nil {
			path = f.Value.String()
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err) // *PathError names the file
		}
		// Parsed twice: once merged with the other sources, once alone so
		// that the keys actually written in the file can be checked.
		file, err = parseYAML(data)
		if err != nil {
			return nil, fmt.Errorf("config: %s: invalid YAML: %s", path, flatten(err.Error()))
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("config: %s: invalid YAML: %s", path, flatten(err.Error()))
		}
		checkFileKeys(&ps, file, path)
	}

	if fs != nil {
		for _, k := range keys {
			f := fs.Lookup(k.name)
			if f == nil || !f.Changed {
				continue
			}
			val, err := flagValue(fs, k)
			if err != nil {
				ps.add(k.name, "flag --%s: %v", k.name, err)
				continue
			}
			v.Set(k.name, val)
		}
	}

	cfg := &Config{}
	bad := map[string]bool{}
	for _, k := range keys {
		p := k.field(cfg)
		raw := v.Get(k.name)
		if raw == nil { // YAML null, or a section shadowed by a scalar
			raw = deref(k.field(def))
		}
		if err := decode(p, raw); err != nil {
			ps.add(k.name, "%v (from %s)", err, source(fs, file, path, k.name))
			bad[k.name] = true
			setDefault(p, k.field(def))
		}
	}

	// A key that failed to decode holds its default now; validating that
	// default would only add a confusing second line for the same key.
	var verr *Error
	if errors.As(cfg.ValidateFor(cmd), &verr) {
		for _, p := range verr.Problems {
			if !bad[p.Key] {
				ps = append(ps, p)
			}
		}
	}
	// Report in the order of the reference file, file-structure mistakes
	// (unknown keys) first, whichever stage found them.
	rank := func(p Problem) int {
		return slices.IndexFunc(keys, func(k key) bool { return k.name == p.Key })
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return rank(a) - rank(b) })
	return cfg, ps.err()
}

// flatten joins the yaml package's multi-line "unmarshal errors:" list so
// that every config error stays on one log line.
func flatten(msg string) string {
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.ReplaceAll(strings.Join(lines, "; "), ":; ", ": ")
}

// parseYAML reads data with its own viper so that it holds the file's keys
// and nothing else.
func parseYAML(data []byte) (*viper.Viper, error) {
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
		var pe viper.ConfigParseError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			return nil, pe.Unwrap() // drop viper's "While parsing config:" prefix
		}
		return nil, err
	}
	return fv, nil
}

// checkFileKeys reports keys in the file that no table entry declares, so a
// typo such as queue.batchsize fails loudly instead of leaving the default.
func checkFileKeys(ps *problems, file *viper.Viper, path string) {
	known := map[string]bool{}
	sections := map[string]bool{}
	for _, k := range keys {
		known[k.name] = true
		sections[k.name[:strings.IndexByte(k.name, '.')]] = true
	}
	fileKeys := file.AllKeys()
	sort.Strings(fileKeys)
	for _, fk := range fileKeys {
		switch {
		case known[fk]:
		case sections[fk]:
			// "queue:" with nothing under it is harmless; "queue: 5" is not.
			if val := file.Get(fk); val != nil {
				ps.add(fk, "must be a mapping of keys, got %s", describe(val))
			}
		case isMapping(file.Get(knownLeafOf(fk, known))):
			// e.g. "queue: {url: {x: 1}}": decoding queue.url reports it.
			// (A literal key "url.x" under queue is no mapping and falls
			// through to unknown.)
		default:
			msg := "unknown key in " + path
			if s := suggest(fk); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			ps.add(printableKey(fk), "%s", msg)
		}
	}
}

// printableKey quotes a key that would otherwise be invisible or ambiguous
// in "config: <key>: <msg>" (YAML allows "" and keys with spaces or colons).
func printableKey(k string) string {
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == ':' }) >= 0 {
		return strconv.Quote(k)
	}
	return k
}

// knownLeafOf returns the known key that is a proper prefix of fk, or "".
func knownLeafOf(fk string, known map[string]bool) string {
	for i, r := range fk {
		if r == '.' && known[fk[:i]] {
			return fk[:i]
		}
	}
	return ""
}

func isMapping(v any) bool {
	switch v.(type) {
	case map[string]any, map[any]any:
		return true
	}
	return false
}

// suggest returns the known key closest to a misspelled one, if any is
// close enough to be a plausible typo.
func suggest(unknown string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	best, bestDist := "", 4
	for _, k := range keys {
		if norm(k.name) == norm(unknown) {
			return k.name
		}
		if d := levenshtein(k.name, unknown, bestDist); d < bestDist {
			best, bestDist = k.name, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, or limit when it is at
// least limit; the bound keeps hostile multi-megabyte keys cheap.
func levenshtein(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// source names where key's winning value came from, for decode errors: the
// value itself is often fine-looking ("20") and the fix is in one place.
func source(fs *pflag.FlagSet, file *viper.Viper, path, key string) string {
	if fs != nil {
		if f := fs.Lookup(key); f != nil && f.Changed {
			return "flag --" + key
		}
	}
	if val, ok := os.LookupEnv(EnvVar(key)); ok && val != "" {
		return "env " + EnvVar(key)
	}
	if file != nil && file.IsSet(key) {
		return path
	}
	return "default"
}

func flagValue(fs *pflag.FlagSet, k key) (any, error) {
	switch k.kind {
	case kString:
		return fs.GetString(k.name)
	case kInt:
		return fs.GetInt(k.name)
	case kDuration:
		return fs.GetDuration(k.name)
	case kStrings:
		argv, err := fs.GetStringSlice(k.name)
		// `--handler.command "python3 worker.py"` is what people type; treat
		// a lone value like the env var and split it, while comma-separated
		// or repeated values stay verbatim for arguments containing spaces.
		if err == nil && len(argv) == 1 {
			argv = strings.Fields(argv[0])
		}
		return argv, err
	case kInts:
		return fs.GetIntSlice(k.name)
	case kBool:
		return fs.GetBool(k.name)
	}
	return nil, fmt.Errorf("unsupported kind %d", k.kind)
}

func deref(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *time.Duration:
		return *p
	case *[]string:
		return slices.Clone(*p)
	case *[]int:
		return slices.Clone(*p)
	case *bool:
		return *p
	}
	panic(fmt.Sprintf("config: unsupported field type %T", p))
}

func setDefault(dst, def any) {
	if err := decode(dst, deref(def)); err != nil {
		panic("config: default does not decode: " + err.Error())
	}
}

// decode stores raw, whatever source it came from (typed default or flag,
// YAML node, env string), into the field dst points to.
func decode(dst, raw any) error {
	switch p := dst.(type) {
	case *string:
		s, err := toString(raw)
		*p = s
		return err
	case *int:
		n, err := toInt(raw)
		*p = n
		return err
	case *time.Duration:
		d, err := toDuration(raw)
		*p = d
		return err
	case *[]string:
		s, err := toStrings(raw)
		*p = s
		return err
	case *[]int:
		s, err := toInts(raw)
		*p = s
		return err
	case *bool:
		b, err := toBool(raw)
		*p = b
		return err
	}
	return fmt.Errorf("unsupported field type %T", dst)
}

func toString(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		// Env values from secrets and templated manifests often carry a
		// trailing newline; no key has meaningful surrounding whitespace.
		return strings.TrimSpace(x), nil
	case int, int64, uint64, float64, bool:
		// e.g. "http.addr: 8080" in YAML: keep the value so validation can
		// say what is wrong with it rather than "not a string".
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("must be a string, got %s", describe(raw))
}

func toInt(raw any) (int, error) {
	switch x := raw.(type) {
	case int:
		return x, nil
	case int64:
		if x >= math.MinInt && x <= math.MaxInt {
			return int(x), nil
		}
	case uint64:
		if x <= math.MaxInt {
			return int(x), nil
		}
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt && x < math.MaxInt {
			return int(x), nil
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("must be an integer, got %s", describe(raw))
}

func toDuration(raw any) (time.Duration, error) {
	switch x := raw.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err == nil {
			return d, nil
		}
	case int:
		// A bare number is ambiguous (seconds? nanoseconds?), so only the
		// unambiguous zero is accepted without a unit.
		if x == 0 {
			return 0, nil
		}
	}
	return 0, fmt.Errorf(`must be a duration such as "20s" or "15m", got %s`, describe(raw))
}

func toStrings(raw any) ([]string, error) {
	switch x := raw.(type) {
	case []string:
		return slices.Clone(x), nil
	case string:
		// No shell: whitespace splitting only, so quoting is not supported
		// here; use a YAML list for arguments that contain spaces.
		return strings.Fields(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			switch e.(type) {
			case string, int, int64, uint64, float64, bool:
				out = append(out, fmt.Sprint(e))
			default:
				return nil, fmt.Errorf("element %d must be a string, got %s", i, describe(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a list of strings or a string, got %s", describe(raw))
}

func toBool(raw any) (bool, error) {
	switch x := raw.(type) {
	case bool:
		return x, nil
	case string:
		// strconv's set (true, false, 1, 0, t, f, in any case people type
		// them in a manifest) rather than YAML 1.1's yes/no/on/off, which
		// viper does not apply to env values either.
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err == nil {
			return b, nil
		}
	case int:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	}
	return false, fmt.Errorf("must be true or false, got %s", describe(raw))
}

func toInts(raw any) ([]int, error) {
	switch x := raw.(type) {
	case []int:
		return slices.Clone(x), nil
	case string:
		fields := strings.FieldsFunc(x, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		out := make([]int, 0, len(fields))
		for _, f := range fields {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("must be a list of integers, got %q", f)
			}
			out = append(out, n)
		}
		return out, nil
	case []any:
		out := make([]int, 0, len(x))
		for i, e := range x {
			n, err := toInt(e)
			if err != nil {
				return nil, fmt.Errorf("element %d must be an integer, got %s", i, describe(e))
			}
			out = append(out, n)
		}
		return out, nil
	case int, int64, uint64, float64:
		n, err := toInt(x)
		if err != nil {
			return nil, err
		}
		return []int{n}, nil
	}
	return nil, fmt.Errorf("must be a list of integers, got %s", describe(raw))
}

// describe renders a bad value for an error message without dumping a whole
// YAML subtree into one line.
func describe(raw any) string {
	switch x := raw.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(truncate(x))
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case int, int64, uint64, float64, bool, time.Duration:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("a %T", raw)
}

func truncate(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// Validate checks every rule and reports all violations in one *Error. It
// is separate from Load so a Config built in code (tests, embedding) is held
// to the same rules. It validates for `sqsfleet run`; ValidateFor chooses
// the command.
func (c *Config) Validate() error {
	return c.ValidateFor(ForRun)
}

// ValidateFor is Validate for the given command, which decides the required
// keys.
func (c *Config) ValidateFor(cmd Command) error {
	var ps problems
	needHandler := cmd == ForRun

	// Queue
	if c.Queue.URL == "" {
		ps.add("queue.url", "is required")
	} else if msg := checkURL(c.Queue.URL); msg != "" {
		ps.add("queue.url", "%s", msg)
	}
	if c.Queue.DLQURL != "" {
		if msg := checkURL(c.Queue.DLQURL); msg != "" {
			ps.add("queue.dlq_url", "%s", msg)
		}
	}
	// SQS takes these two as whole seconds; silently truncating 1.5s would
	// make the daemon behave differently from its config.
	checkDuration(&ps, "queue.wait_time", c.Queue.WaitTime, 0, 20*time.Second, true)
	checkInt(&ps, "queue.batch_size", c.Queue.BatchSize, 1, 10)
	checkDuration(&ps, "queue.visibility_timeout", c.Queue.VisibilityTimeout, time.Second, maxVisibility, true)
	if c.Queue.MaxAttempts < 1 {
		ps.add("queue.max_attempts", "must be at least 1, got %d", c.Queue.MaxAttempts)
	}

	// Retry: both are applied as visibility timeouts, which SQS counts
	// from the receive: a delay past what the engine can hold (12h less a
	// minute for clock skew) could never be honoured.
	baseOK := checkDuration(&ps, "retry.base_delay", c.Retry.BaseDelay, 0, worker.MaxHold, false)
	switch {
	case c.Retry.MaxDelay > worker.MaxHold:
		ps.add("retry.max_delay", "must be at most %s (SQS keeps a message hidden at most 12h from its receive, less a minute for clock skew), got %s", fmtDur(worker.MaxHold), fmtDur(c.Retry.MaxDelay))
	case baseOK && c.Retry.MaxDelay < c.Retry.BaseDelay:
		// Only against a valid base: comparing with a base that is itself
		// reported as wrong would blame the wrong key.
		ps.add("retry.max_delay", "must be at least retry.base_delay (%s), got %s", fmtDur(c.Retry.BaseDelay), fmtDur(c.Retry.MaxDelay))
	}

	// Worker
	checkInt(&ps, "worker.concurrency", c.Worker.Concurrency, 1, 10000)
	if c.Worker.ShutdownTimeout < 0 {
		ps.add("worker.shutdown_timeout", "must not be negative, got %s", fmtDur(c.Worker.ShutdownTimeout))
	}

	// Handler: command and url are only checked for the type that uses
	// them, so one file can carry both while the type is switched by env.
	switch c.Handler.Type {
	case "exec":
		if len(c.Handler.Command) == 0 {
			if needHandler {
				ps.add("handler.command", `is required when handler.type is "exec"`)
			}
		} else if c.Handler.Command[0] == "" {
			ps.add("handler.command", "program (first element) must not be empty")
		}
	case "http":
		if c.Handler.URL == "" {
			if needHandler {
				ps.add("handler.url", `is required when handler.type is "http"`)
			}
		} else if msg := checkURL(c.Handler.URL); msg != "" {
			ps.add("handler.url", "%s", msg)
		}
	case "":
		if needHandler {
			ps.add("handler.type", `is required: "exec" or "http"`)
		}
	default:
		ps.add("handler.type", `must be "exec" or "http", got %q`, truncate(c.Handler.Type))
	}
	// The message must stay hidden until the handler's deadline plus the
	// time to settle it, within SQS's 12h from the receive; past that it
	// would reappear while its handler still runs.
	if limit := worker.MaxHandlerTimeout(c.Queue.VisibilityTimeout); c.Handler.Timeout <= 0 || c.Handler.Timeout > limit {
		ps.add("handler.timeout", "must be greater than 0s and at most %s (SQS keeps a message hidden at most 12h from its receive, less the time to settle it), got %s", fmtDur(limit), fmtDur(c.Handler.Timeout))
	}
	var badStatus []string
	for _, s := range c.Handler.PermanentStatuses {
		if s < 400 || s > 599 {
			badStatus = append(badStatus, strconv.Itoa(s))
		}
	}
	if len(badStatus) > 0 {
		ps.add("handler.permanent_statuses", "must be HTTP statuses between 400 and 599, got %s", strings.Join(badStatus, ", "))
	}

	// HTTP
	if a := c.HTTP.Addr; a != "" && !validAddr(a) {
		ps.add("http.addr", `must be host:port such as ":8080" or "127.0.0.1:8080", or "" to disable, got %q`, truncate(a))
	}

	// Log
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.add("log.level", "must be one of debug, info, warn, error, got %q", truncate(c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		ps.add("log.format", "must be json or console, got %q", truncate(c.Log.Format))
	}

	// Health
	if c.Health.UnhealthyAfter <= 0 {
		ps.add("health.unhealthy_after", "must be greater than 0s, got %s", fmtDur(c.Health.UnhealthyAfter))
	}

	c.validateScaler(&ps)
	return ps.err()
}

// validateScaler checks the scaler section whether or not scaler.enabled is
// set: `sqsfleet scaler` uses it regardless, and a mistake is better found
// before someone turns the scaler on in production.
func (c *Config) validateScaler(ps *problems) {
	s := c.Scaler
	// Target tracking reads a high-resolution metric at 10s or 30s and a
	// standard one at 60s; publishing less often leaves gaps that its
	// alarms see as missing data, and any other period only adds cost.
	switch s.Interval {
	case 10 * time.Second, 30 * time.Second, 60 * time.Second:
	default:
		ps.add("scaler.interval", "must be 10s, 30s or 60s, got %s", fmtDur(s.Interval))
	}
	switch s.Fleet {
	case "asg", "ecs", "static", "auto":
	default:
		ps.add("scaler.fleet", "must be asg, ecs, static or auto, got %q", truncate(s.Fleet))
	}
	checkInt(ps, "scaler.static_size", s.StaticSize, 0, 1_000_000)
	if len(s.ASGName) > 255 {
		ps.add("scaler.asg_name", "must be at most 255 characters, got %d", len(s.ASGName))
	}
	switch s.Publisher {
	case "cloudwatch", "emf", "none":
	default:
		ps.add("scaler.publisher", "must be cloudwatch, emf or none, got %q", truncate(s.Publisher))
	}
	if msg := checkNamespace(s.Namespace); msg != "" {
		ps.add("scaler.namespace", "%s", msg)
	}
	if msg := checkMetricText(s.MetricName, 255, false); msg != "" {
		ps.add("scaler.metric_name", "%s", msg)
	}
	if msg := checkMetricText(s.DimensionName, 255, true); msg != "" {
		ps.add("scaler.dimension_name", "%s", msg)
	} else if strings.HasPrefix(s.DimensionName, ":") {
		ps.add("scaler.dimension_name", `must not start with ":", got %q`, truncate(s.DimensionName))
	}
	if msg := checkMetricText(s.DimensionValue, 1024, true); msg != "" {
		ps.add("scaler.dimension_value", "%s", msg)
	}
	if s.LeaderOnly && s.Fleet == "static" {
		// Nothing to elect from: every daemon would either publish (which
		// leader_only promises not to) or none would.
		ps.add("scaler.leader_only", "needs scaler.fleet asg, ecs or auto to elect a leader, got static")
	}
	// At least 1s: activity is sampled once a second, so less would only
	// pretend to be faster.
	checkDuration(ps, "scaler.protection_hold_down", s.ProtectionHold, time.Second, time.Hour, false)
	if id := s.InstanceID; id != "" && !validInstanceID(id) {
		ps.add("scaler.instance_id", "must be an EC2 instance id such as i-0123456789abcdef0, got %q", truncate(id))
	}
}

// checkNamespace applies CloudWatch's rules for custom namespaces, so that a
// bad one fails at start instead of on every PutMetricData.
func checkNamespace(ns string) string {
	switch {
	case strings.TrimSpace(ns) == "":
		return "is required"
	case len(ns) > 255:
		return fmt.Sprintf("must be at most 255 characters, got %d", len(ns))
	case strings.HasPrefix(ns, "AWS/"):
		return fmt.Sprintf(`must not start with "AWS/" (reserved for AWS services), got %q`, truncate(ns))
	}
	for _, r := range ns {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_/#: ", r)) {
			return fmt.Sprintf("may contain only letters, digits, spaces and . - _ / # :, got %q", truncate(ns))
		}
	}
	return ""
}

// checkMetricText checks a metric or dimension name or value: printable
// ASCII of bounded length.
func checkMetricText(s string, limit int, emptyOK bool) string {
	switch {
	case s == "" && emptyOK:
		return ""
	case strings.TrimSpace(s) == "":
		return "is required"
	case len(s) > limit:
		return fmt.Sprintf("must be at most %d characters, got %d", limit, len(s))
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Sprintf("must be printable ASCII, got %q", truncate(s))
		}
	}
	return ""
}

func validInstanceID(id string) bool {
	hex, ok := strings.CutPrefix(id, "i-")
	if !ok || (len(hex) != 8 && len(hex) != 17) {
		return false
	}
	for _, r := range hex {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

func checkInt(ps *problems, key string, n, lo, hi int) {
	if n < lo || n > hi {
		ps.add(key, "must be between %d and %d, got %d", lo, hi, n)
	}
}

func checkDuration(ps *problems, key string, d, lo, hi time.Duration, wholeSeconds bool) bool {
	switch {
	case d < lo || d > hi:
		ps.add(key, "must be between %s and %s, got %s", fmtDur(lo), fmtDur(hi), fmtDur(d))
	case wholeSeconds && d%time.Second != 0:
		ps.add(key, "must be whole seconds, got %s", fmtDur(d))
	default:
		return true
	}
	return false
}

func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Sprintf("must be an absolute http or https URL, got %q", truncate(redact.URL(s)))
	}
	return ""
}

func validAddr(a string) bool {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// fmtDur prints durations the way they are written in the config ("15m",
// "12h") rather than Go's "15m0s", so messages can be pasted back.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Redacted is the effective configuration for the start-up log line, keyed
// by the dotted key names so a line can be matched to the YAML and env vars.
// Durations are strings in config syntax. The only secrets a config holds are
// in URLs (basic-auth passwords, token query parameters), so those are masked,
// by the rule every URL the daemon prints follows (internal/redact), and
// nothing else.
func (c *Config) Redacted() map[string]any {
	return map[string]any{
		"queue.url":                   redact.URL(c.Queue.URL),
		"queue.dlq_url":               redact.URL(c.Queue.DLQURL),
		"queue.wait_time":             fmtDur(c.Queue.WaitTime),
		"queue.batch_size":            c.Queue.BatchSize,
		"queue.visibility_timeout":    fmtDur(c.Queue.VisibilityTimeout),
		"queue.max_attempts":          c.Queue.MaxAttempts,
		"retry.base_delay":            fmtDur(c.Retry.BaseDelay),
		"retry.max_delay":             fmtDur(c.Retry.MaxDelay),
		"worker.concurrency":          c.Worker.Concurrency,
		"worker.shutdown_timeout":     fmtDur(c.Worker.ShutdownTimeout),
		"handler.type":                c.Handler.Type,
		"handler.command":             slices.Clone(c.Handler.Command),
		"handler.url":                 redact.URL(c.Handler.URL),
		"handler.timeout":             fmtDur(c.Handler.Timeout),
		"handler.permanent_statuses":  slices.Clone(c.Handler.PermanentStatuses),
		"http.addr":                   c.HTTP.Addr,
		"log.level":                   c.Log.Level,
		"log.format":                  c.Log.Format,
		"health.unhealthy_after":      fmtDur(c.Health.UnhealthyAfter),
		"scaler.enabled":              c.Scaler.Enabled,
		"scaler.interval":             fmtDur(c.Scaler.Interval),
		"scaler.fleet":                c.Scaler.Fleet,
		"scaler.static_size":          c.Scaler.StaticSize,
		"scaler.asg_name":             c.Scaler.ASGName,
		"scaler.ecs_cluster":          c.Scaler.ECSCluster,
		"scaler.ecs_service":          c.Scaler.ECSService,
		"scaler.publisher":            c.Scaler.Publisher,
		"scaler.namespace":            c.Scaler.Namespace,
		"scaler.metric_name":          c.Scaler.MetricName,
		"scaler.dimension_name":       c.Scaler.DimensionName,
		"scaler.dimension_value":      c.Scaler.DimensionValue,
		"scaler.include_in_flight":    c.Scaler.IncludeInFlight,
		"scaler.include_delayed":      c.Scaler.IncludeDelayed,
		"scaler.leader_only":          c.Scaler.LeaderOnly,
		"scaler.scale_in_protection":  c.Scaler.ScaleInProtection,
		"scaler.protection_hold_down": fmtDur(c.Scaler.ProtectionHold),
		"scaler.instance_id":          c.Scaler.InstanceID,
		"payload.s3_resolve":          c.Payload.S3Resolve,
		"payload.s3_cleanup":          c.Payload.S3Cleanup,
		"payload.s3_path_style":       c.Payload.S3PathStyle,
	}
}
