package faults

import (
	"slices"
	"testing"
)

func TestParseRules(t *testing.T) {
	got, err := ParseRules(" throttle=0.05, lost@ReceiveMessage=0.01,delay=1 ,")
	want := []Rule{{Throttle, 0.05, ""}, {Lost, 0.01, "ReceiveMessage"}, {Delay, 1, ""}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseRules = %+v, %v; want %+v", got, err, want)
	}
	if s := FormatRules(got); s != "throttle=0.05,lost@ReceiveMessage=0.01,delay=1" {
		t.Errorf("FormatRules = %q", s)
	}
	for _, bad := range []string{"throttle", "boom=0.1", "throttle=2", "throttle=-0.1", "throttle=NaN", "lost@a b=0.1", "reset=x"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q) accepted", bad)
		}
	}
}

// FuzzParseRules: any input either fails or yields rules that format and
// parse back to themselves.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"throttle=0.05,lost@ReceiveMessage=0.01", "delay=1", "", "x=y", "reset@=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		rules, err := ParseRules(spec)
		if err != nil {
			return
		}
		again, err := ParseRules(FormatRules(rules))
		if err != nil || !slices.Equal(again, rules) {
			t.Fatalf("%q: parsed %+v, formatted %q, reparsed %+v, %v", spec, rules, FormatRules(rules), again, err)
		}
	})
}
