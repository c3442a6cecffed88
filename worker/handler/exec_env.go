package handler

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// reservedEnv reports whether the KEY=value entry kv names a variable that
// Handle sets from the message.
func reservedEnv(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	switch k {
	case EnvMessageID, EnvReceiveCount, EnvQueueURL, EnvSentTimestamp,
		EnvFirstReceivedTimestamp, EnvGroupID, EnvSenderID,
		EnvSNSSubject, EnvSNSTopicARN, EnvSNSMessageID, EnvSNSTimestamp,
		EnvEventID, EnvEventSource, EnvEventDetailType, EnvEventTime,
		EnvEventAccount, EnvEventRegion, EnvEventResources,
		EnvTaskName, EnvTaskPath, EnvTaskScheduledAt,
		EnvAmznTraceID, EnvTraceparent, EnvTracestate,
		EnvPayloadBucket, EnvPayloadKey:
		return true
	}
	return strings.HasPrefix(k, EnvAttrPrefix)
}

// AttrEnvName maps a message attribute name to the suffix of its
// SQSFLEET_ATTR_ variable: ASCII letters are upper-cased, and every byte
// outside [A-Z0-9_] after that becomes '_', so the result has the same length
// as name and SQSFLEET_ATTR_ followed by it is always a valid POSIX variable
// name. The mapping is not injective; see Exec for how collisions are
// resolved.
func AttrEnvName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// attrValue is the textual form of an attribute used in environment
// variables and headers: Binary attributes cannot travel as raw bytes there.
func attrValue(a worker.Attribute) string {
	if isBinary(a) {
		return base64.StdEncoding.EncodeToString(a.BinaryValue)
	}
	return a.StringValue
}

// isBinary reports whether a is of type Binary or a custom Binary.suffix.
func isBinary(a worker.Attribute) bool {
	return a.DataType == "Binary" || strings.HasPrefix(a.DataType, "Binary.")
}

// sortedAttrNames returns the attribute names in sorted order, which makes
// collisions after sanitising resolve the same way on every delivery.
func sortedAttrNames(attrs map[string]worker.Attribute) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sqsTimestamp returns the system attribute verbatim when SQS sent it, else
// t in epoch milliseconds, else "" (unknown).
func sqsTimestamp(m *worker.Message, attr string, t time.Time) string {
	if v := m.SystemAttributes[attr]; v != "" {
		return v
	}
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func (h *Exec) environ(m *worker.Message) []string {
	env := make([]string, len(h.env), len(h.env)+8+len(m.Attributes))
	copy(env, h.env)
	set := func(k, v string) { env = append(env, k+"="+v) }
	set(EnvMessageID, m.ID)
	set(EnvReceiveCount, strconv.Itoa(m.ReceiveCount))
	set(EnvQueueURL, m.QueueURL)
	if v := sqsTimestamp(m, "SentTimestamp", m.SentAt); v != "" {
		set(EnvSentTimestamp, v)
	}
	if v := sqsTimestamp(m, "ApproximateFirstReceiveTimestamp", m.FirstReceivedAt); v != "" {
		set(EnvFirstReceivedTimestamp, v)
	}
	if m.GroupID != "" {
		set(EnvGroupID, m.GroupID)
	}
	if m.SenderID != "" {
		set(EnvSenderID, m.SenderID)
	}
	for _, f := range envelopeFields(m) {
		set(f.env, f.value)
	}
	env = append(env, traceEnv(m)...)
	if p := m.Payload; p != nil {
		set(EnvPayloadBucket, p.Bucket)
		set(EnvPayloadKey, p.Key)
	}
	// os/exec keeps the last of duplicate keys, so sorted order decides
	// collisions.
	for _, name := range sortedAttrNames(m.Attributes) {
		if task.IsBeanstalkAttr(name) {
			continue // a task's name, path and time are in SQSFLEET_TASK_*
		}
		set(EnvAttrPrefix+AttrEnvName(name), attrValue(m.Attributes[name]))
	}
	return env
}
