package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// BodyKey is the top-level member of a JSON body that makes a message a
// scheduled task.
const BodyKey = "sqsfleet_task"

// The Elastic Beanstalk worker daemon's periodic-task message.
const (
	// BeanstalkBody is the body sqsd gives its periodic-task messages. It
	// carries nothing: the attributes below say everything. Parse does not
	// require it, since the attributes alone identify the message.
	BeanstalkBody = "elasticbeanstalk scheduled job"
	// BeanstalkAttrPrefix starts the names of sqsd's own attributes. Like
	// sqsd, handlers do not forward them as ordinary attributes.
	BeanstalkAttrPrefix        = "beanstalk.sqsd."
	AttrBeanstalkTaskName      = "beanstalk.sqsd.task_name"
	AttrBeanstalkPath          = "beanstalk.sqsd.path"
	AttrBeanstalkScheduledTime = "beanstalk.sqsd.scheduled_time"
)

// Task is one firing of a scheduled task.
type Task struct {
	// Name is the task's name, as in cron.yaml or the queue module's
	// schedules.
	Name string
	// Path is where the task's endpoint lives on the application: an
	// absolute path, possibly with a query ("/tasks/report?full=1").
	Path string
	// ScheduledAt is when the schedule fired, in UTC. Every delivery of the
	// same firing carries the same value.
	ScheduledAt time.Time
}

// IsBeanstalkAttr reports whether the attribute name is one of sqsd's own
// (beanstalk.sqsd.*).
func IsBeanstalkAttr(name string) bool { return strings.HasPrefix(name, BeanstalkAttrPrefix) }

// Parse reports whether m is a scheduled task and which. An ordinary message
// gives ok false and a nil error. A message that is meant as a task (its
// body has the sqsfleet_task member, or it has the
// beanstalk.sqsd.scheduled_time attribute) but is malformed gives ok true
// and an error that says what is wrong: it can never succeed, so handlers
// dead-letter it rather than retry it.
func Parse(m *worker.Message) (t Task, ok bool, err error) {
	if _, found := m.Attributes[AttrBeanstalkScheduledTime]; found {
		t, err = fromBeanstalk(m)
		return t, true, err
	}
	// Cheap tests first: most bodies are not tasks, and decoding every
	// JSON body would cost every message.
	body := strings.TrimLeft(m.Body, " \t\r\n")
	if !strings.HasPrefix(body, "{") || !strings.Contains(body, `"`+BodyKey+`"`) {
		return Task{}, false, nil
	}
	var env map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &env) != nil {
		return Task{}, false, nil
	}
	raw, found := env[BodyKey]
	if !found {
		// The key appeared deeper in the document: an ordinary message.
		return Task{}, false, nil
	}
	t, err = fromJSON(raw)
	return t, true, err
}

func fromJSON(raw json.RawMessage) (Task, error) {
	var f struct {
		Name        *string `json:"name"`
		Path        *string `json:"path"`
		ScheduledAt *string `json:"scheduled_at"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil {
		return Task{}, fmt.Errorf("scheduled task: %s is not an object with string members name, path and scheduled_at: %w", BodyKey, err)
	}
	var t Task
	switch {
	case f.Name == nil || *f.Name == "":
		return t, fmt.Errorf("scheduled task: %s.name is missing or empty", BodyKey)
	case f.Path == nil:
		return t, fmt.Errorf("scheduled task %q: %s.path is missing", *f.Name, BodyKey)
	case f.ScheduledAt == nil:
		return t, fmt.Errorf("scheduled task %q: %s.scheduled_at is missing", *f.Name, BodyKey)
	}
	t.Name = *f.Name
	if err := CheckPath(*f.Path); err != nil {
		return Task{}, fmt.Errorf("scheduled task %q: %s.path: %w", t.Name, BodyKey, err)
	}
	t.Path = *f.Path
	at, err := time.Parse(time.RFC3339Nano, *f.ScheduledAt)
	if err != nil {
		return Task{}, fmt.Errorf("scheduled task %q: %s.scheduled_at %q is not an RFC 3339 time", t.Name, BodyKey, *f.ScheduledAt)
	}
	t.ScheduledAt = at.UTC()
	return t, nil
}

func fromBeanstalk(m *worker.Message) (Task, error) {
	str := func(name string) (string, error) {
		a, ok := m.Attributes[name]
		switch {
		case !ok || a.StringValue == "":
			return "", fmt.Errorf("scheduled task: attribute %s is missing or empty", name)
		case strings.HasPrefix(a.DataType, "Binary"):
			return "", fmt.Errorf("scheduled task: attribute %s is %s, want String", name, a.DataType)
		}
		return a.StringValue, nil
	}
	var t Task
	var err error
	if t.Name, err = str(AttrBeanstalkTaskName); err != nil {
		return Task{}, err
	}
	if t.Path, err = str(AttrBeanstalkPath); err != nil {
		return Task{}, err
	}
	if err := CheckPath(t.Path); err != nil {
		return Task{}, fmt.Errorf("scheduled task %q: attribute %s: %w", t.Name, AttrBeanstalkPath, err)
	}
	v, err := str(AttrBeanstalkScheduledTime)
	if err != nil {
		return Task{}, err
	}
	when, ok := parseBeanstalkTime(v)
	if !ok {
		return Task{}, fmt.Errorf("scheduled task %q: attribute %s %q is not a time (want RFC 3339 or \"2006-01-02 15:04:05 UTC\")", t.Name, AttrBeanstalkScheduledTime, v)
	}
	t.ScheduledAt = when
	return t, nil
}

// beanstalkLayouts are the forms scheduled_time takes: sqsd writes Ruby's
// Time#to_s ("2026-12-02 03:00:00 UTC", or with a numeric offset), and
// people who enqueue such messages by hand write RFC 3339.
var beanstalkLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05 UTC",
	"2006-01-02 15:04:05 -0700",
}

func parseBeanstalkTime(v string) (time.Time, bool) {
	for _, layout := range beanstalkLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// CheckPath accepts an absolute path with an optional query: the task runs
// on the handler's own host, so anything that names another host (a scheme,
// "//host") is refused.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return fmt.Errorf("%q does not start with a single /", p)
	}
	u, err := url.Parse(p)
	if err != nil {
		// url.Error would quote p a second time.
		return fmt.Errorf("%q is not a valid path: %w", p, errors.Unwrap(err))
	}
	if u.Fragment != "" || strings.Contains(p, "#") {
		return fmt.Errorf("%q has a fragment", p)
	}
	return nil
}

// Body is the JSON body of a task message, the form Parse reads. The time is
// written in RFC 3339 at the precision it has.
func Body(t Task) string {
	b, _ := json.Marshal(map[string]map[string]string{BodyKey: {
		"name":         t.Name,
		"path":         t.Path,
		"scheduled_at": t.ScheduledAt.UTC().Format(time.RFC3339Nano),
	}})
	return string(b)
}
