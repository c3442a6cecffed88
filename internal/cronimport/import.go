package cronimport

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sqsfleet/sqsfleet/worker/task"
)

// Schedule is one entry of the queue module's schedules.
type Schedule struct {
	Name     string // the task's name, as the app sees it
	Path     string // where the task is POSTed
	Schedule string // EventBridge Scheduler expression, evaluated in UTC
	Line     int    // the entry's line in cron.yaml
	Cron     string // the cron.yaml schedule it came from
}

// scheduleNameChars are the characters an EventBridge schedule name may
// hold; the queue module turns every other one into '-' and refuses names
// that then collide or run past maxScheduleName.
var scheduleNameChars = regexp.MustCompile(`[^0-9A-Za-z_.-]`)

const maxScheduleName = 64

// ScheduleName is the EventBridge schedule name the queue module gives a
// task: its name with every character outside [0-9A-Za-z_.-] replaced by
// '-'.
func ScheduleName(task string) string { return scheduleNameChars.ReplaceAllString(task, "-") }

// Parse reads a cron.yaml (version: 1, cron: a list of name, url and
// schedule). Errors start with file:line.
func Parse(src []byte, file string) ([]Schedule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		// yaml's errors say "yaml: line N: ...".
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file: want version: 1 and a cron list", file)
	}
	root := doc.Content[0]
	at := func(n *yaml.Node, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, a...))
	}
	if root.Kind != yaml.MappingNode {
		return nil, at(root, "want a mapping with version and cron")
	}
	var version, cron *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "version":
			version = v
		case "cron":
			cron = v
		default:
			return nil, at(k, "unknown key %q (cron.yaml has version and cron)", k.Value)
		}
	}
	if version == nil {
		return nil, at(root, "version is missing: Elastic Beanstalk's format is version: 1")
	}
	if version.Kind != yaml.ScalarNode || version.Value != "1" {
		return nil, at(version, "version %q: only version 1 is known", version.Value)
	}
	if cron == nil {
		return nil, at(root, "cron is missing: want a list of tasks with name, url and schedule")
	}
	if cron.Kind != yaml.SequenceNode {
		return nil, at(cron, "cron: want a list of tasks with name, url and schedule")
	}
	var out []Schedule
	names := map[string]int{}
	scheduleNames := map[string]string{}
	for i, e := range cron.Content {
		if e.Kind != yaml.MappingNode {
			return nil, at(e, "cron[%d]: want a mapping with name, url and schedule", i)
		}
		fields := map[string]*yaml.Node{}
		for j := 0; j+1 < len(e.Content); j += 2 {
			k, v := e.Content[j], e.Content[j+1]
			switch k.Value {
			case "name", "url", "schedule":
				if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
					return nil, at(v, "cron[%d].%s: want a string", i, k.Value)
				}
				fields[k.Value] = v
			case "description":
				// Free text for people; schedules have no place for it.
			default:
				return nil, at(k, "cron[%d]: unknown key %q (a task has name, url and schedule)", i, k.Value)
			}
		}
		for _, k := range []string{"name", "url", "schedule"} {
			if fields[k] == nil || fields[k].Value == "" {
				return nil, at(e, "cron[%d]: %s is missing", i, k)
			}
		}
		name, url, sched := fields["name"], fields["url"], fields["schedule"]
		if prev, dup := names[name.Value]; dup {
			return nil, at(name, "cron[%d].name %q: already used on line %d", i, name.Value, prev)
		}
		names[name.Value] = name.Line
		sn := ScheduleName(name.Value)
		if len(sn) > maxScheduleName {
			return nil, at(name, "cron[%d].name %q: longer than the %d characters of an EventBridge schedule name", i, name.Value, maxScheduleName)
		}
		if other, dup := scheduleNames[sn]; dup {
			return nil, at(name, "cron[%d].name %q: its schedule name %q is also %q's (characters outside A-Z a-z 0-9 _ . - become -)", i, name.Value, sn, other)
		}
		scheduleNames[sn] = name.Value
		if err := task.CheckPath(url.Value); err != nil {
			return nil, at(url, "cron[%d].url: %v", i, err)
		}
		expr, err := Convert(sched.Value)
		if err != nil {
			return nil, at(sched, "cron[%d].schedule %q: %v", i, sched.Value, err)
		}
		out = append(out, Schedule{Name: name.Value, Path: url.Value, Schedule: expr, Line: e.Line, Cron: sched.Value})
	}
	if len(out) == 0 {
		return nil, at(cron, "cron: no tasks")
	}
	return out, nil
}

// HCL writes schedules as the queue module's schedules argument, each
// entry with a comment that gives the cron.yaml line and schedule it came
// from.
func HCL(file string, schedules []Schedule) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# From %s by sqsfleet schedules import. Schedules run in UTC, as cron.yaml's do.\n", strings.ReplaceAll(file, "\n", " "))
	b.WriteString("schedules = [\n")
	for _, s := range schedules {
		fmt.Fprintf(&b, "  # line %d: %s\n", s.Line, strings.ReplaceAll(s.Cron, "\n", " "))
		fmt.Fprintf(&b, "  {\n    name     = %s\n    path     = %s\n    schedule = %s\n  },\n", hclString(s.Name), hclString(s.Path), hclString(s.Schedule))
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// hclString quotes s as an HCL string literal: the escapes HCL knows, and
// ${ and %{ doubled so that Terraform reads them as text, not templates.
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Import is Parse then HCL.
func Import(src []byte, file string) ([]byte, error) {
	s, err := Parse(src, file)
	if err != nil {
		return nil, err
	}
	return HCL(file, s), nil
}
