package s3payload

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sqsfleet/sqsfleet/worker"
)

// The names the SQS extended client libraries write.
const (
	// AttrSize marks a message whose body is a pointer; its value is the
	// payload's size in bytes.
	AttrSize = "ExtendedPayloadSize"
	// AttrSizeLegacy is AttrSize in library versions before 2.
	AttrSizeLegacy = "SQSLargePayloadSize"
	// PointerClass is the Java class whose serialisation is the body.
	PointerClass = "software.amazon.payloadoffloading.PayloadS3Pointer"
	// PointerClassLegacy is PointerClass in library versions before 2.
	PointerClassLegacy = "com.amazon.sqs.javamessaging.MessageS3Pointer"
)

// ReasonMissing is the failure record's reason for a message whose object
// does not exist.
const ReasonMissing = "payload_missing"

// Pointer names the S3 object holding a message's body.
type Pointer struct {
	Bucket string
	Key    string
}

func (p Pointer) String() string { return "s3://" + p.Bucket + "/" + p.Key }

// IsPointer reports whether m is marked as carrying a pointer: it has the
// attribute AttrSize or AttrSizeLegacy.
func IsPointer(m *worker.Message) bool {
	_, ok := m.Attributes[AttrSize]
	_, legacy := m.Attributes[AttrSizeLegacy]
	return ok || legacy
}

// ParsePointer decodes a pointer body. It accepts what Jackson's default
// typing writes for either pointer class, in any JSON spacing (the Python
// library writes spaces after separators) and with unknown fields ignored,
// as the libraries' own readers do.
func ParsePointer(body string) (Pointer, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal([]byte(body), &parts); err != nil {
		return Pointer{}, fmt.Errorf("body is not a pointer: %w", err)
	}
	if len(parts) != 2 {
		return Pointer{}, fmt.Errorf("body is not a pointer: want [class, {s3BucketName, s3Key}], got an array of %d", len(parts))
	}
	var class string
	if err := json.Unmarshal(parts[0], &class); err != nil || (class != PointerClass && class != PointerClassLegacy) {
		return Pointer{}, fmt.Errorf("body is not a pointer: want class %s or %s, got %.100s", PointerClass, PointerClassLegacy, parts[0])
	}
	var v struct {
		Bucket *string `json:"s3BucketName"`
		Key    *string `json:"s3Key"`
	}
	if err := json.Unmarshal(parts[1], &v); err != nil {
		return Pointer{}, fmt.Errorf("body is not a pointer: %w", err)
	}
	if v.Bucket == nil || *v.Bucket == "" || v.Key == nil || *v.Key == "" {
		return Pointer{}, errors.New("body is not a pointer: s3BucketName or s3Key missing or empty")
	}
	return Pointer{Bucket: *v.Bucket, Key: *v.Key}, nil
}
