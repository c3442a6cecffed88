package fauxqs

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The emulator serves S3 on the same port as SQS. It understands both URL
// styles, but the virtual-hosted one (bucket.127.0.0.1:PORT) cannot be
// resolved from Go, so clients use path-style addressing: UsePathStyle here,
// payload.s3_path_style for the daemon.

// S3 returns a real S3 client talking to the emulator, path-style, built
// like SQS's from a literal configuration.
func (s *Server) S3(t testing.TB) *s3.Client {
	t.Helper()
	return s3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint())
		o.UsePathStyle = true
	})
}

// CreateBucket creates a bucket in the emulator.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.S3(t).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("fauxqs: CreateBucket %q: %v", name, err)
	}
}
