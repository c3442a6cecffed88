package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

const (
	testCluster = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
	testTaskA   = "arn:aws:ecs:us-east-1:123456789012:task/prod/0a1b"
	testTaskB   = "arn:aws:ecs:us-east-1:123456789012:task/prod/5c6d"
)

// busyFlag is the engine's activity as the scaler sees it.
type busyFlag struct{ atomic.Bool }

func (b *busyFlag) Busy() bool { return b.Load() }

// queueWith starts the emulator with a queue named jobs holding n visible
// messages.
func queueWith(t *testing.T, n int) (endpoint, url string) {
	t.Helper()
	srv := fauxqs.Start(t)
	url = srv.CreateQueue(t, "jobs", nil)
	client := srv.SQS(t)
	for i := range n {
		if _, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String("m" + strconv.Itoa(i)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return srv.Endpoint(), url
}

// fakeECSService answers DescribeServices with runningCount and ListTasks
// with two tasks, taskA being the lowest.
func fakeECSService(t *testing.T, running int) *awsfake.Service {
	return awsfake.NewJSON(t, func(action string, in map[string]any) (int, any) {
		switch action {
		case "DescribeServices":
			return 200, map[string]any{"services": []any{map[string]any{
				"serviceName": "jobs", "clusterArn": testCluster, "status": "ACTIVE", "runningCount": running,
			}}, "failures": []any{}}
		case "ListTasks":
			return 200, map[string]any{"taskArns": []string{testTaskB, testTaskA}}
		}
		return 400, map[string]any{"__type": "InvalidAction"}
	})
}

func gauge(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, labels) {
				continue
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func labelsMatch(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestScalerInDaemonOnECS runs the scaler as `sqsfleet run` does, on a fake
// ECS task: the fleet is found from the task metadata (fleet auto), the
// metric is published every interval through the real CloudWatch client,
// and the task is protected while busy and released when idle and at stop.
func TestScalerInDaemonOnECS(t *testing.T) {
	sqsEndpoint, url := queueWith(t, 6)
	cw := awsfake.NewCloudWatch(t)
	ecsSvc := fakeECSService(t, 3)
	agent := awsfake.NewAgent(t, testTaskA)
	md := awsfake.TaskMetadata(t, map[string]any{"Cluster": testCluster, "TaskARN": testTaskA, "ServiceName": "jobs"})
	awsCfg := awsfake.Config(t, map[string]string{
		"AWS_ENDPOINT_URL_SQS":          sqsEndpoint,
		"AWS_ENDPOINT_URL_CLOUDWATCH":   cw.URL,
		"AWS_ENDPOINT_URL_ECS":          ecsSvc.URL,
		"ECS_CONTAINER_METADATA_URI_V4": md,
		"ECS_AGENT_URI":                 agent.URI(),
	})

	cfg := config.Defaults()
	cfg.Queue.URL = url
	cfg.Scaler.Enabled = true
	cfg.Scaler.Interval = 20 * time.Millisecond // below what validation allows: the test-only fast path
	cfg.Scaler.LeaderOnly = true
	cfg.Scaler.ScaleInProtection = true
	cfg.Scaler.ProtectionHold = 100 * time.Millisecond

	reg := prometheus.NewRegistry()
	meter := awssqs.NewMeter(reg)
	var busy busyFlag
	core, logs := observer.New(zapcore.InfoLevel)
	stop, err := startScaler(context.Background(), cfg, awsCfg, awssqs.NewClient(awsCfg, meter), zap.New(core), reg, &busy)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	// Published on the interval: 6 messages over runningCount 3.
	wait.For(t, 15*time.Second, "three datapoints", func() bool { return len(cw.Data(t)) >= 3 })
	data := cw.Data(t)
	for i, d := range data {
		if d.Namespace != "SQSFleet" || d.Name != "BacklogPerInstance" || d.Value != 2 ||
			d.Dimensions["QueueName"] != "jobs" || len(d.Dimensions) != 1 || d.StorageResolution != 1 || d.Unit != "Count" {
			t.Fatalf("datum %d: %+v", i, d)
		}
		if i > 0 && d.Timestamp.Before(data[i-1].Timestamp) {
			t.Errorf("timestamps out of order: %s before %s", d.Timestamp, data[i-1].Timestamp)
		}
	}
	if got := gauge(t, reg, "sqsfleet_backlog_per_instance"); got != 2 {
		t.Errorf("sqsfleet_backlog_per_instance = %v, want 2", got)
	}
	if meter.Requests("GetQueueAttributes") < 3 {
		t.Errorf("GetQueueAttributes not metered: %v", meter.Requests("GetQueueAttributes"))
	}
	if len(ecsSvc.Calls("ListTasks")) == 0 {
		t.Error("leader_only did not elect through ListTasks")
	}
	if logs.FilterMessage("scaler: publishing backlog per instance").FilterField(zap.String("fleet", "ecs")).Len() != 1 {
		t.Errorf("fleet auto did not choose ecs: %v", logs.All())
	}

	// Idle at start: the guard clears leftover protection.
	wait.For(t, 15*time.Second, "the start-up release", func() bool { return len(agent.Puts()) >= 1 })
	if agent.Protected() {
		t.Fatal("protected while idle")
	}
	busy.Store(true)
	wait.For(t, 15*time.Second, "protection while busy", agent.Protected)
	if p := agent.Puts()[len(agent.Puts())-1]; p["ExpiresInMinutes"] == nil {
		t.Errorf("protection without expiry: %v", p)
	}
	busy.Store(false)
	wait.For(t, 15*time.Second, "release when idle", func() bool { return !agent.Protected() })
	busy.Store(true)
	wait.For(t, 15*time.Second, "protection while busy again", agent.Protected)

	// Stopping while busy (after the engine's drain) releases it.
	stop()
	stopped = true
	if agent.Protected() {
		t.Error("still protected after stop")
	}
	if n := gauge(t, reg, "sqsfleet_scaler_errors_total", "operation", "protect"); n != 0 {
		t.Errorf("%v protection errors", n)
	}
}

// TestScalerInDaemonOnEC2 runs the scaler on a fake EC2 instance in an Auto
// Scaling group found through IMDS, with CloudWatch refusing the metric:
// the failures are counted and logged, the gauge is still exported, and
// protection works regardless.
func TestScalerInDaemonOnEC2(t *testing.T) {
	sqsEndpoint, url := queueWith(t, 5)
	cw := awsfake.NewCloudWatch(t)
	cw.Fail("AccessDenied")
	asg := awsfake.NewASG(t, "workers", map[string]string{"i-0aaaaaaaaaaaaaaa1": "InService", "i-0aaaaaaaaaaaaaaa2": "InService", "i-0aaaaaaaaaaaaaaa3": "Pending"})
	imdsSrv := awsfake.NewIMDS(t, "i-0aaaaaaaaaaaaaaa2")
	awsCfg := awsfake.Config(t, map[string]string{
		"AWS_ENDPOINT_URL_SQS":              sqsEndpoint,
		"AWS_ENDPOINT_URL_CLOUDWATCH":       cw.URL,
		"AWS_ENDPOINT_URL_AUTO_SCALING":     asg.URL,
		"AWS_EC2_METADATA_DISABLED":         "false",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": imdsSrv.URL,
		"ECS_CONTAINER_METADATA_URI_V4":     "",
		"ECS_AGENT_URI":                     "",
	})
	cfg := config.Defaults()
	cfg.Queue.URL = url
	cfg.Scaler.Enabled = true
	cfg.Scaler.Interval = 20 * time.Millisecond
	cfg.Scaler.ScaleInProtection = true
	cfg.Scaler.ProtectionHold = 100 * time.Millisecond

	reg := prometheus.NewRegistry()
	var busy busyFlag
	busy.Store(true)
	core, logs := observer.New(zapcore.InfoLevel)
	stop, err := startScaler(context.Background(), cfg, awsCfg, nil, zap.New(core), reg, &busy)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	wait.For(t, 15*time.Second, "failed publishes", func() bool {
		return gauge(t, reg, "sqsfleet_scaler_errors_total", "operation", "publish") >= 3
	})
	// 5 messages over the 2 InService instances.
	if got := gauge(t, reg, "sqsfleet_backlog_per_instance"); got != 2.5 {
		t.Errorf("sqsfleet_backlog_per_instance = %v, want 2.5", got)
	}
	if got := gauge(t, reg, "sqsfleet_scaler_fleet_size"); got != 2 {
		t.Errorf("fleet size %v, want 2", got)
	}
	if n := logs.FilterMessage("scaler: publishing the metric failed").Len(); n != 1 {
		t.Errorf("publish failure logged %d times, want once", n)
	}

	// Protected in the group that IMDS and DescribeAutoScalingInstances
	// pointed to.
	wait.For(t, 15*time.Second, "instance protection", func() bool { return asg.Protected("i-0aaaaaaaaaaaaaaa2") })
	if calls := asg.Calls("DescribeAutoScalingInstances"); len(calls) != 1 {
		t.Errorf("%d DescribeAutoScalingInstances calls, want 1 (the group is remembered)", len(calls))
	}
	busy.Store(false)
	wait.For(t, 15*time.Second, "release when idle", func() bool { return !asg.Protected("i-0aaaaaaaaaaaaaaa2") })
}

func TestStartScalerDisabled(t *testing.T) {
	cfg := config.Defaults()
	cfg.Queue.URL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
	stop, err := startScaler(context.Background(), cfg, aws.Config{}, nil, zap.NewNop(), prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	cfg.Scaler.ScaleInProtection = true
	if _, err := startScaler(context.Background(), cfg, aws.Config{}, nil, zap.NewNop(), prometheus.NewRegistry(), nil); err == nil {
		t.Error("protection without the engine's activity accepted")
	}
}

// setScalerEnv sets the SQSFLEET_* variables of a `sqsfleet scaler` run,
// clearing the ones a developer may have set.
func setScalerEnv(t *testing.T, kv map[string]string) {
	t.Helper()
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, config.EnvPrefix) {
			t.Setenv(k, "")
		}
	}
	for k, v := range kv {
		t.Setenv(k, v)
	}
}

func TestScalerCommandOnce(t *testing.T) {
	sqsEndpoint, url := queueWith(t, 6)
	cw := awsfake.NewCloudWatch(t)
	awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_SQS": sqsEndpoint, "AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL})
	// Only queue.url: `sqsfleet scaler` needs no handler.
	setScalerEnv(t, map[string]string{"SQSFLEET_QUEUE_URL": url, "SQSFLEET_SCALER_FLEET": "static", "SQSFLEET_SCALER_STATIC_SIZE": "4"})

	var stdout, stderr bytes.Buffer
	if code := run([]string{"scaler", "--once"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if got := stdout.String(); got != "1.5\n" {
		t.Errorf("stdout %q, want 1.5", got)
	}
	if d := cw.Data(t); len(d) != 1 || d[0].Value != 1.5 || d[0].StorageResolution != 0 {
		t.Errorf("published %+v, want one standard-resolution 1.5", d)
	}

	// emf: the metric line, then the value.
	stdout.Reset()
	if code := run([]string{"scaler", "--once", "--scaler.publisher=emf", "--scaler.interval=10s"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || lines[1] != "1.5" {
		t.Fatalf("stdout %q, want an EMF line and the value", stdout.String())
	}
	var emf map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &emf); err != nil || emf["BacklogPerInstance"] != 1.5 || emf["QueueName"] != "jobs" {
		t.Errorf("EMF line %s (%v)", lines[0], err)
	}
	if !strings.Contains(lines[0], `"StorageResolution":1`) {
		t.Errorf("EMF line at 10s is not high resolution: %s", lines[0])
	}

	// A refused publish: the value is still printed, and the exit code says
	// it did not go out.
	cw.Fail("AccessDenied")
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"scaler", "--once"}, &stdout, &stderr); code != exitFail {
		t.Errorf("exit %d with a refused publish, want %d", code, exitFail)
	}
	if stdout.String() != "1.5\n" || !strings.Contains(stderr.String(), "AccessDenied") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	// Bad configuration: exit 2.
	stderr.Reset()
	t.Setenv("SQSFLEET_SCALER_INTERVAL", "45s")
	if code := run([]string{"scaler", "--once"}, &stdout, &stderr); code != exitConfig ||
		!strings.Contains(stderr.String(), "config: scaler.interval: must be 10s, 30s or 60s, got 45s") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestScalerCommandLoop runs `sqsfleet scaler` until SIGTERM.
func TestScalerCommandLoop(t *testing.T) {
	sqsEndpoint, url := queueWith(t, 2)
	cw := awsfake.NewCloudWatch(t)
	awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_SQS": sqsEndpoint, "AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL})
	setScalerEnv(t, map[string]string{"SQSFLEET_QUEUE_URL": url, "SQSFLEET_SCALER_FLEET": "static"})

	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"scaler"}, &stdout, &stderr) }()
	// The first value goes out at start; the signal handler is installed
	// before that, so SIGTERM cannot kill the test binary.
	wait.For(t, 15*time.Second, "the first publish", func() bool { return len(cw.Data(t)) >= 1 })
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sqsfleet scaler did not stop on SIGTERM")
	}
	if d := cw.Data(t); d[0].Value != 2 {
		t.Errorf("published %+v, want 2", d[0])
	}
}

func TestScalerTargetCommand(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--latency", "60s", "--processing-time", "2s"}, "300\n"},
		{[]string{"--latency", "60s", "--processing-time", "2s", "--concurrency", "1"}, "30\n"},
		{[]string{"--latency=1m", "--processing-time=7s", "--concurrency=1"}, "8.57\n"},
		{[]string{"--latency=1s", "--processing-time=2s", "--concurrency=1"}, "0.5\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"scaler", "target"}, tt.args...), &stdout, &stderr); code != exitOK {
			t.Errorf("%v: exit %d: %s", tt.args, code, stderr.String())
			continue
		}
		if stdout.String() != tt.want {
			t.Errorf("%v: stdout %q, want %q", tt.args, stdout.String(), tt.want)
		}
	}

	// Without a processing time: exit 2, and how to get it.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"scaler", "target", "--latency", "60s"}, &stdout, &stderr); code != exitConfig {
		t.Errorf("exit %d, want %d", code, exitConfig)
	}
	for _, want := range []string{"--processing-time is required", "sqsfleet_handler_duration_seconds_sum", "--metrics-url"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if code := run([]string{"scaler", "target"}, &stdout, &stderr); code != exitConfig {
		t.Errorf("no --latency: exit %d", code)
	}

	// From a worker's /metrics: the engine's own histogram, as served.
	reg := prometheus.NewRegistry()
	m := worker.NewMetrics(reg)
	for _, d := range []float64{1, 2, 3, 6} { // average 3s
		m.HandlerDuration.Observe(d)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"scaler", "target", "--latency", "60s", "--concurrency", "10", "--metrics-url", srv.URL}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != "200\n" || !strings.Contains(stderr.String(), "average of 4 handler runs") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	idle := httptest.NewServer(promhttp.HandlerFor(func() *prometheus.Registry {
		r := prometheus.NewRegistry()
		worker.NewMetrics(r)
		return r
	}(), promhttp.HandlerOpts{}))
	defer idle.Close()
	stderr.Reset()
	if code := run([]string{"scaler", "target", "--latency", "60s", "--metrics-url", idle.URL}, &stdout, &stderr); code != exitFail ||
		!strings.Contains(stderr.String(), "no message yet") {
		t.Errorf("idle worker: exit %d, stderr %q", code, stderr.String())
	}
}
