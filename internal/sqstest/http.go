package sqstest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/internal/faults"
)

// Handler serves SQS's AWS JSON 1.0 protocol (POST, X-Amz-Target:
// AmazonSQS.<Action>), with the fault model applied in front.
func (s *Server) Handler() http.Handler {
	inner := http.HandlerFunc(s.serve)
	if s.cfg.Faults == nil {
		return inner
	}
	// Requests refused by the middleware (throttle, 5xx, reset) never reach
	// serve, so they are not in Calls; the model's counters have them.
	return faults.Middleware(s.cfg.Faults, faults.TargetOperation, faults.SQSThrottled, faults.SQSInternalError, inner)
}

// Start serves the double on a local port until the test ends and returns
// the endpoint for BaseEndpoint or AWS_ENDPOINT_URL_SQS.
func (s *Server) Start(t testing.TB) string {
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// NewClient returns an SQS client for endpoint, configured as in the SDK's
// defaults but with static credentials and nothing from the environment.
func NewClient(endpoint string, optFns ...func(*sqs.Options)) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}, optFns...)
}

// Env is the environment a child process (the daemon) needs to reach the
// double at endpoint with the SDK's default configuration chain.
func Env(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL_SQS=" + endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

type wireAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

func fromWire(in map[string]wireAttr) map[string]MessageAttribute {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]MessageAttribute, len(in))
	for k, v := range in {
		out[k] = MessageAttribute(v)
	}
	return out
}

func toWire(in map[string]MessageAttribute) map[string]wireAttr {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]wireAttr, len(in))
	for k, v := range in {
		out[k] = wireAttr(v)
	}
	return out
}

type wireSend struct {
	ID                     string              `json:"Id"`
	MessageBody            string              `json:"MessageBody"`
	DelaySeconds           int                 `json:"DelaySeconds"`
	MessageAttributes      map[string]wireAttr `json:"MessageAttributes"`
	MessageDeduplicationID string              `json:"MessageDeduplicationId"`
	MessageGroupID         string              `json:"MessageGroupId"`
	MessageSystemAttrs     map[string]wireAttr `json:"MessageSystemAttributes"`
}

func (w wireSend) input() SendInput {
	return SendInput{Body: w.MessageBody, DelaySeconds: w.DelaySeconds, Attributes: fromWire(w.MessageAttributes),
		GroupID: w.MessageGroupID, DeduplicationID: w.MessageDeduplicationID,
		TraceHeader: w.MessageSystemAttrs["AWSTraceHeader"].StringValue}
}

type wireEntry struct {
	ID                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout int    `json:"VisibilityTimeout"`
}

// request is every action's input; each action reads its own members.
type request struct {
	QueueURL                    string            `json:"QueueUrl"`
	QueueName                   string            `json:"QueueName"`
	QueueNamePrefix             string            `json:"QueueNamePrefix"`
	Attributes                  map[string]string `json:"Attributes"`
	AttributeNames              []string          `json:"AttributeNames"`
	MessageSystemAttributeNames []string          `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string          `json:"MessageAttributeNames"`
	MaxNumberOfMessages         int               `json:"MaxNumberOfMessages"`
	VisibilityTimeout           *int              `json:"VisibilityTimeout"`
	WaitTimeSeconds             *int              `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptID     string            `json:"ReceiveRequestAttemptId"`
	ReceiptHandle               string            `json:"ReceiptHandle"`
	Entries                     json.RawMessage   `json:"Entries"`
	wireSend
}

type wireFailed struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

func failedToWire(in []BatchResultError) []wireFailed {
	out := make([]wireFailed, len(in))
	for i, f := range in {
		out[i] = wireFailed{f.ID, f.SenderFault, f.Code, f.Message}
	}
	return out
}

type wireMessage struct {
	MessageID              string              `json:"MessageId"`
	ReceiptHandle          string              `json:"ReceiptHandle"`
	MD5OfBody              string              `json:"MD5OfBody"`
	Body                   string              `json:"Body"`
	Attributes             map[string]string   `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string              `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]wireAttr `json:"MessageAttributes,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op := faults.TargetOperation(r)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
		writeErr(w, senderErr("com.amazon.coral.service#UnknownOperationException", "InvalidAction",
			"expected a POST with X-Amz-Target AmazonSQS.<Action>"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return // the client went away
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, senderErr("com.amazon.coral.service#SerializationException", "SerializationException", "%v", err))
		return
	}
	out, n, err := s.dispatch(r.Context(), op, &req)
	queue := req.QueueURL
	if queue == "" {
		queue = req.QueueName
	}
	// The fault middleware decided before this: a request it let through
	// is recorded with its decision (a lost response as the Go API
	// records one); the ones it refused never got here.
	f := faults.FromContext(r.Context())
	rerr := err
	if f.Kind == faults.Lost && err == nil {
		rerr = ErrResponseLost
	}
	s.record(op, queue, f.Kind, n, rerr)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Type: "InternalError", Code: "InternalError", Message: err.Error()}
	}
	fault := "Receiver"
	if e.Sender {
		fault = "Sender"
	}
	faults.ErrorResponse{Status: e.Status, Type: e.Type, QueryError: e.Code + ";" + fault, Message: e.Message}.Write(w)
}

// dispatch runs one action without the fault model (the middleware applied
// it) and returns its JSON output and its entry count.
func (s *Server) dispatch(ctx context.Context, op string, req *request) (any, int, error) {
	switch op {
	case "CreateQueue":
		s.mu.Lock()
		u, err := s.createQueueLocked(req.QueueName, req.Attributes)
		s.mu.Unlock()
		return map[string]string{"QueueUrl": u}, 0, err
	case "GetQueueUrl":
		s.mu.Lock()
		defer s.mu.Unlock()
		q := s.queues[req.QueueName]
		if q == nil {
			return nil, 0, noQueue()
		}
		return map[string]string{"QueueUrl": q.url}, 0, nil
	case "ListQueues":
		var urls []string
		s.mu.Lock()
		for name, q := range s.queues {
			if strings.HasPrefix(name, req.QueueNamePrefix) {
				urls = append(urls, q.url)
			}
		}
		s.mu.Unlock()
		return map[string][]string{"QueueUrls": urls}, len(urls), nil
	case "GetQueueAttributes":
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(req.QueueURL)
		if err != nil {
			return nil, 0, err
		}
		out, err := s.selectAttrsLocked(q, req.AttributeNames)
		if err != nil {
			return nil, 0, err
		}
		return map[string]any{"Attributes": out}, 0, nil
	case "SetQueueAttributes":
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(req.QueueURL)
		if err != nil {
			return nil, 0, err
		}
		return struct{}{}, 0, s.applyAttrsLocked(q, req.Attributes, false)
	case "PurgeQueue":
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(req.QueueURL)
		if err != nil {
			return nil, 0, err
		}
		for _, m := range q.msgs {
			m.deleted = true
		}
		q.msgs = nil
		return struct{}{}, 0, nil
	case "SendMessage":
		res, err := s.send(req.QueueURL, req.wireSend.input())
		if err != nil {
			return nil, 1, err
		}
		return sendOut(res, ""), 1, nil
	case "SendMessageBatch":
		var entries []wireSend
		if err := decodeEntries(req.Entries, &entries); err != nil {
			return nil, 0, err
		}
		in := make([]SendBatchEntry, len(entries))
		for i, e := range entries {
			in[i] = SendBatchEntry{ID: e.ID, SendInput: e.input()}
		}
		ok, failed, err := s.sendBatch(req.QueueURL, in)
		if err != nil {
			return nil, len(in), err
		}
		succ := make([]map[string]string, len(ok))
		for i, o := range ok {
			succ[i] = sendOut(o.SendResult, o.ID)
		}
		return map[string]any{"Successful": succ, "Failed": failedToWire(failed)}, len(in), nil
	case "ReceiveMessage":
		msgs, err := s.receive(ctx, req.QueueURL, ReceiveInput{
			MaxMessages: req.MaxNumberOfMessages, WaitSeconds: req.WaitTimeSeconds,
			VisibilitySeconds: req.VisibilityTimeout, AttemptID: req.ReceiveRequestAttemptID,
		})
		if err != nil {
			return nil, 0, err
		}
		sys := append(req.AttributeNames, req.MessageSystemAttributeNames...)
		out := make([]wireMessage, len(msgs))
		for i, m := range msgs {
			attrs := filterAttrs(m.MessageAttributes, req.MessageAttributeNames)
			out[i] = wireMessage{
				MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body,
				Attributes: filterSystem(m.Attributes, sys), MD5OfMessageAttributes: attributesMD5(attrs),
				MessageAttributes: toWire(attrs),
			}
		}
		return map[string]any{"Messages": out}, len(out), nil
	case "DeleteMessage":
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(req.QueueURL)
		if err == nil {
			err = s.deleteLocked(q, req.ReceiptHandle, s.clock.Now())
			s.bumpLocked()
		}
		return struct{}{}, 1, err
	case "ChangeMessageVisibility":
		vis := 0
		if req.VisibilityTimeout != nil {
			vis = *req.VisibilityTimeout
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		q, err := s.queueLocked(req.QueueURL)
		if err == nil {
			err = s.changeLocked(q, req.ReceiptHandle, vis, s.clock.Now())
			s.bumpLocked()
		}
		return struct{}{}, 1, err
	case "DeleteMessageBatch", "ChangeMessageVisibilityBatch":
		var entries []wireEntry
		if err := decodeEntries(req.Entries, &entries); err != nil {
			return nil, 0, err
		}
		in := make([]BatchEntry, len(entries))
		for i, e := range entries {
			in[i] = BatchEntry{ID: e.ID, ReceiptHandle: e.ReceiptHandle, VisibilitySeconds: e.VisibilityTimeout}
		}
		do := s.changeEntry
		if op == "DeleteMessageBatch" {
			do = s.deleteEntry
		}
		res, err := s.runBatch(req.QueueURL, in, do)
		if err != nil {
			return nil, len(in), err
		}
		succ := make([]map[string]string, len(res.ok))
		for i, id := range res.ok {
			succ[i] = map[string]string{"Id": id}
		}
		return map[string]any{"Successful": succ, "Failed": failedToWire(res.failed)}, len(in), nil
	}
	return nil, 0, senderErr("com.amazon.coral.service#UnknownOperationException", "InvalidAction",
		"The action %s is not valid for this endpoint.", op)
}

func decodeEntries(raw json.RawMessage, into any) error {
	if len(raw) == 0 {
		return emptyBatch()
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return senderErr("com.amazon.coral.service#SerializationException", "SerializationException", "%v", err)
	}
	return nil
}

func sendOut(r SendResult, id string) map[string]string {
	out := map[string]string{"MessageId": r.MessageID, "MD5OfMessageBody": r.MD5OfBody}
	if id != "" {
		out["Id"] = id
	}
	if r.MD5OfAttributes != "" {
		out["MD5OfMessageAttributes"] = r.MD5OfAttributes
	}
	if r.SequenceNumber != "" {
		out["SequenceNumber"] = r.SequenceNumber
	}
	return out
}

// filterSystem keeps the system attributes asked for ("All" for every one).
func filterSystem(all map[string]string, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}

// filterAttrs keeps the message attributes asked for: "All" or ".*" for
// every one, "prefix.*" for a prefix, or exact names.
func filterAttrs(all map[string]MessageAttribute, names []string) map[string]MessageAttribute {
	out := map[string]MessageAttribute{}
	for _, n := range names {
		if n == "All" || n == ".*" {
			return all
		}
		for k, v := range all {
			if p, ok := strings.CutSuffix(n, ".*"); ok && strings.HasPrefix(k, p) || k == n {
				out[k] = v
			}
		}
	}
	return out
}
