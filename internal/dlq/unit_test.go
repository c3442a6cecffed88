package dlq

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestErrorClass(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{`exec sh: exit status 65: order "A-17" rejected`, `exec sh: exit status 65: order "B-99" rejected`,
			`exec sh: exit status <n>: order "…" rejected`},
		{"http handler: POST http://10.0.0.7:8080/work: status 503 (request 9f8e7d6c5b4a39281706)",
			"http handler: POST http://10.0.0.9:8081/work: status 503 (request 0a1b2c3d4e5f60718293)",
			"http handler: POST http://<n>/work: status <n> (request <id>)"},
		{"user 0b9c6a1e-8d4f-4c3b-9a2e-1f0d7c6b5a49 not found", "user 2c1d0e9f-7a6b-4c5d-8e3f-9a0b1c2d3e4f not found",
			"user <id> not found"},
		{"timeout after 30s\n  at line 12", "timeout after 4.5s at line 9", "timeout after <n>s at line <n>"},
		{"sha256 mismatch on s3 object 'a/b'", "sha256 mismatch on s3 object 'c'", `sha256 mismatch on s3 object "…"`},
		{"…the tail of a long error 42", "the tail of a long error 7", "the tail of a long error <n>"},
	} {
		a, b := ErrorClass(tc.a), ErrorClass(tc.b)
		if a != tc.want || b != tc.want {
			t.Errorf("ErrorClass:\n  %q -> %q\n  %q -> %q\nwant %q", tc.a, a, tc.b, b, tc.want)
		}
	}
	if a, b := ErrorClass("connection refused"), ErrorClass("permission denied"); a == b {
		t.Errorf("two different errors fold into one class %q", a)
	}
	if got := ErrorClass(strings.Repeat("é", 200)); len(got) > maxClass+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("long class of %d bytes: %q", len(got), got)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"10/s": 10, "10": 10, "0.5/s": 0.5, " 3/s ": 3} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "0/s", "-1/s", "fast", "10/m", "NaN", ""} {
		if _, err := ParseRate(in); err == nil || !strings.Contains(err.Error(), "--rate") {
			t.Errorf("ParseRate(%q): err %v, want an error naming --rate", in, err)
		}
	}
}

// pace spaces sends evenly: 10/s is one every 100ms, no burst at the
// start, and a cancelled context ends a wait at once.
func TestPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPace(10)
		start := time.Now()
		for range 5 {
			if err := p.wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 400*time.Millisecond {
			t.Errorf("5 waits at 10/s took %s, want 400ms (first at once, then one per 100ms)", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(10 * time.Millisecond); cancel() }()
		if err := p.wait(ctx); err == nil {
			t.Error("wait returned nil after the context was cancelled")
		}
		if newPace(0) != nil || (*pace)(nil).wait(context.Background()) != nil {
			t.Error("rate 0 should mean no pacing")
		}
	})
}

func TestCheckReasons(t *testing.T) {
	if err := CheckReasons([]string{"permanent", "sqs_redrive", "envelope", "payload_missing"}); err != nil {
		t.Error(err)
	}
	err := CheckReasons([]string{"permanant"})
	if err == nil || !strings.Contains(err.Error(), "permanant") || !strings.Contains(err.Error(), "max_attempts") {
		t.Errorf("err = %v, want it to name the bad reason and the valid ones", err)
	}
}

// On a terminal the bar is redrawn in place and an event clears it first;
// elsewhere progress is plain lines, at most one a second, the last one
// written at the end.
func TestProgress(t *testing.T) {
	var b strings.Builder
	p := NewProgress(&b, true, 10)
	p.Update(&Summary{Examined: 5, Moved: 4, Skipped: map[string]int{"x": 1}})
	p.Event("message m: failed")
	p.Done()
	if got := b.String(); !strings.Contains(got, "\r\x1b[K[###############...............] 5/10  moved 4  skipped 1  failed 0") ||
		!strings.Contains(got, "\r\x1b[Kmessage m: failed\n") || !strings.HasSuffix(got, "\n") {
		t.Errorf("bar output %q", got)
	}

	b.Reset()
	p = NewProgress(&b, false, 10)
	p.Update(&Summary{Examined: 1, Moved: 1})
	p.Update(&Summary{Examined: 2, Moved: 2}) // within the second: held back
	p.Done()
	want := "redrive: examined 1, moved 1, skipped 0, failed 0\nredrive: examined 2, moved 2, skipped 0, failed 0\n"
	if got := b.String(); got != want || strings.Contains(got, "\r") {
		t.Errorf("plain output %q, want %q", got, want)
	}
}

// Every receive of a scan asks for visibility up to the scan's deadline plus
// the margin, in whole seconds, at least one: a scan killed at any moment
// leaves nothing hidden past deadline + margin.
func TestScanVisibilityBounded(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	d := &DLQ{now: func() time.Time { return now }}
	s := d.newScan(Bounds{MaxTime: time.Minute, Margin: 30 * time.Second})
	for _, tc := range []struct {
		after time.Duration
		want  time.Duration
	}{
		{0, 90 * time.Second},
		{59*time.Second + 500*time.Millisecond, 31 * time.Second},
		{2 * time.Minute, time.Second},
	} {
		now = s.deadline.Add(-time.Minute).Add(tc.after)
		if got := s.visibility(); got != tc.want {
			t.Errorf("%s into the scan: visibility %s, want %s", tc.after, got, tc.want)
		}
	}
	s = d.newScan(Bounds{MaxTime: 20 * time.Hour, Margin: time.Minute})
	if got := s.visibility(); got != maxVisibility {
		t.Errorf("visibility %s, want SQS's limit %s", got, maxVisibility)
	}
}
