package app

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/otelspan"
)

// tracingFlushTimeout bounds the flush of the last spans at shutdown, so an
// unreachable collector cannot hold up a drained daemon's exit for long.
const tracingFlushTimeout = 5 * time.Second

// withTracing puts a span per message around h when tracing.enabled is
// set. stop flushes the spans still buffered; it must run after the pool
// has drained, when the last span has ended.
func withTracing(ctx context.Context, cfg *config.Config, h worker.Handler, log *zap.Logger) (wrapped worker.Handler, stop func(), err error) {
	if !cfg.Tracing.Enabled {
		return h, func() {}, nil
	}
	tp, err := otelspan.NewProvider(ctx, otelspan.ProviderConfig{
		Endpoint:       cfg.Tracing.Endpoint,
		ServiceName:    cfg.Tracing.ServiceName,
		ServiceVersion: fullVersion(),
	})
	if err != nil {
		return nil, nil, err
	}
	// The SDK reports failed exports through OpenTelemetry's one process-wide
	// handler, which otherwise writes unstructured lines among the JSON log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: export failed", zap.Error(err))
	}))
	log.Info("tracing enabled", zap.String("endpoint", redact.URL(cfg.Tracing.Endpoint)), zap.String("service_name", cfg.Tracing.ServiceName))
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn("tracing: flushing the last spans failed", zap.Error(err))
		}
	}
	return otelspan.Wrap(tp, cfg.Queue.URL, h), stop, nil
}
