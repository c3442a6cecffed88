package handler

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/sqsfleet/sqsfleet/worker"
)

// MaxEventBytes is the largest event a batch handler is sent: Lambda's
// 6 MB limit on a synchronous invocation's payload, which the Runtime
// Interface Emulator and Lambda functions are built against.
const MaxEventBytes = 6 << 20

// maxBatchResponse bounds how much of a batch response is read. Lambda caps
// a synchronous response at the same 6 MB.
const maxBatchResponse = MaxEventBytes

// The batch event is the one Lambda sends a function subscribed to an SQS
// queue, field for field, so functions written against it (aws-lambda-go's
// events.SQSEvent, the Python and Node types) read it unchanged.
type sqsRecord struct {
	MessageID         string                  `json:"messageId"`
	ReceiptHandle     string                  `json:"receiptHandle"`
	Body              string                  `json:"body"`
	Attributes        map[string]string       `json:"attributes"`
	MessageAttributes map[string]sqsAttribute `json:"messageAttributes"`
	MD5OfBody         string                  `json:"md5OfBody"`
	EventSource       string                  `json:"eventSource"`
	EventSourceARN    string                  `json:"eventSourceARN"`
	AWSRegion         string                  `json:"awsRegion"`
}

// sqsAttribute is a message attribute as Lambda writes it: both list fields
// are always present (empty), binaryValue is base64 (encoding/json's []byte
// encoding), and the value field that does not apply is left out.
type sqsAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// EventSource names where records come from: Lambda's eventSourceARN and
// awsRegion are derived from the queue URL, and Region stands in when the
// URL does not name one (an emulator's http://localhost:4566/... URL).
type EventSource struct {
	Region string
}

// record encodes m as one record of the event.
func (s EventSource) record(m *worker.Message) ([]byte, error) {
	region, arn := queueARN(m.QueueURL, s.Region)
	r := sqsRecord{
		MessageID:         m.ID,
		ReceiptHandle:     m.ReceiptHandle,
		Body:              m.Body,
		Attributes:        recordAttributes(m),
		MessageAttributes: make(map[string]sqsAttribute, len(m.Attributes)),
		EventSource:       "aws:sqs",
		EventSourceARN:    arn,
		AWSRegion:         region,
	}
	sum := md5.Sum([]byte(m.Body))
	r.MD5OfBody = hex.EncodeToString(sum[:])
	for name, a := range m.Attributes {
		ea := sqsAttribute{DataType: a.DataType, StringListValues: []string{}, BinaryListValues: [][]byte{}}
		if isBinary(a) {
			ea.BinaryValue = a.BinaryValue
			if ea.BinaryValue == nil {
				ea.BinaryValue = []byte{}
			}
		} else {
			v := a.StringValue
			ea.StringValue = &v
		}
		r.MessageAttributes[name] = ea
	}
	// SetEscapeHTML(false): a body is a string the function reads back
	// byte for byte; escaping <, > and & would only make the event larger.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encoding message %s: %w", m.ID, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// recordAttributes are the system attributes as SQS returned them, with
// the four every Lambda record carries filled in from the message when SQS
// did not send them.
func recordAttributes(m *worker.Message) map[string]string {
	out := make(map[string]string, len(m.SystemAttributes)+4)
	for k, v := range m.SystemAttributes {
		out[k] = v
	}
	if _, ok := out["ApproximateReceiveCount"]; !ok {
		out["ApproximateReceiveCount"] = strconv.Itoa(m.ReceiveCount)
	}
	if v := sqsTimestamp(m, "SentTimestamp", m.SentAt); v != "" {
		out["SentTimestamp"] = v
	}
	if v := sqsTimestamp(m, "ApproximateFirstReceiveTimestamp", m.FirstReceivedAt); v != "" {
		out["ApproximateFirstReceiveTimestamp"] = v
	}
	if _, ok := out["SenderId"]; !ok && m.SenderID != "" {
		out["SenderId"] = m.SenderID
	}
	if _, ok := out["MessageGroupId"]; !ok && m.GroupID != "" {
		out["MessageGroupId"] = m.GroupID
	}
	if _, ok := out["MessageDeduplicationId"]; !ok && m.DeduplicationID != "" {
		out["MessageDeduplicationId"] = m.DeduplicationID
	}
	return out
}

// queueARN derives a queue's region and ARN from its URL,
// https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (or the legacy
// REGION.queue.amazonaws.com form, or a China or GovCloud endpoint). An
// emulator's URL names no region, so fallback is used.
func queueARN(queueURL, fallback string) (region, arn string) {
	u, err := url.Parse(queueURL)
	if err != nil {
		return fallback, ""
	}
	region = fallback
	host := u.Hostname()
	parts := strings.Split(host, ".")
	for i, p := range parts {
		if p == "sqs" && i+1 < len(parts) && parts[i+1] != "amazonaws" {
			region = parts[i+1]
			break
		}
		if p == "queue" && i == 1 {
			region = parts[0]
			break
		}
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) != 2 || segs[0] == "" || segs[1] == "" {
		return region, ""
	}
	partition := "aws"
	switch {
	case strings.HasSuffix(host, ".amazonaws.com.cn"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return region, "arn:" + partition + ":sqs:" + region + ":" + segs[0] + ":" + segs[1]
}

// encodeEvent assembles records (each from EventSource.record) into the
// event {"Records":[...]}.
func encodeEvent(records [][]byte) []byte {
	n := len(`{"Records":[]}`) + len(records)
	for _, r := range records {
		n += len(r)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"Records":[`...)
	for i, r := range records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, "]}"...)
}

// Event encodes msgs as Lambda's SQS event.
func (s EventSource) Event(msgs []*worker.Message) ([]byte, error) {
	records := make([][]byte, len(msgs))
	for i, m := range msgs {
		r, err := s.record(m)
		if err != nil {
			return nil, err
		}
		records[i] = r
	}
	return encodeEvent(records), nil
}

// eventOverhead is what an event adds around its records: the envelope
// and one comma per record after the first.
func eventOverhead(records int) int { return len(`{"Records":[]}`) + max(records-1, 0) }

// FunctionError is a function's error as Lambda reports it: the invocation
// itself succeeded, and its response is {"errorMessage":...,"errorType":...}.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return "function error: " + e.Message
	}
	return "function error " + e.Type + ": " + e.Message
}

// parseBatchResponse reads Lambda's partial batch response for msgs.
//
// As Lambda does with ReportBatchItemFailures: an empty body, null, an
// object without batchItemFailures, or an empty or null list means every
// message succeeded; the listed messages failed. Anything that cannot be
// read that way fails the whole batch (err != nil): invalid JSON, a JSON
// value that is not an object, an itemIdentifier that is empty, missing or
// not a message of this batch, and a function error.
func parseBatchResponse(body []byte, msgs []*worker.Message) (failed map[string]error, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return nil, nil
	}
	if body[0] != '{' {
		return nil, fmt.Errorf("response is not a batch response: %s", quote(body))
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    *string `json:"errorType"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("response is not a batch response: %w: %s", err, quote(body))
	}
	if resp.ErrorMessage != nil || resp.ErrorType != nil {
		fe := &FunctionError{}
		if resp.ErrorMessage != nil {
			fe.Message = *resp.ErrorMessage
		}
		if resp.ErrorType != nil {
			fe.Type = *resp.ErrorType
		}
		return nil, fe
	}
	if len(resp.BatchItemFailures) == 0 {
		return nil, nil
	}
	ids := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		ids[m.ID] = true
	}
	failed = make(map[string]error, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		switch {
		case f.ItemIdentifier == nil || *f.ItemIdentifier == "":
			return nil, errors.New("batch response lists a failure without an itemIdentifier")
		case !ids[*f.ItemIdentifier]:
			return nil, fmt.Errorf("batch response lists itemIdentifier %q, which is not a message of this batch", *f.ItemIdentifier)
		}
		failed[*f.ItemIdentifier] = errItemFailure
	}
	return failed, nil
}

// errItemFailure is the failure of a message listed in batchItemFailures:
// the function says no more than that.
var errItemFailure = errors.New("listed in batchItemFailures")

// quote cuts a response for an error message.
func quote(b []byte) string {
	const limit = 512
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}
