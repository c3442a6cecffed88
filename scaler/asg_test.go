package scaler_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/sqsfleet/sqsfleet/scaler"
)

// fakeASG is an Auto Scaling group behind the query protocol.
type fakeASG struct {
	mu        sync.Mutex
	name      string
	instances map[string]string // id -> lifecycle state
	protected map[string]bool
	failing   string // an action that answers with an error
}

func (g *fakeASG) respond(action string, form url.Values) (int, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if action == g.failing {
		return 400, `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type>` +
			`<Code>AccessDenied</Code><Message>not authorized to perform ` + action + `</Message></Error><RequestId>r1</RequestId></ErrorResponse>`
	}
	switch action {
	case "DescribeAutoScalingGroups":
		var members strings.Builder
		if form.Get("AutoScalingGroupNames.member.1") == g.name {
			var inst strings.Builder
			for id, state := range g.instances {
				fmt.Fprintf(&inst, `<member><InstanceId>%s</InstanceId><LifecycleState>%s</LifecycleState>`+
					`<HealthStatus>Healthy</HealthStatus><AvailabilityZone>us-east-1a</AvailabilityZone>`+
					`<ProtectedFromScaleIn>%t</ProtectedFromScaleIn></member>`, id, state, g.protected[id])
			}
			fmt.Fprintf(&members, `<member><AutoScalingGroupName>%s</AutoScalingGroupName><MinSize>0</MinSize>`+
				`<MaxSize>10</MaxSize><DesiredCapacity>%d</DesiredCapacity><Instances>%s</Instances></member>`,
				g.name, len(g.instances), inst.String())
		}
		return 200, `<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">` +
			`<DescribeAutoScalingGroupsResult><AutoScalingGroups>` + members.String() + `</AutoScalingGroups>` +
			`</DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>` +
			`</DescribeAutoScalingGroupsResponse>`
	case "DescribeAutoScalingInstances":
		id := form.Get("InstanceIds.member.1")
		var members string
		if state, ok := g.instances[id]; ok {
			members = fmt.Sprintf(`<member><InstanceId>%s</InstanceId><AutoScalingGroupName>%s</AutoScalingGroupName>`+
				`<LifecycleState>%s</LifecycleState><HealthStatus>HEALTHY</HealthStatus></member>`, id, g.name, state)
		}
		return 200, `<DescribeAutoScalingInstancesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">` +
			`<DescribeAutoScalingInstancesResult><AutoScalingInstances>` + members + `</AutoScalingInstances>` +
			`</DescribeAutoScalingInstancesResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata>` +
			`</DescribeAutoScalingInstancesResponse>`
	case "SetInstanceProtection":
		if form.Get("AutoScalingGroupName") != g.name {
			return 400, `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>no such group</Message></Error></ErrorResponse>`
		}
		g.protected[form.Get("InstanceIds.member.1")] = form.Get("ProtectedFromScaleIn") == "true"
		return 200, `<SetInstanceProtectionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">` +
			`<SetInstanceProtectionResult/><ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata>` +
			`</SetInstanceProtectionResponse>`
	}
	return 400, `<ErrorResponse><Error><Code>InvalidAction</Code><Message>` + action + `</Message></Error></ErrorResponse>`
}

func (g *fakeASG) isProtected(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.protected[id]
}

// startASG serves g and returns an Auto Scaling client reaching it through
// AWS_ENDPOINT_URL_AUTO_SCALING.
func startASG(t *testing.T, g *fakeASG) (*autoscaling.Client, *fakeService) {
	t.Helper()
	if g.protected == nil {
		g.protected = map[string]bool{}
	}
	srv := newQueryService(t, g.respond)
	cfg := awsConfig(t, map[string]string{"AWS_ENDPOINT_URL_AUTO_SCALING": srv.URL})
	return autoscaling.NewFromConfig(cfg), srv
}

func TestASGFleetSizeAndLeader(t *testing.T) {
	g := &fakeASG{name: "workers", instances: map[string]string{
		"i-0b": "InService", "i-0c": "InService", "i-0a": "Pending",
		"i-0d": "Terminating:Wait", "i-0e": "Standby", "i-0f": "InService",
	}}
	client, srv := startASG(t, g)
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
	if got := len(srv.calls("DescribeAutoScalingGroups")); got != 3 {
		t.Errorf("%d DescribeAutoScalingGroups calls for 3 Size+Leader rounds, want 3", got)
	}
	call := srv.calls("DescribeAutoScalingGroups")[0]
	if call.Form.Get("AutoScalingGroupNames.member.1") != "workers" || call.Form.Get("Version") != "2011-01-01" {
		t.Errorf("request form %v", call.Form)
	}

	empty := &fakeASG{name: "empty", instances: map[string]string{}}
	client2, _ := startASG(t, empty)
	f, _ := scaler.NewASGFleet(scaler.ASGConfig{API: client2, Group: scaler.Fixed("empty")})
	if n, err := f.Size(ctx); err != nil || n != 0 {
		t.Errorf("empty group: Size = %d, %v; want 0", n, err)
	}
	missing, _ := scaler.NewASGFleet(scaler.ASGConfig{API: client2, Group: scaler.Fixed("nope")})
	if _, err := missing.Size(ctx); err == nil || !strings.Contains(err.Error(), "no such group") {
		t.Errorf("missing group: err = %v", err)
	}
}

func TestASGGroupDiscovery(t *testing.T) {
	g := &fakeASG{name: "workers", instances: map[string]string{"i-0123456789abcdef0": "InService"}}
	client, srv := startASG(t, g)
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
	if n := len(srv.calls("DescribeAutoScalingInstances")); n != 1 {
		t.Errorf("%d DescribeAutoScalingInstances calls, want 1 (remembered)", n)
	}

	outside := scaler.ASGGroup(client, scaler.Fixed("i-00000000"))
	if _, err := outside(ctx); err == nil || !strings.Contains(err.Error(), "in no Auto Scaling group") {
		t.Errorf("instance outside any group: err = %v", err)
	}
}

func TestASGProtector(t *testing.T) {
	g := &fakeASG{name: "workers", instances: map[string]string{"i-0a": "InService"}}
	client, srv := startASG(t, g)
	ctx := testCtx(t)
	p, err := scaler.NewASGProtector(client, scaler.Fixed("workers"), scaler.Fixed("i-0a"))
	if err != nil {
		t.Fatal(err)
	}
	if lasts, err := p.SetProtected(ctx, true); err != nil || lasts != 0 {
		t.Fatalf("SetProtected(true) = %s, %v", lasts, err)
	}
	if !g.isProtected("i-0a") {
		t.Error("instance not protected")
	}
	call := srv.calls("SetInstanceProtection")[0]
	if call.Form.Get("AutoScalingGroupName") != "workers" || call.Form.Get("InstanceIds.member.1") != "i-0a" {
		t.Errorf("SetInstanceProtection form %v", call.Form)
	}
	if _, err := p.SetProtected(ctx, false); err != nil {
		t.Fatal(err)
	}
	if g.isProtected("i-0a") {
		t.Error("instance still protected")
	}

	g.failing = "SetInstanceProtection"
	if _, err := p.SetProtected(ctx, true); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v, want AccessDenied", err)
	}
}
