package cronimport

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConvert(t *testing.T) {
	tests := []struct{ in, want string }{
		{"* * * * *", "cron(* * * * ? *)"},
		{"0 */12 * * *", "cron(0 0,12 * * ? *)"},
		{"0 */6 * * *", "cron(0 0/6 * * ? *)"},
		{"*/15 * * * *", "cron(0/15 * * * ? *)"},
		{"5-59/15 * * * *", "cron(5/15 * * * ? *)"},
		{"0-30/10 * * * *", "cron(0,10,20,30 * * * ? *)"},
		{"30 2 * * 1-5", "cron(30 2 ? * 2-6 *)"},
		{"0 9 * * mon,WED,fri", "cron(0 9 ? * 2,4,6 *)"},
		{"0 0 * * 0", "cron(0 0 ? * 1 *)"},
		{"0 0 * * 7", "cron(0 0 ? * 1 *)"},
		{"0 0 * * 5-7", "cron(0 0 ? * 1,6,7 *)"},
		{"0 0 * * 0-6", "cron(0 0 * * ? *)"},
		{"0 0 1 * *", "cron(0 0 1 * ? *)"},
		{"0 0 1,15 jan-mar *", "cron(0 0 1,15 1-3 ? *)"},
		{"0 0 */2 * *", "cron(0 0 1/2 * ? *)"},
		{"1,2,3,5 8-17 * 6 *", "cron(1-3,5 8-17 * 6 ? *)"},
		{"0 12 1-31 * 1", "cron(0 12 * * ? *)"}, // OR with a field that matches every day: every day
		{"0 12 */2 * *", "cron(0 12 1/2 * ? *)"},
		{"0 12 */1 * 1", "cron(0 12 ? * 2 *)"}, // AND with every day of the month: the weekday decides
		{"0 12 1 * */1", "cron(0 12 1 * ? *)"},
		{"  0   3 * * *  ", "cron(0 3 * * ? *)"},
		{"@daily", "cron(0 0 * * ? *)"},
		{"@hourly", "cron(0 * * * ? *)"},
		{"@weekly", "cron(0 0 ? * 1 *)"},
		{"@monthly", "cron(0 0 1 * ? *)"},
		{"@yearly", "cron(0 0 1 1 ? *)"},
	}
	for _, tt := range tests {
		got, err := Convert(tt.in)
		if err != nil {
			t.Errorf("Convert(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Convert(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if err := sameFirings(tt.in, got); err != nil {
			t.Errorf("Convert(%q) = %s: %v", tt.in, got, err)
		}
	}
}

func TestConvertRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0 0 1 * 1", "both set: Unix cron runs when either matches (OR)"},
		{"0 0 1-7 * mon", "both set"},
		{"0 0 */2 * 1", "Unix cron requires both to match"},
		{"0 0 1 * */2", "Unix cron requires both to match"},
		{"0 0 * *", "want 5 fields"},
		{"0 0 * * * 2026", "want 5 fields"},
		{"60 * * * *", `minute "60": "60" is not 0-59`},
		{"0 24 * * *", `hour "24"`},
		{"0 0 0 * *", `day of month "0"`},
		{"0 0 * 13 *", `month "13": "13" is not 1-12 or JAN-DEC`},
		{"0 0 * * 8", `day of week "8"`},
		{"0 0 * * sunday", `"sunday" is not 0-7 or SUN-SAT`},
		{"5/15 * * * *", "a step needs * or a range before it, as in */15 or 5-59/15"},
		{"*/0 * * * *", "step \"0\" is not a positive number"},
		{"10-5 * * * *", "runs backwards"},
		{"0 0 ? * *", `"?" is not 1-31`},
		{"0 0 L * *", `"L" is not 1-31`},
		{"0 0 * * 1#2", `"1#2" is not 0-7`},
		{"0 0 1, * *", `"" is not 1-31`},
		{"@reboot", "@reboot has no EventBridge equivalent"},
		{"cron(0 0 * * ? *)", "want 5 fields"},
	}
	for _, tt := range tests {
		got, err := Convert(tt.in)
		if err == nil {
			t.Errorf("Convert(%q) = %s, want an error containing %q", tt.in, got, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Convert(%q): %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

// sameFirings checks, minute by minute over more than a year, that the
// Unix expression (Vixie cron's rules, written out here independently of
// Convert's day logic) and the EventBridge one fire at the same times.
func sameFirings(unix, eb string) error {
	for m, e := range macros {
		if unix == m {
			unix = e
		}
	}
	uf := strings.Fields(unix)
	ef := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(eb, "cron("), ")"))
	if len(uf) != 5 || len(ef) != 6 || ef[5] != "*" {
		return errBad(eb)
	}
	uMin, _ := parseField(uf[0], minuteField)
	uHour, _ := parseField(uf[1], hourField)
	uDom, _ := parseField(uf[2], domField)
	uMon, _ := parseField(uf[3], monthField)
	uDow, _ := parseField(uf[4], dowField)
	if uDow&(1<<7) != 0 {
		uDow |= 1
	}
	star := strings.HasPrefix(uf[2], "*") || strings.HasPrefix(uf[4], "*")
	// Both sides fire when the time of day matches and the date matches,
	// so the two factors are compared apart: every minute of a day, then
	// every day of more than two years (leap day, every weekday of every
	// month).
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for t := day; t.Before(day.AddDate(0, 0, 1)); t = t.Add(time.Minute) {
		u := has(uMin, t.Minute()) && has(uHour, t.Hour())
		e := ebMatch(ef[0], t.Minute(), 0, 59) && ebMatch(ef[1], t.Hour(), 0, 23)
		if u != e {
			return errAt(t, u)
		}
	}
	for t := day; t.Before(day.AddDate(2, 3, 0)); t = t.AddDate(0, 0, 1) {
		dm, wm := has(uDom, t.Day()), has(uDow, int(t.Weekday()))
		date := dm || wm
		if star {
			date = dm && wm
		}
		u := has(uMon, int(t.Month())) && date
		e := ebMatch(ef[3], int(t.Month()), 1, 12) && ebMatch(ef[2], t.Day(), 1, 31) &&
			ebMatch(ef[4], int(t.Weekday())+1, 1, 7)
		if u != e {
			return errAt(t, u)
		}
	}
	return nil
}

func has(set uint64, v int) bool { return set&(1<<v) != 0 }

// ebMatch evaluates one field of the EventBridge syntax Convert writes: *,
// ?, start/step, and lists of values and ranges.
func ebMatch(f string, v, lo, hi int) bool {
	if f == "*" || f == "?" {
		return true
	}
	if a, b, ok := strings.Cut(f, "/"); ok {
		s, _ := strconv.Atoi(a)
		n, _ := strconv.Atoi(b)
		return v >= s && v <= hi && (v-s)%n == 0
	}
	for item := range strings.SplitSeq(f, ",") {
		a, b, isRange := strings.Cut(item, "-")
		x, _ := strconv.Atoi(a)
		y := x
		if isRange {
			y, _ = strconv.Atoi(b)
		}
		if v >= x && v <= y {
			return true
		}
	}
	return false
}

type mismatch string

func (m mismatch) Error() string { return string(m) }

func errBad(eb string) error { return mismatch("unexpected form " + eb) }

func errAt(t time.Time, unixFires bool) error {
	if unixFires {
		return mismatch("Unix cron fires at " + t.Format(time.RFC3339) + " and EventBridge does not")
	}
	return mismatch("EventBridge fires at " + t.Format(time.RFC3339) + " and Unix cron does not")
}
