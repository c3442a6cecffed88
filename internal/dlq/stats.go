package dlq

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// StatsOptions are the options of Stats.
type StatsOptions struct {
	// Limit is how many messages to examine at most; default 1000. A DLQ
	// holding more is sampled, and the result says so.
	Limit int
	Bounds
}

// Group is the count of one reason, source or error class, with its oldest
// and newest failure.
type Group struct {
	Key            string
	Count          int
	Oldest, Newest time.Time
}

// Stats is what a scan of the DLQ found.
type Stats struct {
	DLQ  string
	FIFO bool
	// Approximate is the DLQ's ApproximateNumberOfMessages (plus those in
	// flight and delayed) before the scan.
	Approximate int
	Examined    int
	Stop        Stop
	Elapsed     time.Duration
	ByReason    []Group
	BySource    []Group
	ByClass     []Group
}

// Sampled reports whether the scan stopped before examining every message.
func (s *Stats) Sampled() bool { return s.Stop != StopEmpty }

// Stats examines up to opts.Limit messages without consuming them and
// counts them by reason, source queue and error class. Every examined
// message is released at the end. An interrupted scan returns what it
// counted so far.
func (d *DLQ) Stats(ctx context.Context, opts StatsOptions) (*Stats, error) {
	if opts.Limit <= 0 {
		opts.Limit = 1000
	}
	opts.Bounds = opts.Bounds.withDefaults(time.Minute)
	start := d.now()
	st := &Stats{DLQ: d.info.URL, FIFO: d.info.FIFO, Approximate: d.info.Messages + d.info.InFlight + d.info.Delayed}
	by := [3]map[string]*Group{{}, {}, {}}
	s := d.newScan(opts.Bounds)
	var scanErr error
	counted := 0
	for st.Stop == "" {
		if counted >= opts.Limit {
			st.Stop = StopLimit
			break
		}
		msgs, stop, err := s.next(ctx)
		if err != nil {
			scanErr = err
			break
		}
		st.Stop = stop
		for _, m := range msgs {
			s.hold(m)
			if counted >= opts.Limit { // the last batch may overshoot
				continue
			}
			counted++
			e := d.entry(ctx, m)
			source := e.Source
			if source == "" {
				source = "(unknown)"
				if e.SourceARN != "" {
					source = e.SourceARN
				}
			}
			for i, key := range []string{e.Reason, source, e.ErrorClass} {
				g := by[i][key]
				if g == nil {
					g = &Group{Key: key}
					by[i][key] = g
				}
				g.Count++
				if g.Oldest.IsZero() || e.FailedAt.Before(g.Oldest) {
					g.Oldest = e.FailedAt
				}
				if e.FailedAt.After(g.Newest) {
					g.Newest = e.FailedAt
				}
			}
		}
	}
	st.Examined = counted
	relErr := s.release(ctx)
	st.Elapsed = d.now().Sub(start)
	st.ByReason, st.BySource, st.ByClass = sorted(by[0]), sorted(by[1]), sorted(by[2])
	if scanErr != nil {
		return st, scanErr
	}
	return st, relErr
}

// sorted lists groups by count, largest first, then by key.
func sorted(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// Write prints the stats as tables for a person.
func (s *Stats) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "DLQ %s: %d message(s) examined of about %d, in %s (%s)\n",
		s.DLQ, s.Examined, s.Approximate, s.Elapsed.Round(10*time.Millisecond), s.Stop)
	if s.Sampled() {
		fmt.Fprintf(&b, "SAMPLE: the scan stopped before the end of the DLQ; the counts below are of the %d messages examined.\n", s.Examined)
	}
	if s.FIFO {
		b.WriteString("FIFO: a scan sees only the first messages of each message group (SQS hides a group behind a held message).\n")
	}
	b.WriteString("Every examined message was released, none deleted.\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	table := func(title string, gs []Group, keyLast bool) {
		fmt.Fprintln(tw)
		if keyLast {
			fmt.Fprintf(tw, "COUNT\tOLDEST FAILURE\tNEWEST FAILURE\t%s\n", title)
		} else {
			fmt.Fprintf(tw, "%s\tCOUNT\tOLDEST FAILURE\tNEWEST FAILURE\n", title)
		}
		for _, g := range gs {
			if keyLast {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", g.Count, stamp(g.Oldest), stamp(g.Newest), g.Key)
			} else {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", g.Key, g.Count, stamp(g.Oldest), stamp(g.Newest))
			}
		}
		tw.Flush()
	}
	table("REASON", s.ByReason, false)
	table("SOURCE QUEUE", s.BySource, false)
	table("ERROR CLASS", s.ByClass, true)
	_, err := io.WriteString(w, b.String())
	return err
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
