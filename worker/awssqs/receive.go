package awssqs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxReceiveResponse bounds the body of one ReceiveMessage response read into
// memory: ten 1 MiB messages, each of which may double in size when JSON
// escapes it (six times for control characters, which SQS does not allow in
// bodies), plus their attributes. A larger response is not SQS talking.
const maxReceiveResponse = 24 << 20

// ReceiveOptions is the per-call option that makes a ReceiveMessage decode
// its successful response with decodeReceive instead of the SDK's generic
// decoder, and check each body's MD5 without copying it.
//
// Why: the SDK reads the response into a buffer that grows by doubling from
// 512 bytes, copies every string into an arena, and converts each body to
// []byte again for its MD5 check. With 64 KiB messages that is five or more
// copies of every body per receive, which set the daemon's peak memory
// (README: Performance measures it). This reads the body once into a buffer of the announced length
// and decodes it into the SDK's own output type in one pass (decode.go), so
// each body is copied once. Error responses still go to the SDK's decoder, so
// error codes and retries are unchanged.
//
// The adapter passes it on every receive; the benchmark's raw loop uses it
// too, so the ceiling is measured with the same decoder.
func ReceiveOptions(o *sqs.Options) {
	if _, ok := o.Protocol.(receiveProtocol); !ok {
		o.Protocol = receiveProtocol{ClientProtocol: o.Protocol}
	}
	// decodeReceive checks the MD5 of each body itself.
	o.DisableMessageChecksumValidation = true
}

// receiveProtocol is the SDK's protocol with ReceiveMessage's successful
// response decoded by decodeReceive.
type receiveProtocol struct {
	smithyhttp.ClientProtocol
}

func (p receiveProtocol) DeserializeResponse(ctx context.Context, schema *smithy.OperationSchema, types *smithy.TypeRegistry, resp *smithyhttp.Response, out smithy.Deserializable) error {
	ro, ok := out.(*sqs.ReceiveMessageOutput)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return p.ClientProtocol.DeserializeResponse(ctx, schema, types, resp, out)
	}
	if err := decodeReceive(resp.Body, resp.ContentLength, ro); err != nil {
		return err
	}
	return checkBodies(ro)
}

// decodeReceive reads a ReceiveMessage response of length n (-1 when
// unknown) from r into out, with decodeReceiveJSON.
func decodeReceive(r io.Reader, n int64, out *sqs.ReceiveMessageOutput) error {
	var buf []byte
	var err error
	switch {
	case n > maxReceiveResponse:
		return &smithy.DeserializationError{Err: fmt.Errorf("ReceiveMessage response of %d bytes is larger than %d", n, maxReceiveResponse)}
	case n >= 0:
		buf = make([]byte, n)
		_, err = io.ReadFull(r, buf)
	default:
		buf, err = io.ReadAll(io.LimitReader(r, maxReceiveResponse+1))
		if err == nil && len(buf) > maxReceiveResponse {
			err = fmt.Errorf("ReceiveMessage response is larger than %d bytes", maxReceiveResponse)
		}
	}
	if err != nil {
		return &smithy.DeserializationError{Err: err}
	}
	if len(buf) == 0 {
		return nil
	}
	if err := decodeReceiveJSON(buf, out); err != nil {
		return &smithy.DeserializationError{Err: err, Snapshot: snapshot(buf)}
	}
	return nil
}

func snapshot(b []byte) []byte {
	if len(b) > 1024 {
		b = b[:1024]
	}
	return b
}

// ChecksumError is a received body whose MD5 is not the one SQS sent with
// it. The SDK fails the whole receive in that case, and so does this: the
// batch's messages come back after their visibility timeout.
type ChecksumError struct {
	MessageIDs []string
}

func (e *ChecksumError) Error() string {
	return "message checksum validation failed for " + strings.Join(e.MessageIDs, ", ")
}

// checkBodies compares the MD5 of each body with MD5OfBody.
func checkBodies(out *sqs.ReceiveMessageOutput) error {
	var bad []string
	var chunk []byte
	for i := range out.Messages {
		m := &out.Messages[i]
		if m.Body == nil || m.MD5OfBody == nil {
			continue
		}
		if chunk == nil {
			chunk = make([]byte, 4096)
		}
		if !md5Matches(*m.Body, *m.MD5OfBody, chunk) {
			bad = append(bad, aws.ToString(m.MessageId))
		}
	}
	if bad != nil {
		return &ChecksumError{MessageIDs: bad}
	}
	return nil
}

// md5Matches hashes s through chunk, so that a large body is not copied
// whole into a []byte as md5.Sum would need.
func md5Matches(s, want string, chunk []byte) bool {
	h := md5.New()
	for len(s) > 0 {
		n := copy(chunk, s)
		h.Write(chunk[:n])
		s = s[n:]
	}
	var sum [md5.Size]byte
	var hexSum [2 * md5.Size]byte
	hex.Encode(hexSum[:], h.Sum(sum[:0]))
	return string(hexSum[:]) == want
}
