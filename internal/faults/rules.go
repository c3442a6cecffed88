package faults

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRules reads rules written as comma-separated KIND[@OPERATION]=RATE,
// e.g. "throttle=0.05,lost@ReceiveMessage=0.01", the form a flag or an
// environment variable carries. The rates are checked by New.
func ParseRules(spec string) ([]Rule, error) {
	var rules []Rule
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lhs, rate, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("fault rule %q: want KIND[@OPERATION]=RATE", part)
		}
		name, op, _ := strings.Cut(lhs, "@")
		k, err := ParseKind(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("fault rule %q: %w", part, err)
		}
		r, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return nil, fmt.Errorf("fault rule %q: rate %q is not a number within 0..1", part, rate)
		}
		op = strings.TrimSpace(op)
		if strings.ContainsAny(op, "@=, ") {
			return nil, fmt.Errorf("fault rule %q: bad operation %q", part, op)
		}
		rules = append(rules, Rule{Kind: k, Rate: r, Op: op})
	}
	return rules, nil
}

// FormatRules writes rules in the form ParseRules reads.
func FormatRules(rules []Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		lhs := r.Kind.String()
		if r.Op != "" {
			lhs += "@" + r.Op
		}
		parts[i] = lhs + "=" + strconv.FormatFloat(r.Rate, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}
