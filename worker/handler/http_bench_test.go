package handler

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// BenchmarkHTTPHandle is the client side of one http handler call per
// message, against a loopback server that reads the body and answers 200:
// what the daemon spends per message on the call beyond the engine. Its
// allocations are exact, unlike the end-to-end bench's CPU figures.
func BenchmarkHTTPHandle(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	h, err := NewHTTP(HTTPConfig{URL: srv.URL + "/work", Concurrency: 8})
	if err != nil {
		b.Fatal(err)
	}
	m := &worker.Message{
		ID: "7f0c1d5e-8b1a-4c1f-9a59-5a3b0d8f2e11", QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
		Body: string(make([]byte, 256)), ReceiveCount: 1, FirstReceivedAt: time.Unix(1764655200, 0), SenderID: "AIDAEXAMPLE",
		Attributes: map[string]worker.Attribute{"tenant": {DataType: "String", StringValue: "acme"}},
	}
	ctx := context.Background()
	run := func(b *testing.B, call func(context.Context) error) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cctx, cancel := context.WithTimeout(ctx, time.Minute) // as the engine gives each call
				if err := call(cctx); err != nil {
					b.Error(err)
				}
				cancel()
			}
		})
	}
	b.Run("handler", func(b *testing.B) { run(b, func(ctx context.Context) error { return h.Handle(ctx, m) }) })
	// The bound: what the bench's raw http loop does per message, a plain
	// POST of the body with the same transport settings, server included.
	plain := &http.Client{Transport: h.client.Transport}
	b.Run("plain POST", func(b *testing.B) {
		run(b, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/work", strings.NewReader(m.Body))
			if err != nil {
				return err
			}
			resp, err := plain.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
	})
}
