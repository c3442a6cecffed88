package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// sampleInterval is how often a throughput phase observes its consumer.
const sampleInterval = 50 * time.Millisecond

// newSeededQueue creates a queue for a phase and sends n messages to it.
func (b *bench) newSeededQueue(ctx context.Context, phase string, n int, body func(int) string) (string, error) {
	url, err := createQueue(ctx, b.admin, phase)
	if err != nil {
		return "", err
	}
	t := time.Now()
	if err := seed(ctx, b.admin, url, n, body); err != nil {
		return "", err
	}
	b.logf("  seeded %d messages in %.1fs", n, time.Since(t).Seconds())
	return url, nil
}

// throughput is the result of a backlog phase.
type throughput struct {
	Process     string  `json:"process"`
	Handler     string  `json:"handler"`
	Messages    int     `json:"messages"`
	BodySize    int     `json:"body_size"`
	Concurrency int     `json:"concurrency,omitempty"`
	MsgsPerSec  float64 `json:"msgs_per_s"`
	// Runs lists the throughput of every run, in order, where the phase
	// ran in rounds and this is its median run.
	Runs       []float64          `json:"runs_msgs_per_s,omitempty"`
	Ratio      float64            `json:"ratio_to_ceiling,omitempty"`
	ReqPerMsg  float64            `json:"sqs_requests_per_msg"`
	Requests   map[string]float64 `json:"sqs_requests"`
	CPUPer10k  float64            `json:"cpu_s_per_10k"`
	PeakRSSMiB float64            `json:"peak_rss_mib,omitempty"`
	// The largest anonymous (heap, stacks) and file-backed (the mapped
	// executable) parts of the resident set seen while sampling.
	PeakAnonMiB float64 `json:"peak_rss_anon_mib,omitempty"`
	PeakFileMiB float64 `json:"peak_rss_file_mib,omitempty"`
	Seconds     float64 `json:"seconds"`
	// Redelivered counts deliveries beyond one per message, and SQSErrors
	// failed SQS requests; both should be 0, and a redelivery (a message
	// whose visibility ran out) stretches the phase by a visibility timeout.
	Redelivered float64 `json:"redelivered"`
	SQSErrors   float64 `json:"sqs_errors"`
	// Stranded messages were in the response of a receive that failed on
	// our side after SQS had sent it: they reappear only after the
	// visibility timeout, and the phase ends without waiting for them.
	Stranded float64 `json:"stranded"`
	// CPU seconds per 10k messages of the other processes, over the same
	// window: the emulator, this program (sampling; for the raw loops, the
	// loop itself, so it is not counted twice) and the http sink.
	EmulatorCPUPer10k float64 `json:"emulator_cpu_s_per_10k"`
	BenchCPUPer10k    float64 `json:"bench_cpu_s_per_10k,omitempty"`
	SinkCPUPer10k     float64 `json:"sink_cpu_s_per_10k,omitempty"`
}

// observe adds the emulator's and this program's CPU time to a probe.
func (b *bench) observe(probe func() (sample, error)) func() (sample, error) {
	self, emu := os.Getpid(), b.emu.PID()
	return func() (sample, error) {
		s, err := probe()
		if err != nil {
			return s, err
		}
		s.emuCPU, _, err = cpuTimes(emu)
		if err != nil {
			return s, fmt.Errorf("emulator: %w", err)
		}
		s.benchCPU, _, err = cpuTimes(self)
		if err != nil {
			return s, err
		}
		s.sinkCPU, _, err = cpuTimes(b.sinkPID)
		if err != nil {
			return s, fmt.Errorf("sink: %w", err)
		}
		return s, nil
	}
}

func summarize(samples []sample, n int) *throughput {
	a, z := window(samples, n)
	last := samples[len(samples)-1]
	t := &throughput{
		Messages:   n,
		MsgsPerSec: (z.done - a.done) / z.t.Sub(a.t).Seconds(),
		Requests:   last.reqs,
		Seconds:    last.t.Sub(samples[0].t).Seconds(),
		SQSErrors:  last.errors,
	}
	t.Redelivered = max(0, last.received-float64(n))
	if last.done > 0 {
		t.ReqPerMsg = sumCounts(last.reqs) / last.done
	}
	t.Stranded = float64(n) - last.done
	if d := z.done - a.done; d > 0 {
		t.CPUPer10k = ((z.cpu + z.childCPU) - (a.cpu + a.childCPU)).Seconds() / d * 10000
		t.EmulatorCPUPer10k = (z.emuCPU - a.emuCPU).Seconds() / d * 10000
		t.BenchCPUPer10k = (z.benchCPU - a.benchCPU).Seconds() / d * 10000
		t.SinkCPUPer10k = (z.sinkCPU - a.sinkCPU).Seconds() / d * 10000
	}
	return t
}

// raw is the ceiling: receive 10, delete them in one batch, repeat, from
// rawWorkers goroutines, with nothing else in between. It asks for the same
// attributes, long-poll wait and visibility timeout as the engine, so the
// emulator does the same work per request.
//
// With post set it is the raw http loop instead: the same loop POSTs each
// received body to the sink (the ten of a batch in parallel, over a plain
// keep-alive net/http client) before deleting them. It is what any Go
// program that hands SQS messages to a local HTTP app costs here, with no
// engine at all, so it bounds what the http handler can reach on this
// machine.
func (b *bench) raw(ctx context.Context, n int, post bool) (*throughput, error) {
	name := "raw"
	if post {
		name = "rawhttp"
	}
	url, err := b.newSeededQueue(ctx, name, n, paddedBody(b.o.bodySize))
	if err != nil {
		return nil, err
	}
	// The engine's client, meter included; the loop counts its requests
	// itself, and the meter's error count tells a lost receive response.
	reg := prometheus.NewRegistry()
	cl := awssqs.NewClient(b.aws, awssqs.NewMeter(reg))
	ctx, cancel := context.WithTimeout(ctx, b.o.phaseTimeout)
	defer cancel()
	var done, receives, deletes atomic.Int64
	errc := make(chan error, b.o.rawWorkers*11)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 10 * b.o.rawWorkers
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	postAll := func(msgs []types.Message) bool {
		var posts sync.WaitGroup
		failed := atomic.Bool{}
		for _, m := range msgs {
			posts.Go(func() {
				if err := postBody(ctx, hc, b.sinkURL, aws.ToString(m.Body)); err != nil {
					failed.Store(true)
					errc <- err
				}
			})
		}
		posts.Wait()
		return !failed.Load()
	}
	var wg sync.WaitGroup
	for range b.o.rawWorkers {
		wg.Go(func() {
			for done.Load() < int64(n) {
				receives.Add(1)
				out, err := cl.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
					QueueUrl:                    aws.String(url),
					MaxNumberOfMessages:         10,
					WaitTimeSeconds:             20,
					VisibilityTimeout:           30,
					MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
					MessageAttributeNames:       []string{"All"},
				}, awssqs.ReceiveOptions) // the engine's own receive decoding
				if err != nil {
					errc <- err
					return
				}
				if len(out.Messages) == 0 || done.Load() >= int64(n) {
					continue
				}
				if post && !postAll(out.Messages) {
					return
				}
				entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
				for i, m := range out.Messages {
					entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
				}
				deletes.Add(1)
				res, err := cl.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
				if err != nil {
					errc <- err
					return
				}
				if len(res.Failed) > 0 {
					errc <- fmt.Errorf("raw: %d deletes failed", len(res.Failed))
					return
				}
				done.Add(int64(len(res.Successful)))
			}
		})
	}
	pid := os.Getpid()
	samples, err := sampleEvery(ctx, sampleInterval, b.o.phaseTimeout, n, b.observe(func() (sample, error) {
		s := sample{t: time.Now(), done: float64(done.Load()), reqs: map[string]float64{
			"ReceiveMessage": float64(receives.Load()), "DeleteMessageBatch": float64(deletes.Load()),
		}}
		s.errors = sqsErrors(reg)
		var err error
		s.cpu, s.childCPU, err = cpuTimes(pid)
		select {
		case err = <-errc:
		default:
		}
		return s, err
	}))
	// The loops now sit in 20-second long polls on the empty queue.
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	wakeUntil(ctx, b.admin, url, stopped)
	if err != nil {
		return nil, err
	}
	t := summarize(samples, n)
	if t.SQSErrors > 0 {
		b.logf("  raw: %.0f SQS request attempts failed (the SDK retried them), %.0f messages stranded until their visibility timeout", t.SQSErrors, t.Stranded)
	}
	t.Process, t.Handler = "bench (plain loop)", fmt.Sprintf("receive 10 + delete batch, %d loops", b.o.rawWorkers)
	if post {
		t.Handler = fmt.Sprintf("receive 10 + POST each + delete batch, %d loops", b.o.rawWorkers)
	}
	t.BenchCPUPer10k = 0 // the loop is this program: it is CPUPer10k
	t.BodySize = b.o.bodySize
	return t, nil
}

// consumer runs a backlog of n messages through a consumer process: the
// engine child for the Go handler (and for all with -via child), else the
// daemon binary.
func (b *bench) consumer(ctx context.Context, kind string, n, bodySize int) (*throughput, error) {
	name := kind
	if bodySize != b.o.bodySize {
		name = "big"
	}
	url, err := b.newSeededQueue(ctx, name, n, paddedBody(bodySize))
	if err != nil {
		return nil, err
	}
	env := cleanEnv(emuEnv(b.emu.Endpoint()))
	var cmd *exec.Cmd
	var metricsAddr, process string
	announce := kind == "go" || b.o.via == "child"
	if announce {
		args := []string{childFlag, "-queue-url", url, "-concurrency", strconv.Itoa(b.o.concurrency),
			"-handler", kind, "-handler-url", b.sinkURL}
		if b.o.profileDir != "" {
			args = append(args,
				"-cpuprofile", filepath.Join(b.o.profileDir, name+".cpu.pprof"),
				"-memprofile", filepath.Join(b.o.profileDir, name+".allocs.pprof"))
		}
		cmd = exec.Command(b.self, args...)
		process = "engine child"
	} else {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		metricsAddr = "127.0.0.1:" + strconv.Itoa(port)
		cmd = exec.Command(b.o.binary, "run")
		env = append(env,
			"SQSFLEET_QUEUE_URL="+url,
			"SQSFLEET_HANDLER_TYPE="+kind,
			"SQSFLEET_WORKER_CONCURRENCY="+strconv.Itoa(b.o.concurrency),
			"SQSFLEET_HTTP_ADDR="+metricsAddr,
			"SQSFLEET_LOG_LEVEL=warn",
		)
		if kind == "http" {
			env = append(env, "SQSFLEET_HANDLER_URL="+b.sinkURL)
		} else {
			env = append(env, "SQSFLEET_HANDLER_COMMAND=true")
		}
		process = "daemon binary"
	}
	cmd.Env = append(env, b.o.consumerEnv...)
	p, err := startConsumer(cmd, metricsAddr, announce)
	if err != nil {
		return nil, err
	}
	samples, err := sampleEvery(ctx, sampleInterval, b.o.phaseTimeout, n, b.observe(p.probe))
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("%w\n%s", err, p.out.String())
	}
	rss, _, _, err := memStatus(p.pid())
	if err != nil {
		p.kill()
		return nil, err
	}
	if err := p.stop(time.Minute, func(done <-chan struct{}) { wakeUntil(ctx, b.admin, url, done) }); err != nil {
		return nil, err
	}
	t := summarize(samples, n)
	if t.Redelivered > 0 || t.SQSErrors > 0 {
		b.logf("  %s: %.0f SQS request attempts failed (the SDK retried them), %.0f messages stranded until their visibility timeout, %.0f redelivered; consumer's log:\n%s",
			name, t.SQSErrors, t.Stranded, t.Redelivered, p.out.String())
	}
	t.Process, t.Handler, t.BodySize, t.Concurrency = process, kind, bodySize, b.o.concurrency
	t.PeakRSSMiB = float64(rss) / (1 << 20)
	for _, x := range samples {
		t.PeakAnonMiB = max(t.PeakAnonMiB, float64(x.anon)/(1<<20))
		t.PeakFileMiB = max(t.PeakFileMiB, float64(x.file)/(1<<20))
	}
	if kind == "exec" {
		t.Handler = "exec (true)"
	}
	return t, nil
}

// cleanEnv is this process's environment without settings that would change
// what the consumer does (SQSFLEET_*, AWS_*), plus extra.
func cleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SQSFLEET_") || strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// pool is an engine running in this process, on its own metered client.
type pool struct {
	meter   *awssqs.Meter
	metrics *worker.Metrics
	stop    func() error
}

// runPool starts an in-process engine on url. cfg.Queue is wrapped by wrap
// (if set) around an awssqs.Queue with a 20-second long poll.
func (b *bench) runPool(ctx context.Context, url string, cfg worker.Config, wrap func(worker.Queue) worker.Queue) (*pool, error) {
	p := &pool{meter: awssqs.NewMeter(nil), metrics: worker.NewMetrics(nil)}
	var q worker.Queue = awssqs.NewQueue(awssqs.NewClient(b.aws, p.meter), url, 20*time.Second)
	if wrap != nil {
		q = wrap(q)
	}
	cfg.Queue, cfg.QueueURL, cfg.Metrics = q, url, p.metrics
	cfg.ReceiveTimeout = 40 * time.Second
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	wp, err := worker.New(cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var runErr error
	go func() { runErr = wp.Run(pctx); close(done) }()
	p.stop = func() error {
		cancel()
		wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
		defer wcancel()
		go wakeUntil(wctx, b.admin, url, done)
		select {
		case <-done:
			return runErr
		case <-wctx.Done():
			return errors.New("in-process engine did not stop within a minute")
		}
	}
	return p, nil
}

func waitFor(ctx context.Context, limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		if !sleepCtx(ctx, 5*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sqsErrors sums sqsfleet_sqs_errors_total in g.
func sqsErrors(g prometheus.Gatherer) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "sqsfleet_sqs_errors_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// trickleResult is the light-load phase: requests per message when there is
// nothing to batch, and the latency from send to handler start.
type trickleResult struct {
	Messages    int                `json:"messages"`
	RatePerSec  float64            `json:"rate_per_s"`
	Concurrency int                `json:"concurrency"`
	ReqPerMsg   float64            `json:"sqs_requests_per_msg"`
	Requests    map[string]float64 `json:"sqs_requests"`
	LatencyP50  float64            `json:"latency_p50_ms"`
	LatencyP99  float64            `json:"latency_p99_ms"`
	LatencyMax  float64            `json:"latency_max_ms"`
}

func (b *bench) trickle(ctx context.Context) (*trickleResult, error) {
	url, err := createQueue(ctx, b.admin, "trickle")
	if err != nil {
		return nil, err
	}
	n := int(b.o.trickleRate * b.o.trickleDuration.Seconds())
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	var deleted atomic.Int64
	handler := worker.HandlerFunc(func(_ context.Context, m *worker.Message) error {
		now := time.Now()
		if v, ok := strings.CutPrefix(m.Body, "t="); ok {
			ns, _ := strconv.ParseInt(v, 10, 64)
			mu.Lock()
			lat = append(lat, now.Sub(time.Unix(0, ns)))
			mu.Unlock()
		}
		return nil
	})
	p, err := b.runPool(ctx, url, worker.Config{Handler: handler, Concurrency: b.o.concurrency},
		func(q worker.Queue) worker.Queue {
			return &observedQueue{Queue: q, deleted: func(string, time.Time) { deleted.Add(1) }}
		})
	if err != nil {
		return nil, err
	}
	// Let every poller settle into its first long poll.
	sleepCtx(ctx, time.Second)
	before := meterCounts(p.meter)
	tick := time.NewTicker(time.Duration(float64(time.Second) / b.o.trickleRate))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		<-tick.C
		body := "t=" + strconv.FormatInt(time.Now().UnixNano(), 10)
		if _, err := b.admin.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			tick.Stop()
			_ = p.stop()
			return nil, err
		}
	}
	tick.Stop()
	// 45 s: one visibility timeout (30 s) and then some, in case a receive
	// response was lost.
	err = waitFor(ctx, 45*time.Second, "the trickle to be deleted", func() bool { return deleted.Load() >= int64(n) })
	after := meterCounts(p.meter)
	if serr := p.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	r := &trickleResult{Messages: n, RatePerSec: b.o.trickleRate, Concurrency: b.o.concurrency, Requests: map[string]float64{}}
	for op, v := range after {
		r.Requests[op] = v - before[op]
	}
	r.ReqPerMsg = sumCounts(r.Requests) / float64(n)
	pct := percentilesMS(lat)
	r.LatencyP50, r.LatencyP99, r.LatencyMax = pct(0.50), pct(0.99), pct(1)
	return r, nil
}

// idleResult is the cost of an engine with nothing to do.
type idleResult struct {
	Concurrency     int     `json:"concurrency"`
	Pollers         int     `json:"pollers"`
	WindowSeconds   float64 `json:"window_s"`
	Receives        float64 `json:"receives_in_window"`
	OtherRequests   float64 `json:"other_requests_in_window"`
	PerMinute       float64 `json:"requests_per_min"`
	PerPollerPerMin float64 `json:"requests_per_min_per_poller"`
}

func (b *bench) idle(ctx context.Context) (*idleResult, error) {
	url, err := createQueue(ctx, b.admin, "idle")
	if err != nil {
		return nil, err
	}
	handler := worker.HandlerFunc(func(context.Context, *worker.Message) error { return nil })
	p, err := b.runPool(ctx, url, worker.Config{Handler: handler, Concurrency: b.o.concurrency}, nil)
	if err != nil {
		return nil, err
	}
	// The pollers' first receives go out at once; count from after them.
	sleepCtx(ctx, time.Second)
	before, t0 := meterCounts(p.meter), time.Now()
	sleepCtx(ctx, b.o.idleWindow)
	after, t1 := meterCounts(p.meter), time.Now()
	if err := p.stop(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	w := t1.Sub(t0).Seconds()
	r := &idleResult{Concurrency: b.o.concurrency, Pollers: pollers(b.o.concurrency), WindowSeconds: w}
	r.Receives = after["ReceiveMessage"] - before["ReceiveMessage"]
	r.OtherRequests = sumCounts(after) - sumCounts(before) - r.Receives
	r.PerMinute = (r.Receives + r.OtherRequests) * 60 / w
	r.PerPollerPerMin = r.PerMinute / float64(r.Pollers)
	return r, nil
}

// holResult is the head-of-line check.
type holResult struct {
	Concurrency   int     `json:"concurrency"`
	Fast          int     `json:"fast_messages"`
	SlowSeconds   float64 `json:"slow_handler_s"`
	SlowStartS    float64 `json:"slow_started_at_s"`
	SlowDoneS     float64 `json:"slow_deleted_at_s"`
	FastDoneS     float64 `json:"fast_all_deleted_at_s"`
	FastDuringRun int     `json:"fast_deleted_while_slow_ran"`
	Blocked       bool    `json:"head_of_line_blocked"`
}

func (b *bench) hol(ctx context.Context) (*holResult, error) {
	url, err := createQueue(ctx, b.admin, "hol")
	if err != nil {
		return nil, err
	}
	// The slow message goes first, so it is in the first receive.
	if _, err := b.admin.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("slow")}); err != nil {
		return nil, err
	}
	if err := seed(ctx, b.admin, url, b.o.holFast, func(int) string { return "fast" }); err != nil {
		return nil, err
	}
	var kinds sync.Map // receipt handle -> "slow" or "fast"
	var fastDone atomic.Int64
	var slowStart, slowDone, fastAllDone atomic.Int64 // unix nanoseconds
	var fastDuring atomic.Int64
	slow := b.o.holSlow
	handler := worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		if m.Body == "slow" {
			kinds.Store(m.ReceiptHandle, "slow")
			slowStart.Store(time.Now().UnixNano())
			sleepCtx(ctx, slow)
			return ctx.Err()
		}
		kinds.Store(m.ReceiptHandle, "fast")
		return nil
	})
	start := time.Now()
	p, err := b.runPool(ctx, url, worker.Config{Handler: handler, Concurrency: b.o.holConcurrency},
		func(q worker.Queue) worker.Queue {
			return &observedQueue{Queue: q, deleted: func(r string, at time.Time) {
				k, _ := kinds.Load(r)
				switch k {
				case "slow":
					slowDone.Store(at.UnixNano())
				case "fast":
					if s := slowStart.Load(); s != 0 && slowDone.Load() == 0 {
						fastDuring.Add(1)
					}
					if fastDone.Add(1) == int64(b.o.holFast) {
						fastAllDone.Store(at.UnixNano())
					}
				}
			}}
		})
	if err != nil {
		return nil, err
	}
	err = waitFor(ctx, slow+time.Minute, "the head-of-line messages", func() bool {
		return slowDone.Load() != 0 && fastAllDone.Load() != 0
	})
	if serr := p.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	at := func(ns int64) float64 { return time.Unix(0, ns).Sub(start).Seconds() }
	r := &holResult{
		Concurrency: b.o.holConcurrency, Fast: b.o.holFast, SlowSeconds: slow.Seconds(),
		SlowStartS: at(slowStart.Load()), SlowDoneS: at(slowDone.Load()), FastDoneS: at(fastAllDone.Load()),
		FastDuringRun: int(fastDuring.Load()),
	}
	// "Long before": the fast ones must all be done while the slow one has
	// at least half of its time still to run.
	r.Blocked = r.FastDoneS > r.SlowDoneS-slow.Seconds()/2
	return r, nil
}

// heartbeatResult is the visibility-extension cost with many messages in
// flight.
type heartbeatResult struct {
	Messages          int     `json:"messages"`
	VisibilitySeconds float64 `json:"visibility_timeout_s"`
	HoldSeconds       float64 `json:"hold_s"`
	Waves             int     `json:"waves"`
	PeriodSeconds     float64 `json:"period_s"`
	Requests          float64 `json:"requests_in_waves"`
	Entries           float64 `json:"extensions_in_waves"`
	PerTenPerPeriod   float64 `json:"requests_per_10_msgs_per_period"`
	EntriesPerRequest float64 `json:"extensions_per_request"`
	LeasesLost        float64 `json:"leases_lost"`
}

func (b *bench) heartbeat(ctx context.Context) (*heartbeatResult, error) {
	n := b.o.hbMessages
	vt := b.o.hbVisibility
	url, err := b.newSeededQueue(ctx, "heartbeat", n, paddedBody(64))
	if err != nil {
		return nil, err
	}
	type call struct {
		at      time.Time
		entries int
	}
	var mu sync.Mutex
	var calls []call
	var started, deleted atomic.Int64
	allIn := make(chan struct{})
	release := make(chan struct{})
	handler := worker.HandlerFunc(func(ctx context.Context, m *worker.Message) error {
		if started.Add(1) == int64(n) {
			close(allIn)
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	p, err := b.runPool(ctx, url, worker.Config{Handler: handler, Concurrency: n, VisibilityTimeout: vt},
		func(q worker.Queue) worker.Queue {
			return &observedQueue{Queue: q,
				deleted: func(string, time.Time) { deleted.Add(1) },
				changed: func(entries int, at time.Time) {
					mu.Lock()
					calls = append(calls, call{at, entries})
					mu.Unlock()
				}}
		})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*heartbeatResult, error) {
		close(release)
		_ = p.stop()
		return nil, err
	}
	select {
	case <-allIn:
	case <-time.After(time.Minute):
		return fail(fmt.Errorf("only %d of %d messages in flight after a minute", started.Load(), n))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	tAll := time.Now()
	sleepCtx(ctx, b.o.hbHold)
	tRelease := time.Now()
	close(release)
	err = waitFor(ctx, time.Minute, "the held messages to be deleted", func() bool { return deleted.Load() >= int64(n) })
	if serr := p.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}

	// Group the extension calls made while all messages were held into
	// waves: calls less than a quarter visibility timeout apart belong to
	// the same wave. The last wave may be cut short by the release, so
	// only the waves before it count, and the period is measured between
	// wave starts.
	mu.Lock()
	defer mu.Unlock()
	type wave struct {
		start, last time.Time
		requests    int
		entries     int
	}
	var waves []wave
	for _, c := range calls {
		if c.at.Before(tAll) || !c.at.Before(tRelease) {
			continue
		}
		if len(waves) == 0 || c.at.Sub(waves[len(waves)-1].last) > vt/4 {
			waves = append(waves, wave{start: c.at})
		}
		w := &waves[len(waves)-1]
		w.last = c.at
		w.requests++
		w.entries += c.entries
	}
	r := &heartbeatResult{Messages: n, VisibilitySeconds: vt.Seconds(), HoldSeconds: b.o.hbHold.Seconds(),
		LeasesLost: counterValue(p.metrics.LeasesLost)}
	if len(waves) < 2 {
		return nil, fmt.Errorf("heartbeat: %d extension waves in %s; hold longer than the visibility timeout", len(waves), b.o.hbHold)
	}
	k := len(waves) - 1
	for _, w := range waves[:k] {
		r.Requests += float64(w.requests)
		r.Entries += float64(w.entries)
	}
	r.Waves = k
	r.PeriodSeconds = waves[k].start.Sub(waves[0].start).Seconds() / float64(k)
	r.PerTenPerPeriod = r.Requests / float64(k) / (float64(n) / 10)
	r.EntriesPerRequest = r.Entries / r.Requests
	return r, nil
}

// postBody is the raw http loop's handler call: POST the body, read the
// answer, want a 2xx.
func postBody(ctx context.Context, hc *http.Client, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sink answered %s", resp.Status)
	}
	return nil
}

// percentilesMS sorts ds and returns a function giving its q-quantile in
// milliseconds (0 for no samples).
func percentilesMS(ds []time.Duration) func(q float64) float64 {
	slices.Sort(ds)
	return func(q float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		return float64(ds[min(int(q*float64(len(ds))), len(ds)-1)]) / float64(time.Millisecond)
	}
}
