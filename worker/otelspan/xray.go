package otelspan

import (
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// parseXRay maps an X-Ray trace header ("Root=1-5759e988-bd862e3fe1be46a994272793;
// Parent=53995c3f42cd8ad8;Sampled=1") onto a remote span context. X-Ray's
// trace id is a version, an 8-hex-digit epoch and 24 hex digits: the epoch
// and the rest together are the 32 hex digits of a W3C trace id, which is
// how X-Ray itself accepts OpenTelemetry's ids. Parent is the producer's
// segment, a 16-hex-digit span id. A header without both is no link.
func parseXRay(h string) (trace.SpanContext, bool) {
	var root, parent, sampled string
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Root":
			root = v
		case "Parent":
			parent = v
		case "Sampled":
			sampled = v
		}
	}
	ver, rest, ok := strings.Cut(root, "-")
	if !ok || ver != "1" {
		return trace.SpanContext{}, false
	}
	epoch, random, ok := strings.Cut(rest, "-")
	if !ok || len(epoch) != 8 || len(random) != 24 {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	if _, err := hex.Decode(tid[:], []byte(epoch+random)); err != nil {
		return trace.SpanContext{}, false
	}
	if len(parent) != 2*len(sid) {
		return trace.SpanContext{}, false
	}
	if _, err := hex.Decode(sid[:], []byte(parent)); err != nil {
		return trace.SpanContext{}, false
	}
	var flags trace.TraceFlags
	if sampled == "1" {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
	return sc, sc.IsValid()
}
