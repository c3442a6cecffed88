package scaler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// ASGGroupsAPI is the Auto Scaling call behind the fleet size.
type ASGGroupsAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// ASGInstancesAPI is the Auto Scaling call that finds an instance's group.
type ASGInstancesAPI interface {
	DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error)
}

// ASGProtectionAPI is the Auto Scaling call behind instance scale-in
// protection.
type ASGProtectionAPI interface {
	SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error)
}

// ASGGroup looks up the Auto Scaling group of the instance instanceID
// names, with DescribeAutoScalingInstances.
func ASGGroup(api ASGInstancesAPI, instanceID Lookup[string]) Lookup[string] {
	return remember(func(ctx context.Context) (string, error) {
		id, err := instanceID(ctx)
		if err != nil {
			return "", fmt.Errorf("auto scaling group: %w", err)
		}
		out, err := api.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return "", fmt.Errorf("auto scaling group of %s: %w", id, err)
		}
		for _, in := range out.AutoScalingInstances {
			if aws.ToString(in.InstanceId) == id && aws.ToString(in.AutoScalingGroupName) != "" {
				return aws.ToString(in.AutoScalingGroupName), nil
			}
		}
		return "", fmt.Errorf("auto scaling group of %s: the instance is in no Auto Scaling group; set scaler.asg_name or scaler.fleet", id)
	})
}

// ASGConfig configures an ASGFleet.
type ASGConfig struct {
	API   ASGGroupsAPI   // required
	Group Lookup[string] // required: Fixed(name) or ASGGroup(...)
	// InstanceID is this instance, needed only by Leader.
	InstanceID Lookup[string]
}

// ASGFleet sizes the fleet as the InService instances of an Auto Scaling
// group. Pending instances do not count yet (they take no messages), and
// neither do instances in Standby or being terminated.
type ASGFleet struct {
	cfg ASGConfig

	mu        sync.Mutex
	inService []string // from the last Size, for Leader
	known     bool
}

var (
	_ FleetSizer = (*ASGFleet)(nil)
	_ Elector    = (*ASGFleet)(nil)
)

// NewASGFleet checks cfg and returns an ASGFleet.
func NewASGFleet(cfg ASGConfig) (*ASGFleet, error) {
	if cfg.API == nil || cfg.Group == nil {
		return nil, errors.New("scaler: ASGConfig needs API and Group")
	}
	return &ASGFleet{cfg: cfg}, nil
}

// Size returns the number of InService instances.
func (f *ASGFleet) Size(ctx context.Context) (int, error) {
	ids, err := f.describe(ctx)
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// Leader reports whether this instance has the lowest id among the
// InService instances. It uses the instances seen by the last Size (the
// loop calls Size first in the same interval) so that an election costs no
// extra call. An instance that is not InService is never the leader.
func (f *ASGFleet) Leader(ctx context.Context) (bool, error) {
	if f.cfg.InstanceID == nil {
		return false, errors.New("leader election: this instance's id is unknown")
	}
	self, err := f.cfg.InstanceID(ctx)
	if err != nil {
		return false, fmt.Errorf("leader election: %w", err)
	}
	f.mu.Lock()
	ids, known := f.inService, f.known
	f.mu.Unlock()
	if !known {
		if ids, err = f.describe(ctx); err != nil {
			return false, fmt.Errorf("leader election: %w", err)
		}
	}
	return len(ids) > 0 && slices.Min(ids) == self, nil
}

func (f *ASGFleet) describe(ctx context.Context) ([]string, error) {
	name, err := f.cfg.Group(ctx)
	if err != nil {
		return nil, err
	}
	out, err := f.cfg.API.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
	})
	if err != nil {
		return nil, fmt.Errorf("describe auto scaling group %s: %w", name, err)
	}
	var group *types.AutoScalingGroup
	for i := range out.AutoScalingGroups {
		if aws.ToString(out.AutoScalingGroups[i].AutoScalingGroupName) == name {
			group = &out.AutoScalingGroups[i]
		}
	}
	if group == nil {
		return nil, fmt.Errorf("describe auto scaling group %s: no such group", name)
	}
	var ids []string
	for _, in := range group.Instances {
		if in.LifecycleState == types.LifecycleStateInService {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	f.mu.Lock()
	f.inService, f.known = ids, true
	f.mu.Unlock()
	return ids, nil
}

// ASGProtector protects this instance with SetInstanceProtection. That
// protection never lapses, so the Guard's release at exit matters.
type ASGProtector struct {
	api        ASGProtectionAPI
	group      Lookup[string]
	instanceID Lookup[string]
}

var _ Protector = (*ASGProtector)(nil)

// NewASGProtector returns a Protector for the instance and group the
// lookups name.
func NewASGProtector(api ASGProtectionAPI, group, instanceID Lookup[string]) (*ASGProtector, error) {
	if api == nil || group == nil || instanceID == nil {
		return nil, errors.New("scaler: NewASGProtector needs a client, a group and an instance id")
	}
	return &ASGProtector{api: api, group: group, instanceID: instanceID}, nil
}

// SetProtected sets ProtectedFromScaleIn on this instance.
func (p *ASGProtector) SetProtected(ctx context.Context, on bool) (time.Duration, error) {
	id, err := p.instanceID(ctx)
	if err != nil {
		return 0, err
	}
	group, err := p.group(ctx)
	if err != nil {
		return 0, err
	}
	_, err = p.api.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
		AutoScalingGroupName: aws.String(group),
		InstanceIds:          []string{id},
		ProtectedFromScaleIn: aws.Bool(on),
	})
	if err != nil {
		return 0, fmt.Errorf("set instance protection of %s in %s to %t: %w", id, group, on, err)
	}
	return 0, nil
}
