package scaler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECSServicesAPI is the ECS call behind the fleet size.
type ECSServicesAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// ECSTasksAPI is the ECS call behind leader election.
type ECSTasksAPI interface {
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
}

// ECSTaskDescriber is the ECS call that finds a task's service when the
// task metadata does not name it (Fargate).
type ECSTaskDescriber interface {
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// ECSService names an ECS service.
type ECSService struct {
	Cluster string // name or ARN
	Service string
}

// ECSServiceOf looks up the service this task belongs to: cluster and
// service when both are given, else the task metadata fills in what is
// missing, and where the metadata has no ServiceName (Fargate) the task's
// group ("service:NAME") from DescribeTasks.
func ECSServiceOf(cluster, service string, task Lookup[TaskMetadata], api ECSTaskDescriber) Lookup[ECSService] {
	if cluster != "" && service != "" {
		return Fixed(ECSService{Cluster: cluster, Service: service})
	}
	return remember(func(ctx context.Context) (ECSService, error) {
		md, err := task(ctx)
		if err != nil {
			return ECSService{}, fmt.Errorf("ecs service: %w", err)
		}
		s := ECSService{Cluster: cluster, Service: service}
		if s.Cluster == "" {
			s.Cluster = md.Cluster
		}
		if s.Service == "" {
			s.Service = md.ServiceName
		}
		if s.Service != "" {
			return s, nil
		}
		if api == nil {
			return ECSService{}, errors.New("ecs service: the task metadata does not name the service; set scaler.ecs_service")
		}
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(md.Cluster), Tasks: []string{md.TaskARN}})
		if err != nil {
			return ECSService{}, fmt.Errorf("ecs service of task %s: %w", md.TaskARN, err)
		}
		for _, t := range out.Tasks {
			if name, ok := strings.CutPrefix(aws.ToString(t.Group), "service:"); ok && name != "" {
				s.Service = name
				return s, nil
			}
		}
		return ECSService{}, fmt.Errorf("ecs service of task %s: the task belongs to no service; set scaler.ecs_service or scaler.fleet", md.TaskARN)
	})
}

// ECSConfig configures an ECSFleet.
type ECSConfig struct {
	API     ECSServicesAPI       // required
	Service Lookup[ECSService]   // required: Fixed(...) or ECSServiceOf(...)
	Tasks   ECSTasksAPI          // needed only by Leader
	Task    Lookup[TaskMetadata] // this task, needed only by Leader
}

// ECSFleet sizes the fleet as the runningCount of an ECS service.
type ECSFleet struct {
	cfg ECSConfig
}

var (
	_ FleetSizer = (*ECSFleet)(nil)
	_ Elector    = (*ECSFleet)(nil)
)

// NewECSFleet checks cfg and returns an ECSFleet.
func NewECSFleet(cfg ECSConfig) (*ECSFleet, error) {
	if cfg.API == nil || cfg.Service == nil {
		return nil, errors.New("scaler: ECSConfig needs API and Service")
	}
	return &ECSFleet{cfg: cfg}, nil
}

// Size returns the service's runningCount.
func (f *ECSFleet) Size(ctx context.Context) (int, error) {
	svc, err := f.cfg.Service(ctx)
	if err != nil {
		return 0, err
	}
	out, err := f.cfg.API.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(svc.Cluster),
		Services: []string{svc.Service},
	})
	if err != nil {
		return 0, fmt.Errorf("describe ecs service %s in %s: %w", svc.Service, svc.Cluster, err)
	}
	if len(out.Services) == 0 {
		reason := "not found"
		if len(out.Failures) > 0 {
			reason = failureText(out.Failures[0])
		}
		return 0, fmt.Errorf("describe ecs service %s in %s: %s", svc.Service, svc.Cluster, reason)
	}
	return int(out.Services[0].RunningCount), nil
}

// Leader reports whether this task has the lowest ARN among the service's
// tasks whose desired status is RUNNING. A task that is stopping (desired
// status STOPPED) drops out at once, so leadership moves on as soon as
// ECS decides to stop the leader.
func (f *ECSFleet) Leader(ctx context.Context) (bool, error) {
	if f.cfg.Tasks == nil || f.cfg.Task == nil {
		return false, errors.New("leader election: no ListTasks client or task metadata")
	}
	md, err := f.cfg.Task(ctx)
	if err != nil {
		return false, fmt.Errorf("leader election: %w", err)
	}
	svc, err := f.cfg.Service(ctx)
	if err != nil {
		return false, fmt.Errorf("leader election: %w", err)
	}
	var arns []string
	in := &ecs.ListTasksInput{
		Cluster:       aws.String(svc.Cluster),
		ServiceName:   aws.String(svc.Service),
		DesiredStatus: types.DesiredStatusRunning,
	}
	for {
		out, err := f.cfg.Tasks.ListTasks(ctx, in)
		if err != nil {
			return false, fmt.Errorf("leader election: list tasks of %s: %w", svc.Service, err)
		}
		arns = append(arns, out.TaskArns...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	return len(arns) > 0 && slices.Min(arns) == md.TaskARN, nil
}

func failureText(f types.Failure) string {
	s := aws.ToString(f.Reason)
	if d := aws.ToString(f.Detail); d != "" {
		s += ": " + d
	}
	if s == "" {
		s = "failed"
	}
	return s
}
