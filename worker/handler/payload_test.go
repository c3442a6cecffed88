package handler

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqsfleet/sqsfleet/worker"
)

// oneShot hides everything but Read, as a stream from S3 offers nothing
// more: no Len, no Seek, no WriteTo.
type oneShot struct{ r io.Reader }

func (o *oneShot) Read(p []byte) (int, error) { return o.r.Read(p) }

func payloadMessage(body string, size int64) *worker.Message {
	m := handlerTestMessage()
	m.Body = `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"bodies","s3Key":"k/1"}]`
	m.Payload = &worker.Payload{Bucket: "bodies", Key: "k/1", Size: size, Body: &oneShot{strings.NewReader(body)}}
	return m
}

func TestExecPayloadIsStdinAndNamedInEnv(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	body := strings.Repeat("0123456789", 100_000) // larger than a pipe buffer
	var out lockedBuffer
	h := shHandler(t, ExecConfig{Stdout: &out, Env: []string{EnvPayloadBucket + "=stale", EnvPayloadKey + "=stale"}},
		`env -0 > "$1"; exec cat`, envFile)
	if err := h.Handle(context.Background(), payloadMessage(body, int64(len(body)))); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got := out.Bytes(); string(got) != body {
		t.Errorf("stdin: got %d bytes, want the payload's %d", len(got), len(body))
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := parseEnv0(b)
	if env[EnvPayloadBucket] != "bodies" || env[EnvPayloadKey] != "k/1" {
		t.Errorf("env: %s=%q %s=%q, want bodies and k/1", EnvPayloadBucket, env[EnvPayloadBucket], EnvPayloadKey, env[EnvPayloadKey])
	}

	// Without a payload the configured stale values are dropped, not passed.
	if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if b, err = os.ReadFile(envFile); err != nil {
		t.Fatal(err)
	}
	env = parseEnv0(b)
	if v, ok := env[EnvPayloadBucket]; ok {
		t.Errorf("%s=%q set for a message without a payload", EnvPayloadBucket, v)
	}
	if _, ok := env[EnvPayloadKey]; ok {
		t.Errorf("%s set for a message without a payload", EnvPayloadKey)
	}
}

func TestHTTPPayloadIsTheBodyAndNamedInHeaders(t *testing.T) {
	srv, last := recordingServer(t, nil)
	h := newHTTP(t, HTTPConfig{URL: srv.URL})
	body := strings.Repeat("abcdefgh", 200_000)
	for _, size := range []int64{int64(len(body)), -1} {
		if err := h.Handle(context.Background(), payloadMessage(body, size)); err != nil {
			t.Fatalf("size %d: Handle: %v", size, err)
		}
		r := last()
		if string(r.body) != body {
			t.Errorf("size %d: server got %d bytes, want the payload's %d", size, len(r.body), len(body))
		}
		if got := r.header.Get(HeaderPayloadBucket); got != "bodies" {
			t.Errorf("%s = %q", HeaderPayloadBucket, got)
		}
		if got := r.header.Get(HeaderPayloadKey); got != "k/1" {
			t.Errorf("%s = %q", HeaderPayloadKey, got)
		}
	}
	if err := h.Handle(context.Background(), payloadMessage("", 0)); err != nil {
		t.Fatalf("empty payload: Handle: %v", err)
	}
	if r := last(); len(r.body) != 0 {
		t.Errorf("empty payload: server got %q", r.body)
	}
	if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
		t.Fatal(err)
	}
	if r := last(); r.header.Get(HeaderPayloadBucket) != "" || r.header.Get(HeaderPayloadKey) != "" || string(r.body) != handlerTestMessage().Body {
		t.Errorf("message without payload: headers %v, body %q", r.header, r.body)
	}
}
