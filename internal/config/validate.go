package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

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
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "config: " + oneLine(p.Key) + ": " + oneLine(p.Msg)
	}
	return strings.Join(lines, "\n")
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

func (ps *problems) addIf(bad bool, key, format string, args ...any) {
	if bad {
		ps.add(key, format, args...)
	}
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

// maxVisibility is SQS's ceiling for ChangeMessageVisibility and for a
// queue's visibility timeout; every delay the daemon implements by hiding a
// message (retries, handler leases) must fit under it.
const maxVisibility = 12 * time.Hour

var (
	// CloudWatch's rules, so that a bad name fails at start instead of on
	// every PutMetricData.
	namespaceChars = regexp.MustCompile(`^[A-Za-z0-9.\-_/#: ]*$`)
	printableASCII = regexp.MustCompile(`^[\x20-\x7e]*$`)
	instanceID     = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

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
	return c.check(cmd).err()
}

func (c *Config) check(cmd Command) problems {
	var ps problems
	run := cmd == ForRun
	q, h := c.Queue, c.Handler

	ps.url("queue.url", q.URL, "is required")
	ps.url("queue.dlq_url", q.DLQURL, "")
	// SQS takes these two as whole seconds; silently truncating 1.5s would
	// make the daemon behave differently from its config.
	ps.duration("queue.wait_time", q.WaitTime, 0, 20*time.Second, true)
	ps.between("queue.batch_size", q.BatchSize, 1, 10)
	ps.duration("queue.visibility_timeout", q.VisibilityTimeout, time.Second, maxVisibility, true)
	ps.addIf(q.MaxAttempts < 1, "queue.max_attempts", "must be at least 1, got %d", q.MaxAttempts)

	// Retry: both are applied as visibility timeouts, which SQS counts
	// from the receive: a delay past what the engine can hold (12h less a
	// minute for clock skew) could never be honoured.
	baseOK := ps.duration("retry.base_delay", c.Retry.BaseDelay, 0, worker.MaxHold, false)
	switch maxDelay := c.Retry.MaxDelay; {
	case maxDelay > worker.MaxHold:
		ps.add("retry.max_delay", "must be at most %s (SQS keeps a message hidden at most 12h from its receive, less a minute for clock skew), got %s", fmtDur(worker.MaxHold), fmtDur(maxDelay))
	case baseOK && maxDelay < c.Retry.BaseDelay:
		// Only against a valid base: comparing with a base that is itself
		// reported as wrong would blame the wrong key.
		ps.add("retry.max_delay", "must be at least retry.base_delay (%s), got %s", fmtDur(c.Retry.BaseDelay), fmtDur(maxDelay))
	}

	ps.between("worker.concurrency", c.Worker.Concurrency, 1, 10000)
	ps.addIf(c.Worker.ShutdownTimeout < 0, "worker.shutdown_timeout", "must not be negative, got %s", fmtDur(c.Worker.ShutdownTimeout))

	// Handler: command and url are only checked for the type that uses
	// them, so one file can carry both while the type is switched by env.
	switch h.Type {
	case "exec":
		ps.addIf(len(h.Command) == 0 && run, "handler.command", `is required when handler.type is "exec"`)
		ps.addIf(len(h.Command) > 0 && h.Command[0] == "", "handler.command", "program (first element) must not be empty")
	case "http":
		if h.URL != "" || run {
			ps.url("handler.url", h.URL, `is required when handler.type is "http"`)
		}
	case "lambda":
		// Empty means the emulator's default invoke URL.
		for _, u := range h.LambdaURLs() {
			n := len(ps)
			if ps.url("handler.url", u, ""); len(ps) > n {
				break // one line for the key is enough
			}
		}
	case "":
		ps.addIf(run, "handler.type", `is required: "exec", "http" or "lambda"`)
	default:
		ps.add("handler.type", `must be "exec", "http" or "lambda", got %q`, truncate(h.Type))
	}
	// Each message of a batch holds a handler slot, so a batch larger than
	// the slots would never fill.
	if h.BatchSize != 0 {
		ps.between("handler.batch_size", h.BatchSize, 1, max(c.Worker.Concurrency, 1))
	}
	if ps.duration("handler.batch_window", h.BatchWindow, 0, handler.MaxBatchWindow, false) &&
		h.BatchWindow > 0 && h.Timeout > 0 && h.Timeout <= h.BatchWindow {
		// The timeout counts from when a message joins its batch: one no
		// longer than the window would end every batch before its call.
		ps.add("handler.timeout", "must be longer than handler.batch_window (%s), which it covers, got %s", fmtDur(h.BatchWindow), fmtDur(h.Timeout))
	}
	// The message must stay hidden until the handler's deadline plus the
	// time to settle it, within SQS's 12h from the receive; past that it
	// would reappear while its handler still runs.
	if limit := worker.MaxHandlerTimeout(q.VisibilityTimeout); h.Timeout <= 0 || h.Timeout > limit {
		ps.add("handler.timeout", "must be greater than 0s and at most %s (SQS keeps a message hidden at most 12h from its receive, less the time to settle it), got %s", fmtDur(limit), fmtDur(h.Timeout))
	}
	bad := slices.DeleteFunc(slices.Clone(h.PermanentStatuses), func(s int) bool { return s >= 400 && s <= 599 })
	ps.addIf(len(bad) > 0, "handler.permanent_statuses", "must be HTTP statuses between 400 and 599, got %s", strings.ReplaceAll(strings.Trim(fmt.Sprint(bad), "[]"), " ", ", "))

	ps.addIf(c.HTTP.Addr != "" && !validAddr(c.HTTP.Addr), "http.addr", `must be host:port such as ":8080" or "127.0.0.1:8080", or "" to disable, got %q`, truncate(c.HTTP.Addr))
	ps.oneOf("message.envelope", c.Message.Envelope, "one of none, sns, eventbridge, auto", "none", "sns", "eventbridge", "auto")
	// Batches carry bodies as SQS delivered them, as Lambda does: an
	// envelope setting would silently do nothing there.
	ps.addIf(c.Message.Envelope != "none" && (h.Type == "lambda" || h.BatchSize > 0), "message.envelope",
		"applies to handlers called per message; with handler.type lambda or handler.batch_size set, bodies reach the handler as SQS delivered them (set none), got %q", truncate(c.Message.Envelope))
	ps.oneOf("log.level", c.Log.Level, "one of debug, info, warn, error", "debug", "info", "warn", "error")
	ps.oneOf("log.format", c.Log.Format, "json or console", "json", "console")
	ps.addIf(c.Health.UnhealthyAfter <= 0, "health.unhealthy_after", "must be greater than 0s, got %s", fmtDur(c.Health.UnhealthyAfter))
	c.validateScaler(&ps)
	ps.url("tracing.endpoint", c.Tracing.Endpoint, "")
	ps.addIf(c.Tracing.Enabled && strings.TrimSpace(c.Tracing.ServiceName) == "", "tracing.service_name", "must not be empty when tracing.enabled is set")
	return ps
}

// validateScaler checks the scaler section whether or not scaler.enabled is
// set: `sqsfleet scaler` uses it regardless, and a mistake is better found
// before someone turns the scaler on in production.
func (c *Config) validateScaler(ps *problems) {
	s := c.Scaler
	// Target tracking reads a high-resolution metric at 10s or 30s and a
	// standard one at 60s; publishing less often leaves gaps that its
	// alarms see as missing data, and any other period only adds cost.
	periods := []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second}
	ps.addIf(!slices.Contains(periods, s.Interval), "scaler.interval", "must be 10s, 30s or 60s, got %s", fmtDur(s.Interval))
	ps.oneOf("scaler.fleet", s.Fleet, "asg, ecs, static or auto", "asg", "ecs", "static", "auto")
	ps.between("scaler.static_size", s.StaticSize, 0, 1_000_000)
	ps.addIf(len(s.ASGName) > 255, "scaler.asg_name", "must be at most 255 characters, got %d", len(s.ASGName))
	ps.oneOf("scaler.publisher", s.Publisher, "cloudwatch, emf or none", "cloudwatch", "emf", "none")
	switch ns := s.Namespace; {
	case strings.TrimSpace(ns) == "":
		ps.add("scaler.namespace", "is required")
	case len(ns) > 255:
		ps.add("scaler.namespace", "must be at most 255 characters, got %d", len(ns))
	case strings.HasPrefix(ns, "AWS/"):
		ps.add("scaler.namespace", `must not start with "AWS/" (reserved for AWS services), got %q`, truncate(ns))
	case !namespaceChars.MatchString(ns):
		ps.add("scaler.namespace", "may contain only letters, digits, spaces and . - _ / # :, got %q", truncate(ns))
	}
	ps.metricText("scaler.metric_name", s.MetricName, 255, false)
	if ps.metricText("scaler.dimension_name", s.DimensionName, 255, true) {
		ps.addIf(strings.HasPrefix(s.DimensionName, ":"), "scaler.dimension_name", `must not start with ":", got %q`, truncate(s.DimensionName))
	}
	ps.metricText("scaler.dimension_value", s.DimensionValue, 1024, true)
	// Nothing to elect from: every daemon would either publish (which
	// leader_only promises not to) or none would.
	ps.addIf(s.LeaderOnly && s.Fleet == "static", "scaler.leader_only", "needs scaler.fleet asg, ecs or auto to elect a leader, got static")
	// At least 1s: activity is sampled once a second, so less would only
	// pretend to be faster.
	ps.duration("scaler.protection_hold_down", s.ProtectionHold, time.Second, time.Hour, false)
	ps.addIf(s.InstanceID != "" && !instanceID.MatchString(s.InstanceID), "scaler.instance_id", "must be an EC2 instance id such as i-0123456789abcdef0, got %q", truncate(s.InstanceID))
}

func (ps *problems) oneOf(key, got, phrase string, allowed ...string) {
	ps.addIf(!slices.Contains(allowed, got), key, "must be %s, got %q", phrase, truncate(got))
}

func (ps *problems) between(key string, n, lo, hi int) {
	ps.addIf(n < lo || n > hi, key, "must be between %d and %d, got %d", lo, hi, n)
}

func (ps *problems) duration(key string, d, lo, hi time.Duration, wholeSeconds bool) bool {
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

// url checks an absolute http(s) URL; an empty one is a problem when
// required says why.
func (ps *problems) url(key, s, required string) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		ps.addIf(required != "", key, "%s", required)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		ps.add(key, "must be an absolute http or https URL, got %q", truncate(redact.URL(s)))
	}
}

// metricText checks a metric or dimension name or value: printable ASCII
// of bounded length. It reports whether s passed.
func (ps *problems) metricText(key, s string, limit int, emptyOK bool) bool {
	switch {
	case s == "" && emptyOK:
		return true
	case strings.TrimSpace(s) == "":
		ps.add(key, "is required")
	case len(s) > limit:
		ps.add(key, "must be at most %d characters, got %d", limit, len(s))
	case !printableASCII.MatchString(s):
		ps.add(key, "must be printable ASCII, got %q", truncate(s))
	default:
		return true
	}
	return false
}

func validAddr(a string) bool {
	_, port, err := net.SplitHostPort(a)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 0 && n <= 65535
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
