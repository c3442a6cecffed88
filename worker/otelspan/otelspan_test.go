package otelspan

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsfleet/sqsfleet/worker"
)

const (
	queueURL    = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
	traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceState  = "rojo=00f067aa0ba902b7"
	traceXRay   = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
)

func recorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

func str(v string) worker.Attribute { return worker.Attribute{DataType: "String", StringValue: v} }

func TestSpanPerMessage(t *testing.T) {
	rec, tp := recorder()
	var inside trace.SpanContext
	h := Wrap(tp, queueURL, worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		inside = trace.SpanContextFromContext(ctx)
		if len(rec.Ended()) != 0 {
			t.Error("span ended before the handler returned")
		}
		return nil
	}))
	m := &worker.Message{
		ID: "m-1", Body: "hello", QueueURL: queueURL, ReceiveCount: 2,
		Attributes: map[string]worker.Attribute{"traceparent": str(traceParent), "tracestate": str(traceState)},
	}
	if err := h.Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "process orders" || s.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("span %q kind %v, want \"process orders\" consumer", s.Name(), s.SpanKind())
	}
	if !s.SpanContext().Equal(inside) {
		t.Error("the handler's context does not carry the span")
	}
	if s.Parent().IsValid() {
		t.Errorf("span has parent %v; the producer must be a link, not the parent", s.Parent())
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("status %v on success", s.Status())
	}
	want := map[attribute.Key]string{
		"messaging.system":            "aws_sqs",
		"messaging.operation.type":    "process",
		"messaging.operation.name":    "process",
		"messaging.destination.name":  "orders",
		"messaging.message.id":        "m-1",
		"messaging.message.body.size": "5",
		"aws.sqs.queue.url":           queueURL,
		"server.address":              "sqs.eu-west-1.amazonaws.com",
		"cloud.region":                "eu-west-1",
		"cloud.account.id":            "123456789012",
		"sqsfleet.receive_count":      "2",
	}
	got := attrs(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["error.type"]; ok {
		t.Error("error.type set on success")
	}
	links := s.Links()
	if len(links) != 1 {
		t.Fatalf("got %d links, want 1", len(links))
	}
	l := links[0].SpanContext
	if l.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || l.SpanID().String() != "00f067aa0ba902b7" ||
		!l.IsSampled() || l.TraceState().String() != traceState || !l.IsRemote() {
		t.Errorf("link %+v does not name the producer's span", l)
	}
}

func TestFailureStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind string
	}{
		{worker.Permanent(errors.New("bad input")), "permanent"},
		{worker.RetryAfter(errors.New("busy"), time.Minute), "retry_after"},
		{fmt.Errorf("handler: %w", context.DeadlineExceeded), "timeout"},
		{errors.New("exit status 1"), "*errors.errorString"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			rec, tp := recorder()
			h := Wrap(tp, queueURL, worker.HandlerFunc(func(context.Context, *worker.Message) error { return tc.err }))
			if err := h.Handle(context.Background(), &worker.Message{ID: "m"}); err != tc.err {
				t.Fatalf("Handle returned %v, want the handler's own error %v", err, tc.err)
			}
			s := rec.Ended()[0]
			if s.Status().Code != codes.Error || s.Status().Description != tc.err.Error() {
				t.Errorf("status %+v, want Error %q", s.Status(), tc.err)
			}
			if got := attrs(s)["error.type"]; got != tc.kind {
				t.Errorf("error.type %q, want %q", got, tc.kind)
			}
			if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
				t.Errorf("events %v, want the error recorded", s.Events())
			}
		})
	}
}

func TestProducerLinks(t *testing.T) {
	xrayTrace := "5759e988bd862e3fe1be46a994272793"
	for _, tc := range []struct {
		name   string
		m      worker.Message
		traces []string // trace id of each link, in order
	}{
		{"none", worker.Message{}, nil},
		{"xray only", worker.Message{SystemAttributes: map[string]string{"AWSTraceHeader": traceXRay}}, []string{xrayTrace}},
		{"both, different spans", worker.Message{
			Attributes:       map[string]worker.Attribute{"traceparent": str(traceParent)},
			SystemAttributes: map[string]string{"AWSTraceHeader": traceXRay},
		}, []string{"4bf92f3577b34da6a3ce929d0e0e4736", xrayTrace}},
		{"both, one span", worker.Message{
			Attributes:       map[string]worker.Attribute{"traceparent": str("00-" + xrayTrace + "-53995c3f42cd8ad8-01")},
			SystemAttributes: map[string]string{"AWSTraceHeader": traceXRay},
		}, []string{xrayTrace}},
		{"malformed traceparent", worker.Message{Attributes: map[string]worker.Attribute{"traceparent": str("00-zz-00f067aa0ba902b7-01")}}, nil},
		{"binary traceparent", worker.Message{Attributes: map[string]worker.Attribute{"traceparent": {DataType: "Binary", BinaryValue: []byte(traceParent)}}}, nil},
		{"xray without parent", worker.Message{SystemAttributes: map[string]string{"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}}, nil},
		{"xray long parent", worker.Message{SystemAttributes: map[string]string{"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8aa"}}, nil},
		{"xray bad root", worker.Message{SystemAttributes: map[string]string{"AWSTraceHeader": "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			links := producerLinks(&tc.m)
			var got []string
			for _, l := range links {
				got = append(got, l.SpanContext.TraceID().String())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.traces) {
				t.Errorf("links to traces %v, want %v", got, tc.traces)
			}
		})
	}
}

func TestParseXRay(t *testing.T) {
	sc, ok := parseXRay(traceXRay)
	if !ok || sc.TraceID().String() != "5759e988bd862e3fe1be46a994272793" || sc.SpanID().String() != "53995c3f42cd8ad8" || !sc.IsSampled() {
		t.Errorf("parseXRay(%q) = %v, %v", traceXRay, sc, ok)
	}
	sc, ok = parseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1")
	if !ok || sc.IsSampled() {
		t.Errorf("Sampled=0: got %v, %v", sc, ok)
	}
}
