package handler

import (
	"strings"

	"github.com/sqsfleet/sqsfleet/worker"
)

// envelopeField is one thing an unwrapped SNS or EventBridge envelope said
// about a message, with the http header and the exec variable that carry
// it, so that both handlers hand over the same fields under their names.
type envelopeField struct{ header, env, value string }

// envelopeFields lists m's envelope fields. Empty values are left out, as
// SNS leaves out a Subject nobody gave.
func envelopeFields(m *worker.Message) []envelopeField {
	var out []envelopeField
	add := func(header, env, value string) {
		if value != "" {
			out = append(out, envelopeField{header, env, value})
		}
	}
	if n := m.SNS; n != nil {
		add(HeaderSNSSubject, EnvSNSSubject, n.Subject)
		add(HeaderSNSTopicARN, EnvSNSTopicARN, n.TopicARN)
		add(HeaderSNSMessageID, EnvSNSMessageID, n.MessageID)
		add(HeaderSNSTimestamp, EnvSNSTimestamp, n.Timestamp)
	}
	if e := m.Event; e != nil {
		add(HeaderEventID, EnvEventID, e.ID)
		add(HeaderEventSource, EnvEventSource, e.Source)
		add(HeaderEventDetailType, EnvEventDetailType, e.DetailType)
		add(HeaderEventTime, EnvEventTime, e.Time)
		add(HeaderEventAccount, EnvEventAccount, e.Account)
		add(HeaderEventRegion, EnvEventRegion, e.Region)
		add(HeaderEventResources, EnvEventResources, strings.Join(e.Resources, ","))
	}
	return out
}
