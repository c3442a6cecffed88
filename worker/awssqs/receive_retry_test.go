package awssqs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// A standard queue's failed receive comes back to the engine at once, after
// one request, so that the poller hands its slots back while it backs off
// instead of holding them through the SDK's retry sleeps. A FIFO receive
// (with a ReceiveRequestAttemptId) is retried by the SDK with the same id.
func TestStandardReceiveIsNotRetriedByTheSDK(t *testing.T) {
	var receives atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ReceiveMessage") {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		receives.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"InternalError","message":"try again"}`))
	}))
	defer srv.Close()
	c := awssqs.NewClient(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}, nil)
	q := awssqs.NewQueue(c, srv.URL+"/000000000000/jobs", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := q.Receive(ctx, 10, 30*time.Second); err == nil {
		t.Fatal("receive succeeded against a server that always fails")
	}
	if n := receives.Load(); n != 1 {
		t.Errorf("standard receive sent %d requests, want 1 (the poller retries, not the SDK)", n)
	}
	receives.Store(0)
	if _, err := q.Receive(worker.WithReceiveAttemptID(ctx, "attempt-1"), 10, 30*time.Second); err == nil {
		t.Fatal("FIFO receive succeeded against a server that always fails")
	}
	if n := receives.Load(); n < 2 {
		t.Errorf("FIFO receive sent %d requests, want the SDK's retries with the same attempt id", n)
	}
}
