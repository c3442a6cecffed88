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
// hold URLs are masked, by the rule every URL the daemon prints follows,
// each URL of a list on its own (a lambda handler's handler.url), and
// nothing else is.
func (c *Config) Redacted() map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		switch val := k.field(c).Interface().(type) {
		case time.Duration:
			out[k.name] = describe(val)
		case []string:
			out[k.name] = slices.Clone(val)
		case []int:
			out[k.name] = slices.Clone(val)
		case string:
			if strings.HasSuffix(k.name, "url") || strings.HasSuffix(k.name, "endpoint") {
				urls := splitURLs(val)
				for i, u := range urls {
					urls[i] = redact.URL(u)
				}
				val = strings.Join(urls, ",")
			}
			out[k.name] = val
		default:
			out[k.name] = val
		}
	}
	return out
}
