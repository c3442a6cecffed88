package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// `sqsfleet run` with scaler.enabled publishes backlog per instance (here as
// EMF on stdout, the Fargate default) and, with scale-in protection,
// protects its task while it holds work and releases it when idle and when
// it stops.
func TestRunWithScalerAndScaleInProtection(t *testing.T) {
	emu := fauxqs.Start(t)
	url, _ := emu.CreateQueueWithDLQ(t, "scaled", 10)
	c := emu.SQS(t)
	sendN(t, c, url, "job", 6)
	agent := awsfake.NewAgent(t, "arn:aws:ecs:us-east-1:000000000000:task/demo/abc")
	md := awsfake.TaskMetadata(t, map[string]any{"Cluster": "demo", "TaskARN": "arn:aws:ecs:us-east-1:000000000000:task/demo/abc"})

	gate := filepath.Join(t.TempDir(), "open")
	script := writeScript(t, t.TempDir(), "gate.sh", `while [ ! -e "`+gate+`" ]; do sleep 0.05; done`)
	d := startDaemon(t, emu,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND="+script,
		"SQSFLEET_WORKER_CONCURRENCY=2",
		"SQSFLEET_HTTP_ADDR="+freeAddr(t),
		"SQSFLEET_SCALER_ENABLED=true",
		"SQSFLEET_SCALER_INTERVAL=10s",
		"SQSFLEET_SCALER_FLEET=static", "SQSFLEET_SCALER_STATIC_SIZE=3",
		"SQSFLEET_SCALER_INCLUDE_IN_FLIGHT=true", // 6 messages, visible or not, over 3 instances
		"SQSFLEET_SCALER_PUBLISHER=emf",
		"SQSFLEET_SCALER_SCALE_IN_PROTECTION=true",
		"SQSFLEET_SCALER_PROTECTION_HOLD_DOWN=1s",
		"ECS_AGENT_URI="+agent.URI(),
		"ECS_CONTAINER_METADATA_URI_V4="+md,
	)

	// The first value goes out at start: one EMF line with the metric.
	var emf map[string]any
	wait.For(t, 20*time.Second, "an EMF line on stdout", func() bool {
		for _, l := range d.stdout.all() {
			if strings.Contains(l, "BacklogPerInstance") && json.Unmarshal([]byte(l), &emf) == nil {
				return true
			}
		}
		return false
	})
	if v, _ := emf["BacklogPerInstance"].(float64); v != 2 {
		t.Errorf("BacklogPerInstance = %v, want 6/3 = 2: %v", emf["BacklogPerInstance"], emf)
	}
	if emf["QueueName"] != "scaled" {
		t.Errorf("QueueName dimension = %v", emf["QueueName"])
	}
	aws, _ := emf["_aws"].(map[string]any)
	if raw, _ := json.Marshal(aws); !strings.Contains(string(raw), `"Namespace":"SQSFleet"`) {
		t.Errorf("EMF metadata = %s, want namespace SQSFleet", raw)
	}

	wait.For(t, 20*time.Second, "protection while handlers run", agent.Protected)
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "queue drained", func() bool { return drained(t, emu, url) })
	wait.For(t, 10*time.Second, "protection released once idle", func() bool { return !agent.Protected() })

	// Busy again, then SIGTERM: protection must be off after exit.
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}
	sendN(t, c, url, "late", 1)
	wait.For(t, 20*time.Second, "protection while busy again", agent.Protected)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The handler finishes during the drain; protection stays until then.
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if agent.Protected() {
		t.Error("task still protected after the daemon exited")
	}
}
