package awsfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// IMDS is an EC2 instance metadata service speaking IMDSv2: PUT
// /latest/api/token hands out a token, and GET /latest/meta-data/instance-id
// answers only with it.
type IMDS struct {
	*httptest.Server
	gets atomic.Int32
}

// NewIMDS serves the metadata of the instance instanceID. Point the SDK at
// it with AWS_EC2_METADATA_SERVICE_ENDPOINT or imds.Options.Endpoint.
func NewIMDS(t testing.TB, instanceID string) *IMDS {
	m := &IMDS{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			if r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				http.Error(w, "missing X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
				return
			}
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = io.WriteString(w, "fake-imds-token")
		case r.Method == http.MethodGet && r.URL.Path == "/latest/meta-data/instance-id":
			if r.Header.Get("X-Aws-Ec2-Metadata-Token") != "fake-imds-token" {
				http.Error(w, "IMDSv2 token required", http.StatusUnauthorized)
				return
			}
			m.gets.Add(1)
			_, _ = io.WriteString(w, instanceID)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

// Gets is the number of instance-id reads answered so far.
func (m *IMDS) Gets() int { return int(m.gets.Load()) }

// TaskMetadata serves md as the ECS task metadata endpoint v4's /task
// document and returns the value for ECS_CONTAINER_METADATA_URI_V4.
func TaskMetadata(t testing.TB, md map[string]any) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/fake-container/task" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(md)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v4/fake-container"
}

// Agent is the ECS agent's task scale-in protection endpoint,
// $ECS_AGENT_URI/task-protection/v1/state.
type Agent struct {
	*httptest.Server
	TaskARN string

	mu        sync.Mutex
	protected bool
	puts      []map[string]any
	refuse    bool
}

// NewAgent serves the endpoint for the task taskARN. Its URL is the value
// for ECS_AGENT_URI.
func NewAgent(t testing.TB, taskARN string) *Agent {
	a := &Agent{TaskARN: taskARN}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/api/task-protection/v1/state" {
			http.NotFound(w, r)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("awsfake: agent request Content-Type %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		var in map[string]any
		if err := json.Unmarshal(b, &in); err != nil {
			t.Errorf("awsfake: agent body %q: %v", b, err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.puts = append(a.puts, in)
		w.Header().Set("Content-Type", "application/json")
		if a.refuse {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"requestID": "req-denied", "error": map[string]any{
				"Arn": a.TaskARN, "Code": "AccessDeniedException",
				"Message": "User is not authorized to perform: ecs:UpdateTaskProtection"}})
			return
		}
		a.protected = in["ProtectionEnabled"] == true
		p := map[string]any{"ProtectionEnabled": a.protected, "TaskArn": a.TaskARN, "ExpirationDate": nil}
		if minutes, ok := in["ExpiresInMinutes"].(float64); ok && a.protected {
			p["ExpirationDate"] = time.Now().Add(time.Duration(minutes) * time.Minute).UTC().Format(time.RFC3339)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"requestID": "req-ok", "protection": p})
	}))
	t.Cleanup(a.Close)
	return a
}

// URI is the value for ECS_AGENT_URI.
func (a *Agent) URI() string { return a.URL + "/api" }

// Protected reports the task's protection as the last PUT left it.
func (a *Agent) Protected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.protected
}

// Puts returns the bodies of every PUT so far.
func (a *Agent) Puts() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]map[string]any(nil), a.puts...)
}

// Refuse makes the agent answer with an error (on true) or work again.
func (a *Agent) Refuse(on bool) {
	a.mu.Lock()
	a.refuse = on
	a.mu.Unlock()
}
