package task

import (
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

func str(v string) worker.Attribute { return worker.Attribute{DataType: "String", StringValue: v} }

func beanstalk(name, path, at string) *worker.Message {
	m := &worker.Message{Body: BeanstalkBody, Attributes: map[string]worker.Attribute{}}
	if name != "" {
		m.Attributes[AttrBeanstalkTaskName] = str(name)
	}
	if path != "" {
		m.Attributes[AttrBeanstalkPath] = str(path)
	}
	m.Attributes[AttrBeanstalkScheduledTime] = str(at)
	return m
}

func TestParse(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		msg     *worker.Message
		want    Task
		ok      bool
		wantErr string
	}{
		{name: "ordinary text", msg: &worker.Message{Body: "hello"}},
		{name: "ordinary JSON", msg: &worker.Message{Body: `{"order": 42}`}},
		{name: "key deeper in the document", msg: &worker.Message{Body: `{"data": {"sqsfleet_task": {"name": "x"}}}`}},
		{name: "key in a string", msg: &worker.Message{Body: `{"note": "\"sqsfleet_task\""}`}},
		{name: "not JSON although it mentions the key", msg: &worker.Message{Body: `{"sqsfleet_task" oops`}},
		{
			name: "sqsfleet body",
			msg:  &worker.Message{Body: `{"sqsfleet_task":{"name":"nightly report","path":"/tasks/report?full=1","scheduled_at":"2026-12-02T03:00:00Z"}}`},
			want: Task{Name: "nightly report", Path: "/tasks/report?full=1", ScheduledAt: at}, ok: true,
		},
		{
			name: "sqsfleet body with an offset, spaces and extra members",
			msg:  &worker.Message{Body: " \n{\"v\": 1, \"sqsfleet_task\": {\"name\": \"a\", \"path\": \"/a\", \"scheduled_at\": \"2026-12-02T04:00:00+01:00\", \"extra\": true}}"},
			want: Task{Name: "a", Path: "/a", ScheduledAt: at}, ok: true,
		},
		{name: "task is not an object", msg: &worker.Message{Body: `{"sqsfleet_task": "backup"}`}, ok: true, wantErr: "is not an object"},
		{name: "no name", msg: &worker.Message{Body: `{"sqsfleet_task": {"path": "/a", "scheduled_at": "2026-12-02T03:00:00Z"}}`}, ok: true, wantErr: "sqsfleet_task.name is missing"},
		{name: "no path", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "scheduled_at": "2026-12-02T03:00:00Z"}}`}, ok: true, wantErr: "sqsfleet_task.path is missing"},
		{name: "no time", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "path": "/a"}}`}, ok: true, wantErr: "sqsfleet_task.scheduled_at is missing"},
		{name: "bad time", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "path": "/a", "scheduled_at": "<aws.scheduler.scheduled-time>"}}`}, ok: true, wantErr: "is not an RFC 3339 time"},
		{name: "relative path", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "path": "tasks", "scheduled_at": "2026-12-02T03:00:00Z"}}`}, ok: true, wantErr: "does not start with a single /"},
		{name: "another host", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "path": "//evil.example/x", "scheduled_at": "2026-12-02T03:00:00Z"}}`}, ok: true, wantErr: "does not start with a single /"},
		{name: "absolute URL", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "path": "http://evil.example/x", "scheduled_at": "2026-12-02T03:00:00Z"}}`}, ok: true, wantErr: "does not start with a single /"},
		{name: "control character", msg: &worker.Message{Body: `{"sqsfleet_task": {"name": "a", "path": "/a\nb", "scheduled_at": "2026-12-02T03:00:00Z"}}`}, ok: true, wantErr: "is not a valid path"},

		{name: "beanstalk, Ruby's Time#to_s", msg: beanstalk("backup", "/backup", "2026-12-02 03:00:00 UTC"), want: Task{Name: "backup", Path: "/backup", ScheduledAt: at}, ok: true},
		{name: "beanstalk, numeric offset", msg: beanstalk("backup", "/backup", "2026-12-02 04:00:00 +0100"), want: Task{Name: "backup", Path: "/backup", ScheduledAt: at}, ok: true},
		{name: "beanstalk, RFC 3339", msg: beanstalk("backup", "/backup", "2026-12-02T03:00:00+00:00"), want: Task{Name: "backup", Path: "/backup", ScheduledAt: at}, ok: true},
		{name: "beanstalk, any body", msg: func() *worker.Message {
			m := beanstalk("backup", "/backup", "2026-12-02T03:00:00Z")
			m.Body = ""
			return m
		}(), want: Task{Name: "backup", Path: "/backup", ScheduledAt: at}, ok: true},
		{name: "beanstalk, bad time", msg: beanstalk("backup", "/backup", "tomorrow"), ok: true, wantErr: `beanstalk.sqsd.scheduled_time "tomorrow" is not a time`},
		{name: "beanstalk, no name", msg: beanstalk("", "/backup", "2026-12-02T03:00:00Z"), ok: true, wantErr: "attribute beanstalk.sqsd.task_name is missing"},
		{name: "beanstalk, no path", msg: beanstalk("backup", "", "2026-12-02T03:00:00Z"), ok: true, wantErr: "attribute beanstalk.sqsd.path is missing"},
		{name: "beanstalk, bad path", msg: beanstalk("backup", "backup", "2026-12-02T03:00:00Z"), ok: true, wantErr: "attribute beanstalk.sqsd.path"},
		{name: "beanstalk path alone is not a task", msg: &worker.Message{Body: "x", Attributes: map[string]worker.Attribute{AttrBeanstalkPath: str("/a")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Parse(tt.msg)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (err %v)", ok, tt.ok, err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || (ok && got.ScheduledAt.Location() != time.UTC) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBodyRoundTrip(t *testing.T) {
	in := Task{Name: `odd "name" <&>`, Path: "/x?y=1&z=2", ScheduledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}
	got, ok, err := Parse(&worker.Message{Body: Body(in)})
	if !ok || err != nil {
		t.Fatalf("Parse(Body(...)): ok %v, err %v", ok, err)
	}
	if got.Name != in.Name || got.Path != in.Path || !got.ScheduledAt.Equal(in.ScheduledAt) {
		t.Errorf("round trip: got %+v, want %+v", got, in)
	}
}

func TestIsBeanstalkAttr(t *testing.T) {
	for name, want := range map[string]bool{
		AttrBeanstalkPath: true, AttrBeanstalkTaskName: true, AttrBeanstalkScheduledTime: true,
		"beanstalk.sqsd.other": true, "beanstalk": false, "Content-Type": false,
	} {
		if got := IsBeanstalkAttr(name); got != want {
			t.Errorf("IsBeanstalkAttr(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"sqsfleet_task":{"name":"a","path":"/a","scheduled_at":"2026-12-02T03:00:00Z"}}`)
	f.Add(`{"sqsfleet_task":{}}`)
	f.Add("hello")
	f.Fuzz(func(t *testing.T, body string) {
		tk, ok, err := Parse(&worker.Message{Body: body})
		if !ok || err != nil {
			return
		}
		// Whatever Parse accepts is a path on the handler's own host, and
		// Body writes it back in a form Parse reads the same way.
		if !strings.HasPrefix(tk.Path, "/") || strings.HasPrefix(tk.Path, "//") || tk.Name == "" {
			t.Fatalf("accepted %+v", tk)
		}
		again, ok, err := Parse(&worker.Message{Body: Body(tk)})
		if !ok || err != nil || again.Name != tk.Name || again.Path != tk.Path || !again.ScheduledAt.Equal(tk.ScheduledAt) {
			t.Fatalf("round trip of %+v: %+v %v %v", tk, again, ok, err)
		}
	})
}
