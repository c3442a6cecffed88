package handler

import (
	"context"
	"net/http"
	"testing"

	"github.com/sqsfleet/sqsfleet/worker"
)

const (
	testXRay        = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	testTracestate  = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
)

func tracedMessage() *worker.Message {
	m := handlerTestMessage()
	m.SystemAttributes = map[string]string{worker.TraceHeaderAttribute: testXRay}
	m.Attributes = map[string]worker.Attribute{
		worker.TraceparentAttribute: {DataType: "String", StringValue: testTraceparent},
		worker.TracestateAttribute:  {DataType: "String", StringValue: testTracestate},
	}
	return m
}

func TestHTTPTraceHeaders(t *testing.T) {
	srv, last := recordingServer(t, nil)
	h := newHTTP(t, HTTPConfig{URL: srv.URL})
	if err := h.Handle(context.Background(), tracedMessage()); err != nil {
		t.Fatal(err)
	}
	got := last().header
	for k, v := range map[string]string{
		"X-Amzn-Trace-Id": testXRay,
		"traceparent":     testTraceparent,
		"tracestate":      testTracestate,
		// The attributes still come as attribute headers too.
		"X-Aws-Sqsd-Attr-traceparent": testTraceparent,
	} {
		if g := got.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}

	// None of them without trace context, and a Binary attribute of that
	// name is not trace context.
	m := handlerTestMessage()
	m.Attributes = map[string]worker.Attribute{worker.TraceparentAttribute: {DataType: "Binary", BinaryValue: []byte("x")}}
	if err := h.Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got = last().header
	for _, k := range []string{"X-Amzn-Trace-Id", "Traceparent", "Tracestate"} {
		if v, ok := got[http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("header %s = %q for a message without trace context", k, v)
		}
	}

	// A value cannot inject a header.
	m = tracedMessage()
	m.SystemAttributes[worker.TraceHeaderAttribute] = "Root=1\r\nX-Injected: 1"
	if err := h.Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := last().header; got.Get("X-Injected") != "" || got.Get("X-Amzn-Trace-Id") != "Root=1  X-Injected: 1" {
		t.Errorf("injected: %q", got)
	}
}

func TestExecTraceEnvironment(t *testing.T) {
	// The daemon's own trace context (it may run under a traced parent)
	// must not pass for a message's.
	t.Setenv(EnvTraceparent, "00-stale")
	t.Setenv(EnvAmznTraceID, "Root=stale")

	for name, tc := range map[string]struct {
		m    *worker.Message
		want map[string]string
	}{
		"traced": {tracedMessage(), map[string]string{
			EnvAmznTraceID: testXRay, EnvTraceparent: testTraceparent, EnvTracestate: testTracestate,
			"SQSFLEET_ATTR_TRACEPARENT": testTraceparent,
		}},
		"untraced": {handlerTestMessage(), map[string]string{}},
	} {
		t.Run(name, func(t *testing.T) {
			var out lockedBuffer
			h := shHandler(t, ExecConfig{Stdout: &out, Env: []string{EnvTracestate + "=from-config"}}, "exec env -0")
			if err := h.Handle(context.Background(), tc.m); err != nil {
				t.Fatal(err)
			}
			env := parseEnv0(out.Bytes())
			for _, k := range []string{EnvAmznTraceID, EnvTraceparent, EnvTracestate} {
				if want, ok := tc.want[k]; ok {
					if env[k] != want {
						t.Errorf("%s = %q, want %q", k, env[k], want)
					}
				} else if v, ok := env[k]; ok {
					t.Errorf("%s = %q, want unset", k, v)
				}
			}
			if v := tc.want["SQSFLEET_ATTR_TRACEPARENT"]; v != "" && env["SQSFLEET_ATTR_TRACEPARENT"] != v {
				t.Errorf("SQSFLEET_ATTR_TRACEPARENT = %q, want %q", env["SQSFLEET_ATTR_TRACEPARENT"], v)
			}
		})
	}
}
