package main

import (
	"fmt"
	"io"
	"strings"
)

// baseline is the run through a proxy that adds nothing with the same
// handler and concurrency as r: the figure it is shown beside.
func baseline(runs []*proxiedRun, r *proxiedRun, faultFree bool) *proxiedRun {
	for _, b := range runs {
		if b == r || b.Handler != r.Handler || b.Concurrency != r.Concurrency || b.Messages != r.Messages {
			continue
		}
		if faultFree && b.Faults == "" && b.AddedMS == r.AddedMS || !faultFree && b.AddedMS == 0 && b.Faults == r.Faults {
			return b
		}
	}
	return nil
}

// proxiedTargets adds the targets of the latency and faults phases, the
// ones README.md lists under "At real SQS latency and through faults".
func (r *results) proxiedTargets(add func(name string, v float64, limit string, met bool)) {
	var targets []target
	t := func(phase, name string, v float64, limit string, met bool) {
		targets = append(targets, target{Phase: phase, Name: name, Value: v, Limit: limit, Met: met})
	}
	if l := r.Latency; l != nil {
		maxWait := 0.0
		for _, run := range l.Runs {
			// From the first delivery: no faults here, so a longer wait
			// than from the latest one is a message the daemon sat on or
			// dropped.
			maxWait = max(maxWait, run.WaitMaxMS, run.FirstWaitMaxMS)
			if run.Handler != "fast" || run.AddedMS != 15 {
				continue
			}
			switch run.Concurrency {
			case 10:
				t("latency", "msgs/s, fast handler, c=10, +15 ms", run.MsgsPerSec, ">= 1000", run.MsgsPerSec >= 1000)
			case 64:
				// "Or the CPU bound of this machine": the same run with
				// nothing added is that bound here (the proxy included), and
				// runs move by about 10%.
				bound := 5000.0
				if b := baseline(l.Runs, run, false); b != nil && 0.9*b.MsgsPerSec < bound {
					bound = 0.9 * b.MsgsPerSec
				}
				t("latency", "msgs/s, fast handler, c=64, +15 ms", run.MsgsPerSec, fmt.Sprintf(">= %.0f (5000, or 0.9 of the same run with nothing added: the CPU bound here)", bound), run.MsgsPerSec >= bound)
			default:
				continue
			}
			t("latency", fmt.Sprintf("requests per message at the proxy, c=%d, +15 ms", run.Concurrency), run.ReqPerMsg, "<= 0.22", run.ReqPerMsg <= 0.22)
		}
		t("latency", "longest local wait of a message, every run (ms)", maxWait, "<= 1000", maxWait <= 1000)
	}
	if f := r.Faults; f != nil {
		for _, run := range f.Runs {
			base := baseline(f.Runs, run, true)
			if run.Faults == "" || base == nil {
				continue
			}
			limit, factor, plus := "", 0.0, 0.0
			if strings.Contains(run.Faults, "throttle") {
				// One visibility timeout per lost response a message was in:
				// each hides it that long whatever the consumer does, so a
				// message lost twice in a row costs two.
				chain := max(1, run.LostChain)
				factor, plus = 3, f.VisibilityS*float64(chain)
				limit = fmt.Sprintf("<= 3 x %.1fs + %.0fs = %.1fs", base.DrainS, f.VisibilityS, 3*base.DrainS+plus)
				if chain > 1 {
					limit = fmt.Sprintf("<= 3 x %.1fs + %d x %.0fs (a message in %d lost responses) = %.1fs", base.DrainS, chain, f.VisibilityS, chain, 3*base.DrainS+plus)
				}
			} else {
				factor = 1.3
				limit = fmt.Sprintf("<= 1.3 x %.1fs = %.1fs", base.DrainS, 1.3*base.DrainS)
			}
			t("faults", fmt.Sprintf("drain seconds, %s, c=%d", shortFaults(run.Faults), run.Concurrency), run.DrainS, limit, run.DrainS <= factor*base.DrainS+plus)
			t("faults", fmt.Sprintf("messages lost or dead-lettered, %s, c=%d", shortFaults(run.Faults), run.Concurrency), float64(run.Messages-run.Handled+run.DLQ), "0", run.Handled == run.Messages && run.DLQ == 0)
		}
	}
	for _, x := range targets {
		add(x.Name, x.Value, x.Limit, x.Met)
		r.Targets[len(r.Targets)-1].Phase = x.Phase
	}
}

// shortFaults names a fault configuration in a table cell.
func shortFaults(desc string) string {
	switch {
	case desc == "":
		return "none"
	case strings.Contains(desc, "throttle") && strings.Contains(desc, "delay"):
		return "brown-out mix"
	}
	return desc
}

func (r *results) printProxied(w io.Writer) {
	if l := r.Latency; l != nil {
		fmt.Fprintln(w, "Latency phase: the daemon binary, http handler to the sink, every SQS request through the fault proxy adding a fixed latency; each figure beside the same run through the proxy adding nothing (in brackets). Requests per message are the message path's, counted at the proxy. Local wait: from the proxy finishing the ReceiveMessage response that carried a message to the sink receiving its handler call.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| handler | concurrency | added per request | messages | msgs/s | requests/msg at proxy | local wait p50 / p99 / max (ms) | drain s | cores busy: total: daemon, emulator, proxy, sink |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, run := range l.Runs {
			if run.AddedMS == 0 {
				continue
			}
			b := baseline(l.Runs, run, false)
			pair := func(v, bv float64, f string) string { return pair(b, v, bv, f) }
			var bw [4]float64
			if b != nil {
				bw = [4]float64{b.WaitP50MS, b.WaitP99MS, b.WaitMaxMS, b.DrainS}
			}
			waits := fmt.Sprintf("%.0f / %.0f / %.0f", run.WaitP50MS, run.WaitP99MS, run.WaitMaxMS)
			if b != nil {
				waits += fmt.Sprintf(" (%.0f / %.0f / %.0f)", bw[0], bw[1], bw[2])
			}
			cores := func(c [4]float64) string {
				return fmt.Sprintf("%.2f: %.2f, %.2f, %.2f, %.2f", c[0]+c[1]+c[2]+c[3], c[0], c[1], c[2], c[3])
			}
			cpu := cores(run.Cores)
			if b != nil {
				cpu += " (" + cores(b.Cores) + ")"
			}
			fmt.Fprintf(w, "| %s | %d | %.0f ms | %d | %s | %s | %s | %s | %s |\n", run.Handler, run.Concurrency, run.AddedMS, run.Messages,
				pair(run.MsgsPerSec, bwMsgs(b), "%.0f"), pair(run.ReqPerMsg, bwReq(b), "%.3f"), waits, pair(run.DrainS, bw[3], "%.1f"), cpu)
		}
		for _, run := range l.Runs {
			if run.SlowStartS > 0 || run.LastFastS > 0 {
				fmt.Fprintf(w, "\nSlow message, +%.0f ms: %s at c=%d: the slow call started at %.2fs, the last fast call at %.2fs, drained at %.1fs; longest local wait %.0f ms.",
					run.AddedMS, run.Handler, run.Concurrency, run.SlowStartS, run.LastFastS, run.DrainS, run.WaitMaxMS)
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}
	if f := r.Faults; f != nil {
		fmt.Fprintf(w, "Faults phase: the daemon binary, http handler to the sink, every SQS request through the fault proxy (seed %d), %.0fs visibility timeout; drain time from the daemon's start until every message was handled and the queue was empty, beside the same run without faults.\n\n", r.Config.Seed, f.VisibilityS)
		fmt.Fprintln(w, "| faults | concurrency | messages | drain s (without faults) | ratio | msgs/s (without faults) | requests/msg at proxy | injected | throttled answers, retries per throttle (mean backoff) | lost receives with messages (most in one message), last visible again at s | handled / DLQ |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|---|---|---|")
		for _, run := range f.Runs {
			if run.Faults == "" {
				continue
			}
			b := baseline(f.Runs, run, true)
			base, ratio := "", ""
			if b != nil {
				base = fmt.Sprintf(" (%.1f)", b.DrainS)
				ratio = fmt.Sprintf("%.1f", run.DrainS/b.DrainS)
			}
			var inj []string
			for _, k := range []string{"throttle", "server_error", "reset", "lost", "delay"} {
				if n := run.Proxy.Total.Faults[k]; n > 0 {
					inj = append(inj, fmt.Sprintf("%s %d", k, n))
				}
			}
			tot := run.Proxy.Total
			thr := fmt.Sprintf("%d", tot.Throttled)
			if tot.Throttled > 0 {
				thr = fmt.Sprintf("%d, %.2f (%.0f ms)", tot.Throttled, tot.RetriesPerThrottle(), tot.BackoffAfterThrottleS*1000)
			}
			lost := "0"
			if run.LostReceives > 0 {
				lost = fmt.Sprintf("%d (%d), %.1f", run.LostReceives, run.LostChain, run.HiddenUntilS)
			}
			fmt.Fprintf(w, "| %s | %d | %d | %.1f%s | %s | %s | %.3f | %s | %s | %s | %d / %d |\n", shortFaults(run.Faults), run.Concurrency, run.Messages,
				run.DrainS, base, ratio, pair(b, run.MsgsPerSec, bwMsgs(b), "%.0f"), run.ReqPerMsg, strings.Join(inj, ", "), thr, lost, run.Handled, run.DLQ)
		}
		fmt.Fprintln(w)
	}
}

// pair is a figure beside its baseline's in brackets, or alone without one.
func pair(b *proxiedRun, v, bv float64, f string) string {
	if b == nil {
		return fmt.Sprintf(f, v)
	}
	return fmt.Sprintf(f+" ("+f+")", v, bv)
}

func bwMsgs(b *proxiedRun) float64 {
	if b == nil {
		return 0
	}
	return b.MsgsPerSec
}

func bwReq(b *proxiedRun) float64 {
	if b == nil {
		return 0
	}
	return b.ReqPerMsg
}
