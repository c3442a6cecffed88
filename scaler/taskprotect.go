package scaler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// TaskProtector protects this ECS task through the ECS agent's task
// scale-in protection endpoint, PUT $ECS_AGENT_URI/task-protection/v1/state.
// The agent calls ecs:UpdateTaskProtection with the task role. Protection
// set this way lapses after Expiry, so a task killed without a chance to
// release it is not protected for long; the Guard renews it while busy.
type TaskProtector struct {
	url    string
	client *http.Client
	expiry time.Duration
}

var _ Protector = (*TaskProtector)(nil)

// NewTaskProtector returns a Protector for the task whose agent API is at
// agentURI ($ECS_AGENT_URI). expiry is how long each protection lasts,
// rounded up to whole minutes, 1m..48h; 0 means 15m. client nil uses one with
// a 10 s timeout.
func NewTaskProtector(agentURI string, expiry time.Duration, client *http.Client) (*TaskProtector, error) {
	if agentURI == "" {
		return nil, fmt.Errorf("scaler: task protection needs %s (not running on ECS?)", EnvECSAgent)
	}
	if expiry == 0 {
		expiry = 15 * time.Minute
	}
	expiry = ((expiry + time.Minute - 1) / time.Minute) * time.Minute
	if expiry < time.Minute || expiry > 48*time.Hour {
		return nil, fmt.Errorf("scaler: task protection expiry must be 1m..48h, got %s", expiry)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &TaskProtector{
		url:    strings.TrimRight(agentURI, "/") + "/task-protection/v1/state",
		client: client,
		expiry: expiry,
	}, nil
}

type taskProtectionRequest struct {
	ProtectionEnabled bool `json:"ProtectionEnabled"`
	ExpiresInMinutes  int  `json:"ExpiresInMinutes,omitempty"`
}

// taskProtectionResponse is the agent's answer: protection on success, a
// failure (ECS refused) or an error (the agent did) otherwise.
type taskProtectionResponse struct {
	Protection *struct {
		ProtectionEnabled bool
		ExpirationDate    string
		TaskArn           string
	} `json:"protection"`
	Failure *struct {
		Arn, Reason, Detail string
	} `json:"failure"`
	Error *struct {
		Arn, Code, Message string
	} `json:"error"`
	RequestID string `json:"requestID"`
}

// SetProtected turns this task's protection on (for the expiry) or off.
func (p *TaskProtector) SetProtected(ctx context.Context, on bool) (time.Duration, error) {
	body := taskProtectionRequest{ProtectionEnabled: on}
	if on {
		body.ExpiresInMinutes = int(p.expiry / time.Minute)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.url, bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("task protection: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("task protection: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("task protection: %w", err)
	}
	var r taskProtectionResponse
	jsonErr := json.Unmarshal(raw, &r)
	switch {
	case r.Error != nil:
		return 0, fmt.Errorf("task protection: %s: %s (%s)", resp.Status, r.Error.Message, r.Error.Code)
	case r.Failure != nil:
		return 0, fmt.Errorf("task protection: ECS refused: %s %s", r.Failure.Reason, r.Failure.Detail)
	case resp.StatusCode/100 != 2:
		return 0, fmt.Errorf("task protection: %s: %s", resp.Status, snippet(raw))
	case jsonErr != nil:
		return 0, fmt.Errorf("task protection: unreadable answer %s: %w", snippet(raw), jsonErr)
	case r.Protection == nil:
		return 0, errors.New("task protection: answer without protection state: " + snippet(raw))
	case r.Protection.ProtectionEnabled != on:
		return 0, fmt.Errorf("task protection: asked for %t, agent reports %t", on, r.Protection.ProtectionEnabled)
	}
	if !on {
		return 0, nil
	}
	return p.expiry, nil
}
