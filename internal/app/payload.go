package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/s3payload"
)

// resolvesPayloads lists the handler types that get S3 payloads resolved,
// when they take one message per call. Others (batches, Lambda functions)
// get pointers as they came, as Lambda's own SQS integration passes them on.
var resolvesPayloads = map[string]bool{"exec": true, "http": true}

// withS3Payload puts the resolution of SQS extended client pointers around
// h (payload.s3_resolve), and the object cleanup after SQS's deletes into q
// (payload.s3_cleanup). A step that rewrites the body before the handler
// sees it (an SNS envelope) must wrap the handler returned here, so that a
// pointer inside the envelope is resolved after unwrapping.
func withS3Payload(cfg *config.Config, awsCfg aws.Config, h worker.Handler, q worker.Queue, log *zap.Logger) (worker.Handler, worker.Queue) {
	if !cfg.Payload.S3Resolve || !resolvesPayloads[cfg.Handler.Type] || cfg.Handler.BatchSize > 0 {
		return h, q
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.Payload.S3PathStyle })
	// New fails only without a client or handler, which are both here.
	r, err := s3payload.New(s3payload.Config{S3: client, Handler: h, Cleanup: cfg.Payload.S3Cleanup, Logger: log})
	if err != nil {
		panic(err)
	}
	return r, r.Queue(q)
}
