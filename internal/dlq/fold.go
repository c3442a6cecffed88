package dlq

import (
	"regexp"
	"strings"
)

// Error classes fold what differs between occurrences of one bug (ids,
// numbers, quoted values) so that one bug is one line in Stats.
var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^'\n]*'|` + "`[^`\n]*`")
	uuid     = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	hexID    = regexp.MustCompile(`(?i)\b(?:0x)?[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b(?:0x)?[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	number   = regexp.MustCompile(`\d+(?:[.,:]\d+)*`)
	spaces   = regexp.MustCompile(`\s+`)
	maxClass = 160
)

// ErrorClass folds an error text into its class: quoted values become "…",
// UUIDs and hexadecimal ids <id>, numbers <n>, runs of white space one
// space. The result is cut to 160 bytes.
func ErrorClass(text string) string {
	s := strings.TrimPrefix(text, "…") // a record keeps the tail of a long error
	s = quoted.ReplaceAllString(s, `"…"`)
	s = uuid.ReplaceAllString(s, "<id>")
	s = hexID.ReplaceAllStringFunc(s, func(w string) string {
		// Short words that happen to be hex (a "dead" beef) stay words.
		if len(strings.TrimPrefix(strings.ToLower(w), "0x")) < 8 {
			return w
		}
		return "<id>"
	})
	s = foldNumbers(s)
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	if len(s) > maxClass {
		cut := maxClass
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// foldNumbers replaces numbers with <n>, except digits that are part of a
// name (sha256, http2, s3): a number starts after a non-letter.
func foldNumbers(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range number.FindAllStringIndex(s, -1) {
		if m[0] > 0 && isLetter(s[m[0]-1]) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString("<n>")
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
