package scaler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/sqsfleet/sqsfleet/internal/awsfake"
	"github.com/sqsfleet/sqsfleet/scaler"
)

func TestInstanceIDFromIMDS(t *testing.T) {
	srv := awsfake.NewIMDS(t, "i-0123456789abcdef0")
	ctx := testCtx(t)

	t.Run("endpoint option", func(t *testing.T) {
		id := scaler.InstanceID(imds.New(imds.Options{Endpoint: srv.URL}))
		for range 2 {
			if got, err := id(ctx); err != nil || got != "i-0123456789abcdef0" {
				t.Fatalf("InstanceID = %q, %v", got, err)
			}
		}
		if n := srv.Gets(); n != 1 {
			t.Errorf("%d metadata GETs, want 1 (remembered)", n)
		}
	})

	t.Run("environment", func(t *testing.T) {
		cfg := awsfake.Config(t, map[string]string{
			"AWS_EC2_METADATA_DISABLED":         "false",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": srv.URL,
		})
		if got, err := scaler.InstanceID(imds.NewFromConfig(cfg))(ctx); err != nil || got != "i-0123456789abcdef0" {
			t.Fatalf("InstanceID = %q, %v", got, err)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		cfg := awsfake.Config(t, nil) // AWS_EC2_METADATA_DISABLED=true
		if _, err := scaler.InstanceID(imds.NewFromConfig(cfg))(ctx); err == nil {
			t.Fatal("no error with IMDS disabled")
		}
	})

	t.Run("not an instance id", func(t *testing.T) {
		odd := awsfake.NewIMDS(t, "<html>captive portal</html>")
		if _, err := scaler.InstanceID(imds.New(imds.Options{Endpoint: odd.URL}))(ctx); err == nil {
			t.Fatal("accepted a non-id")
		}
	})
}

func TestDetectFleet(t *testing.T) {
	srv := awsfake.NewIMDS(t, "i-0123456789abcdef0")
	// An address that accepts connections and never answers, like IMDS's
	// off EC2 (where packets are usually just dropped).
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	ctx := testCtx(t)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	ecsEnv := env(map[string]string{scaler.EnvECSMetadata: "http://169.254.170.2/v4/abc"})
	none := env(nil)

	for _, tt := range []struct {
		name   string
		getenv func(string) string
		id     scaler.Lookup[string]
		want   string
	}{
		{"ECS wins without probing IMDS", ecsEnv, func(context.Context) (string, error) { panic("probed") }, "ecs"},
		{"IMDS answers", none, scaler.InstanceID(imds.New(imds.Options{Endpoint: srv.URL})), "asg"},
		{"IMDS does not answer", none, scaler.InstanceID(imds.New(imds.Options{Endpoint: hang.URL})), "static"},
		{"no IMDS client", none, nil, "static"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			if got := scaler.DetectFleet(ctx, tt.getenv, tt.id, 300*time.Millisecond); got != tt.want {
				t.Errorf("DetectFleet = %q, want %q", got, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s; the probe must give up after its wait", d)
			}
		})
	}
}
