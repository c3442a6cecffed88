package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker/s3payload"
)

// sendPointer sends what the SQS extended client library for Java sends
// after storing a body in S3: the pointer class's Jackson serialisation as
// the body and the payload size in the reserved attribute. legacy uses the
// names of the library's first major version.
func sendPointer(t *testing.T, c *sqs.Client, url, bucket, key string, size int, legacy bool) string {
	t.Helper()
	class, attr := s3payload.PointerClass, s3payload.AttrSize
	if legacy {
		class, attr = s3payload.PointerClassLegacy, s3payload.AttrSizeLegacy
	}
	body := fmt.Sprintf(`["%s",{"s3BucketName":"%s","s3Key":"%s"}]`, class, bucket, key)
	return fauxqs.Send(t, c, url, body, map[string]types.MessageAttributeValue{
		attr: {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(size))},
	})
}

func putObject(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// putLarge uploads body in 5 MiB parts, as the emulator takes at most 11 MiB
// per request (and as a large upload to S3 would go anyway).
func putLarge(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	ctx := testCtx(t)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("multipart upload of s3://%s/%s: %v", bucket, key, err)
	}
	var parts []s3types.CompletedPart
	for n, off := int32(1), 0; off < len(body); n, off = n+1, off+5<<20 {
		part := body[off:min(off+5<<20, len(body))]
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(part)})
		if err != nil {
			t.Fatalf("upload part %d of s3://%s/%s: %v", n, bucket, key, err)
		}
		// Go's XML encoder writes the ETag's quotes as &#34;, which the
		// emulator does not unescape; S3 takes the ETag without them too.
		etag := strings.Trim(aws.ToString(out.ETag), `"`)
		parts = append(parts, s3types.CompletedPart{ETag: &etag, PartNumber: aws.Int32(n)})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatalf("complete upload of s3://%s/%s: %v", bucket, key, err)
	}
}

func objectExists(t *testing.T, c *s3.Client, bucket, key string) bool {
	t.Helper()
	_, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	return err == nil
}

// A 20 MB body stored in S3 reaches an exec handler's stdin byte for byte
// while the daemon allocates far less than the object's size in all (so its
// heap cannot have grown by it), the handler learns bucket and key, and with
// payload.s3_cleanup the object is deleted once the message is.
func TestS3PayloadStreamedToExecHandler(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "payload", 10)
	c, s3c := emu.SQS(t), emu.S3(t)
	emu.CreateBucket(t, "bodies")

	const size = 20 << 20
	big := make([]byte, size)
	for i := range big {
		big[i] = byte(i*7 + i/4096)
	}
	bigSum := sha256.Sum256(big)
	putLarge(t, s3c, "bodies", "a1b2c3d4-big", big)
	small := []byte("legacy pointer body\n")
	smallSum := sha256.Sum256(small)
	putObject(t, s3c, "bodies", "legacy/e5f6", small)
	big = nil

	dir := t.TempDir()
	cmd := writeScript(t, dir, "handler.sh", `out="`+dir+`/$SQSFLEET_MESSAGE_ID"
sha256sum | cut -d' ' -f1 > "$out.tmp"
echo "$SQSFLEET_PAYLOAD_BUCKET $SQSFLEET_PAYLOAD_KEY $SQSFLEET_ATTR_EXTENDEDPAYLOADSIZE" >> "$out.tmp"
mv "$out.tmp" "$out"`)
	addr := freeAddr(t)
	startPayloadDaemon(t, emu, url,
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_HTTP_ADDR="+addr,
		"SQSFLEET_PAYLOAD_S3_CLEANUP=true",
	)
	const allocs = "go_memstats_alloc_bytes_total"
	var before float64
	wait.ForState(t, 20*time.Second, "the daemon to serve /metrics and poll", func() (bool, string) {
		m, err := tryScrape(addr)
		if err != nil {
			return false, err.Error()
		}
		before = m.v(allocs)
		return m.v(`sqsfleet_sqs_requests_total{operation="ReceiveMessage"}`) > 0, m.String()
	})

	bigID := sendPointer(t, c, url, "bodies", "a1b2c3d4-big", size, false)
	smallID := sendPointer(t, c, url, "bodies", "legacy/e5f6", len(small), true)
	want := map[string]string{
		bigID:   hex.EncodeToString(bigSum[:]) + "\nbodies a1b2c3d4-big \n",
		smallID: hex.EncodeToString(smallSum[:]) + "\nbodies legacy/e5f6 \n",
	}
	for id, w := range want {
		wait.ForState(t, 60*time.Second, "handler output for "+id, func() (bool, string) {
			_, err := os.Stat(filepath.Join(dir, id))
			return err == nil, fmt.Sprint(err)
		})
		b, _ := os.ReadFile(filepath.Join(dir, id))
		if string(b) != w {
			t.Errorf("message %s: handler saw (sha256, bucket, key, size attribute)\n%q\nwant\n%q", id, b, w)
		}
	}
	wait.For(t, 20*time.Second, "the queue to drain", func() bool { return drained(t, emu, url) })
	wait.For(t, 10*time.Second, "cleanup of both objects", func() bool {
		return !objectExists(t, s3c, "bodies", "a1b2c3d4-big") && !objectExists(t, s3c, "bodies", "legacy/e5f6")
	})
	m := scrapeMetrics(t, addr)
	if grown := m.v(allocs) - before; grown > size/2 {
		t.Errorf("the daemon allocated %.1f MB while streaming a %d MB object; want well under its size", grown/(1<<20), size>>20)
	} else {
		t.Logf("the daemon allocated %.2f MB while streaming a %d MB object", grown/(1<<20), size>>20)
	}
	if v, nv, _ := emu.Counts(t, dlq); v+nv != 0 {
		t.Errorf("DLQ holds %d messages, want none", v+nv)
	}
}

// A pointer to an object that does not exist is dead-lettered at once with
// reason payload_missing, without running the handler; a message whose
// handler rejects it is dead-lettered too. Both keep their pointer and size
// attribute in the DLQ, and the rejected one its object, cleanup or not.
func TestS3PayloadMissingObjectIsDeadLettered(t *testing.T) {
	emu := fauxqs.Start(t)
	url, dlq := emu.CreateQueueWithDLQ(t, "payload-missing", 10)
	c, s3c := emu.SQS(t), emu.S3(t)
	emu.CreateBucket(t, "bodies")
	putObject(t, s3c, "bodies", "rejected", []byte("reject me"))

	dir := t.TempDir()
	cmd := writeScript(t, dir, "handler.sh", `body=$(cat)
echo "$SQSFLEET_PAYLOAD_KEY" >> "`+dir+`/ran"
[ "$body" = "reject me" ] && exit 65
exit 0`)
	startPayloadDaemon(t, emu, url,
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+cmd,
		"SQSFLEET_HTTP_ADDR=",
		"SQSFLEET_PAYLOAD_S3_CLEANUP=true",
	)
	missingID := sendPointer(t, c, url, "bodies", "never-stored", 300000, false)
	rejectedID := sendPointer(t, c, url, "bodies", "rejected", 9, false)

	got := receiveN(t, c, dlq, 2, 30*time.Second, "2")
	reasons := map[string]string{}
	for _, m := range got {
		rec := failureRecord(t, m)
		reasons[rec.MessageID] = rec.Reason
		if !strings.Contains(aws.ToString(m.Body), s3payload.PointerClass) {
			t.Errorf("dead letter of %s lost its pointer: body %q", rec.MessageID, aws.ToString(m.Body))
		}
		if _, ok := m.MessageAttributes[s3payload.AttrSize]; !ok {
			t.Errorf("dead letter of %s lost its %s attribute", rec.MessageID, s3payload.AttrSize)
		}
	}
	if reasons[missingID] != s3payload.ReasonMissing || reasons[rejectedID] != "permanent" {
		t.Errorf("reasons = %v, want %s for %s and permanent for %s", reasons, s3payload.ReasonMissing, missingID, rejectedID)
	}
	if ran, _ := os.ReadFile(filepath.Join(dir, "ran")); string(ran) != "rejected\n" {
		t.Errorf("handler ran for %q, want only the message whose object exists", ran)
	}
	if !objectExists(t, s3c, "bodies", "rejected") {
		t.Error("the object of a dead-lettered message was deleted")
	}
	wait.For(t, 10*time.Second, "the queue to drain", func() bool { return drained(t, emu, url) })
}

// The http handler gets a payload as its request body, streamed, with the
// object's size as Content-Length and the object named in headers; the
// payload's size attribute is not forwarded as an sqsd attribute header.
func TestS3PayloadStreamedToHTTPHandler(t *testing.T) {
	emu := fauxqs.Start(t)
	url, _ := emu.CreateQueueWithDLQ(t, "payload-http", 10)
	c, s3c := emu.SQS(t), emu.S3(t)
	emu.CreateBucket(t, "bodies")
	const size = 6 << 20
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	sum := sha256.Sum256(body)
	putObject(t, s3c, "bodies", "http/1", body)

	type seen struct {
		sum                 string
		length              int64
		bucket, key, attrSz string
	}
	got := make(chan seen, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		got <- seen{hex.EncodeToString(h.Sum(nil)), r.ContentLength,
			r.Header.Get("X-Sqsfleet-Payload-Bucket"), r.Header.Get("X-Sqsfleet-Payload-Key"),
			r.Header.Get("X-Aws-Sqsd-Attr-" + s3payload.AttrSize)}
	}))
	defer app.Close()
	startPayloadDaemon(t, emu, url,
		"SQSFLEET_HANDLER_TYPE=http",
		"SQSFLEET_HANDLER_URL="+app.URL,
		"SQSFLEET_HTTP_ADDR=",
	)
	sendPointer(t, c, url, "bodies", "http/1", size, false)
	select {
	case s := <-got:
		want := seen{hex.EncodeToString(sum[:]), size, "bodies", "http/1", ""}
		if s != want {
			t.Errorf("app saw %+v, want %+v", s, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app got no request")
	}
	wait.For(t, 20*time.Second, "the queue to drain", func() bool { return drained(t, emu, url) })
	if !objectExists(t, s3c, "bodies", "http/1") {
		t.Error("the object was deleted without payload.s3_cleanup")
	}
}

// A producer that publishes to an SNS topic with the extended client puts
// the pointer in the notification's Message and the size in its message
// attributes. With message.envelope sns the daemon unwraps first, then
// resolves: the app gets the object, not the pointer or the notification.
func TestS3PayloadInsideSNSEnvelope(t *testing.T) {
	emu := fauxqs.Start(t)
	url, _ := emu.CreateQueueWithDLQ(t, "payload-sns", 10)
	topic := emu.CreateTopic(t, "payload-topic")
	emu.SubscribeQueue(t, topic, url, false)
	s3c := emu.S3(t)
	emu.CreateBucket(t, "bodies")
	body := bytes.Repeat([]byte("from sns "), 10000)
	putObject(t, s3c, "bodies", "sns/1", body)

	type seen struct{ body, key, topic string }
	got := make(chan seen, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{string(b), r.Header.Get("X-Sqsfleet-Payload-Key"), r.Header.Get("X-Sqsfleet-Sns-Topic-Arn")}
	}))
	defer app.Close()
	startPayloadDaemon(t, emu, url,
		"SQSFLEET_HANDLER_TYPE=http",
		"SQSFLEET_HANDLER_URL="+app.URL,
		"SQSFLEET_HTTP_ADDR=",
		"SQSFLEET_MESSAGE_ENVELOPE=sns",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pointer := fmt.Sprintf(`["%s",{"s3BucketName":"bodies","s3Key":"sns/1"}]`, s3payload.PointerClass)
	if _, err := emu.SNS(t).Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Message:  aws.String(pointer),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			s3payload.AttrSize: {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(len(body)))},
		},
	}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case s := <-got:
		if s.body != string(body) || s.key != "sns/1" || s.topic != topic {
			t.Errorf("app saw %d bytes, payload key %q, topic %q; want the object's %d bytes, sns/1, %s", len(s.body), s.key, s.topic, len(body), topic)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app got no request")
	}
	wait.For(t, 20*time.Second, "the queue to drain", func() bool { return drained(t, emu, url) })
}

// startPayloadDaemon runs the daemon on url, resolving payload pointers
// from the emulator's S3 (addressed path-style, as the emulator needs),
// with env added.
func startPayloadDaemon(t *testing.T, emu *fauxqs.Server, url string, env ...string) *daemon {
	t.Helper()
	return startDaemon(t, emu, append([]string{
		"SQSFLEET_QUEUE_URL=" + url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_PAYLOAD_S3_PATH_STYLE=true",
	}, env...)...)
}
