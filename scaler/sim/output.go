package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var csvHeader = []string{"t_s", "arrivals_per_s", "backlog", "in_flight", "desired", "in_service", "booting",
	"draining", "metric", "wait_max_s", "wait_mean_s", "sqs_requests", "started_messages"}

// WriteCSV writes the time series, one row per record interval.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	r2 := func(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }
	for _, p := range r.Points {
		metric := ""
		if p.Metric >= 0 {
			metric = f(p.Metric)
		}
		if err := cw.Write([]string{f(p.T), r2(p.Arrivals), r2(p.Backlog), r2(p.InFlight),
			strconv.Itoa(p.Desired), strconv.Itoa(p.InService), strconv.Itoa(p.Booting), strconv.Itoa(p.Draining),
			metric, f(p.WaitMax), r2(p.WaitMean), r2(p.Requests), r2(p.Started)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the summary, the scaling activities and the time series.
func (r *Result) WriteJSON(w io.Writer) error {
	s := r.Summary
	out := struct {
		Profile string   `json:"profile"`
		Target  float64  `json:"target"`
		Summary any      `json:"summary"`
		Actions []Action `json:"actions"`
		Points  []Point  `json:"points"`
	}{
		Profile: r.Config.Profile.Name(),
		Target:  r.Config.Policy.Target,
		Summary: map[string]any{
			"arrived": s.Arrived, "started": s.Started, "unstarted": s.Unstarted,
			"max_wait_s": s.MaxWait.Seconds(), "p99_wait_s": s.P99Wait.Seconds(), "mean_wait_s": s.MeanWait.Seconds(),
			"max_backlog": s.MaxBacklog, "peak_instances": s.PeakInstances, "instance_hours": s.InstanceHours,
			"scale_outs": s.ScaleOuts, "scale_ins": s.ScaleIns, "sqs_requests": s.Requests,
			"sqs_cost": s.RequestCost, "instance_cost": s.InstanceCost, "missing_periods": s.MissingPeriods,
		},
		Actions: r.Actions,
		Points:  r.Points,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(out)
}

// WriteSeries writes the time series as CSV or JSON, by the file name's
// extension (.csv or .json).
func (r *Result) WriteSeries(name string, w io.Writer) error {
	if err := SeriesFormat(name); err != nil {
		return err
	}
	if strings.ToLower(filepath.Ext(name)) == ".csv" {
		return r.WriteCSV(w)
	}
	return r.WriteJSON(w)
}

// SeriesFormat checks that name ends in .csv or .json.
func SeriesFormat(name string) error {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".json":
		return nil
	}
	return fmt.Errorf("%s: the time series is written as .csv or .json", name)
}

// ChartFormat checks that name ends in .png or .svg.
func ChartFormat(name string) error {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".svg":
		return nil
	}
	return fmt.Errorf("%s: the chart is written as .png or .svg", name)
}

// WriteChart draws the run as four panels over a shared time axis:
// arrivals, backlog, instances (desired and in service) and the wait
// before a message starts. The format follows the file name: .png or .svg.
func (r *Result) WriteChart(name string, w io.Writer) error {
	if err := ChartFormat(name); err != nil {
		return err
	}
	unit, scale := "minutes", 60.0
	if n := len(r.Points); n > 0 && r.Points[n-1].T > 6*3600 {
		unit, scale = "hours", 3600
	}
	series := func(f func(Point) float64) plotter.XYs {
		xy := make(plotter.XYs, len(r.Points))
		for i, p := range r.Points {
			xy[i].X, xy[i].Y = p.T/scale, f(p)
		}
		return xy
	}
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange := color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green := color.RGBA{R: 44, G: 160, B: 44, A: 255}
	red := color.RGBA{R: 214, G: 39, B: 40, A: 255}

	type line struct {
		name  string
		xy    plotter.XYs
		color color.Color
		dash  bool
	}
	panel := func(title, ylabel string, lines ...line) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		p.X.Label.Text = unit
		p.Y.Min = 0
		p.Y.Tick.Marker = plainTicks{}
		p.Add(plotter.NewGrid())
		for _, l := range lines {
			pl, err := plotter.NewLine(l.xy)
			if err != nil {
				return nil, err
			}
			pl.Color = l.color
			pl.Width = vg.Points(1.2)
			if l.dash {
				pl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(pl)
			if len(lines) > 1 {
				p.Legend.Add(l.name, pl)
			}
		}
		p.Legend.Top = true
		return p, nil
	}
	s := r.Summary
	title := fmt.Sprintf("%s, target %g", r.Config.Profile.Name(), r.Config.Policy.Target)
	panels := []struct {
		title, y string
		lines    []line
	}{
		{title + ": arrivals", "messages/s", []line{{"arrivals", series(func(p Point) float64 { return p.Arrivals }), blue, false}}},
		{fmt.Sprintf("backlog (visible messages), largest %.0f", s.MaxBacklog), "messages",
			[]line{{"backlog", series(func(p Point) float64 { return p.Backlog }), orange, false}}},
		{fmt.Sprintf("instances: %d scale-outs, %d scale-ins, %.1f instance-hours", s.ScaleOuts, s.ScaleIns, s.InstanceHours), "instances",
			[]line{
				{"desired", series(func(p Point) float64 { return float64(p.Desired) }), green, true},
				{"in service", series(func(p Point) float64 { return float64(p.InService) }), green, false},
			}},
		{fmt.Sprintf("wait before a message starts: p99 %s, longest %s", s.P99Wait, s.MaxWait), "seconds",
			[]line{
				{"longest in interval", series(func(p Point) float64 { return p.WaitMax }), red, false},
				{"average", series(func(p Point) float64 { return p.WaitMean }), red, true},
			}},
	}
	plots := make([][]*plot.Plot, len(panels))
	for i, pn := range panels {
		p, err := panel(pn.title, pn.y, pn.lines...)
		if err != nil {
			return err
		}
		plots[i] = []*plot.Plot{p}
	}
	width, height := 9*vg.Inch, 10*vg.Inch
	var c vg.CanvasWriterTo
	if strings.ToLower(filepath.Ext(name)) == ".svg" {
		c = vgsvg.New(width, height)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(96))}
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(10)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	_, err := c.WriteTo(w)
	return err
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// (25000, not 25000.00).
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}
