package s3payload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/worker"
)

// pointerMessage is a message as the Java library sends it for an object.
func pointerMessage(bucket, key string, size int) *worker.Message {
	return &worker.Message{
		ID:            "m-1",
		ReceiptHandle: "rh-" + key,
		Body:          fmt.Sprintf(`["%s",{"s3BucketName":"%s","s3Key":"%s"}]`, PointerClass, bucket, key),
		Attributes: map[string]worker.Attribute{
			AttrSize: {DataType: "Number", StringValue: fmt.Sprint(size)},
			"tenant": {DataType: "String", StringValue: "acme"},
		},
	}
}

func put(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func exists(t *testing.T, c *s3.Client, bucket, key string) bool {
	t.Helper()
	_, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	return err == nil
}

func newResolver(t *testing.T, api API, h worker.Handler, cleanup bool) *Resolver {
	t.Helper()
	r, err := New(Config{S3: api, Handler: h, Cleanup: cleanup})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolverAgainstEmulatorS3(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.S3(t)
	emu.CreateBucket(t, "bodies")
	body := strings.Repeat("payload ", 1000)
	put(t, c, "bodies", "k1", body)

	t.Run("pointer streamed to the handler", func(t *testing.T) {
		m := pointerMessage("bodies", "k1", len(body))
		orig := *m
		var got string
		var seen *worker.Message
		r := newResolver(t, c, worker.HandlerFunc(func(_ context.Context, hm *worker.Message) error {
			seen = hm
			b, err := io.ReadAll(hm.BodyReader())
			got = string(b)
			return err
		}), false)
		if err := r.Handle(context.Background(), m); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if got != body {
			t.Errorf("handler read %d bytes, want the object's %d", len(got), len(body))
		}
		p := seen.Payload
		if p == nil || p.Bucket != "bodies" || p.Key != "k1" || p.Size != int64(len(body)) || seen.BodySize() != int64(len(body)) {
			t.Errorf("payload = %+v, want bodies/k1 of %d bytes", p, len(body))
		}
		if _, ok := seen.Attributes[AttrSize]; ok || seen.Attributes["tenant"].StringValue != "acme" {
			t.Errorf("handler's attributes = %v, want tenant without %s", seen.Attributes, AttrSize)
		}
		if m.Payload != nil || m.Body != orig.Body || len(m.Attributes) != 2 {
			t.Errorf("the engine's message changed: %+v", m)
		}
		if !exists(t, c, "bodies", "k1") {
			t.Error("object deleted without cleanup")
		}
	})

	t.Run("legacy attribute and class", func(t *testing.T) {
		m := &worker.Message{
			Body:       `["com.amazon.sqs.javamessaging.MessageS3Pointer",{"s3BucketName":"bodies","s3Key":"k1"}]`,
			Attributes: map[string]worker.Attribute{AttrSizeLegacy: {DataType: "Number", StringValue: "8000"}},
		}
		var n int64
		r := newResolver(t, c, worker.HandlerFunc(func(_ context.Context, hm *worker.Message) error {
			var err error
			n, err = io.Copy(io.Discard, hm.BodyReader())
			return err
		}), false)
		if err := r.Handle(context.Background(), m); err != nil || n != int64(len(body)) {
			t.Fatalf("Handle = %v after %d bytes, want nil after %d", err, n, len(body))
		}
	})

	t.Run("no size attribute: not a pointer", func(t *testing.T) {
		m := pointerMessage("bodies", "k1", 1)
		delete(m.Attributes, AttrSize)
		var seen *worker.Message
		r := newResolver(t, c, worker.HandlerFunc(func(_ context.Context, hm *worker.Message) error { seen = hm; return nil }), false)
		if err := r.Handle(context.Background(), m); err != nil || seen != m || seen.Payload != nil {
			t.Fatalf("Handle = %v, handler saw %p (want the message itself, %p) with payload %v", err, seen, m, seen.Payload)
		}
	})

	for _, tc := range []struct{ name, bucket, key string }{
		{"missing object", "bodies", "gone"},
		{"missing bucket", "no-such-bucket", "k1"},
	} {
		t.Run(tc.name+" is permanent", func(t *testing.T) {
			ran := false
			r := newResolver(t, c, worker.HandlerFunc(func(context.Context, *worker.Message) error { ran = true; return nil }), false)
			err := r.Handle(context.Background(), pointerMessage(tc.bucket, tc.key, 10))
			if !worker.IsPermanent(err) || ran {
				t.Fatalf("Handle = %v (handler ran: %v), want a permanent error without running the handler", err, ran)
			}
		})
	}

	t.Run("size attribute with a body that is no pointer is permanent", func(t *testing.T) {
		m := pointerMessage("bodies", "k1", 10)
		m.Body = "plain"
		r := newResolver(t, c, worker.HandlerFunc(func(context.Context, *worker.Message) error { return nil }), false)
		if err := r.Handle(context.Background(), m); !worker.IsPermanent(err) || !strings.Contains(err.Error(), AttrSize) {
			t.Fatalf("Handle = %v, want a permanent error naming %s", err, AttrSize)
		}
	})
}

// fakeQueue is the engine's queue as the cleanup sees it: deletes answer
// with the per-entry errors given.
type fakeQueue struct {
	worker.Queue
	errs map[string]error
}

func (q fakeQueue) Delete(_ context.Context, receipts []string) ([]error, error) {
	errs := make([]error, len(receipts))
	for i, r := range receipts {
		errs[i] = q.errs[r]
	}
	return errs, nil
}

func TestCleanupAfterConfirmedDeleteOnly(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.S3(t)
	emu.CreateBucket(t, "bodies")
	for _, k := range []string{"ok", "failed", "lost", "retried", "kept"} {
		put(t, c, "bodies", k, "x")
	}
	fail := errors.New("handler failed")
	h := worker.HandlerFunc(func(_ context.Context, m *worker.Message) error {
		if m.Payload.Key == "failed" {
			return fail
		}
		return nil
	})
	r := newResolver(t, c, h, true)
	q := r.Queue(fakeQueue{errs: map[string]error{
		"rh-lost":    fmt.Errorf("delete: %w", worker.ErrLeaseLost),
		"rh-retried": errors.New("throttled"),
	}})
	for _, k := range []string{"ok", "failed", "lost", "retried"} {
		_ = r.Handle(context.Background(), pointerMessage("bodies", k, 1))
		if !exists(t, c, "bodies", k) {
			t.Fatalf("object %s deleted before SQS confirmed the message's delete", k)
		}
	}
	if _, err := q.Delete(context.Background(), []string{"rh-ok", "rh-failed", "rh-lost", "rh-retried"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"ok": false, "failed": true, "lost": true, "retried": true}
	for k, w := range want {
		if got := exists(t, c, "bodies", k); got != w {
			t.Errorf("object %s exists = %v, want %v", k, got, w)
		}
	}
	// The retried delete succeeds later with the same receipt handle.
	delete(q.(cleanupQueue).Queue.(fakeQueue).errs, "rh-retried")
	if _, err := q.Delete(context.Background(), []string{"rh-retried"}); err != nil {
		t.Fatal(err)
	}
	if exists(t, c, "bodies", "retried") {
		t.Error("object of a delete that succeeded on retry was kept")
	}

	// Without cleanup the queue is the engine's own.
	plain := &fakeQueue{}
	if got := newResolver(t, c, h, false).Queue(plain); got != worker.Queue(plain) {
		t.Errorf("Queue without cleanup wrapped the queue: %T", got)
	}
}

// s3At is a real S3 client sending to an httptest server, for the answers
// the emulator never gives.
func s3At(url string) *s3.Client {
	return s3.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
	})
}

func TestAccessDeniedAndThrottlingAreRetried(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{
		{http.StatusForbidden, "AccessDenied"},
		{http.StatusServiceUnavailable, "SlowDown"},
		{http.StatusInternalServerError, "InternalError"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>no</Message></Error>`, tc.code)
			}))
			defer srv.Close()
			r := newResolver(t, s3At(srv.URL), worker.HandlerFunc(func(context.Context, *worker.Message) error {
				t.Error("handler ran without the payload")
				return nil
			}), false)
			err := r.Handle(context.Background(), pointerMessage("bodies", "k", 1))
			if err == nil || worker.IsPermanent(err) || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("Handle = %v, want a retryable error naming %s", err, tc.code)
			}
		})
	}
}

// A read that breaks while the handler streams is retried even when the
// handler, having seen a truncated body, called it permanent or succeeded.
func TestBrokenStreamIsRetriedWhateverTheHandlerSaid(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1000))
		// Cut the response short: the client sees an unexpected EOF.
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	for _, verdict := range []error{nil, worker.Permanent(errors.New("bad input"))} {
		r := newResolver(t, s3At(srv.URL), worker.HandlerFunc(func(_ context.Context, m *worker.Message) error {
			_, _ = io.Copy(io.Discard, m.BodyReader())
			return verdict
		}), true)
		err := r.Handle(context.Background(), pointerMessage("bodies", "k", 100000))
		if err == nil || worker.IsPermanent(err) {
			t.Errorf("handler said %v: Handle = %v, want a retryable error", verdict, err)
		}
		if _, ok := r.take("rh-k"); ok {
			t.Error("a message whose stream broke was marked for cleanup")
		}
	}
}

func TestPruneForgetsReceiptsPastTheirLife(t *testing.T) {
	r := newResolver(t, s3At("http://127.0.0.1:1"), worker.HandlerFunc(func(context.Context, *worker.Message) error { return nil }), true)
	now := time.Unix(1_000_000, 0)
	r.now = func() time.Time { return now }
	r.remember("old", Pointer{"b", "old"})
	now = now.Add(receiptLife + time.Minute)
	r.remember("new", Pointer{"b", "new"})
	if _, ok := r.take("old"); ok {
		t.Error("a receipt older than 12 hours was kept")
	}
	if _, ok := r.take("new"); !ok {
		t.Error("a fresh receipt was forgotten")
	}
}
