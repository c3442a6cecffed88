package cronimport

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// field describes one field of a Unix cron expression.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i; nil when the field has none
}

var (
	minuteField = field{name: "minute", min: 0, max: 59}
	hourField   = field{name: "hour", min: 0, max: 23}
	domField    = field{name: "day of month", min: 1, max: 31}
	monthField  = field{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	// Unix cron accepts 7 for Sunday as well as 0; it is folded into 0.
	dowField = field{name: "day of week", min: 0, max: 7,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
)

// macros are the @ shorthands of Unix crons, in their five-field meaning.
var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Convert translates a five-field Unix cron expression into an EventBridge
// Scheduler expression, cron(minutes hours day-of-month month day-of-week
// year), when the two fire at exactly the same times; otherwise it says why
// not.
func Convert(expr string) (string, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@") {
		m, ok := macros[strings.ToLower(expr)]
		if !ok {
			return "", fmt.Errorf("%s has no EventBridge equivalent (supported: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)", expr)
		}
		expr = m
	}
	f := strings.Fields(expr)
	if len(f) != 5 {
		return "", fmt.Errorf("want 5 fields (minute hour day-of-month month day-of-week), got %d", len(f))
	}
	specs := []field{minuteField, hourField, domField, monthField, dowField}
	sets := make([]uint64, 5)
	for i, s := range f {
		set, err := parseField(s, specs[i])
		if err != nil {
			return "", err
		}
		sets[i] = set
	}
	// Sunday is 0 or 7 in Unix cron: keep one.
	if sets[4]&(1<<7) != 0 {
		sets[4] = sets[4]&^(1<<7) | 1
	}

	dom, dow, err := days(f[2], f[4], sets[2], sets[4])
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("cron(%s %s %s %s %s *)",
		render(sets[0], minuteField, true), render(sets[1], hourField, true), dom,
		render(sets[3], monthField, true), dow), nil
}

// days decides the two day fields. In Unix cron (Vixie cron and its
// descendants), a day matches when the day of month OR the day of week
// matches if both fields are restricted, and when both match (AND) if
// either field starts with '*'. EventBridge restricts one field and puts ?
// in the other, so only the cases where one field alone decides map.
func days(domExpr, dowExpr string, dom, dow uint64) (string, string, error) {
	allDom := full(domField)
	allDow := uint64(1<<7 - 1) // 0-6 once 7 is folded into 0
	domAll, dowAll := dom == allDom, dow == allDow
	and := strings.HasPrefix(domExpr, "*") || strings.HasPrefix(dowExpr, "*")
	switch {
	case domAll && dowAll, !and && (domAll || dowAll):
		// Every day (under OR, one field matching every day is enough).
		return "*", "?", nil
	case and && dowAll:
		return render(dom, domField, true), "?", nil
	case and && domAll:
		return "?", renderDow(dow), nil
	case and:
		return "", "", fmt.Errorf("day of month %q and day of week %q both restrict the day, and Unix cron requires both to match (one starts with *); EventBridge takes one day field only", domExpr, dowExpr)
	default:
		return "", "", fmt.Errorf("day of month %q and day of week %q are both set: Unix cron runs when either matches (OR), which one EventBridge expression cannot say; split the task into two schedules, one per day field", domExpr, dowExpr)
	}
}

func full(f field) uint64 {
	var s uint64
	for v := f.min; v <= f.max; v++ {
		s |= 1 << v
	}
	return s
}

// parseField reads one Unix cron field: a comma-separated list of *, */n,
// a value, a-b or a-b/n, with month and weekday names where the field has
// them.
func parseField(s string, f field) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(s, ",") {
		lo, hi, step := f.min, f.max, 1
		rng, stepStr, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("%s %q: step %q is not a positive number", f.name, s, stepStr)
			}
			step = n
		}
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a, s); err != nil {
				return 0, err
			}
			if hi, err = f.value(b, s); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("%s %q: range %s runs backwards", f.name, s, rng)
			}
		default:
			v, err := f.value(rng, s)
			if err != nil {
				return 0, err
			}
			if hasStep {
				// "5/15" is not Vixie cron's syntax, and crons that accept
				// it disagree on its meaning.
				return 0, fmt.Errorf("%s %q: a step needs * or a range before it, as in */%d or %d-%d/%d", f.name, s, step, v, f.max, step)
			}
			lo, hi = v, v
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func (f field) value(s, whole string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		extra := ""
		if f.names != nil {
			extra = " or " + f.names[0] + "-" + f.names[len(f.names)-1]
		}
		return 0, fmt.Errorf("%s %q: %q is not %d-%d%s", f.name, whole, s, f.min, f.max, extra)
	}
	return v, nil
}

// render writes a set of values in EventBridge's syntax: * for all of them,
// start/step for an arithmetic run to the end of the range (when steps is
// true), otherwise a list of values and ranges.
func render(set uint64, f field, steps bool) string {
	if set == full(f) {
		return "*"
	}
	vals := members(set)
	if steps && len(vals) >= 3 {
		start, step := vals[0], vals[1]-vals[0]
		ok := true
		for i, v := range vals {
			if v != start+i*step {
				ok = false
				break
			}
		}
		// The run must reach as far as the range allows, since start/step
		// continues to the end.
		if ok && step > 1 && vals[len(vals)-1]+step > f.max {
			return fmt.Sprintf("%d/%d", start, step)
		}
	}
	var parts []string
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, fmt.Sprintf("%d-%d", vals[i], vals[j]))
		default:
			for k := i; k <= j; k++ {
				parts = append(parts, strconv.Itoa(vals[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// renderDow writes Unix weekdays (0 = Sunday) as EventBridge ones (1 =
// Sunday). EventBridge has no steps in this field.
func renderDow(set uint64) string {
	return render(set<<1, field{name: "day of week", min: 1, max: 7}, false)
}

func members(set uint64) []int {
	var out []int
	for set != 0 {
		v := bits.TrailingZeros64(set)
		out = append(out, v)
		set &^= 1 << v
	}
	return out
}
