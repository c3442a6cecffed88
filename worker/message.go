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
	// Body is the message body, exactly as sent.
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
	// Attributes holds the producer's message attributes, by name.
	Attributes map[string]Attribute
	// Payload, when set, is the body stored outside SQS that Body points
	// to; see Payload and BodyReader.
	Payload *Payload
}

// Attribute is one SQS message attribute. DataType is "String", "Number",
// "Binary" or one of those with a custom ".suffix"; Binary types carry
// BinaryValue, the others StringValue.
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}
