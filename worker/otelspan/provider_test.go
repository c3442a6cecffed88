package otelspan

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/sqsfleet/sqsfleet/internal/otlpfake"
	"github.com/sqsfleet/sqsfleet/worker"
)

// The spans reach an OTLP/HTTP receiver as protobuf on POST /v1/traces
// when the provider is shut down, with the configured service and the link
// to the producer intact on the wire.
func TestProviderExportsOverOTLPHTTP(t *testing.T) {
	for _, endpoint := range []func(string) string{
		func(u string) string { return u },
		func(u string) string { return u + "/" },
	} {
		recv := otlpfake.Start(t)
		t.Setenv("OTEL_SERVICE_NAME", "from-env")
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
		tp, err := NewProvider(context.Background(), ProviderConfig{Endpoint: endpoint(recv.URL()), ServiceName: "sqsfleet-test", ServiceVersion: "v9"})
		if err != nil {
			t.Fatal(err)
		}
		h := Wrap(tp, queueURL, worker.HandlerFunc(func(context.Context, *worker.Message) error { return errors.New("boom") }))
		m := &worker.Message{ID: "m-1", Attributes: map[string]worker.Attribute{"traceparent": str(traceParent)}}
		_ = h.Handle(context.Background(), m)
		// Nothing is waited for: Shutdown returns after the last batch is
		// exported, so the spans are there when it does.
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		spans := recv.Spans()
		if len(spans) != 1 {
			t.Fatalf("receiver got %d spans (refused %q), want 1", len(spans), recv.Refused())
		}
		s := spans[0]
		if s.Name != "process orders" || s.Kind != tracepb.Span_SPAN_KIND_CONSUMER || s.Scope != ScopeName {
			t.Errorf("span %q kind %v scope %q", s.Name, s.Kind, s.Scope)
		}
		if s.Attr("messaging.system") != "aws_sqs" || s.Attr("messaging.message.id") != "m-1" || s.Attr("error.type") == "" {
			t.Errorf("attributes %v", s.Attributes)
		}
		if s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || s.Status.GetMessage() != "boom" {
			t.Errorf("status %v", s.Status)
		}
		if len(s.Links) != 1 || hex.EncodeToString(s.Links[0].TraceId) != "4bf92f3577b34da6a3ce929d0e0e4736" ||
			hex.EncodeToString(s.Links[0].SpanId) != "00f067aa0ba902b7" {
			t.Errorf("links %v", s.Links)
		}
		for k, v := range map[string]string{"service.name": "sqsfleet-test", "service.version": "v9", "deployment.environment.name": "test"} {
			if s.Resource[k] != v {
				t.Errorf("resource %s = %q, want %q", k, s.Resource[k], v)
			}
		}
	}
}
