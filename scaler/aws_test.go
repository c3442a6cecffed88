package scaler_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/encoding/cbor"
)

// awsConfig loads the SDK's default configuration the way the daemon does,
// with the environment pointing each service at a test server, so that the
// real endpoint resolution (AWS_ENDPOINT_URL_<SERVICE>) is exercised.
// Nothing from the developer's ~/.aws or environment leaks in.
func awsConfig(t *testing.T, endpoints map[string]string) aws.Config {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION":                  "us-east-1",
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

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes: tests wait
// for the loop's goroutine this way instead of sleeping.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// request is one call a fake AWS service received.
type request struct {
	Action string     // operation name
	Form   url.Values // query protocol
	JSON   map[string]any
	CBOR   cbor.Value
	Header http.Header
	Path   string
}

// fakeService is an httptest server speaking one AWS protocol. respond
// returns the status and body for an operation.
type fakeService struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

func (f *fakeService) calls(action string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeService) record(r request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
}

func readBody(t *testing.T, r *http.Request) []byte {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Errorf("gzip body: %v", err)
			return nil
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Errorf("read body: %v", err)
	}
	return b
}

// newQueryService fakes an AWS query-protocol service (Auto Scaling):
// form-encoded requests, XML responses.
func newQueryService(t *testing.T, respond func(action string, form url.Values) (int, string)) *fakeService {
	f := &fakeService{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := url.ParseQuery(string(readBody(t, r)))
		if err != nil {
			t.Errorf("query body: %v", err)
		}
		action := form.Get("Action")
		f.record(request{Action: action, Form: form, Header: r.Header.Clone(), Path: r.URL.Path})
		status, body := respond(action, form)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

// newJSONService fakes an AWS JSON 1.1 service (ECS): the operation in
// X-Amz-Target, JSON bodies both ways.
func newJSONService(t *testing.T, respond func(action string, in map[string]any) (int, any)) *fakeService {
	f := &fakeService{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		_, action, _ := strings.Cut(target, ".")
		in := map[string]any{}
		if err := json.Unmarshal(readBody(t, r), &in); err != nil {
			t.Errorf("json body: %v", err)
		}
		f.record(request{Action: action, JSON: in, Header: r.Header.Clone(), Path: r.URL.Path})
		status, out := respond(action, in)
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		w.Write(b)
	}))
	t.Cleanup(f.Close)
	return f
}

// newCBORService fakes an rpc-v2 CBOR service (CloudWatch): the operation
// in the path, CBOR bodies. An empty body answers an operation without
// output.
func newCBORService(t *testing.T, respond func(action string, in cbor.Value) (int, cbor.Value)) *fakeService {
	f := &fakeService{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		body := readBody(t, r)
		var in cbor.Value
		if len(body) > 0 {
			var err error
			if in, err = cbor.Decode(body); err != nil {
				t.Errorf("cbor body: %v", err)
			}
		}
		f.record(request{Action: action, CBOR: in, Header: r.Header.Clone(), Path: r.URL.Path})
		status, out := respond(action, in)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		if out != nil {
			w.Header().Set("Content-Type", "application/cbor")
			w.WriteHeader(status)
			w.Write(cbor.Encode(out))
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(f.Close)
	return f
}

// cborPath walks a decoded CBOR value: string keys index maps, ints index
// lists.
func cborPath(t *testing.T, v cbor.Value, path ...any) cbor.Value {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(cbor.Map)
			if !ok {
				t.Fatalf("cbor: %v is not a map at %q", v, k)
			}
			v = m[k]
		case int:
			l, ok := v.(cbor.List)
			if !ok || k >= len(l) {
				t.Fatalf("cbor: %v is not a list with index %d", v, k)
			}
			v = l[k]
		}
	}
	return v
}
