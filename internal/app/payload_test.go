package app

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/s3payload"
)

func TestWithS3PayloadWrapsOnlyResolvingHandlers(t *testing.T) {
	h := worker.HandlerFunc(func(context.Context, *worker.Message) error { return nil })
	q := (worker.Queue)(nil)
	awsCfg := aws.Config{Region: "us-east-1"}
	for _, tc := range []struct {
		typ              string
		resolve, cleanup bool
		wrapped, wrapsQ  bool
	}{
		{"exec", true, false, true, false},
		{"http", true, true, true, true},
		{"exec", false, true, false, false},
		{"lambda", true, true, false, false},
	} {
		cfg := config.Defaults()
		cfg.Handler.Type = tc.typ
		cfg.Payload.S3Resolve, cfg.Payload.S3Cleanup = tc.resolve, tc.cleanup
		gotH, gotQ := withS3Payload(cfg, awsCfg, h, q, zap.NewNop())
		_, isResolver := gotH.(*s3payload.Resolver)
		if isResolver != tc.wrapped || (gotQ != nil) != tc.wrapsQ {
			t.Errorf("%s resolve=%v cleanup=%v: handler %T, queue %T; want resolver %v, queue wrapped %v",
				tc.typ, tc.resolve, tc.cleanup, gotH, gotQ, tc.wrapped, tc.wrapsQ)
		}
	}
}
