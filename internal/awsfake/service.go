package awsfake

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/encoding/cbor"
)

// Config sets the environment for the SDK's default configuration chain,
// with endpoints (e.g. "AWS_ENDPOINT_URL_CLOUDWATCH": srv.URL) pointing
// services at fakes, and loads it as the daemon does. Static credentials,
// region us-east-1, IMDS disabled, and nothing from the developer's ~/.aws
// or environment. It uses t.Setenv, so the test cannot be parallel; the
// environment stays set for the rest of the test, for code under test that
// loads the configuration itself.
func Config(t testing.TB, endpoints map[string]string) aws.Config {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
	} {
		t.Setenv(k, v)
	}
	for k, v := range endpoints {
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Request is one call a fake service received.
type Request struct {
	Action string         // the operation name
	Form   url.Values     // query protocol
	JSON   map[string]any // JSON 1.1
	CBOR   cbor.Value     // rpc-v2 CBOR
	Header http.Header
	Path   string
}

// Service is an httptest server speaking one AWS protocol, recording every
// request.
type Service struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
}

// Calls returns the requests for action so far.
func (s *Service) Calls(action string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

func (s *Service) record(r Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
}

// readBody reports false when the client abandoned the request.
func readBody(t testing.TB, r *http.Request) ([]byte, bool) {
	var rd io.Reader = r.Body
	// The SDK gzips large PutMetricData bodies (request compression).
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Errorf("awsfake: gzip body: %v", err)
			return nil, true
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		// The client went away mid-request (a call cancelled when a loop
		// stops): not a wire-format error, and nobody reads the answer.
		if r.Context().Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) {
			t.Logf("awsfake: request abandoned by the client: %v", err)
			return nil, false
		}
		t.Errorf("awsfake: read body: %v", err)
	}
	return b, true
}

// NewQuery serves an AWS query-protocol service (Auto Scaling): respond
// gets the action and the form and returns the status and the XML body.
func NewQuery(t testing.TB, respond func(action string, form url.Values) (int, string)) *Service {
	s := &Service{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := readBody(t, r)
		if !ok {
			return
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			t.Errorf("awsfake: query body: %v", err)
		}
		action := form.Get("Action")
		s.record(Request{Action: action, Form: form, Header: r.Header.Clone(), Path: r.URL.Path})
		status, body := respond(action, form)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// NewJSON serves an AWS JSON 1.1 service (ECS): respond gets the operation
// from X-Amz-Target and the decoded body, and returns the status and a
// value to encode.
func NewJSON(t testing.TB, respond func(action string, in map[string]any) (int, any)) *Service {
	s := &Service{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, action, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		raw, ok := readBody(t, r)
		if !ok {
			return
		}
		in := map[string]any{}
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Errorf("awsfake: json body: %v", err)
		}
		s.record(Request{Action: action, JSON: in, Header: r.Header.Clone(), Path: r.URL.Path})
		status, out := respond(action, in)
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// NewCBOR serves an rpc-v2 CBOR service (CloudWatch): respond gets the
// operation from the path and the decoded body, and returns the status and
// a value to encode; nil answers with an empty body, as for an operation
// without output.
func NewCBOR(t testing.TB, respond func(action string, in cbor.Value) (int, cbor.Value)) *Service {
	s := &Service{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		body, ok := readBody(t, r)
		if !ok {
			return
		}
		var in cbor.Value
		if len(body) > 0 {
			var err error
			if in, err = cbor.Decode(body); err != nil {
				t.Errorf("awsfake: cbor body: %v", err)
			}
		}
		s.record(Request{Action: action, CBOR: in, Header: r.Header.Clone(), Path: r.URL.Path})
		status, out := respond(action, in)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		if out != nil {
			w.Header().Set("Content-Type", "application/cbor")
			w.WriteHeader(status)
			_, _ = w.Write(cbor.Encode(out))
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

// CBORPath walks a decoded CBOR value: string keys index maps, ints index
// lists. It fails the test where the shape does not fit.
func CBORPath(t testing.TB, v cbor.Value, path ...any) cbor.Value {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(cbor.Map)
			if !ok {
				t.Fatalf("awsfake: cbor %v is not a map at %q", v, k)
			}
			v = m[k]
		case int:
			l, ok := v.(cbor.List)
			if !ok || k >= len(l) {
				t.Fatalf("awsfake: cbor %v is not a list with index %d", v, k)
			}
			v = l[k]
		}
	}
	return v
}
