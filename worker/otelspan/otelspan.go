package otelspan

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// ScopeName is the instrumentation scope the spans are recorded under.
const ScopeName = "github.com/sqsfleet/sqsfleet/worker/otelspan"

// operationName is messaging.operation.name: SQS has no name of its own for
// handling a received message, so the generic operation type serves.
const operationName = "process"

// Wrap returns next with one span per message, recorded by tp's tracer.
// queueURL is the queue the messages come from; it names the spans and
// fills the destination attributes.
func Wrap(tp trace.TracerProvider, queueURL string, next worker.Handler) worker.Handler {
	q := awssqs.ParseQueueURL(queueURL)
	// The attributes every span of this queue shares, computed once.
	common := []attribute.KeyValue{
		semconv.MessagingSystemAWSSQS,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName(operationName),
		semconv.MessagingDestinationName(q.Name),
		// Spans leave for a third-party backend: the URL follows the rule
		// of every URL the daemon prints.
		semconv.AWSSQSQueueURL(redact.URL(queueURL)),
	}
	if u, err := url.Parse(queueURL); err == nil && u.Hostname() != "" {
		common = append(common, semconv.ServerAddress(u.Hostname()))
		if p, err := strconv.Atoi(u.Port()); err == nil {
			common = append(common, semconv.ServerPort(p))
		}
	}
	if q.Region != "" {
		common = append(common, semconv.CloudRegion(q.Region))
	}
	if q.Account != "" {
		common = append(common, semconv.CloudAccountID(q.Account))
	}
	return &wrapper{
		tracer: tp.Tracer(ScopeName),
		name:   operationName + " " + q.Name,
		common: common,
		next:   next,
	}
}

type wrapper struct {
	tracer trace.Tracer
	name   string
	common []attribute.KeyValue
	next   worker.Handler
}

func (w *wrapper) Handle(ctx context.Context, m *worker.Message) error {
	attrs := make([]attribute.KeyValue, 0, len(w.common)+3)
	attrs = append(attrs, w.common...)
	attrs = append(attrs,
		semconv.MessagingMessageID(m.ID),
		semconv.MessagingMessageBodySize(len(m.Body)),
		attribute.Int("sqsfleet.receive_count", m.ReceiveCount),
	)
	if m.GroupID != "" {
		attrs = append(attrs, attribute.String("sqsfleet.message_group_id", m.GroupID))
	}
	ctx, span := w.tracer.Start(ctx, w.name,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...),
		trace.WithLinks(producerLinks(m)...),
	)
	defer span.End()
	err := w.next.Handle(ctx, m)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(errorType(ctx, err))
	}
	return err
}

// errorType is error.type for a failed message: the engine's own classes
// of outcome where one applies, so that a backend can group failures by
// what happens to the message next, else the error's Go type.
func errorType(ctx context.Context, err error) attribute.KeyValue {
	var ra *worker.RetryAfterError
	switch {
	case worker.IsPermanent(err):
		return semconv.ErrorTypeKey.String("permanent")
	case errors.As(err, &ra):
		return semconv.ErrorTypeKey.String("retry_after")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return semconv.ErrorTypeKey.String("timeout")
	default:
		return semconv.ErrorType(err)
	}
}

// producerLinks links to the contexts the producer sent the message from:
// its W3C trace context and its X-Ray trace header. The two name one span
// when the producer's instrumentation wrote both, and then one link is
// enough.
func producerLinks(m *worker.Message) []trace.Link {
	var links []trace.Link
	if sc := w3cContext(m); sc.IsValid() {
		links = append(links, trace.Link{SpanContext: sc})
	}
	if sc, ok := parseXRay(m.SystemAttributes[worker.TraceHeaderAttribute]); ok {
		if len(links) == 0 || !sameSpan(links[0].SpanContext, sc) {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	return links
}

func sameSpan(a, b trace.SpanContext) bool {
	return a.TraceID() == b.TraceID() && a.SpanID() == b.SpanID()
}

// w3cContext reads traceparent and tracestate from the message attributes;
// binary attributes of those names are not trace context.
func w3cContext(m *worker.Message) trace.SpanContext {
	carrier := propagation.MapCarrier{}
	for _, name := range []string{worker.TraceparentAttribute, worker.TracestateAttribute} {
		if a, ok := m.Attributes[name]; ok && !strings.HasPrefix(a.DataType, "Binary") && a.StringValue != "" {
			carrier[name] = a.StringValue
		}
	}
	if carrier[worker.TraceparentAttribute] == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), carrier)
	return trace.SpanContextFromContext(ctx)
}
