package awssqs_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// recorder is an HTTP client that passes requests to the emulator and keeps
// the last response body, or, once replay is set, answers every request
// with that body without touching the network.
type recorder struct {
	mu      sync.Mutex
	body    []byte
	header  http.Header
	replay  bool
	chunked bool // replay without a Content-Length
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.replay {
		n := int64(len(r.body))
		if r.chunked {
			n = -1
		}
		return &http.Response{StatusCode: 200, Header: r.header.Clone(), ContentLength: n,
			Body: io.NopCloser(bytes.NewReader(r.body)), Request: req}, nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.body, r.header = b, resp.Header
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func recordingClient(emu *fauxqs.Server, rec *recorder) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(emu.Endpoint()),
		HTTPClient:   rec,
	})
}

// receiveInput asks for everything, as the adapter does.
func receiveInput(url string) *sqs.ReceiveMessageInput {
	return &sqs.ReceiveMessageInput{
		QueueUrl:                    &url,
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             1,
		VisibilityTimeout:           30,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	}
}

// TestDecodeReceiveMatchesSDK records a real ReceiveMessage response from
// the emulator, decoded by the SDK's own decoder, and replays the same bytes
// through ReceiveOptions: both must give the same messages. The bodies and
// attributes cover what JSON escapes (quotes, tab and line ends, non-ASCII,
// HTML characters), every attribute type, and a large body.
func TestDecodeReceiveMatchesSDK(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	url := createQueue(t, c, "decode")
	bodies := []string{
		"plain",
		"quote \" backslash \\ slash / tab \t newline \n cr \r",
		"html <a href=\"x\">&amp;</a>",
		"héllo wörld ✓ 日本語",
		`{"json":[1,2,{"nested":"yes"}]}`,
		strings.Repeat("0123456789abcdef", 4096), // 64 KiB
	}
	for i, b := range bodies {
		attrs := map[string]types.MessageAttributeValue{
			"s":   {DataType: aws.String("String"), StringValue: aws.String("vålue \"q\" " + b[:min(len(b), 20)])},
			"n":   {DataType: aws.String("Number"), StringValue: aws.String("-12.5e3")},
			"bin": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 0xfe, 0xff, byte(i)}},
			"typ": {DataType: aws.String("String.custom"), StringValue: aws.String("x")},
		}
		if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b), MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}

	rec := &recorder{}
	sdk := recordingClient(emu, rec)
	var want []types.Message
	var raw [][]byte
	wait.Until(20*time.Second, func() bool {
		out, err := sdk.ReceiveMessage(ctx(t), receiveInput(url))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			want = append(want, out.Messages...)
			raw = append(raw, rec.body)
		}
		return len(want) >= len(bodies)
	})
	if len(want) != len(bodies) {
		t.Fatalf("received %d of %d messages", len(want), len(bodies))
	}

	for _, chunked := range []bool{false, true} {
		var got []types.Message
		for _, body := range raw {
			replay := &recorder{body: body, header: rec.header, replay: true, chunked: chunked}
			out, err := recordingClient(emu, replay).ReceiveMessage(ctx(t), receiveInput(url), awssqs.ReceiveOptions)
			if err != nil {
				t.Fatalf("chunked=%v: %v", chunked, err)
			}
			got = append(got, out.Messages...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("chunked=%v: ReceiveOptions decoded\n%+v\nthe SDK decoded\n%+v", chunked, got, want)
		}
	}
	seen := map[string]bool{}
	for _, m := range want {
		seen[aws.ToString(m.Body)] = true
		if len(m.MessageAttributes) != 4 || m.Attributes["ApproximateReceiveCount"] != "1" {
			t.Errorf("message %s: attributes %v, system attributes %v", aws.ToString(m.MessageId), m.MessageAttributes, m.Attributes)
		}
	}
	for _, b := range bodies {
		if !seen[b] {
			t.Errorf("body %.40q was not received intact", b)
		}
	}
}

// TestDecodeReceiveChecksum: a body whose MD5 does not match fails the
// receive, naming the message, as the SDK's own check does.
func TestDecodeReceiveChecksum(t *testing.T) {
	emu := fauxqs.Start(t)
	c := emu.SQS(t)
	url := createQueue(t, c, "checksum")
	if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("original body")}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	out, err := recordingClient(emu, rec).ReceiveMessage(ctx(t), receiveInput(url), awssqs.ReceiveOptions)
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
	}
	id := aws.ToString(out.Messages[0].MessageId)
	// The same response with one byte of the body changed in transit.
	tampered := bytes.Replace(rec.body, []byte("original body"), []byte("origina! body"), 1)
	if bytes.Equal(tampered, rec.body) {
		t.Fatal("body not found in the recorded response")
	}
	replay := &recorder{body: tampered, header: rec.header, replay: true}
	_, err = recordingClient(emu, replay).ReceiveMessage(ctx(t), receiveInput(url), awssqs.ReceiveOptions)
	var ce *awssqs.ChecksumError
	if !errors.As(err, &ce) || len(ce.MessageIDs) != 1 || ce.MessageIDs[0] != id {
		t.Fatalf("tampered body: err = %v, want a ChecksumError for %s", err, id)
	}
}

// TestReceiveErrorsStillDecoded: error responses go through the SDK's decoder,
// so the adapter still sees SQS's error codes.
func TestReceiveErrorsStillDecoded(t *testing.T) {
	emu := fauxqs.Start(t)
	c := client(emu, nil)
	url := strings.TrimSuffix(createQueue(t, emu.SQS(t), "exists"), "exists") + "does-not-exist"
	q := awssqs.NewQueue(c, url, 0)
	_, err := q.Receive(ctx(t), 10, 30*time.Second)
	if code := awssqs.ErrorCode(err); err == nil || !strings.Contains(code, "NonExistentQueue") && code != "QueueDoesNotExist" {
		t.Fatalf("receive from a missing queue: err %v, code %q", err, code)
	}
}

func createQueue(t *testing.T, c *sqs.Client, name string) string {
	t.Helper()
	out, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}
