package worker

import "time"

// Message is one SQS message as a handler sees it. The engine owns the
// receipt handle; handlers must not delete or change the visibility of the
// message themselves, because the engine decides the outcome in one place.
type Message struct {
	// ID is the SQS MessageId.
	ID string
	// ReceiptHandle identifies this receive of the message; it changes on
	// every receive.
	ReceiptHandle string
	// Body is the message body, exactly as sent; for a handler behind
	// worker/envelope, what the SNS or EventBridge envelope carried.
	Body string
	// QueueURL is the URL of the queue the message was received from.
	QueueURL string
	// ReceiveCount is ApproximateReceiveCount: 1 on the first delivery.
	ReceiveCount int
	// SentAt is SentTimestamp, when the producer sent the message.
	SentAt time.Time
	// FirstReceivedAt is ApproximateFirstReceiveTimestamp.
	FirstReceivedAt time.Time
	// ReceivedAt is when this daemon received this delivery (local clock).
	ReceivedAt time.Time
	// SenderID is the SenderId system attribute (account or IAM principal).
	SenderID string
	// GroupID is MessageGroupId, set on FIFO queues only.
	GroupID string
	// DeduplicationID is MessageDeduplicationId, set on FIFO queues only.
	DeduplicationID string
	// SystemAttributes holds every system attribute SQS returned, by name.
	SystemAttributes map[string]string
	// Attributes holds the producer's message attributes, by name. When an
	// SNS envelope was unwrapped they include the SNS message attributes.
	Attributes map[string]Attribute
	// SNS is set when the body arrived in an SNS notification and was
	// unwrapped (worker/envelope): Body is then the notification's Message.
	SNS *SNSNotification
	// Event is set when the body arrived as an EventBridge event and was
	// unwrapped (worker/envelope): Body is then the event's detail.
	Event *Event
	// Payload, when set, is the body stored outside SQS that Body points
	// to; see Payload and BodyReader.
	Payload *Payload
}

// SNSNotification is what an SNS notification said about a message besides
// its Message and attributes. Values are as SNS wrote them.
type SNSNotification struct {
	MessageID string // SNS MessageId, not the SQS one
	TopicARN  string
	Subject   string // "" when the publisher gave none
	Timestamp string // when SNS accepted the publish, RFC 3339 in UTC
}

// Event is the metadata of an EventBridge event. Values are as EventBridge
// wrote them.
type Event struct {
	ID         string
	Source     string
	DetailType string // the event's detail-type
	Time       string // RFC 3339, set by the event's source
	Account    string
	Region     string
	Resources  []string // ARNs; may be empty
}

// Attribute is one SQS message attribute. DataType is "String", "Number",
// "Binary" or one of those with a custom ".suffix"; Binary types carry
// BinaryValue, the others StringValue.
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}
