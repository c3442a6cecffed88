package envelope_test

import (
	"context"
	"fmt"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/envelope"
)

// A handler behind envelope.Wrap sees what was published to the topic, and
// the notification's metadata in m.SNS.
func ExampleWrap() {
	h := envelope.Wrap(envelope.Auto, worker.HandlerFunc(func(_ context.Context, m *worker.Message) error {
		if m.SNS != nil {
			fmt.Printf("%s from %s (%s), tenant %s\n", m.Body, m.SNS.TopicARN, m.SNS.Subject, m.Attributes["tenant"].StringValue)
		}
		return nil
	}))
	delivered := &worker.Message{ID: "sqs-1", Body: `{"Type":"Notification","MessageId":"9a8c1e2f","TopicArn":"arn:aws:sns:eu-west-1:123456789012:orders",` +
		`"Subject":"Order placed","Message":"{\"order\":42}","Timestamp":"2026-11-30T09:12:03.512Z",` +
		`"MessageAttributes":{"tenant":{"Type":"String","Value":"acme"}}}`}
	_ = h.Handle(context.Background(), delivered)
	// Output: {"order":42} from arn:aws:sns:eu-west-1:123456789012:orders (Order placed), tenant acme
}
