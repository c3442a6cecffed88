package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// logMu serialises appends to the log: the runtime serves one invocation at
// a time, but this keeps a line whole whatever it does.
var logMu sync.Mutex

func record(ev events.SQSEvent) error {
	path := os.Getenv("LAMBDAFN_LOG")
	if path == "" {
		return nil
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	if err := record(ev); err != nil {
		return events.SQSEventResponse{}, err
	}
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		body := r.Body
		if d, ok := strings.CutPrefix(body, "sleep="); ok {
			dur, err := time.ParseDuration(strings.Fields(d)[0])
			if err != nil {
				return resp, err
			}
			select {
			case <-time.After(dur):
			case <-ctx.Done():
				return resp, ctx.Err()
			}
		}
		switch {
		case strings.HasPrefix(body, "failfirst"):
			if r.Attributes["ApproximateReceiveCount"] == "1" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		case strings.HasPrefix(body, "fail"):
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		case strings.HasPrefix(body, "error"):
			return events.SQSEventResponse{}, errors.New("function failed on " + r.MessageId)
		}
	}
	return resp, nil
}

func main() { lambda.Start(handle) }
