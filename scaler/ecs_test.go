package scaler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/scaler"
)

const (
	clusterARN = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
	taskA      = "arn:aws:ecs:us-east-1:123456789012:task/prod/0a1b"
	taskB      = "arn:aws:ecs:us-east-1:123456789012:task/prod/5c6d"
	taskC      = "arn:aws:ecs:us-east-1:123456789012:task/prod/9e8f"
)

// fakeECS answers DescribeServices, ListTasks (two pages) and DescribeTasks.
func fakeECS(t *testing.T, running int) (*ecs.Client, *awsfake.Service) {
	t.Helper()
	srv := awsfake.NewJSON(t, func(action string, in map[string]any) (int, any) {
		switch action {
		case "DescribeServices":
			if in["cluster"] != clusterARN {
				return 400, map[string]any{"__type": "ClusterNotFoundException", "message": "Cluster not found."}
			}
			name := in["services"].([]any)[0].(string)
			if name != "jobs" {
				return 200, map[string]any{"services": []any{}, "failures": []any{
					map[string]any{"arn": "arn:aws:ecs:us-east-1:123456789012:service/prod/" + name, "reason": "MISSING"}}}
			}
			return 200, map[string]any{"services": []any{map[string]any{
				"serviceName": "jobs", "clusterArn": clusterARN, "status": "ACTIVE",
				"desiredCount": running + 1, "runningCount": running, "pendingCount": 1,
			}}, "failures": []any{}}
		case "ListTasks":
			if in["serviceName"] != "jobs" || in["desiredStatus"] != "RUNNING" {
				t.Errorf("ListTasks input %v", in)
			}
			if in["nextToken"] == "page2" {
				return 200, map[string]any{"taskArns": []string{taskA}}
			}
			return 200, map[string]any{"taskArns": []string{taskC, taskB}, "nextToken": "page2"}
		case "DescribeTasks":
			return 200, map[string]any{"tasks": []any{map[string]any{
				"taskArn": in["tasks"].([]any)[0], "group": "service:jobs", "lastStatus": "RUNNING",
			}}, "failures": []any{}}
		}
		return 400, map[string]any{"__type": "InvalidAction"}
	})
	cfg := awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_ECS": srv.URL})
	return ecs.NewFromConfig(cfg), srv
}

func TestECSFleetSizeAndLeader(t *testing.T) {
	client, srv := fakeECS(t, 3)
	ctx := testCtx(t)
	for _, tt := range []struct {
		self   string
		leader bool
	}{{taskA, true}, {taskB, false}} {
		task := scaler.Fixed(scaler.TaskMetadata{Cluster: clusterARN, TaskARN: tt.self})
		f, err := scaler.NewECSFleet(scaler.ECSConfig{
			API: client, Tasks: client, Task: task,
			Service: scaler.Fixed(scaler.ECSService{Cluster: clusterARN, Service: "jobs"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.Size(ctx); err != nil || n != 3 {
			t.Errorf("Size = %d, %v; want runningCount 3", n, err)
		}
		// The lowest ARN is on the second page of ListTasks.
		if got, err := f.Leader(ctx); err != nil || got != tt.leader {
			t.Errorf("%s: Leader = %v, %v; want %v", tt.self, got, err, tt.leader)
		}
	}
	call := srv.Calls("DescribeServices")[0]
	if got := call.Header.Get("X-Amz-Target"); got != "AmazonEC2ContainerServiceV20141113.DescribeServices" {
		t.Errorf("X-Amz-Target %q", got)
	}

	missing, _ := scaler.NewECSFleet(scaler.ECSConfig{API: client, Service: scaler.Fixed(scaler.ECSService{Cluster: clusterARN, Service: "gone"})})
	if _, err := missing.Size(ctx); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Errorf("missing service: err = %v", err)
	}
	badCluster, _ := scaler.NewECSFleet(scaler.ECSConfig{API: client, Service: scaler.Fixed(scaler.ECSService{Cluster: "other", Service: "jobs"})})
	if _, err := badCluster.Size(ctx); err == nil || !strings.Contains(err.Error(), "ClusterNotFoundException") {
		t.Errorf("missing cluster: err = %v", err)
	}
}

func TestECSServiceDiscovery(t *testing.T) {
	client, srv := fakeECS(t, 2)
	ctx := testCtx(t)

	// EC2 launch type with a recent agent: the metadata names the service.
	md := awsfake.TaskMetadata(t, map[string]any{"Cluster": clusterARN, "TaskARN": taskB, "ServiceName": "jobs", "Family": "jobs", "Revision": "7"})
	svc, err := scaler.ECSServiceOf("", "", scaler.TaskMetadataFrom(nil, md), client)(ctx)
	if err != nil || svc != (scaler.ECSService{Cluster: clusterARN, Service: "jobs"}) {
		t.Errorf("from metadata: %+v, %v", svc, err)
	}
	if n := len(srv.Calls("DescribeTasks")); n != 0 {
		t.Errorf("%d DescribeTasks calls although the metadata named the service", n)
	}

	// Fargate: no ServiceName, so the task's group tells.
	fargate := awsfake.TaskMetadata(t, map[string]any{"Cluster": clusterARN, "TaskARN": taskB, "LaunchType": "FARGATE"})
	svc, err = scaler.ECSServiceOf("", "", scaler.TaskMetadataFrom(nil, fargate), client)(ctx)
	if err != nil || svc != (scaler.ECSService{Cluster: clusterARN, Service: "jobs"}) {
		t.Errorf("from DescribeTasks: %+v, %v", svc, err)
	}
	if calls := srv.Calls("DescribeTasks"); len(calls) != 1 || calls[0].JSON["cluster"] != clusterARN {
		t.Errorf("DescribeTasks calls %v", calls)
	}

	// Configured values win; no lookup at all.
	svc, err = scaler.ECSServiceOf("c", "s", nil, nil)(ctx)
	if err != nil || svc != (scaler.ECSService{Cluster: "c", Service: "s"}) {
		t.Errorf("configured: %+v, %v", svc, err)
	}

	// Not on ECS.
	if _, err := scaler.TaskMetadataFrom(nil, "")(ctx); err == nil || !strings.Contains(err.Error(), scaler.EnvECSMetadata) {
		t.Errorf("no metadata endpoint: err = %v", err)
	}
}

func TestTaskProtector(t *testing.T) {
	agent := awsfake.NewAgent(t, taskA)
	ctx := testCtx(t)
	p, err := scaler.NewTaskProtector(agent.URI(), 10*time.Minute+time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	lasts, err := p.SetProtected(ctx, true)
	if err != nil || lasts != 11*time.Minute {
		t.Fatalf("SetProtected(true) = %s, %v; want 11m (rounded up to whole minutes)", lasts, err)
	}
	if first := agent.Puts()[0]; first["ProtectionEnabled"] != true || first["ExpiresInMinutes"] != float64(11) {
		t.Errorf("PUT body %v", first)
	}
	if !agent.Protected() {
		t.Error("not protected")
	}
	if lasts, err := p.SetProtected(ctx, false); err != nil || lasts != 0 {
		t.Fatalf("SetProtected(false) = %s, %v", lasts, err)
	}
	if agent.Protected() {
		t.Error("still protected")
	}
	if last := agent.Puts()[1]; last["ProtectionEnabled"] != false {
		t.Errorf("PUT body %v", last)
	}

	agent.Refuse(true)
	if _, err := p.SetProtected(ctx, true); err == nil || !strings.Contains(err.Error(), "ecs:UpdateTaskProtection") {
		t.Errorf("err = %v, want the agent's message", err)
	}

	if _, err := scaler.NewTaskProtector("", 0, nil); err == nil {
		t.Error("no error without ECS_AGENT_URI")
	}
}
