package awsfake

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ASG is one Auto Scaling group behind the query protocol. It answers
// DescribeAutoScalingGroups, DescribeAutoScalingInstances and
// SetInstanceProtection.
type ASG struct {
	*Service
	name string

	mu        sync.Mutex
	instances map[string]string // id -> lifecycle state
	protected map[string]bool
	failing   map[string]bool // actions that answer AccessDenied
}

// NewASG serves a group called name with instances (id -> lifecycle state,
// e.g. "InService", "Pending", "Terminating:Wait").
func NewASG(t testing.TB, name string, instances map[string]string) *ASG {
	g := &ASG{name: name, instances: map[string]string{}, protected: map[string]bool{}, failing: map[string]bool{}}
	for id, st := range instances {
		g.instances[id] = st
	}
	g.Service = NewQuery(t, g.respond)
	return g
}

// Protected reports whether SetInstanceProtection left the instance
// protected.
func (g *ASG) Protected(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.protected[id]
}

// Fail makes action answer AccessDenied (on true) or work again.
func (g *ASG) Fail(action string, on bool) {
	g.mu.Lock()
	g.failing[action] = on
	g.mu.Unlock()
}

const asgNS = `xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"`

func (g *ASG) respond(action string, form url.Values) (int, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failing[action] {
		return 400, `<ErrorResponse ` + asgNS + `><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
			`<Message>User is not authorized to perform: autoscaling:` + action + `</Message></Error>` +
			`<RequestId>req-denied</RequestId></ErrorResponse>`
	}
	switch action {
	case "DescribeAutoScalingGroups":
		var groups strings.Builder
		if form.Get("AutoScalingGroupNames.member.1") == g.name {
			ids := make([]string, 0, len(g.instances))
			for id := range g.instances {
				ids = append(ids, id)
			}
			sort.Strings(ids) // AWS's order is unspecified; stable output helps debugging
			var inst strings.Builder
			for _, id := range ids {
				fmt.Fprintf(&inst, `<member><InstanceId>%s</InstanceId><LifecycleState>%s</LifecycleState>`+
					`<HealthStatus>Healthy</HealthStatus><AvailabilityZone>us-east-1a</AvailabilityZone>`+
					`<ProtectedFromScaleIn>%t</ProtectedFromScaleIn></member>`, id, g.instances[id], g.protected[id])
			}
			fmt.Fprintf(&groups, `<member><AutoScalingGroupName>%s</AutoScalingGroupName><MinSize>0</MinSize>`+
				`<MaxSize>10</MaxSize><DesiredCapacity>%d</DesiredCapacity><Instances>%s</Instances></member>`,
				g.name, len(g.instances), inst.String())
		}
		return 200, `<DescribeAutoScalingGroupsResponse ` + asgNS + `><DescribeAutoScalingGroupsResult>` +
			`<AutoScalingGroups>` + groups.String() + `</AutoScalingGroups></DescribeAutoScalingGroupsResult>` +
			`<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`
	case "DescribeAutoScalingInstances":
		id := form.Get("InstanceIds.member.1")
		var members string
		if st, ok := g.instances[id]; ok {
			members = fmt.Sprintf(`<member><InstanceId>%s</InstanceId><AutoScalingGroupName>%s</AutoScalingGroupName>`+
				`<LifecycleState>%s</LifecycleState><HealthStatus>HEALTHY</HealthStatus>`+
				`<ProtectedFromScaleIn>%t</ProtectedFromScaleIn></member>`, id, g.name, st, g.protected[id])
		}
		return 200, `<DescribeAutoScalingInstancesResponse ` + asgNS + `><DescribeAutoScalingInstancesResult>` +
			`<AutoScalingInstances>` + members + `</AutoScalingInstances></DescribeAutoScalingInstancesResult>` +
			`<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DescribeAutoScalingInstancesResponse>`
	case "SetInstanceProtection":
		id := form.Get("InstanceIds.member.1")
		if form.Get("AutoScalingGroupName") != g.name {
			return 400, `<ErrorResponse ` + asgNS + `><Error><Type>Sender</Type><Code>ValidationError</Code>` +
				`<Message>AutoScalingGroup name not found</Message></Error><RequestId>req-3</RequestId></ErrorResponse>`
		}
		if _, ok := g.instances[id]; !ok {
			return 400, `<ErrorResponse ` + asgNS + `><Error><Type>Sender</Type><Code>ValidationError</Code>` +
				`<Message>The instance ` + id + ` is not part of Auto Scaling group ` + g.name + `.</Message></Error>` +
				`<RequestId>req-3</RequestId></ErrorResponse>`
		}
		g.protected[id] = form.Get("ProtectedFromScaleIn") == "true"
		return 200, `<SetInstanceProtectionResponse ` + asgNS + `><SetInstanceProtectionResult/>` +
			`<ResponseMetadata><RequestId>req-4</RequestId></ResponseMetadata></SetInstanceProtectionResponse>`
	}
	return 400, `<ErrorResponse ` + asgNS + `><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>` +
		action + `</Message></Error><RequestId>req-5</RequestId></ErrorResponse>`
}
