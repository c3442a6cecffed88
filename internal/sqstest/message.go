package sqstest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MessageAttribute is one message attribute. DataType is String, Number or
// Binary, optionally with a ".custom" suffix; Binary types carry
// BinaryValue, the others StringValue.
type MessageAttribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Message is one message as ReceiveMessage returns it.
type Message struct {
	MessageID       string
	ReceiptHandle   string
	Body            string
	MD5OfBody       string
	MD5OfAttributes string // "" without message attributes
	// Attributes are the system attributes (ApproximateReceiveCount,
	// SentTimestamp, MessageGroupId, ...), all of them.
	Attributes        map[string]string
	MessageAttributes map[string]MessageAttribute
}

// ReceiveCount is the message's ApproximateReceiveCount.
func (m Message) ReceiveCount() int {
	n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return n
}

type message struct {
	q                *queue
	id, body         string
	md5Body          string
	attrs            map[string]MessageAttribute
	md5Attrs         string
	groupID, dedupID string
	seq              string
	traceHeader      string // AWSTraceHeader, "" when not sent
	sentAt           time.Time
	dlqSource        string // DeadLetterQueueSourceArn: set when redrive moved it

	// hiddenUntil is the end of the send delay, then of the visibility
	// timeout of the latest receive.
	hiddenUntil  time.Time
	receiveCount int
	firstReceive time.Time
	receivedAt   time.Time // of the latest receive: the 12 h limit counts from it
	receipt      string    // of the latest receive; the only one accepted
	deleted      bool
}

func (m *message) out(now time.Time) Message {
	a := map[string]string{
		"ApproximateReceiveCount":          strconv.Itoa(m.receiveCount),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
		"SentTimestamp":                    strconv.FormatInt(m.sentAt.UnixMilli(), 10),
		"SenderId":                         "AIDAIENQZJOLO23YVJ4VO",
	}
	if m.groupID != "" {
		a["MessageGroupId"] = m.groupID
	}
	if m.dedupID != "" {
		a["MessageDeduplicationId"] = m.dedupID
	}
	if m.seq != "" {
		a["SequenceNumber"] = m.seq
	}
	if m.traceHeader != "" {
		a["AWSTraceHeader"] = m.traceHeader
	}
	if m.dlqSource != "" {
		a["DeadLetterQueueSourceArn"] = m.dlqSource
	}
	var attrs map[string]MessageAttribute
	if len(m.attrs) > 0 {
		attrs = make(map[string]MessageAttribute, len(m.attrs))
		for k, v := range m.attrs {
			v.BinaryValue = slices.Clone(v.BinaryValue)
			attrs[k] = v
		}
	}
	return Message{
		MessageID: m.id, ReceiptHandle: m.receipt, Body: m.body, MD5OfBody: m.md5Body,
		MD5OfAttributes: m.md5Attrs, Attributes: a, MessageAttributes: attrs,
	}
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// attributesMD5 is SQS's MD5OfMessageAttributes: over the attributes in name
// order, each as its length-prefixed name and data type, a transport byte
// (1 string, 2 binary) and the length-prefixed value. The SDK checks it.
func attributesMD5(attrs map[string]MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	var buf []byte
	put := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[name]
		put([]byte(name))
		put([]byte(a.DataType))
		if isBinary(a.DataType) {
			buf = append(buf, 2)
			put(a.BinaryValue)
		} else {
			buf = append(buf, 1)
			put([]byte(a.StringValue))
		}
	}
	return md5Hex(buf)
}

func isBinary(dataType string) bool {
	base, _, _ := strings.Cut(dataType, ".")
	return base == "Binary"
}

// validBody checks SQS's allowed characters: #x9 | #xA | #xD | #x20 to
// #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF, and at least one.
func validBody(body string) *Error {
	if body == "" {
		return missingParam("MessageBody")
	}
	for i, r := range body {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(body[i:]); size <= 1 {
				return invalidContents()
			}
		}
		ok := r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return invalidContents()
		}
	}
	return nil
}

func invalidContents() *Error {
	return senderErr("com.amazonaws.sqs#InvalidMessageContents", "InvalidMessageContents",
		"Invalid binary character in the message body. Valid characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
}

// validAttributes checks the message attributes and returns their size as
// SQS counts it toward MaximumMessageSize: name, type and value bytes.
func validAttributes(attrs map[string]MessageAttribute) (int, *Error) {
	if len(attrs) > MaxAttributes {
		return 0, invalidParam("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), MaxAttributes)
	}
	size := 0
	for name, a := range attrs {
		if !validAttrName(name) {
			return 0, invalidParam("Message (user) attribute name '%s' is invalid.", name)
		}
		base, custom, hasCustom := strings.Cut(a.DataType, ".")
		if base != "String" && base != "Number" && base != "Binary" || hasCustom && custom == "" {
			return 0, invalidParam("The type of message (user) attribute '%s' is invalid.", name)
		}
		var n int
		if base == "Binary" {
			n = len(a.BinaryValue)
		} else {
			n = len(a.StringValue)
			if base == "Number" {
				if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
					return 0, invalidParam("Can't cast the value of message (user) attribute '%s' to a number.", name)
				}
			}
		}
		if n == 0 {
			return 0, invalidParam("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, base)
		}
		size += len(name) + len(a.DataType) + n
	}
	return size, nil
}

func validAttrName(name string) bool {
	if name == "" || len(name) > 256 || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") ||
		strings.Contains(name, "..") {
		return false
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// validGroupOrDedupID: 1 to 128 alphanumeric or punctuation characters.
func validGroupOrDedupID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func contentDedupID(body string) string {
	h := sha256.Sum256([]byte(body))
	return hex.EncodeToString(h[:])
}

func validEntryID(id string) bool {
	if id == "" || len(id) > maxEntryIDLength {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// checkBatch enforces the batch rules shared by every *Batch call.
func checkBatch(ids []string) *Error {
	if len(ids) == 0 {
		return emptyBatch()
	}
	if len(ids) > MaxBatch {
		return tooManyEntries(len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !validEntryID(id) {
			return invalidEntryID(id)
		}
		if seen[id] {
			return idsNotDistinct(id)
		}
		seen[id] = true
	}
	return nil
}
