package scaler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/scaler"
)

// asgClient returns an Auto Scaling client reaching g through
// AWS_ENDPOINT_URL_AUTO_SCALING.
func asgClient(t *testing.T, g *awsfake.ASG) *autoscaling.Client {
	t.Helper()
	return autoscaling.NewFromConfig(awsfake.Config(t, map[string]string{"AWS_ENDPOINT_URL_AUTO_SCALING": g.URL}))
}

func TestASGFleetSizeAndLeader(t *testing.T) {
	g := awsfake.NewASG(t, "workers", map[string]string{
		"i-0b": "InService", "i-0c": "InService", "i-0a": "Pending",
		"i-0d": "Terminating:Wait", "i-0e": "Standby", "i-0f": "InService",
	})
	client := asgClient(t, g)
	ctx := testCtx(t)

	for _, tt := range []struct {
		self   string
		leader bool
	}{
		{"i-0b", true},  // lowest InService id
		{"i-0c", false}, // InService, not lowest
		{"i-0a", false}, // lower id, but Pending
	} {
		f, err := scaler.NewASGFleet(scaler.ASGConfig{API: client, Group: scaler.Fixed("workers"), InstanceID: scaler.Fixed(tt.self)})
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.Size(ctx)
		if err != nil || n != 3 {
			t.Errorf("Size = %d, %v; want the 3 InService instances", n, err)
		}
		if got, err := f.Leader(ctx); err != nil || got != tt.leader {
			t.Errorf("%s: Leader = %v, %v; want %v", tt.self, got, err, tt.leader)
		}
	}
	// Leader reuses the answer of Size instead of asking again.
	calls := g.Calls("DescribeAutoScalingGroups")
	if len(calls) != 3 {
		t.Errorf("%d DescribeAutoScalingGroups calls for 3 Size+Leader rounds, want 3", len(calls))
	}
	if f := calls[0].Form; f.Get("AutoScalingGroupNames.member.1") != "workers" || f.Get("Version") != "2011-01-01" {
		t.Errorf("request form %v", f)
	}

	empty := awsfake.NewASG(t, "empty", nil)
	f, _ := scaler.NewASGFleet(scaler.ASGConfig{API: asgClient(t, empty), Group: scaler.Fixed("empty")})
	if n, err := f.Size(ctx); err != nil || n != 0 {
		t.Errorf("empty group: Size = %d, %v; want 0", n, err)
	}
	missing, _ := scaler.NewASGFleet(scaler.ASGConfig{API: client, Group: scaler.Fixed("nope")})
	if _, err := missing.Size(ctx); err == nil || !strings.Contains(err.Error(), "no such group") {
		t.Errorf("missing group: err = %v", err)
	}
	g.Fail("DescribeAutoScalingGroups", true)
	denied, _ := scaler.NewASGFleet(scaler.ASGConfig{API: client, Group: scaler.Fixed("workers")})
	if _, err := denied.Size(ctx); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v, want AccessDenied", err)
	}
}

func TestASGGroupDiscovery(t *testing.T) {
	g := awsfake.NewASG(t, "workers", map[string]string{"i-0123456789abcdef0": "InService"})
	client := asgClient(t, g)
	ctx := testCtx(t)

	calls := 0
	id := func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "", fmt.Errorf("IMDS not ready")
		}
		return "i-0123456789abcdef0", nil
	}
	group := scaler.ASGGroup(client, id)
	if _, err := group(ctx); err == nil {
		t.Fatal("no error while the instance id is unknown")
	}
	// A failure is retried on the next call, a success remembered.
	for range 2 {
		if name, err := group(ctx); err != nil || name != "workers" {
			t.Fatalf("group = %q, %v; want workers", name, err)
		}
	}
	if n := len(g.Calls("DescribeAutoScalingInstances")); n != 1 {
		t.Errorf("%d DescribeAutoScalingInstances calls, want 1 (remembered)", n)
	}

	outside := scaler.ASGGroup(client, scaler.Fixed("i-00000000"))
	if _, err := outside(ctx); err == nil || !strings.Contains(err.Error(), "in no Auto Scaling group") {
		t.Errorf("instance outside any group: err = %v", err)
	}
}

func TestASGProtector(t *testing.T) {
	g := awsfake.NewASG(t, "workers", map[string]string{"i-0a": "InService"})
	client := asgClient(t, g)
	ctx := testCtx(t)
	p, err := scaler.NewASGProtector(client, scaler.Fixed("workers"), scaler.Fixed("i-0a"))
	if err != nil {
		t.Fatal(err)
	}
	if lasts, err := p.SetProtected(ctx, true); err != nil || lasts != 0 {
		t.Fatalf("SetProtected(true) = %s, %v", lasts, err)
	}
	if !g.Protected("i-0a") {
		t.Error("instance not protected")
	}
	call := g.Calls("SetInstanceProtection")[0]
	if call.Form.Get("AutoScalingGroupName") != "workers" || call.Form.Get("InstanceIds.member.1") != "i-0a" ||
		call.Form.Get("ProtectedFromScaleIn") != "true" {
		t.Errorf("SetInstanceProtection form %v", call.Form)
	}
	if _, err := p.SetProtected(ctx, false); err != nil {
		t.Fatal(err)
	}
	if g.Protected("i-0a") {
		t.Error("instance still protected")
	}

	g.Fail("SetInstanceProtection", true)
	if _, err := p.SetProtected(ctx, true); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v, want AccessDenied", err)
	}
}
