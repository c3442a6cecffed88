package envelope

import (
	"errors"
	"testing"

	"github.com/sqsfleet/sqsfleet/worker"
)

// FuzzUnwrap feeds arbitrary bodies to every mode: a body from the queue is
// input nobody vetted. Unwrap must not panic, must fail only with a
// permanent envelope error, must leave the delivered message alone, and
// must hand over metadata exactly when it unwrapped.
func FuzzUnwrap(f *testing.F) {
	for _, s := range []string{snsSample, eventSample, "", "{}", "plain", `{"Type":"Notification","TopicArn":"a","Message":1}`,
		`{"detail-type":"x","source":"y","detail":null}`, `{"MessageAttributes":{"a":{"Type":"Binary","Value":"%"}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, mode := range Modes {
			m := message(body)
			got, err := Unwrap(mode, m)
			if m.Body != body || m.SNS != nil || m.Event != nil || len(m.Attributes) != 1 {
				t.Fatalf("%s changed the delivered message: %+v", mode, m)
			}
			if err != nil {
				if !errors.Is(err, worker.ErrEnvelope) || !worker.IsPermanent(err) || got != nil {
					t.Fatalf("%s: error %v (message %+v) is not a permanent envelope error alone", mode, err, got)
				}
				if mode == None {
					t.Fatalf("none failed: %v", err)
				}
				continue
			}
			switch {
			case got == m:
				if mode == SNS || mode == EventBridge {
					t.Fatalf("%s passed a body through", mode)
				}
			case got.SNS != nil:
				if got.Event != nil || mode == EventBridge || mode == None {
					t.Fatalf("%s unwrapped SNS: %+v", mode, got)
				}
			case got.Event != nil:
				if mode == SNS || mode == None {
					t.Fatalf("%s unwrapped an event: %+v", mode, got)
				}
			default:
				t.Fatalf("%s returned a new message without metadata: %+v", mode, got)
			}
		}
	})
}
