package app

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every built-in profile prints its summary and writes its chart and time
// series.
func TestSimulateProfiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"steady", "spike", "ramp", "diurnal", "bursts"} {
		// One PNG (rasterizing is slow under -race), SVG for the others.
		ext := ".svg"
		if p == "spike" {
			ext = ".png"
		}
		chart := filepath.Join(dir, p+ext)
		series := filepath.Join(dir, p+".csv")
		var out, errb bytes.Buffer
		// A two-hour cycle and a point a minute keep this quick under -race.
		code := run([]string{"simulate", "--profile", p, "--processing-time", "2s", "--latency", "60s",
			"--cycle", "2h", "--record", "1m", "--chart", chart, "--out", series}, &out, &errb)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", p, code, errb.String())
		}
		for _, want := range []string{"wait", "p99", "longest", "backlog", "largest", "instance-hours",
			"scale-outs", "sqs requests", "per million", "scaler target formula for --latency 1m0s: 300"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("%s: summary lacks %q:\n%s", p, want, out.String())
			}
		}
		f, err := os.Open(chart)
		if err != nil {
			t.Fatal(err)
		}
		if ext == ".png" {
			_, err = png.Decode(f)
		} else if b, rerr := io.ReadAll(f); rerr != nil || !bytes.Contains(b, []byte("<svg")) {
			err = fmt.Errorf("not an SVG (%v)", rerr)
		}
		f.Close()
		if err != nil {
			t.Fatalf("%s: chart: %v", p, err)
		}
		b, err := os.ReadFile(series)
		if err != nil || !strings.HasPrefix(string(b), "t_s,arrivals_per_s,backlog") {
			t.Fatalf("%s: series: %v %.80q", p, err, b)
		}
	}
}

func TestSimulateCSVAndSVG(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "arrivals.csv")
	if err := os.WriteFile(in, []byte("offset,messages\n0,600\n60,6000\n120,600\n180,0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(dir, "c.svg")
	js := filepath.Join(dir, "s.json")
	var out, errb bytes.Buffer
	if code := run([]string{"simulate", "--csv", in, "--processing-time", "500ms", "--target", "50",
		"--fleet", "ecs", "--chart", chart, "--out", js}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "recorded "+in) || !strings.Contains(out.String(), "arrived 7200") {
		t.Fatalf("summary:\n%s", out.String())
	}
	b, _ := os.ReadFile(chart)
	if !bytes.Contains(b, []byte("<svg")) {
		t.Fatal("no svg written")
	}
	b, _ = os.ReadFile(js)
	if !bytes.Contains(b, []byte(`"points"`)) {
		t.Fatal("no json written")
	}
}

func TestSimulateRecommend(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"simulate", "--recommend", "--latency", "10m", "--profile", "spike", "--processing-time", "1s",
		"--min", "2", "--fleet", "ecs"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"recommended target:", "the scaler target formula gives 6000", "p99 wait", "sqs cost", "<-"} {
		if !strings.Contains(s, want) {
			t.Fatalf("recommend output lacks %q:\n%s", want, s)
		}
	}
}

func TestSimulateBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("0,5\n60,five\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--target", "5"}, "--processing-time: required"},
		{[]string{"--processing-time", "1s"}, "--target: required"},
		{[]string{"--processing-time", "1s", "--target", "5", "--interval", "45s"}, "--interval: must be 10s, 30s or 60s"},
		{[]string{"--processing-time", "1s", "--target", "5", "--profile", "sine"}, "--profile: want steady"},
		{[]string{"--processing-time", "1s", "--target", "5", "--fleet", "k8s"}, "--fleet: want ec2 or ecs"},
		{[]string{"--processing-time", "1s", "--target", "5", "--step", "2s"}, "--step: must be"},
		{[]string{"--processing-time", "1s", "--target", "5", "--min", "5", "--max", "2"}, "--max: must be"},
		{[]string{"--processing-time", "1s", "--target", "5", "--scale-in-ratio", "2"}, "--scale-in-ratio"},
		{[]string{"--processing-time", "1s", "--target", "5", "--chart", "x.gif"}, "--chart:"},
		{[]string{"--processing-time", "1s", "--target", "5", "--out", "x.xml"}, "--out:"},
		{[]string{"--processing-time", "1s", "--recommend"}, "--latency: --recommend needs"},
		{[]string{"--processing-time", "1s", "--target", "5", "--csv", bad}, "--csv: " + bad + ":2: messages"},
		{[]string{"--processing-time", "1s", "--target", "5", "--publisher", "nobody"}, "--publisher"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"simulate"}, tc.args...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

func TestSimulateProcessingSamples(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "times.txt")
	if err := os.WriteFile(good, []byte("# handler times\n0.5\n1.5\n1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"simulate", "--processing-samples", good, "--latency", "1m", "--profile", "steady"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Mean 1 s, concurrency 10: the formula gives 60 / 1 × 10 = 600.
	if s := out.String(); !strings.Contains(s, "3 samples from "+good) || !strings.Contains(s, "formula for --latency 1m0s: 600") {
		t.Fatalf("summary:\n%s", s)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("0.5\nslow\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"simulate", "--processing-samples", bad, "--target", "5"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "--processing-samples: "+bad+":2:") {
		t.Fatalf("bad samples: exit %d, %q", code, errb.String())
	}
}
