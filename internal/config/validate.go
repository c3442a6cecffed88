package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker"
)

// Problem is one invalid key.
type Problem struct {
	Key string // dotted key, e.g. "queue.batch_size"
	Msg string // what is wrong, e.g. "must be between 1 and 10, got 11"
}

// Error lists every invalid key found, so that one run of the daemon reports
// all of a deployment's mistakes rather than one per restart.
type Error struct{ Problems []Problem }

// Error prints a line per problem, "config: <key>: <msg>", escaping line
// breaks (a key from a garbled file may hold one).
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "config: " + oneLine(p.Key) + ": " + oneLine(p.Msg)
	}
	return strings.Join(lines, "\n")
}

var oneLine = strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace

type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{key, fmt.Sprintf(format, args...)})
}

func (ps *problems) addIf(bad bool, key, format string, args ...any) {
	if bad {
		ps.add(key, format, args...)
	}
}

func (ps problems) has(key string) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Key == key })
}

// err returns the problems in the order of the reference file, unknown keys
// first, or nil (never a nil *Error).
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	rank := func(p Problem) int { return slices.IndexFunc(keys, func(k key) bool { return k.name == p.Key }) }
	return &Error{Problems: slices.SortedStableFunc(slices.Values(ps), func(a, b Problem) int { return rank(a) - rank(b) })}
}

// CloudWatch's and EC2's rules: a bad name fails at start, not each publish.
var (
	namespaceChars = regexp.MustCompile(`^[A-Za-z0-9.\-_/#: ]*$`)
	printableASCII = regexp.MustCompile(`^[\x20-\x7e]*$`)
	instanceID     = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

func (c *Config) check(cmd Command) problems {
	ps := tagged(c)
	run, q, h, s := cmd == ForRun, c.Queue, c.Handler, c.Scaler
	ps.addIf(q.URL == "", "queue.url", "is required")
	// A delay is a visibility timeout: past what SQS lets the engine hold, never honoured.
	if d := c.Retry.MaxDelay; d > worker.MaxHold {
		ps.add("retry.max_delay", "must be at most %s (SQS keeps a message hidden at most 12h from its receive, less a minute for clock skew), got %s", describe(worker.MaxHold), describe(d))
	} else if d < c.Retry.BaseDelay && !ps.has("retry.base_delay") {
		ps.add("retry.max_delay", "must be at least retry.base_delay (%s), got %s", describe(c.Retry.BaseDelay), describe(d))
	}
	// Each type's keys are checked for it alone: one file may carry them all.
	switch h.Type {
	case "exec":
		ps.addIf(len(h.Command) == 0 && run, "handler.command", `is required when handler.type is "exec"`)
		ps.addIf(len(h.Command) > 0 && h.Command[0] == "", "handler.command", "program (first element) must not be empty")
	case "http":
		ps.addIf(h.URL == "" && run, "handler.url", `is required when handler.type is "http"`)
		ps.url("handler.url", h.URL)
	case "lambda":
		for _, u := range c.LambdaURLs() { // none: the emulator's default
			if ps.url("handler.url", u); ps.has("handler.url") {
				break // one line a key
			}
		}
	case "":
		ps.addIf(run, "handler.type", `is required: "exec", "http" or "lambda"`)
	default:
		ps.add("handler.type", `must be "exec", "http" or "lambda", got %s`, describe(h.Type))
	}
	// Each message of a batch holds a handler slot: more would never fill.
	slots := max(c.Worker.Concurrency, 1)
	ps.addIf(h.BatchSize != 0 && (h.BatchSize < 1 || h.BatchSize > slots), "handler.batch_size", "must be between 1 and %d, got %d", slots, h.BatchSize)
	// The timeout counts from when a message joins its batch.
	ps.addIf(h.BatchWindow > 0 && h.Timeout > 0 && h.Timeout <= h.BatchWindow && !ps.has("handler.batch_window"), "handler.timeout", "must be longer than handler.batch_window (%s), which it covers, got %s", describe(h.BatchWindow), describe(h.Timeout))
	// Hidden past the deadline until settled, within SQS's 12h, or it reappears.
	limit := worker.MaxHandlerTimeout(q.VisibilityTimeout)
	ps.addIf(h.Timeout <= 0 || h.Timeout > limit, "handler.timeout", "must be greater than 0s and at most %s (SQS keeps a message hidden at most 12h from its receive, less the time to settle it), got %s", describe(limit), describe(h.Timeout))
	bad := slices.DeleteFunc(slices.Clone(h.PermanentStatuses), func(s int) bool { return s >= 400 && s <= 599 })
	ps.addIf(len(bad) > 0, "handler.permanent_statuses", "must be HTTP statuses between 400 and 599, got %s", strings.ReplaceAll(strings.Trim(fmt.Sprint(bad), "[]"), " ", ", "))
	// Batches carry bodies as SQS delivered them, as Lambda does.
	ps.addIf(c.Message.Envelope != "none" && (h.Type == "lambda" || h.BatchSize > 0), "message.envelope", "applies to handlers called per message; with handler.type lambda or handler.batch_size set, bodies reach the handler as SQS delivered them (set none), got %s", describe(c.Message.Envelope))
	_, port, err := net.SplitHostPort(c.HTTP.Addr)
	n, perr := strconv.Atoi(port)
	ps.addIf(c.HTTP.Addr != "" && (err != nil || perr != nil || n < 0 || n > 65535), "http.addr", `must be host:port such as ":8080" or "127.0.0.1:8080", or "" to disable, got %s`, describe(c.HTTP.Addr))
	ps.addIf(c.Health.UnhealthyAfter <= 0, "health.unhealthy_after", "must be greater than 0s, got %s", describe(c.Health.UnhealthyAfter))
	// Scaler keys are checked when disabled too: `sqsfleet scaler` uses them.
	if ns := s.Namespace; !ps.has("scaler.namespace") {
		ps.addIf(strings.HasPrefix(ns, "AWS/"), "scaler.namespace", `must not start with "AWS/" (reserved for AWS services), got %s`, describe(ns))
		ps.addIf(!namespaceChars.MatchString(ns), "scaler.namespace", "may contain only letters, digits, spaces and . - _ / # :, got %s", describe(ns))
	}
	ps.addIf(strings.HasPrefix(s.DimensionName, ":") && !ps.has("scaler.dimension_name"), "scaler.dimension_name", `must not start with ":", got %s`, describe(s.DimensionName))
	// Nothing to elect from: every daemon would publish, or none would.
	ps.addIf(s.LeaderOnly && s.Fleet == "static", "scaler.leader_only", "needs scaler.fleet asg, ecs or auto to elect a leader, got static")
	ps.addIf(s.InstanceID != "" && !instanceID.MatchString(s.InstanceID), "scaler.instance_id", "must be an EC2 instance id such as i-0123456789abcdef0, got %s", describe(s.InstanceID))
	ps.addIf(c.Tracing.Enabled && strings.TrimSpace(c.Tracing.ServiceName) == "", "tracing.service_name", "must not be empty when tracing.enabled is set")
	return ps
}

// tagged applies the rules of the check tags (see Config).
func tagged(c *Config) problems {
	var ps problems
	for _, k := range keys {
		f, rule := k.field(c), k.check
		got := describe(f.Interface())
		bounds, flag, _ := strings.Cut(rule, " ")
		lo, hi, isRange := strings.Cut(bounds, "..")
		switch {
		case rule == "url":
			ps.url(k.name, f.String())
		case isRange && f.Kind() == reflect.String: // bounds the length
			s, min, max := f.String(), bound(lo, reflect.TypeFor[int]()), bound(hi, reflect.TypeFor[int]())
			if len(strings.TrimSpace(s)) < int(min) {
				ps.add(k.name, "is required")
			} else if n := utf8.RuneCountInString(s); n > int(max) {
				ps.add(k.name, "must be at most %d characters, got %d", max, n)
			} else {
				ps.addIf(flag == "ascii" && !printableASCII.MatchString(s), k.name, "must be printable ASCII, got %s", got)
			}
		case isRange && hi == "":
			ps.addIf(f.Int() < bound(lo, f.Type()), k.name, "must be at least %s, got %s", lo, got)
		case isRange && (f.Int() < bound(lo, f.Type()) || f.Int() > bound(hi, f.Type())):
			ps.add(k.name, "must be between %s and %s, got %s", lo, hi, got)
		case isRange: // SQS takes whole seconds: truncating 1.5s would differ from the config
			ps.addIf(flag == "whole" && f.Int()%int64(time.Second) != 0, k.name, "must be whole seconds, got %s", got)
		case rule != "":
			opts := strings.Split(rule, "|")
			ok := slices.ContainsFunc(opts, func(o string) bool { return o == f.String() || f.CanInt() && bound(o, f.Type()) == f.Int() })
			ps.addIf(!ok, k.name, "must be %s or %s, got %s", strings.Join(opts[:len(opts)-1], ", "), opts[len(opts)-1], got)
		}
	}
	return ps
}

// bound is a value in a check tag, parsed like a value of type t, as an
// integer (a duration in nanoseconds).
func bound(s string, t reflect.Type) int64 {
	x, err := scalar(s, t)
	if err != nil {
		panic("config: check tag: " + err.Error())
	}
	return reflect.ValueOf(x).Int()
}

// url checks an absolute http(s) URL, if set.
func (ps *problems) url(key, s string) {
	if u, err := url.Parse(s); s != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "") {
		ps.add(key, "must be an absolute http or https URL, got %s", describe(redact.URL(s)))
	}
}
