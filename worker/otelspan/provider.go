package otelspan

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// TracesPath is the path OTLP/HTTP receivers take traces on, appended to a
// configured endpoint as OTEL_EXPORTER_OTLP_ENDPOINT's is.
const TracesPath = "/v1/traces"

// ProviderConfig says where spans go and what they say about the process.
type ProviderConfig struct {
	// Endpoint is the collector's base URL ("http://localhost:4318"); the
	// spans are POSTed to its path plus TracesPath. Empty leaves the choice
	// to the exporter's standard environment variables
	// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT), and
	// to its default, localhost:4318 over TLS, without them.
	Endpoint string
	// ServiceName is the resource's service.name; it takes precedence over
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which supply the other
	// resource attributes.
	ServiceName string
	// ServiceVersion is service.version; empty leaves it out.
	ServiceVersion string
}

// NewProvider returns a tracer provider that batches spans and exports them
// with OTLP over HTTP (protobuf). Headers, TLS, compression, timeouts,
// sampling and batching come from the SDK's standard OTEL_* environment
// variables. Shutdown must be called to flush the last batch.
func NewProvider(ctx context.Context, cfg ProviderConfig) (*sdktrace.TracerProvider, error) {
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("tracing endpoint: %w", err)
		}
		u.Path = strings.TrimRight(u.Path, "/") + TracesPath
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing exporter: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(cfg.ServiceName)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(cfg.ServiceVersion))
	}
	// Later detectors win: the configured name over the environment's.
	res, err := sdkresource.New(ctx,
		sdkresource.WithTelemetrySDK(),
		sdkresource.WithFromEnv(),
		sdkresource.WithAttributes(attrs...),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	), nil
}
