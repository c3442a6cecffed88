package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/s3payload"
)

// withS3Payload puts the resolution of SQS extended client pointers around
// h (payload.s3_resolve), and the object cleanup after SQS's deletes into q
// (payload.s3_cleanup). A step that rewrites the body before the handler
// sees it (an SNS envelope) must wrap the handler returned here, so that a
// pointer inside the envelope is resolved after unwrapping; a handler that
// must see pointers unchanged (batch, lambda) is passed over.
func withS3Payload(cfg *config.Config, awsCfg aws.Config, h worker.Handler, q worker.Queue, log *zap.Logger) (worker.Handler, worker.Queue) {
	if !cfg.Payload.S3Resolve {
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
