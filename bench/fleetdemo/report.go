package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sqsfleet/sqsfleet/scaler/sim"
)

// gap compares a measured curve with the predicted one at the measured
// times after from: the largest difference as a share of the measured
// curve's peak, and the share of points within tol. A measured point is
// compared with the predicted point nearest to it and the one on either
// side, the closest of the three: the two runs are sampled on clocks a few
// milliseconds apart, and a step (an instance starting) that falls between
// two samples in one curve and on a sample in the other is not a
// difference of the model.
func gap(real []sample, pred *sim.Result, from float64, get func(sample) float64, predGet func(sim.Point) float64, tol float64) (worst, within float64, n int, worstAt float64) {
	peak := 0.0
	for _, s := range real {
		peak = math.Max(peak, get(s))
	}
	if peak == 0 {
		return 0, 1, 0, 0
	}
	ok := 0
	for _, s := range real {
		if s.t < from {
			continue
		}
		i := nearest(pred.Points, s.t)
		if i < 0 {
			continue
		}
		d := math.Inf(1)
		for j := max(0, i-1); j <= min(len(pred.Points)-1, i+1); j++ {
			d = math.Min(d, math.Abs(get(s)-predGet(pred.Points[j]))/peak)
		}
		if d > worst {
			worst, worstAt = d, s.t
		}
		if d <= tol {
			ok++
		}
		n++
	}
	if n == 0 {
		return 0, 1, 0, 0
	}
	return worst, float64(ok) / float64(n), n, worstAt
}

// nearest returns the index of the point nearest to t, -1 if there is none.
func nearest(ps []sim.Point, t float64) int {
	best, bd := -1, math.Inf(1)
	for i, p := range ps {
		if d := math.Abs(p.T - t); d < bd {
			best, bd = i, d
		}
	}
	return best
}

func report(o options, pred *sim.Result, real []sample) error {
	from := math.Inf(1)
	if len(pred.Actions) > 0 {
		from = pred.Actions[0].T
	}
	bw, bin, bn, bt := gap(real, pred, from, func(s sample) float64 { return s.backlog }, func(p sim.Point) float64 { return p.Backlog }, o.tolerance)
	iw, iin, in, it := gap(real, pred, from, func(s sample) float64 { return float64(s.inService) }, func(p sim.Point) float64 { return float64(p.InService) }, o.tolerance)
	fmt.Printf("==> after the first predicted scale-out (%.0f s simulated), measured against predicted (the nearest predicted sample or one beside it), as a share of the measured peak:\n", from)
	fmt.Printf("    backlog:   largest gap %.0f%% (at %.0f s), %.1f%% of %d points within %.0f%%\n", bw*100, bt, bin*100, bn, o.tolerance*100)
	fmt.Printf("    instances: largest gap %.0f%% (at %.0f s), %.1f%% of %d points within %.0f%%\n", iw*100, it, iin*100, in, o.tolerance*100)
	if o.chart != "" {
		if err := draw2(o.chart, pred, real); err != nil {
			return err
		}
		fmt.Println("==> wrote", o.chart)
	}
	if bw > o.tolerance || iw > o.tolerance {
		return fmt.Errorf("the real fleet is NOT within %.0f%% of the prediction at every point", o.tolerance*100)
	}
	fmt.Printf("==> within %.0f%% at every point\n", o.tolerance*100)
	return nil
}

func draw2(name string, pred *sim.Result, real []sample) error {
	mk := func(title, y string, r func(sample) float64, p func(sim.Point) float64) (*plot.Plot, error) {
		pl := plot.New()
		pl.Title.Text = title
		pl.Y.Label.Text = y
		pl.X.Label.Text = "simulated minutes"
		pl.Add(plotter.NewGrid())
		rx := make(plotter.XYs, len(real))
		for i, s := range real {
			rx[i].X, rx[i].Y = s.t/60, r(s)
		}
		px := make(plotter.XYs, len(pred.Points))
		for i, q := range pred.Points {
			px[i].X, px[i].Y = q.T/60, p(q)
		}
		lr, err := plotter.NewLine(rx)
		if err != nil {
			return nil, err
		}
		lr.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
		lr.Width = vg.Points(1.5)
		lp, err := plotter.NewLine(px)
		if err != nil {
			return nil, err
		}
		lp.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
		lp.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		lp.Width = vg.Points(1.5)
		pl.Add(lr, lp)
		pl.Legend.Add("real fleet", lr)
		pl.Legend.Add("sqsfleet simulate", lp)
		pl.Legend.Top = true
		return pl, nil
	}
	b, err := mk("backlog: real daemons against the emulator vs the prediction", "visible messages",
		func(s sample) float64 { return s.backlog }, func(p sim.Point) float64 { return p.Backlog })
	if err != nil {
		return err
	}
	i, err := mk("instances in service", "daemons",
		func(s sample) float64 { return float64(s.inService) }, func(p sim.Point) float64 { return float64(p.InService) })
	if err != nil {
		return err
	}
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(9*vg.Inch, 6*vg.Inch), vgimg.UseDPI(96))}
	plots := [][]*plot.Plot{{b}, {i}}
	cs := plot.Align(plots, draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(10)}, draw.New(c))
	b.Draw(cs[0][0])
	i.Draw(cs[1][0])
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
