package config

import (
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/redact"
)

// Redacted is the effective configuration for the start-up log line, keyed
// by the dotted key names so a line can be matched to the YAML and env vars,
// with durations in config syntax. A config's only secrets are in URLs
// (basic-auth passwords, tokens in queries), so the URL keys are masked,
// each URL of a list on its own, by the rule every URL the daemon prints
// follows, and nothing else is.
func (c *Config) Redacted() map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		val := k.field(c).Interface()
		if d, ok := val.(time.Duration); ok {
			val = describe(d)
		} else if s, ok := val.(string); ok && (strings.HasSuffix(k.name, "url") || strings.HasSuffix(k.name, "endpoint")) {
			urls := splitURLs(s)
			for i, u := range urls {
				urls[i] = redact.URL(u)
			}
			val = strings.Join(urls, ",")
		}
		out[k.name] = val
	}
	return out
}
