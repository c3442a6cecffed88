package app

import (
	"context"
	"testing"

	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// TestLoadAWSGuardsBodies: every AWS client the daemon builds, the scaler's
// included, gets request bodies past the SDK's late-close race (see
// worker/awssqs/bodyguard.go), and keeps the wider connection pool.
func TestLoadAWSGuardsBodies(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := loadAWS(context.Background(), "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q, want eu-west-1 from the queue URL", cfg.Region)
	}
	if got := awssqs.GuardBodies(cfg.HTTPClient); got != cfg.HTTPClient {
		t.Errorf("the AWS configuration's HTTP client %T is not guarded", cfg.HTTPClient)
	}
}
