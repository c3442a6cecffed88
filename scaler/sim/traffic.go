package sim

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Profile is the traffic: how many messages arrive in an interval.
type Profile interface {
	// Arrivals returns the messages sent in [from, to), in seconds since
	// the start of the run. It may be fractional: the model counts
	// messages, it does not carry them.
	Arrivals(from, to float64) float64
	// Name describes the profile in summaries.
	Name() string
}

// rateProfile is a profile given by its rate in messages per second. With
// steps of at most a second the midpoint rule is exact for the piecewise
// constant and linear profiles and close for the diurnal one.
type rateProfile struct {
	name string
	rate func(t float64) float64
}

func (p rateProfile) Arrivals(from, to float64) float64 {
	return p.rate((from+to)/2) * (to - from)
}

func (p rateProfile) Name() string { return p.name }

// Steady sends rate messages a second.
func Steady(rate float64) Profile {
	return rateProfile{fmt.Sprintf("steady %g/s", rate), func(float64) float64 { return rate }}
}

// Spike sends base messages a second, and peak from at for length.
func Spike(base, peak float64, at, length time.Duration) Profile {
	a, b := at.Seconds(), (at + length).Seconds()
	return rateProfile{fmt.Sprintf("spike %g/s to %g/s at %s for %s", base, peak, at, length), func(t float64) float64 {
		if t >= a && t < b {
			return peak
		}
		return base
	}}
}

// Ramp sends from messages a second at start, rising (or falling) linearly
// to to over the ramp's length, and to after that.
func Ramp(from, to float64, start, length time.Duration) Profile {
	a, l := start.Seconds(), length.Seconds()
	return rateProfile{fmt.Sprintf("ramp %g/s to %g/s from %s over %s", from, to, start, length), func(t float64) float64 {
		switch {
		case t < a:
			return from
		case l <= 0 || t >= a+l:
			return to
		}
		return from + (to-from)*(t-a)/l
	}}
}

// Diurnal sends mean × (1 + amplitude × cos(2π (t - peakAt) / period))
// messages a second: a daily cycle peaking at peakAt.
func Diurnal(mean, amplitude float64, period, peakAt time.Duration) Profile {
	p, at := period.Seconds(), peakAt.Seconds()
	return rateProfile{fmt.Sprintf("diurnal mean %g/s ±%g%% peaking at %s every %s", mean, amplitude*100, peakAt, period), func(t float64) float64 {
		return math.Max(0, mean*(1+amplitude*math.Cos(2*math.Pi*(t-at)/p)))
	}}
}

// Bursts sends base messages a second, and peak for length every every,
// the first burst starting at every.
func Bursts(base, peak float64, every, length time.Duration) Profile {
	e, l := every.Seconds(), length.Seconds()
	return rateProfile{fmt.Sprintf("bursts of %g/s for %s every %s over %g/s", peak, length, every, base), func(t float64) float64 {
		if t >= e && math.Mod(t, e) < l {
			return peak
		}
		return base
	}}
}

// Recorded is a profile read from a CSV of arrivals per interval: the
// messages of a row arrive evenly between its offset and the next row's.
type Recorded struct {
	name    string
	offsets []float64 // seconds, strictly increasing, one more than counts
	cum     []float64 // messages arrived by offsets[i]
}

// Name implements Profile.
func (r *Recorded) Name() string { return r.name }

// Length is the time the recording covers.
func (r *Recorded) Length() time.Duration {
	return time.Duration(r.offsets[len(r.offsets)-1] * float64(time.Second))
}

// Arrivals implements Profile.
func (r *Recorded) Arrivals(from, to float64) float64 { return r.upTo(to) - r.upTo(from) }

func (r *Recorded) upTo(t float64) float64 {
	n := len(r.offsets)
	switch {
	case t <= r.offsets[0]:
		return 0
	case t >= r.offsets[n-1]:
		return r.cum[n-1]
	}
	i := sort.SearchFloat64s(r.offsets, t) // offsets[i-1] < t <= offsets[i]
	a, b := r.offsets[i-1], r.offsets[i]
	return r.cum[i-1] + (r.cum[i]-r.cum[i-1])*(t-a)/(b-a)
}

// ReadCSV reads arrivals per interval, one row per interval:
//
//	offset,messages
//
// offset is when the interval starts, in seconds since the start of the
// recording (a plain number, or a Go duration such as 90s or 1h30m),
// strictly increasing; messages is how many were sent in it. The last
// interval is as long as the one before it (1 s if there is only one). A
// first line that does not start with a number is a header. Blank lines and
// lines starting with # are skipped. Errors name the line.
func ReadCSV(name string, rd io.Reader) (*Recorded, error) {
	r := &Recorded{name: "recorded " + name}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var counts []float64
	line := 0
	header := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if len(counts) == 0 && !header && !startsNumeric(fields[0]) {
			header = true
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want 2 fields (offset,messages), got %d", name, line, len(fields))
		}
		off, err := parseOffset(strings.TrimSpace(fields[0]))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: offset %q: %v", name, line, fields[0], err)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, fmt.Errorf("%s:%d: messages %q: want a non-negative number", name, line, fields[1])
		}
		if k := len(r.offsets); k > 0 && off <= r.offsets[k-1] {
			return nil, fmt.Errorf("%s:%d: offset %gs is not after the previous row's %gs", name, line, off, r.offsets[k-1])
		}
		r.offsets = append(r.offsets, off)
		counts = append(counts, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("%s: no rows of offset,messages", name)
	}
	k := len(r.offsets)
	last := 1.0
	if k > 1 {
		last = r.offsets[k-1] - r.offsets[k-2]
	}
	r.offsets = append(r.offsets, r.offsets[k-1]+last)
	r.cum = make([]float64, len(r.offsets))
	for i, n := range counts {
		r.cum[i+1] = r.cum[i] + n
	}
	return r, nil
}

func startsNumeric(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '.' || s[0] == '-' || s[0] == '+')
}

func parseOffset(s string) (float64, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("must be a non-negative number of seconds")
		}
		return v, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want seconds or a duration such as 90s")
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d.Seconds(), nil
}
