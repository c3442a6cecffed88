package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/faultproxy"
	"github.com/sqsfleet/sqsfleet/internal/faults"
)

// proxiedSpec is one run of the daemon binary behind the fault proxy.
type proxiedSpec struct {
	label       string
	faults      faults.Config // latency and rules; the zero value: the proxy only forwards
	concurrency int
	messages    int           // fast messages in the backlog
	handler     time.Duration // how long the sink holds each call (0: answers at once)
	slow        time.Duration // if set, one message whose call takes this long goes in first
	visibility  time.Duration // queue.visibility_timeout (0: the daemon's default)
}

// proxiedRun is what one such run measured.
type proxiedRun struct {
	Label       string  `json:"label"`
	AddedMS     float64 `json:"added_latency_ms"`
	Faults      string  `json:"faults,omitempty"`
	Concurrency int     `json:"concurrency"`
	Handler     string  `json:"handler"`
	Messages    int     `json:"messages"`
	// MsgsPerSec is over the steady state (10% to 90% done, from the
	// daemon's /metrics); DrainS from the daemon's start until every
	// message was handled and the queue was empty.
	MsgsPerSec float64 `json:"msgs_per_s"`
	DrainS     float64 `json:"drain_s"`
	// HandledS is when the daemon's success count reached the backlog;
	// Lingering, the messages the emulator still reported in the queue 5 s
	// after that (0: none).
	HandledS  float64 `json:"handled_s"`
	Lingering int     `json:"lingering,omitempty"`
	// Cores is the CPU seconds per second over the same steady state of
	// the daemon, the emulator, this program (the proxy, mostly) and the
	// sink: where the machine's two cores go, and whether they are full.
	// (Per message it would mislead: an emulator holding long polls
	// spends CPU by the second, not by the message.)
	Cores [4]float64 `json:"cores_busy_daemon_emulator_proxy_sink"`
	// ReqPerMsg and Requests are the message path's requests (receive,
	// delete, visibility, send) counted at the proxy, retries included.
	ReqPerMsg float64        `json:"requests_per_msg_at_proxy"`
	Requests  map[string]int `json:"requests_at_proxy"`
	// The local wait of a message: from the proxy finishing the
	// ReceiveMessage response that carried it to its handler call
	// reaching the sink (see waits).
	WaitP50MS float64 `json:"local_wait_p50_ms"`
	WaitP99MS float64 `json:"local_wait_p99_ms"`
	WaitMaxMS float64 `json:"local_wait_max_ms"`
	// FirstWaitMaxMS is the longest time from the first receive response
	// that carried a message to its first handler call, and Redelivered
	// counts messages that reached the daemon in more than one response.
	FirstWaitMaxMS float64 `json:"first_delivery_to_call_max_ms"`
	Redelivered    int     `json:"redelivered"`
	// Handled counts the run's distinct messages whose handler call the
	// sink saw; DLQ what the dead-letter queue holds at the end.
	Handled int `json:"handled"`
	DLQ     int `json:"dlq_messages"`
	// For a run with one slow message: when its call started and when the
	// last fast message's call started, in seconds from the daemon's start.
	SlowStartS  float64 `json:"slow_started_at_s,omitempty"`
	LastFastS   float64 `json:"last_fast_started_at_s,omitempty"`
	VisibilityS float64 `json:"visibility_timeout_s,omitempty"`
	// LostReceives counts receive responses that carried messages and
	// were lost (SQS hid the messages; the daemon never saw them), and
	// LostChain is the most times one message was in such a response.
	// HiddenUntilS is when the last of those messages became visible
	// again (the lost response's time plus the visibility timeout), in
	// seconds from the daemon's start: no consumer can finish before it.
	LostReceives int              `json:"lost_receives_with_messages,omitempty"`
	LostChain    int              `json:"lost_chain,omitempty"`
	HiddenUntilS float64          `json:"hidden_until_s,omitempty"`
	Proxy        faultproxy.Stats `json:"proxy"`
}

// recordingSink returns the recording sink, started on first use.
func (b *bench) recordingSink() (*sinkProc, error) {
	b.recMu.Lock()
	defer b.recMu.Unlock()
	if b.rec == nil {
		s, err := b.startSink(recordFlag)
		if err != nil {
			return nil, err
		}
		b.rec = s
	}
	return b.rec, nil
}

// proxied runs the daemon binary with the http handler against a fresh
// backlog, through a fault proxy of its own configured by s.faults.
func (b *bench) proxied(ctx context.Context, s proxiedSpec) (*proxiedRun, error) {
	sink, err := b.recordingSink()
	if err != nil {
		return nil, err
	}
	url, err := createQueue(ctx, b.admin, "proxied")
	if err != nil {
		return nil, err
	}
	n := s.messages
	var slowID string
	if s.slow > 0 {
		// First in the queue, so it is in the first receive.
		body := "sleep=" + s.slow.String() + ";slow"
		out, err := b.admin.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
		if err != nil {
			return nil, err
		}
		slowID = aws.ToString(out.MessageId)
		n++
	}
	if err := seed(ctx, b.admin, url, s.messages, paddedBody(b.o.bodySize)); err != nil {
		return nil, err
	}

	var mu sync.Mutex
	delivered := make(map[string][]int64, n) // message id -> receive responses that carried it, unix ns
	lost := map[string][]int64{}             // message id -> lost receive responses that carried it
	lostReceives := 0
	proxy, err := faultproxy.Listen("127.0.0.1:0", faultproxy.Config{
		Upstream: b.emu.Endpoint(),
		Faults:   s.faults,
		OnReceive: func(ids []string, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				delivered[id] = append(delivered[id], at.UnixNano())
			}
		},
		OnLostReceive: func(ids []string, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			lostReceives++
			for _, id := range ids {
				lost[id] = append(lost[id], at.UnixNano())
			}
		},
	})
	if err != nil {
		return nil, err
	}
	defer proxy.Close()

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	handlerURL := sink.url
	if s.handler > 0 {
		handlerURL += "?sleep=" + s.handler.String()
	}
	env := append(cleanEnv(emuEnv(proxy.URL)),
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_HANDLER_TYPE=http",
		"SQSFLEET_HANDLER_URL="+handlerURL,
		"SQSFLEET_WORKER_CONCURRENCY="+strconv.Itoa(s.concurrency),
		"SQSFLEET_HTTP_ADDR="+metricsAddr,
		"SQSFLEET_LOG_LEVEL=warn",
	)
	if s.visibility > 0 {
		env = append(env, "SQSFLEET_QUEUE_VISIBILITY_TIMEOUT="+s.visibility.String())
	}
	cmd := exec.Command(b.o.binary, "run")
	cmd.Env = append(env, b.o.consumerEnv...)
	started := time.Now()
	p, err := startConsumer(cmd, metricsAddr, false)
	if err != nil {
		return nil, err
	}
	stop := func() error {
		return p.stop(time.Minute, func(done <-chan struct{}) { wakeUntil(ctx, b.admin, url, done) })
	}

	// The CPU of every process on the machine's two cores: the daemon, the
	// emulator, this program (the proxy, mostly) and the recording sink.
	self, emu := os.Getpid(), b.emu.PID()
	probe := func() (sample, error) {
		x, err := p.probe()
		if err != nil {
			return x, err
		}
		if x.emuCPU, _, err = cpuTimes(emu); err != nil {
			return x, err
		}
		if x.benchCPU, _, err = cpuTimes(self); err != nil {
			return x, err
		}
		x.sinkCPU, _, err = cpuTimes(sink.pid())
		return x, err
	}

	// Sample until the queue is empty (a message is deleted only after its
	// handler succeeded): the daemon's success count alone can pass n
	// early when a lost delete response makes a message run twice.
	var samples []sample
	var drained time.Time
	var handled sample // the first sample with every message handled
	lingering := 0     // messages still in the queue 5 s after that
	deadline := started.Add(b.o.phaseTimeout)
	tick := time.NewTicker(sampleInterval)
	defer tick.Stop()
	for drained.IsZero() {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s: the daemon exited: %v\n%s", s.label, p.waitErr, p.out.String())
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-tick.C:
		}
		x, err := probe()
		if err != nil {
			p.kill()
			return nil, err
		}
		samples = append(samples, x)
		if x.done >= float64(n) {
			if handled.t.IsZero() {
				handled = x
			}
			depth, err := queueDepth(ctx, b.admin, url)
			if err != nil {
				p.kill()
				return nil, err
			}
			if depth == 0 {
				drained = x.t
			} else if x.t.Sub(handled.t) > 5*time.Second && lingering == 0 {
				lingering = depth
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s: not drained after %s (%.0f of %d done)\n%s", s.label, b.o.phaseTimeout, x.done, n, p.out.String())
		}
	}
	arrivals, err := sinkArrivals(sink.url)
	if err != nil {
		p.kill()
		return nil, err
	}
	last := samples[len(samples)-1]
	if err := stop(); err != nil {
		return nil, err
	}

	r := &proxiedRun{
		Label: s.label, AddedMS: float64(s.faults.Latency) / float64(time.Millisecond), Faults: describeRules(s.faults.Rules),
		Concurrency: s.concurrency, Handler: handlerName(s), Messages: n,
		DrainS: drained.Sub(started).Seconds(), Requests: map[string]int{}, Proxy: proxy.Stats(),
		VisibilityS: s.visibility.Seconds(),
	}
	r.HandledS = handled.t.Sub(started).Seconds()
	if lingering > 0 {
		// Something hid a message without the daemon seeing it: a lost
		// response. Without faults this happened in about one run in four
		// at c=64 +15ms until the proxy sent upstream in-memory bodies.
		r.Lingering = lingering
		b.logf("  %s: every message handled at %.1fs, yet the emulator reported %d still in the queue 5 s later, until %.1fs; the daemon received %.0f messages meanwhile",
			s.label, r.HandledS, lingering, r.DrainS, last.received-handled.received)
	}
	if len(samples) > 1 {
		a, z := window(samples, n)
		if d := z.done - a.done; z.t.After(a.t) && d > 0 {
			r.MsgsPerSec = d / z.t.Sub(a.t).Seconds()
			span := z.t.Sub(a.t).Seconds()
			cores := func(from, to time.Duration) float64 { return (to - from).Seconds() / span }
			r.Cores = [4]float64{cores(a.cpu, z.cpu), cores(a.emuCPU, z.emuCPU), cores(a.benchCPU, z.benchCPU), cores(a.sinkCPU, z.sinkCPU)}
		}
	}
	total := 0
	for _, op := range messagePathOps {
		if v := r.Proxy.Ops[op].Requests; v > 0 {
			r.Requests[op] = v
			total += v
		}
	}
	r.ReqPerMsg = float64(total) / float64(n)
	mu.Lock()
	var waits []time.Duration
	for id, at := range arrivals {
		ds, ok := delivered[id]
		if !ok {
			continue // another run's message, or a wake message
		}
		r.Handled++
		if w, ok := localWait(ds, at); ok {
			waits = append(waits, w)
		}
		if len(ds) > 1 {
			r.Redelivered++
		}
		// From the first response that carried it: a message the daemon
		// received and then sat on, or dropped until SQS delivered it
		// again, shows here and not in the wait from the latest one.
		if w := time.Duration(at - slices.Min(ds)); w > 0 {
			r.FirstWaitMaxMS = max(r.FirstWaitMaxMS, float64(w)/float64(time.Millisecond))
		}
	}
	r.LostReceives = lostReceives
	vt := s.visibility
	if vt <= 0 {
		vt = 30 * time.Second // the daemon's default queue.visibility_timeout
	}
	for _, ats := range lost {
		r.LostChain = max(r.LostChain, len(ats))
		r.HiddenUntilS = max(r.HiddenUntilS, (time.Duration(slices.Max(ats)-started.UnixNano()) + vt).Seconds())
	}
	mu.Unlock()
	pct := percentilesMS(waits)
	r.WaitP50MS, r.WaitP99MS, r.WaitMaxMS = pct(0.5), pct(0.99), pct(1)
	if r.DLQ, err = queueDepth(ctx, b.admin, url+"-dlq"); err != nil {
		return nil, err
	}
	if s.slow > 0 {
		r.SlowStartS, r.LastFastS = slowTimes(arrivals, delivered, slowID, started)
	}
	b.logf("  %s: %.0f msgs/s, drained in %.1fs, %.3f requests/msg at the proxy, local wait max %.0f ms (%.0f ms from a first delivery), %d redelivered",
		s.label, r.MsgsPerSec, r.DrainS, r.ReqPerMsg, r.WaitMaxMS, r.FirstWaitMaxMS, r.Redelivered)
	if r.LostReceives > 0 {
		b.logf("  %s: %d lost receive responses carried messages (one message in up to %d); the last hidden became visible again at %.1fs, drained %.1fs after",
			s.label, r.LostReceives, r.LostChain, r.HiddenUntilS, r.DrainS-r.HiddenUntilS)
	}
	if f := r.Proxy.Total.Faults; len(f) > 0 {
		b.logf("  %s", strings.ReplaceAll(strings.TrimSpace(r.Proxy.Report()), "\n", "\n  "))
	}
	return r, nil
}

// localWait is how long a message waited in the consumer before its
// handler call started: from the latest receive response that carried it
// and ended before the call (the sink and this program read the same
// clock) to the call. A call that no recorded response precedes (clock
// granularity) counts as no wait.
func localWait(delivered []int64, arrival int64) (time.Duration, bool) {
	var best int64
	for _, d := range delivered {
		if d <= arrival && d > best {
			best = d
		}
	}
	if best == 0 {
		return 0, len(delivered) > 0
	}
	return time.Duration(arrival - best), true
}

// slowTimes is when the slow message's call started and when the last of
// the run's fast messages' calls did, in seconds from start.
func slowTimes(arrivals map[string]int64, delivered map[string][]int64, slowID string, started time.Time) (slowS, lastFastS float64) {
	at := func(ns int64) float64 { return time.Unix(0, ns).Sub(started).Seconds() }
	var last int64
	for id, t := range arrivals {
		if _, ours := delivered[id]; ours && id != slowID {
			last = max(last, t)
		}
	}
	return at(arrivals[slowID]), at(last)
}

func handlerName(s proxiedSpec) string {
	switch {
	case s.slow > 0:
		return fmt.Sprintf("one %s message first, then fast ones", s.slow)
	case s.handler > 0:
		return s.handler.String()
	}
	return "fast"
}

// describeRules is a rule list in words, e.g. "throttle 2%, server_error 1% on ReceiveMessage".
func describeRules(rules []faults.Rule) string {
	var parts []string
	for _, r := range rules {
		p := fmt.Sprintf("%s %.0f%%", r.Kind, r.Rate*100)
		if r.Op != "" {
			p += " on " + r.Op
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// sinkArrivals reads the first arrival of every message the recording sink
// saw.
func sinkArrivals(sinkURL string) (map[string]int64, error) {
	resp, err := http.Get(strings.TrimSuffix(sinkURL, "/") + "/arrivals")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		id, ns, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return nil, err
		}
		out[id] = v
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return out, sc.Err()
}

// queueDepth is the queue's visible plus in-flight messages, straight from
// the emulator.
func queueDepth(ctx context.Context, cl *sqs.Client, url string) (int, error) {
	out, err := cl.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n, nil
}

// The fault- and latency-injecting phases each report their figures
// beside the same run through a proxy that only forwards.

// latencyResult is the latency phase: fixed latency added to every SQS
// request.
type latencyResult struct {
	Runs []*proxiedRun `json:"runs"`
}

// latency runs the daemon with the fast http handler at each added latency
// and concurrency, each beside the same run with nothing added; then the
// slower handlers and the backlog with one slow message, reported, not
// tuned to.
func (b *bench) latency(ctx context.Context) (*latencyResult, error) {
	res := &latencyResult{}
	add := func(s proxiedSpec) error {
		r, err := b.proxied(ctx, s)
		if err != nil {
			return err
		}
		res.Runs = append(res.Runs, r)
		return nil
	}
	lat := func(d time.Duration) faults.Config { return faults.Config{Seed: b.o.seed, Latency: d} }
	baselineDone := map[int]bool{}
	for _, lr := range b.o.latencyRuns {
		d := lr.added
		for _, c := range lr.concurrency {
			// At high concurrency the backlog is gone in about a second;
			// a larger one gives the steady state time to be measured.
			n := b.o.latencyMessages * min(4, max(1, c/20))
			if !baselineDone[c] {
				baselineDone[c] = true
				if err := add(proxiedSpec{label: fmt.Sprintf("fast, c=%d, +0ms", c), faults: lat(0), concurrency: c, messages: n}); err != nil {
					return nil, err
				}
			}
			if err := add(proxiedSpec{label: fmt.Sprintf("fast, c=%d, +%s", c, ms(d)), faults: lat(d), concurrency: c, messages: n}); err != nil {
				return nil, err
			}
		}
	}
	d := b.o.latencyRuns[len(b.o.latencyRuns)-1].added
	for _, h := range []struct {
		hold time.Duration
		n    int
	}{{20 * time.Millisecond, b.o.latencyMessages / 3}, {time.Second, 5 * b.o.latencyHandlerConc}} {
		for _, added := range []time.Duration{0, d} {
			if err := add(proxiedSpec{label: fmt.Sprintf("%s handler, c=%d, +%s", h.hold, b.o.latencyHandlerConc, ms(added)),
				faults: lat(added), concurrency: b.o.latencyHandlerConc, messages: h.n, handler: h.hold}); err != nil {
				return nil, err
			}
		}
	}
	if b.o.latencySlow > 0 {
		// The two runs with the slow message run side by side: each waits
		// out the slow call, and its fast messages are done long before.
		var wg sync.WaitGroup
		runs := make([]*proxiedRun, 2)
		errs := make([]error, 2)
		for i, added := range []time.Duration{0, d} {
			wg.Go(func() {
				runs[i], errs[i] = b.proxied(ctx, proxiedSpec{label: fmt.Sprintf("one %s message + %d fast, c=%d, +%s", b.o.latencySlow, b.o.latencyMessages/3, b.o.latencyHandlerConc, ms(added)),
					faults: lat(added), concurrency: b.o.latencyHandlerConc, messages: b.o.latencyMessages / 3, slow: b.o.latencySlow})
			})
		}
		wg.Wait()
		for i := range runs {
			if errs[i] != nil {
				return nil, errs[i]
			}
			res.Runs = append(res.Runs, runs[i])
		}
	}
	return res, nil
}

// faultsResult is the faults phase: the brown-out mix and 1% 500s, each
// beside the same run without faults.
type faultsResult struct {
	VisibilityS float64       `json:"visibility_timeout_s"`
	Runs        []*proxiedRun `json:"runs"`
}

func (b *bench) faultsPhase(ctx context.Context) (*faultsResult, error) {
	res := &faultsResult{VisibilityS: b.o.faultsVisibility.Seconds()}
	serverErrors := faults.Config{Seed: b.o.seed, Rules: []faults.Rule{{Kind: faults.ServerError, Rate: 0.01}}}
	none := faults.Config{Seed: b.o.seed}
	mix, mixName := faultproxy.BrownOut(b.o.seed), "brown-out mix"
	if b.o.faultsMix != nil {
		mix.Rules, mixName = b.o.faultsMix, "mix "+faults.FormatRules(b.o.faultsMix)
	}
	for _, c := range b.o.faultsConcurrency {
		// 1% of a thousand messages' few hundred requests is a handful of
		// faults; the 500s runs (and their baseline) take a larger backlog.
		for _, f := range []struct {
			name string
			cfg  faults.Config
			n    int
		}{
			{"none", none, b.o.faultsMessages}, {mixName, mix, b.o.faultsMessages},
			{"none", none, b.o.faults500Messages}, {"1% 500s", serverErrors, b.o.faults500Messages},
		} {
			r, err := b.proxied(ctx, proxiedSpec{label: fmt.Sprintf("faults %s, %d messages, c=%d", f.name, f.n, c), faults: f.cfg,
				concurrency: c, messages: f.n, visibility: b.o.faultsVisibility})
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, r)
		}
	}
	return res, nil
}

// ms formats a latency in whole milliseconds, "15ms", "0ms".
func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }
