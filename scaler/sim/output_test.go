package sim

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"strings"
	"testing"
	"time"
)

func spikeRun(t *testing.T) *Result {
	t.Helper()
	res, err := Run(Config{
		Profile:    Spike(5, 100, 10*time.Minute, 10*time.Minute),
		Duration:   time.Hour,
		Processing: fixed(t, time.Second),
		Policy:     PolicyConfig{Kind: ECS, Target: 60, Min: 1, Max: 50},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteSeries(t *testing.T) {
	res := spikeRun(t)
	var b bytes.Buffer
	if err := res.WriteSeries("x.csv", &b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(res.Points)+1 || rows[0][0] != "t_s" || len(res.Points) != 360 {
		t.Fatalf("csv: %d rows for %d points (want 360 of 10 s in an hour, and a header)", len(rows), len(res.Points))
	}
	b.Reset()
	if err := res.WriteSeries("x.json", &b); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Summary map[string]float64 `json:"summary"`
		Actions []Action           `json:"actions"`
		Points  []Point            `json:"points"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Points) != 360 || len(out.Actions) != len(res.Actions) || out.Summary["max_backlog"] != res.Summary.MaxBacklog {
		t.Fatalf("json: %d points, %d actions, summary %v", len(out.Points), len(out.Actions), out.Summary)
	}
	if err := res.WriteSeries("x.txt", &b); err == nil {
		t.Fatal("x.txt accepted")
	}
}

func TestWriteChart(t *testing.T) {
	res := spikeRun(t)
	var b bytes.Buffer
	if err := res.WriteChart("c.png", &b); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 864 || r.Dy() != 960 {
		t.Fatalf("png %v, want 864x960 (9x10 in at 96 dpi)", r)
	}
	b.Reset()
	if err := res.WriteChart("c.svg", &b); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); !strings.Contains(s, "<svg") || !strings.Contains(s, "backlog") {
		t.Fatalf("svg: %.200s", s)
	}
	if err := res.WriteChart("c.pdf", &b); err == nil {
		t.Fatal("c.pdf accepted")
	}
}

// The recommended target is the largest that keeps the p99 wait within the
// objective: it meets it, and every larger candidate tried does not.
func TestRecommend(t *testing.T) {
	cfg := Config{
		Profile:    Spike(5, 100, 10*time.Minute, 10*time.Minute),
		Duration:   time.Hour,
		Processing: fixed(t, time.Second),
		Policy:     PolicyConfig{Kind: ECS, Min: 1, Max: 100},
	}
	latency := 5 * time.Minute
	cands, best, err := Recommend(cfg, latency, Candidates(latency.Seconds()/1*10))
	if err != nil {
		t.Fatal(err)
	}
	if best == 0 {
		t.Fatalf("no target meets a 5 min objective: %+v", cands)
	}
	for _, c := range cands {
		if c.Target == best && !c.Meets {
			t.Fatalf("recommended %v does not meet the objective: %+v", best, c)
		}
		if c.Target > best && c.Meets && c.Target < best*1.01 {
			t.Fatalf("a larger candidate %v also meets it", c.Target)
		}
		if c.Target < best && c.Summary.InstanceHours < cands[len(cands)-1].Summary.InstanceHours {
			t.Fatalf("a smaller target %v used fewer instance-hours than the largest", c.Target)
		}
	}
	if _, _, err := Recommend(cfg, 0, []float64{1}); err == nil {
		t.Fatal("zero latency accepted")
	}
}
