package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Environment variables the ECS agent sets in every container of a task.
const (
	// EnvECSMetadata is the base URL of the task metadata endpoint v4.
	EnvECSMetadata = "ECS_CONTAINER_METADATA_URI_V4"
	// EnvECSAgent is the base URL of the agent API, which serves the task
	// scale-in protection endpoint.
	EnvECSAgent = "ECS_AGENT_URI"
)

// Lookup returns a fact about where the daemon runs (this instance's id,
// its group, its task). Lookups made by this package remember a success and
// retry a failure on the next call, so a daemon that starts while IMDS or an
// API is unavailable finds out later instead of failing or guessing.
type Lookup[T any] func(ctx context.Context) (T, error)

// Fixed is a Lookup of a known value, e.g. one from the configuration.
func Fixed[T any](v T) Lookup[T] {
	return func(context.Context) (T, error) { return v, nil }
}

// remember makes a Lookup that calls f until it succeeds once. Concurrent
// callers wait for the call in progress rather than starting their own.
func remember[T any](f Lookup[T]) Lookup[T] {
	var (
		mu   sync.Mutex
		done bool
		v    T
	)
	return func(ctx context.Context) (T, error) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return v, nil
		}
		got, err := f(ctx)
		if err != nil {
			return got, err
		}
		v, done = got, true
		return v, nil
	}
}

// MetadataAPI is the part of the EC2 instance metadata client the scaler
// uses. The SDK's imds.Client speaks IMDSv2 (a session token PUT, then the
// GET) and honours AWS_EC2_METADATA_SERVICE_ENDPOINT and
// AWS_EC2_METADATA_DISABLED.
type MetadataAPI interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// InstanceID looks up this EC2 instance's id in the instance metadata.
func InstanceID(api MetadataAPI) Lookup[string] {
	return remember(func(ctx context.Context) (string, error) {
		if api == nil {
			return "", errors.New("instance id: no instance metadata client")
		}
		out, err := api.GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
		if err != nil {
			return "", fmt.Errorf("instance id from IMDS: %w", err)
		}
		defer out.Content.Close()
		b, err := io.ReadAll(io.LimitReader(out.Content, 256))
		if err != nil {
			return "", fmt.Errorf("instance id from IMDS: %w", err)
		}
		id := strings.TrimSpace(string(b))
		if !strings.HasPrefix(id, "i-") {
			return "", fmt.Errorf("instance id from IMDS: unexpected answer %q", id)
		}
		return id, nil
	})
}

// TaskMetadata is what the scaler reads from the ECS task metadata
// endpoint v4 ($ECS_CONTAINER_METADATA_URI_V4/task).
type TaskMetadata struct {
	Cluster string `json:"Cluster"` // name or ARN; ECS APIs take either
	TaskARN string `json:"TaskARN"`
	// ServiceName is only there on EC2 and ECS Anywhere container
	// instances with agent 1.63.1 or later, not on Fargate.
	ServiceName string `json:"ServiceName"`
}

// TaskMetadataFrom looks up this task's metadata at baseURI, the value of
// ECS_CONTAINER_METADATA_URI_V4. client nil uses one with a 5 s timeout.
func TaskMetadataFrom(client *http.Client, baseURI string) Lookup[TaskMetadata] {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return remember(func(ctx context.Context) (TaskMetadata, error) {
		var md TaskMetadata
		if baseURI == "" {
			return md, fmt.Errorf("task metadata: %s is not set (not running on ECS?)", EnvECSMetadata)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURI, "/")+"/task", nil)
		if err != nil {
			return md, fmt.Errorf("task metadata: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return md, fmt.Errorf("task metadata: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return md, fmt.Errorf("task metadata: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return md, fmt.Errorf("task metadata: %s: %s", resp.Status, snippet(body))
		}
		if err := json.Unmarshal(body, &md); err != nil {
			return md, fmt.Errorf("task metadata: %w", err)
		}
		if md.Cluster == "" || md.TaskARN == "" {
			return md, fmt.Errorf("task metadata: no Cluster or TaskARN in %s", snippet(body))
		}
		return md, nil
	})
}

// DetectFleet resolves scaler.fleet "auto": "ecs" when getenv shows the ECS
// task metadata endpoint, "asg" when instanceID answers within wait (IMDS
// answers in milliseconds on EC2, and never elsewhere), else "static".
func DetectFleet(ctx context.Context, getenv func(string) string, instanceID Lookup[string], wait time.Duration) string {
	if getenv(EnvECSMetadata) != "" {
		return "ecs"
	}
	if instanceID != nil {
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if _, err := instanceID(ctx); err == nil {
			return "asg"
		}
	}
	return "static"
}

// snippet shortens a response body for an error message.
func snippet(b []byte) string {
	const limit = 200
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return fmt.Sprintf("%q", s)
}
