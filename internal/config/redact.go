package config

import (
	"slices"
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/redact"
)

// Redacted is the effective configuration for the start-up log line, keyed
// by the dotted key names so a line can be matched to the YAML and env vars.
// Durations are strings in config syntax. The only secrets a config holds are
// in URLs (basic-auth passwords, token query parameters), so the keys that
// hold URLs are masked, by the rule every URL the daemon prints follows
// (internal/redact), and nothing else.
func (c *Config) Redacted() map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		switch val := k.field(c).Interface().(type) {
		case time.Duration:
			out[k.name] = fmtDur(val)
		case []string:
			out[k.name] = slices.Clone(val)
		case []int:
			out[k.name] = slices.Clone(val)
		case string:
			if strings.HasSuffix(k.name, "url") || strings.HasSuffix(k.name, "endpoint") {
				val = redactURLs(val)
			}
			out[k.name] = val
		default:
			out[k.name] = val
		}
	}
	return out
}

// redactURLs masks each URL of a comma-separated list on its own (a lambda
// handler's handler.url): masked as one, the list's later URLs would keep
// their secrets. A URL has no comma that matters here: one in a password
// or query would be percent-encoded by anyone who means it.
func redactURLs(s string) string {
	if !strings.Contains(s, ",") {
		return redact.URL(s)
	}
	parts := splitURLs(s)
	for i, u := range parts {
		parts[i] = redact.URL(u)
	}
	return strings.Join(parts, ",")
}
