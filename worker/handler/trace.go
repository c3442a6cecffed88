package handler

import (
	"github.com/sqsfleet/sqsfleet/worker"
)

// Trace context a message carries, handed to handlers in the form each
// kind of program already reads: an X-Ray trace header (the AWSTraceHeader
// system attribute that SQS fills from the producer's trace) and W3C trace
// context (traceparent and tracestate message attributes, as
// OpenTelemetry's SQS instrumentations write them; worker's
// TraceHeaderAttribute, TraceparentAttribute and TracestateAttribute).
const (
	// HeaderAmznTraceID carries AWSTraceHeader to http handlers, as the
	// X-Ray SDKs read it from incoming requests.
	HeaderAmznTraceID = "X-Amzn-Trace-Id"
	// HeaderTraceparent and HeaderTracestate carry W3C trace context to
	// http handlers (canonical forms of traceparent and tracestate; header
	// names are case-insensitive).
	HeaderTraceparent = "Traceparent"
	HeaderTracestate  = "Tracestate"

	// EnvAmznTraceID carries AWSTraceHeader to exec handlers, under the
	// name Lambda uses.
	EnvAmznTraceID = "_X_AMZN_TRACE_ID"
	// EnvTraceparent and EnvTracestate carry W3C trace context to exec
	// handlers, as OpenTelemetry's environment-variable carrier names them.
	EnvTraceparent = "TRACEPARENT"
	EnvTracestate  = "TRACESTATE"
)

// traceContext returns the message's trace context; "" where it has none.
// Binary attributes of those names are not trace context and are ignored.
func traceContext(m *worker.Message) (xray, traceparent, tracestate string) {
	str := func(name string) string {
		a, ok := m.Attributes[name]
		if !ok || isBinary(a) {
			return ""
		}
		return a.StringValue
	}
	return m.SystemAttributes[worker.TraceHeaderAttribute], str(worker.TraceparentAttribute), str(worker.TracestateAttribute)
}

// setTraceHeaders adds the trace headers of m to hd.
func setTraceHeaders(hd map[string][]string, m *worker.Message) {
	if len(m.Attributes) == 0 && len(m.SystemAttributes) == 0 {
		return
	}
	xray, tp, ts := traceContext(m)
	if xray != "" {
		hd[HeaderAmznTraceID] = []string{sanitizeHeaderValue(xray)}
	}
	if tp != "" {
		hd[HeaderTraceparent] = []string{sanitizeHeaderValue(tp)}
	}
	if ts != "" {
		hd[HeaderTracestate] = []string{sanitizeHeaderValue(ts)}
	}
}

// traceEnv returns the trace variables of m as KEY=value entries.
func traceEnv(m *worker.Message) []string {
	xray, tp, ts := traceContext(m)
	var env []string
	for _, kv := range [][2]string{{EnvAmznTraceID, xray}, {EnvTraceparent, tp}, {EnvTracestate, ts}} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env
}
