package config

import (
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/redact"
)

// Redacted is the configuration for the start-up log line, by dotted key,
// durations in config syntax. Its only secrets are in URLs (passwords,
// tokens in queries): the URL keys are masked, each URL of a list on its
// own, by the rule for every URL the daemon prints, and nothing else is.
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
