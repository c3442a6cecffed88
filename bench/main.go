package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/internal/faultproxy"
	"github.com/sqsfleet/sqsfleet/internal/faults"
	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
)

type options struct {
	rounds       int
	messages     int
	execMessages int
	concurrency  int
	bodySize     int
	rawWorkers   int
	binary       string
	via          string
	phases       string
	profileDir   string
	phaseTimeout time.Duration
	jsonOut      string
	consumerEnv  multiFlag

	trickleRate     float64
	trickleDuration time.Duration
	idleWindow      time.Duration

	holConcurrency int
	holFast        int
	holSlow        time.Duration

	hbMessages   int
	hbVisibility time.Duration
	hbHold       time.Duration

	bigMessages int
	bigSize     int

	seed               uint64
	latencyRuns        latencyRuns
	latencyMessages    int
	latencyHandlerConc int
	latencySlow        time.Duration
	faultsMessages     int
	faults500Messages  int
	faultsConcurrency  intList
	faultsVisibility   time.Duration
	faultsMix          []faults.Rule
}

var allPhases = []string{"raw", "go", "http", "rawhttp", "exec", "big", "trickle", "idle", "hol", "heartbeat", "latency", "faults"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(runChild(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == sinkFlag {
		os.Exit(runSink(os.Args[2:]))
	}
	var o options
	flag.IntVar(&o.messages, "messages", 50000, "backlog per throughput phase (raw, go, http, rawhttp)")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the phases raw, go, http and rawhttp, in turn; each reports its median run")
	flag.IntVar(&o.execMessages, "exec-messages", 3000, "backlog for the exec phase (a process per message is slower)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "worker concurrency of the throughput, trickle and idle phases")
	flag.IntVar(&o.bodySize, "body-size", 256, "message body size in bytes for the throughput phases")
	flag.IntVar(&o.rawWorkers, "raw-workers", 0, "goroutines of the raw loop; 0: as many as the engine's pollers at -concurrency")
	flag.StringVar(&o.binary, "binary", "bin/sqsfleet", "the daemon binary (make build)")
	flag.StringVar(&o.via, "via", "binary", "what runs the http and exec phases: binary (the daemon) or child (the engine child, for -profile)")
	flag.StringVar(&o.phases, "phases", strings.Join(allPhases, ","), "phases to run, comma-separated")
	flag.StringVar(&o.profileDir, "profile", "", "write CPU and allocation profiles of engine children into this directory")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 3*time.Minute, "give up on a phase after this long")
	flag.StringVar(&o.jsonOut, "json-out", "", "also write the JSON result to this file")
	flag.Var(&o.consumerEnv, "consumer-env", "KEY=value added to the consumer processes' environment, for experiments (e.g. GOGC=50); repeatable")
	flag.Float64Var(&o.trickleRate, "trickle-rate", 20, "messages per second in the trickle phase")
	flag.DurationVar(&o.trickleDuration, "trickle-duration", 10*time.Second, "length of the trickle phase")
	flag.DurationVar(&o.idleWindow, "idle-window", 20*time.Second, "how long idle requests are counted (use a multiple of the 20s long-poll wait)")
	flag.IntVar(&o.holConcurrency, "hol-concurrency", 10, "concurrency of the head-of-line check")
	flag.IntVar(&o.holFast, "hol-fast", 200, "fast messages behind the slow one")
	flag.DurationVar(&o.holSlow, "hol-slow", 5*time.Second, "how long the slow message's handler takes")
	flag.IntVar(&o.hbMessages, "heartbeat-messages", 1000, "messages held in flight in the heartbeat phase (also its concurrency)")
	flag.DurationVar(&o.hbVisibility, "heartbeat-visibility", 4*time.Second, "visibility timeout of the heartbeat phase (whole seconds)")
	flag.DurationVar(&o.hbHold, "heartbeat-hold", 10*time.Second, "how long the heartbeat phase holds its messages")
	flag.IntVar(&o.bigMessages, "big-messages", 1280, "messages in the big-message phase")
	flag.IntVar(&o.bigSize, "big-size", 64<<10, "body size in bytes of the big-message phase")
	flag.Uint64Var(&o.seed, "seed", 13, "seed of the fault proxy's decisions (latency and faults phases)")
	o.latencyRuns = latencyRuns{{5 * time.Millisecond, []int{10, 20}}, {15 * time.Millisecond, []int{10, 20, 64, 256}}}
	flag.Var(&o.latencyRuns, "latency-runs", "latency phase: added latency and the concurrencies to run at it, e.g. '5ms:10,20 15ms:10,64'; the last latency is also that of the slower handlers' runs")
	flag.IntVar(&o.latencyMessages, "latency-messages", 3000, "latency phase: backlog of each fast-handler run up to concurrency 39 (c/20 times it above, at most 4 times; a third of it for the 20ms handler and the slow-message runs)")
	flag.IntVar(&o.latencyHandlerConc, "latency-handler-concurrency", 10, "latency phase: concurrency of the 20ms, 1s and slow-message runs (the 1s run has 5 messages per slot)")
	flag.DurationVar(&o.latencySlow, "latency-slow", 30*time.Second, "latency phase: the slow message's handler time (0: no slow-message run)")
	flag.IntVar(&o.faultsMessages, "faults-messages", 1000, "faults phase: backlog of the brown-out runs and their baseline")
	flag.IntVar(&o.faults500Messages, "faults-500-messages", 4000, "faults phase: backlog of the 1% 500s runs and their baseline")
	o.faultsConcurrency = intList{10, 64}
	flag.Var(&o.faultsConcurrency, "faults-concurrency", "faults phase: concurrencies, comma-separated")
	flag.DurationVar(&o.faultsVisibility, "faults-visibility", 5*time.Second, "faults phase: the daemon's queue.visibility_timeout (a lost receive hides its messages this long)")
	flag.Func("faults-mix", "faults phase: rules KIND[@OPERATION]=RATE,... in place of the brown-out mix (which is "+
		faults.FormatRules(faultproxy.BrownOut(0).Rules)+"; delays up to a second), to see what one kind of fault costs", func(v string) error {
		r, err := faults.ParseRules(v)
		o.faultsMix = r
		return err
	})
	flag.Parse()
	if o.rawWorkers <= 0 {
		o.rawWorkers = pollers(o.concurrency)
	}
	for _, p := range strings.Split(o.phases, ",") {
		if !contains(allPhases, p) {
			fmt.Fprintf(os.Stderr, "bench: unknown phase %q (have %s)\n", p, strings.Join(allPhases, ","))
			os.Exit(2)
		}
	}
	if o.rounds < 1 {
		fmt.Fprintf(os.Stderr, "bench: -rounds must be at least 1\n")
		os.Exit(2)
	}
	if o.via != "binary" && o.via != "child" {
		fmt.Fprintf(os.Stderr, "bench: -via must be binary or child\n")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pollers is the number of receivers that can hold a long poll while the
// daemon is idle: one per batch of handler slots, plus one. The engine runs
// more pollers for its receive credit (worker.Config.Pollers), but an idle
// daemon has no credit and those wait without sending, so the idle budget
// is counted against these, the same as before receive credit existed.
func pollers(concurrency int) int { return min((concurrency+9)/10+1, concurrency) }

type bench struct {
	o       options
	emu     *fauxqs.Server
	aws     aws.Config
	admin   *sqs.Client // queue creation, seeding, waking; not metered
	self    string      // this program, for the engine child
	sinkURL string
	sinkPID int
	log     io.Writer

	recMu sync.Mutex
	rec   *sinkProc // the recording sink of the latency and faults phases
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	b := &bench{o: o, log: os.Stderr}
	want := func(p string) bool { return contains(strings.Split(o.phases, ","), p) }

	var err error
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	if (want("http") || want("exec") || want("big")) && o.via == "binary" || want("latency") || want("faults") {
		if o.binary, err = filepath.Abs(o.binary); err != nil {
			return err
		}
		if _, err := os.Stat(o.binary); err != nil {
			return fmt.Errorf("daemon binary: %w (run make build, or pass -binary)", err)
		}
		b.o.binary = o.binary
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}

	b.logf("starting fauxqs")
	b.emu, err = fauxqs.Launch()
	if err != nil {
		return err
	}
	defer b.emu.Close()
	b.aws = awsConfig(b.emu.Endpoint())
	b.admin = sqs.NewFromConfig(b.aws)

	sink, err := b.startSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	b.sinkURL, b.sinkPID = sink.url, sink.pid()
	defer func() {
		if b.rec != nil {
			b.rec.Close()
		}
	}()

	r := &results{
		Machine: machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Load: [2]float64{loadAvg()}},
		Config: config{
			Rounds: o.rounds, Messages: o.messages, ExecMessages: o.execMessages, Concurrency: o.concurrency,
			BodySize: o.bodySize, RawWorkers: o.rawWorkers, Via: o.via, Seed: o.seed,
		},
	}
	step := func(name string, f func() error) error {
		if !want(name) || ctx.Err() != nil {
			return ctx.Err()
		}
		t := time.Now()
		b.logf("phase %s", name)
		if err := f(); err != nil {
			return fmt.Errorf("phase %s: %w\nfauxqs stderr:\n%s", name, err, b.emu.StderrTail())
		}
		b.logf("phase %s done in %.1fs", name, time.Since(t).Seconds())
		return nil
	}
	pctx := ctx
	steps := []struct {
		name string
		f    func() error
	}{
		{"exec", func() (err error) { r.Exec, err = b.consumer(pctx, "exec", o.execMessages, o.bodySize); return }},
		{"big", func() (err error) { r.Big, err = b.consumer(pctx, "http", o.bigMessages, o.bigSize); return }},
		{"trickle", func() (err error) { r.Trickle, err = b.trickle(pctx); return }},
		{"latency", func() (err error) { r.Latency, err = b.latency(pctx); return }},
		{"faults", func() (err error) { r.Faults, err = b.faultsPhase(pctx); return }},
	}
	// The throughput phases run in rounds, each round all of them in turn,
	// and each reports its median run. On two cores shared with the
	// emulator one run's steady state lasts about a second and moves by
	// 10% from run to run; interleaving spreads whatever else the machine
	// does over all of them instead of one, and the median of each set is
	// compared with the median of the raw runs.
	if want("raw") && ctx.Err() == nil {
		// Warm the emulator up first (Node compiles its hot paths as they
		// run), so the first round is not measured cold.
		b.logf("warming the emulator up")
		if _, err := b.raw(pctx, max(o.messages/5, 1000), false); err != nil {
			return fmt.Errorf("warm-up: %w\nfauxqs stderr:\n%s", err, b.emu.StderrTail())
		}
	}
	var raws, gos, https, rawhttps []*throughput
	rounds := o.rounds
	if !want("raw") && !want("go") && !want("http") && !want("rawhttp") {
		rounds = 0
	}
	for round := 1; round <= rounds; round++ {
		b.logf("round %d of %d", round, o.rounds)
		for _, s := range []struct {
			name string
			f    func() error
		}{
			{"raw", func() error { return collect(&raws)(b.raw(pctx, o.messages, false)) }},
			{"go", func() error { return collect(&gos)(b.consumer(pctx, "go", o.messages, o.bodySize)) }},
			{"http", func() error { return collect(&https)(b.consumer(pctx, "http", o.messages, o.bodySize)) }},
			{"rawhttp", func() error { return collect(&rawhttps)(b.raw(pctx, o.messages, true)) }},
		} {
			if err := step(s.name, s.f); err != nil {
				return err
			}
		}
	}
	r.Raw, r.Go, r.HTTP, r.RawHTTP = median(raws), median(gos), median(https), median(rawhttps)
	for _, s := range steps {
		if err := step(s.name, s.f); err != nil {
			return err
		}
	}

	// idle runs alongside hol and heartbeat: it only waits, on its own queue.
	var idleDone chan error
	if want("idle") && ctx.Err() == nil {
		b.logf("phase idle (%s window, in the background)", o.idleWindow)
		idleDone = make(chan error, 1)
		go func() {
			var err error
			r.Idle, err = b.idle(pctx)
			idleDone <- err
		}()
	}
	for _, s := range []struct {
		name string
		f    func() error
	}{
		{"hol", func() (err error) { r.HOL, err = b.hol(pctx); return }},
		{"heartbeat", func() (err error) { r.Heartbeat, err = b.heartbeat(pctx); return }},
	} {
		if err := step(s.name, s.f); err != nil {
			return err
		}
	}
	if idleDone != nil {
		if err := <-idleDone; err != nil {
			return fmt.Errorf("phase idle: %w", err)
		}
		b.logf("phase idle done")
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	r.finish(time.Since(started))
	r.printTables(os.Stdout)
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if o.jsonOut != "" {
		if err := os.WriteFile(o.jsonOut, append(line, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s\n", line)
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// intList is a comma-separated list of integers flag.
type intList []int

func (l *intList) String() string {
	var parts []string
	for _, v := range *l {
		parts = append(parts, strconv.Itoa(v))
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// latencyRuns is the latency phase's plan: concurrencies per added latency.
type latencyRuns []struct {
	added       time.Duration
	concurrency []int
}

func (l *latencyRuns) String() string {
	var parts []string
	for _, r := range *l {
		c := intList(r.concurrency)
		parts = append(parts, r.added.String()+":"+c.String())
	}
	return strings.Join(parts, " ")
}

func (l *latencyRuns) Set(v string) error {
	*l = nil
	for _, e := range strings.Fields(v) {
		d, cs, ok := strings.Cut(e, ":")
		added, err := time.ParseDuration(d)
		if !ok || err != nil || added <= 0 {
			return fmt.Errorf("%q is not LATENCY:C,C,...", e)
		}
		var c intList
		if err := c.Set(cs); err != nil {
			return err
		}
		*l = append(*l, struct {
			added       time.Duration
			concurrency []int
		}{added, c})
	}
	if len(*l) == 0 {
		return fmt.Errorf("no runs")
	}
	return nil
}

// collect returns a function that appends a phase's result to *runs.
func collect(runs *[]*throughput) func(*throughput, error) error {
	return func(t *throughput, err error) error {
		if err == nil {
			*runs = append(*runs, t)
		}
		return err
	}
}

// median returns the run with the median throughput (the upper one of an
// even count), with every run's throughput listed in it; nil for none.
func median(runs []*throughput) *throughput {
	if len(runs) == 0 {
		return nil
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b *throughput) int { return cmp.Compare(a.MsgsPerSec, b.MsgsPerSec) })
	m := *sorted[len(sorted)/2]
	m.Runs = nil
	for _, t := range runs {
		m.Runs = append(m.Runs, t.MsgsPerSec)
	}
	return &m
}
