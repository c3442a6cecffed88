package handler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

func TestExecTaskEnvironment(t *testing.T) {
	// A stale value in the daemon's environment never passes for a task.
	t.Setenv(EnvTaskName, "stale")

	eb := beanstalkTask("backup", "/backup")
	own := sqsfleetTask(task.Task{Name: "backup", Path: "/backup", ScheduledAt: time.Date(2026, 12, 2, 4, 0, 0, 0, time.FixedZone("CET", 3600))})

	for name, m := range map[string]*worker.Message{"beanstalk": eb, "sqsfleet": own} {
		t.Run(name, func(t *testing.T) {
			var out, stdin lockedBuffer
			h := shHandler(t, ExecConfig{Stdout: &out}, "exec env -0")
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			env := parseEnv0(out.Bytes())
			for k, v := range map[string]string{
				EnvTaskName:            "backup",
				EnvTaskPath:            "/backup",
				EnvTaskScheduledAt:     "2026-12-02T03:00:00Z",
				EnvMessageID:           m.ID,
				"SQSFLEET_ATTR_TENANT": "acme",
			} {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			for k := range env {
				if strings.HasPrefix(k, EnvAttrPrefix+"BEANSTALK") {
					t.Errorf("sqsd's own attribute passed as %s", k)
				}
			}
			// The body is on stdin as for any message.
			h = shHandler(t, ExecConfig{Stdout: &stdin}, "cat")
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if string(stdin.Bytes()) != m.Body {
				t.Errorf("stdin %q, want the body %q", string(stdin.Bytes()), m.Body)
			}
		})
	}

	t.Run("ordinary message", func(t *testing.T) {
		var out lockedBuffer
		h := shHandler(t, ExecConfig{Stdout: &out}, "exec env -0")
		if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
			t.Fatal(err)
		}
		env := parseEnv0(out.Bytes())
		for _, k := range []string{EnvTaskName, EnvTaskPath, EnvTaskScheduledAt} {
			if v, ok := env[k]; ok {
				t.Errorf("%s = %q for an ordinary message", k, v)
			}
		}
	})

	t.Run("malformed task", func(t *testing.T) {
		var out lockedBuffer
		h := shHandler(t, ExecConfig{Stdout: &out}, "echo ran")
		m := handlerTestMessage()
		m.Body = `{"sqsfleet_task": {"name": "backup", "path": "/backup"}}`
		err := h.Handle(context.Background(), m)
		if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "scheduled_at") {
			t.Errorf("err %v, want a permanent error naming scheduled_at", err)
		}
		if string(out.Bytes()) != "" {
			t.Error("the command ran for a malformed task")
		}
	})
}
