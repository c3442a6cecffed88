package app

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/scaler/sim"
)

const simulateSynopsis = `sqsfleet simulate [--profile steady|spike|ramp|diurnal|bursts | --csv FILE] [--target V | --latency D] [flags]
       sqsfleet simulate --recommend --latency D [flags]`

// runSimulate is `sqsfleet simulate`: the fleet under target tracking,
// modelled (package scaler/sim), before it is deployed.
func runSimulate(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("simulate", pflag.ContinueOnError)
	fs.SortFlags = false
	// Traffic.
	profile := fs.String("profile", "spike", "traffic profile: steady, spike, ramp, diurnal or bursts")
	csvFile := fs.String("csv", "", "traffic from a CSV of arrivals per interval (rows offset,messages) instead of --profile")
	rate := fs.Float64("rate", 10, "base arrival rate, messages per second (the mean for diurnal, the start for ramp)")
	peak := fs.Float64("peak", 0, "peak rate of spike and bursts, end rate of ramp, messages per second (default 10 x --rate)")
	spikeAt := fs.Duration("spike-at", 10*time.Minute, "spike and ramp: when it starts")
	spikeFor := fs.Duration("spike-for", 10*time.Minute, "spike: how long it lasts; ramp: how long it takes")
	burstEvery := fs.Duration("burst-every", 30*time.Minute, "bursts: one every this long, the first at this time")
	burstFor := fs.Duration("burst-for", 2*time.Minute, "bursts: how long each lasts")
	amplitude := fs.Float64("amplitude", 0.8, "diurnal: swing around the mean as a share of it, 0..1")
	period := fs.Duration("cycle", 24*time.Hour, "diurnal: length of one cycle")
	peakAt := fs.Duration("peak-at", 14*time.Hour, "diurnal: when in the cycle the rate peaks")
	duration := fs.Duration("duration", 0, "simulated time (default 1h; 24h for diurnal; the recording's length for --csv)")
	step := fs.Duration("step", time.Second, "model time step, at most 1s")
	record := fs.Duration("record", 10*time.Second, "interval of the time series written by --out and drawn by --chart")
	// Workers.
	fleet := fs.String("fleet", "ec2", "what the policy scales: ec2 (Auto Scaling group) or ecs (service)")
	concurrency := fs.Int("concurrency", config.Defaults().Worker.Concurrency, "messages one instance handles at once (worker.concurrency)")
	processing := fs.Duration("processing-time", 0, "average handler time per message")
	spread := fs.Duration("processing-spread", 0, "standard deviation of the handler time (log-normal); 0: always --processing-time")
	samplesFile := fs.String("processing-samples", "", "file of measured handler times, one per line (seconds or a duration such as 250ms)")
	metricsURL := fs.String("metrics-url", "", "read the average handler time from a running worker's /metrics")
	boot := fs.Duration("boot-time", 0, "launch to first receive (default 120s for ec2, 45s for ecs)")
	protection := fs.Bool("protection", false, "scale-in protection while busy (scaler.scale_in_protection)")
	protectionHold := fs.Duration("protection-hold", 30*time.Second, "idle time before protection is released (scaler.protection_hold_down)")
	initial := fs.Int("initial", -1, "instances in service at the start (default --min)")
	initialBacklog := fs.Float64("initial-backlog", 0, "visible messages at the start")
	// The metric.
	interval := fs.Duration("interval", time.Minute, "scaler.interval: 10s, 30s or 60s")
	inFlight := fs.Bool("include-in-flight", false, "scaler.include_in_flight: count messages being handled")
	lag := fs.Duration("lag", time.Minute, "how far ApproximateNumberOfMessages lags behind the queue (0: none)")
	publisher := fs.String("publisher", "workers", "who publishes: workers (every daemon; none while the fleet is empty) or separate (one sqsfleet scaler task)")
	// The policy.
	target := fs.Float64("target", 0, "the policy's target value (default: the scaler target formula for --latency)")
	latency := fs.Duration("latency", 0, "latency objective: longest acceptable wait before a message starts")
	minCap := fs.Int("min", 1, "minimum capacity")
	maxCap := fs.Int("max", 100, "maximum capacity")
	alarmPeriod := fs.Duration("alarm-period", time.Minute, "period of the policy's alarms")
	high := fs.Int("high-datapoints", 3, "datapoints above the target that put the scale-out alarm in ALARM")
	low := fs.Int("low-datapoints", 15, "datapoints below --scale-in-ratio x target that put the scale-in alarm in ALARM")
	ratio := fs.Float64("scale-in-ratio", 0.9, "share of the target below which a datapoint counts for scale-in")
	warmup := fs.Duration("warmup", 300*time.Second, "ec2: instance warm-up after InService")
	outCool := fs.Duration("scale-out-cooldown", 300*time.Second, "ecs: scale-out cooldown")
	inCool := fs.Duration("scale-in-cooldown", 300*time.Second, "ecs: scale-in cooldown")
	fromZero := fs.Int("from-zero", 1, "capacity a scale-out sets from zero (AWS documents none)")
	maxStep := fs.Int("max-scale-in-step", 0, "most instances one scale-in removes (0: proportional, no cap)")
	// Costs and output.
	waitTime := fs.Duration("wait-time", 20*time.Second, "queue.wait_time: long-poll wait")
	visibility := fs.Duration("visibility-timeout", 30*time.Second, "queue.visibility_timeout (long handlers send heartbeats)")
	price := fs.Float64("price-per-million", 0.40, "SQS price per million requests (standard queue, us-east-1)")
	instancePrice := fs.Float64("instance-price", 0, "price of an instance-hour (0: instance cost not shown)")
	recommend := fs.Bool("recommend", false, "find the largest target that keeps the p99 wait within --latency")
	out := fs.String("out", "", "write the time series to FILE.csv or FILE.json")
	chart := fs.String("chart", "", "draw arrivals, backlog, instances and wait to FILE.png or FILE.svg")
	if err := parseFlags(fs, args, stderr, simulateSynopsis); err != nil {
		return err
	}
	bad := func(flag, format string, a ...any) error {
		return usageError{fmt.Errorf("sqsfleet simulate: --%s: %s", flag, fmt.Sprintf(format, a...))}
	}

	// Processing time first: the target formula needs it.
	var proc sim.Processing
	var err error
	procSource := ""
	switch {
	case *samplesFile != "" && (*processing != 0 || *metricsURL != ""):
		return bad("processing-samples", "give one of --processing-time, --processing-samples and --metrics-url")
	case *processing != 0 && *metricsURL != "":
		return bad("metrics-url", "give one of --processing-time, --processing-samples and --metrics-url")
	case *samplesFile != "":
		xs, err := readSamples(*samplesFile)
		if err != nil {
			return bad("processing-samples", "%v", err)
		}
		if proc, err = sim.Samples(xs); err != nil {
			return bad("processing-samples", "%v", err)
		}
		procSource = fmt.Sprintf("%d samples from %s", len(xs), *samplesFile)
	case *metricsURL != "":
		avg, n, err := averageHandlerTime(*metricsURL)
		if err != nil {
			return codeError{code: exitFail, err: fmt.Errorf("simulate: %w", err)}
		}
		if proc, err = sim.LogNormal(avg, *spread); err != nil {
			return bad("processing-spread", "%v", err)
		}
		procSource = fmt.Sprintf("average of %d handler runs at %s", n, *metricsURL)
	case *processing > 0:
		if *spread < 0 {
			return bad("processing-spread", "must not be negative, got %s", *spread)
		}
		if proc, err = sim.LogNormal(*processing, *spread); err != nil {
			return bad("processing-time", "%v", err)
		}
		procSource = "--processing-time"
		if *spread > 0 {
			procSource += fmt.Sprintf(", spread %s", *spread)
		}
	case *processing < 0:
		return bad("processing-time", "must be positive, got %s", *processing)
	default:
		return bad("processing-time", "required (or --processing-samples, or --metrics-url), e.g. --processing-time 2s")
	}
	if *concurrency < 1 {
		return bad("concurrency", "must be at least 1, got %d", *concurrency)
	}

	// Traffic.
	prof, length, err := simProfile(fs, *profile, *csvFile, *rate, *peak, *spikeAt, *spikeFor, *burstEvery, *burstFor, *amplitude, *period, *peakAt)
	if err != nil {
		return err
	}
	if !fs.Changed("duration") {
		*duration = length
	}
	if *duration <= 0 {
		return bad("duration", "must be positive, got %s", *duration)
	}

	// The policy.
	var kind sim.Kind
	switch *fleet {
	case "ec2", "asg":
		kind = sim.EC2
	case "ecs":
		kind = sim.ECS
	default:
		return bad("fleet", "want ec2 or ecs, got %q", *fleet)
	}
	if *latency < 0 {
		return bad("latency", "must be positive, got %s", *latency)
	}
	formula := 0.0
	if *latency > 0 {
		formula = targetValue(*latency, proc.Mean(), *concurrency)
	}
	switch {
	case *recommend && *latency == 0:
		return bad("latency", "--recommend needs the latency objective, e.g. --latency 60s")
	case fs.Changed("target") && !(*target > 0):
		return bad("target", "must be positive, got %v", *target)
	case *target == 0 && formula > 0:
		*target = formula
	case *target == 0 && !*recommend:
		return bad("target", "required, or --latency to use the scaler target formula")
	}
	if *recommend && *target == 0 {
		*target = formula
	}
	if !(*target > 0) {
		return bad("latency", "the formula gives %v: one message takes longer than the latency allows", formula)
	}
	switch {
	case *step <= 0 || *step > time.Second:
		return bad("step", "must be more than 0 and at most 1s, got %s", *step)
	case *record < *step:
		return bad("record", "must be at least --step, got %s", *record)
	case *interval != 10*time.Second && *interval != 30*time.Second && *interval != time.Minute:
		return bad("interval", "must be 10s, 30s or 60s, got %s", *interval)
	case *lag < 0:
		return bad("lag", "must not be negative, got %s", *lag)
	case *publisher != "workers" && *publisher != "separate":
		return bad("publisher", "want workers or separate, got %q", *publisher)
	case *boot < 0 || fs.Changed("boot-time") && *boot == 0:
		return bad("boot-time", "must be positive, got %s", *boot)
	case *protectionHold <= 0:
		return bad("protection-hold", "must be positive, got %s", *protectionHold)
	case *minCap < 0:
		return bad("min", "must not be negative, got %d", *minCap)
	case *maxCap < 1 || *maxCap < *minCap:
		return bad("max", "must be at least 1 and at least --min, got %d", *maxCap)
	case *alarmPeriod < time.Second:
		return bad("alarm-period", "must be at least 1s, got %s", *alarmPeriod)
	case *high < 1:
		return bad("high-datapoints", "must be at least 1, got %d", *high)
	case *low < 1:
		return bad("low-datapoints", "must be at least 1, got %d", *low)
	case !(*ratio > 0 && *ratio <= 1):
		return bad("scale-in-ratio", "must be in (0, 1], got %v", *ratio)
	case *warmup < 0:
		return bad("warmup", "must not be negative, got %s", *warmup)
	case *outCool < 0:
		return bad("scale-out-cooldown", "must not be negative, got %s", *outCool)
	case *inCool < 0:
		return bad("scale-in-cooldown", "must not be negative, got %s", *inCool)
	case *fromZero < 1:
		return bad("from-zero", "must be at least 1, got %d", *fromZero)
	case *maxStep < 0:
		return bad("max-scale-in-step", "must not be negative, got %d", *maxStep)
	case *waitTime <= 0 || *waitTime > 20*time.Second:
		return bad("wait-time", "must be in (0, 20s], got %s", *waitTime)
	case *visibility <= 0:
		return bad("visibility-timeout", "must be positive, got %s", *visibility)
	case *price < 0:
		return bad("price-per-million", "must not be negative, got %v", *price)
	case *instancePrice < 0:
		return bad("instance-price", "must not be negative, got %v", *instancePrice)
	case *initialBacklog < 0:
		return bad("initial-backlog", "must not be negative, got %v", *initialBacklog)
	case *initial < -1:
		return bad("initial", "must not be negative, got %d", *initial)
	}
	if *out != "" {
		if err := sim.SeriesFormat(*out); err != nil {
			return bad("out", "%v", err)
		}
	}
	if *chart != "" {
		if err := sim.ChartFormat(*chart); err != nil {
			return bad("chart", "%v", err)
		}
	}
	lagD := *lag
	if lagD == 0 {
		lagD = -1 // none
	}
	cfg := sim.Config{
		Profile: prof, Duration: *duration, Step: *step, Record: *record,
		Processing: proc, Concurrency: *concurrency, BootTime: *boot,
		Protection: *protection, ProtectionHold: *protectionHold,
		Initial: max(0, *initial), InitialBacklog: *initialBacklog,
		Publisher: sim.Publisher(*publisher), Interval: *interval, IncludeInFlight: *inFlight, Lag: lagD,
		WaitTime: *waitTime, VisibilityTimeout: *visibility, PricePerMillion: *price, InstanceHourPrice: *instancePrice,
		Policy: sim.PolicyConfig{
			Kind: kind, Target: *target, Period: *alarmPeriod, HighDatapoints: *high, LowDatapoints: *low,
			LowRatio: *ratio, Warmup: none(*warmup), ScaleOutCooldown: none(*outCool), ScaleInCooldown: none(*inCool),
			Min: *minCap, Max: *maxCap, FromZero: *fromZero, MaxScaleInStep: *maxStep,
		},
	}
	if *initial < 0 {
		cfg.Initial = *minCap
	}

	if *recommend {
		return simulateRecommend(stdout, cfg, *latency, formula, procSource, *out, *chart)
	}
	res, err := sim.Run(cfg)
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet simulate: %w", err)}
	}
	printSimSummary(stdout, res, procSource, *latency, formula)
	return writeSimFiles(stdout, res, *out, *chart)
}

// none turns an explicit 0 into the model's "none" (its zero means the
// default).
func none(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func simProfile(fs *pflag.FlagSet, name, csvFile string, rate, peak float64, at, length, every, burst time.Duration,
	amplitude float64, cycle, peakAt time.Duration) (sim.Profile, time.Duration, error) {
	bad := func(flag, format string, a ...any) error {
		return usageError{fmt.Errorf("sqsfleet simulate: --%s: %s", flag, fmt.Sprintf(format, a...))}
	}
	if csvFile != "" {
		if fs.Changed("profile") {
			return nil, 0, bad("csv", "give --csv or --profile, not both")
		}
		f, err := os.Open(csvFile)
		if err != nil {
			return nil, 0, bad("csv", "%v", err)
		}
		defer f.Close()
		r, err := sim.ReadCSV(csvFile, f)
		if err != nil {
			return nil, 0, bad("csv", "%v", err)
		}
		return r, r.Length(), nil
	}
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil, 0, bad("rate", "must be a non-negative number, got %v", rate)
	}
	if !fs.Changed("peak") {
		peak = 10 * rate
	}
	if peak < 0 || math.IsNaN(peak) || math.IsInf(peak, 0) {
		return nil, 0, bad("peak", "must be a non-negative number, got %v", peak)
	}
	switch name {
	case "steady":
		return sim.Steady(rate), time.Hour, nil
	case "spike", "ramp":
		if at < 0 {
			return nil, 0, bad("spike-at", "must not be negative, got %s", at)
		}
		if length <= 0 {
			return nil, 0, bad("spike-for", "must be positive, got %s", length)
		}
		if name == "spike" {
			return sim.Spike(rate, peak, at, length), time.Hour, nil
		}
		return sim.Ramp(rate, peak, at, length), time.Hour, nil
	case "bursts":
		if every <= 0 {
			return nil, 0, bad("burst-every", "must be positive, got %s", every)
		}
		if burst <= 0 || burst > every {
			return nil, 0, bad("burst-for", "must be positive and at most --burst-every, got %s", burst)
		}
		return sim.Bursts(rate, peak, every, burst), time.Hour, nil
	case "diurnal":
		if amplitude < 0 || amplitude > 1 {
			return nil, 0, bad("amplitude", "must be in 0..1, got %v", amplitude)
		}
		if cycle <= 0 {
			return nil, 0, bad("cycle", "must be positive, got %s", cycle)
		}
		return sim.Diurnal(rate, amplitude, cycle, peakAt), cycle, nil
	}
	return nil, 0, bad("profile", "want steady, spike, ramp, diurnal or bursts, got %q", name)
}

// readSamples reads handler times, one a line: seconds or a Go duration.
func readSamples(name string) ([]float64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var xs []float64
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d, derr := time.ParseDuration(s)
			if derr != nil {
				return nil, fmt.Errorf("%s:%d: %q is neither seconds nor a duration", name, line, s)
			}
			v = d.Seconds()
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s:%d: %q: a handler time must be positive", name, line, s)
		}
		xs = append(xs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(xs) == 0 {
		return nil, errors.New(name + ": no samples")
	}
	return xs, nil
}

func printSimSummary(w io.Writer, res *sim.Result, procSource string, latency time.Duration, formula float64) {
	c, s := res.Config, res.Summary
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "traffic\t%s, %s, step %s\n", c.Profile.Name(), c.Duration, c.Step)
	extra := fmt.Sprintf("warm-up %s", c.Policy.Warmup)
	if c.Policy.Kind == sim.ECS {
		extra = fmt.Sprintf("cooldowns out %s, in %s", c.Policy.ScaleOutCooldown, c.Policy.ScaleInCooldown)
	}
	fmt.Fprintf(tw, "fleet\t%s, min %d, max %d, boot %s, %s, concurrency %d, processing mean %s (%s)\n",
		c.Policy.Kind, c.Policy.Min, c.Policy.Max, c.BootTime, extra, c.Concurrency, c.Processing.Mean().Round(time.Millisecond), procSource)
	tgt := fmt.Sprintf("%g", c.Policy.Target)
	if formula > 0 {
		tgt += fmt.Sprintf(" (scaler target formula for --latency %s: %g)", latency, formula)
	}
	fmt.Fprintf(tw, "target\t%s; metric every %s by %s, lag %s\n", tgt, c.Interval, c.Publisher, c.Lag)
	fmt.Fprintf(tw, "messages\tarrived %.0f, started %.0f, still waiting at the end %.0f\n", s.Arrived, s.Started, s.Unstarted)
	meets := ""
	if latency > 0 {
		meets = fmt.Sprintf(" (objective %s: %s)", latency, map[bool]string{true: "met", false: "NOT met"}[s.P99Wait <= latency])
	}
	fmt.Fprintf(tw, "wait\tp99 %s, longest %s, mean %s before a message starts%s\n", s.P99Wait, s.MaxWait, s.MeanWait.Round(time.Second), meets)
	fmt.Fprintf(tw, "backlog\tlargest %.0f messages\n", s.MaxBacklog)
	fmt.Fprintf(tw, "instances\tpeak %d, %.2f instance-hours", s.PeakInstances, s.InstanceHours)
	if s.InstanceCost > 0 {
		fmt.Fprintf(tw, " ($%.2f)", s.InstanceCost)
	}
	fmt.Fprintf(tw, "\nscaling\t%d scale-outs, %d scale-ins", s.ScaleOuts, s.ScaleIns)
	if s.MissingPeriods > 0 {
		fmt.Fprintf(tw, ", %d alarm periods without a datapoint (no action)", s.MissingPeriods)
	}
	fmt.Fprintf(tw, "\nsqs requests\t%.0f ($%.4f at $%g per million)\n", s.Requests, s.RequestCost, c.PricePerMillion)
	tw.Flush()
	const show = 12
	for i, a := range res.Actions {
		if i == show {
			fmt.Fprintf(w, "  ... %d more\n", len(res.Actions)-show)
			break
		}
		fmt.Fprintf(w, "  %s  %-9s %d -> %d (metric %g)\n", time.Duration(a.T*float64(time.Second)), a.Kind, a.From, a.To, a.Metric)
	}
}

func writeSimFiles(stdout io.Writer, res *sim.Result, out, chart string) error {
	write := func(name string, f func(string, io.Writer) error) error {
		fh, err := os.Create(name)
		if err != nil {
			return codeError{code: exitFail, err: err}
		}
		if err := f(name, fh); err != nil {
			fh.Close()
			return codeError{code: exitFail, err: fmt.Errorf("%s: %w", name, err)}
		}
		if err := fh.Close(); err != nil {
			return codeError{code: exitFail, err: err}
		}
		fmt.Fprintf(stdout, "wrote %s\n", name)
		return nil
	}
	if out != "" {
		if err := write(out, res.WriteSeries); err != nil {
			return err
		}
	}
	if chart != "" {
		if err := write(chart, res.WriteChart); err != nil {
			return err
		}
	}
	return nil
}

func simulateRecommend(w io.Writer, cfg sim.Config, latency time.Duration, formula float64, procSource, out, chart string) error {
	cands, best, err := sim.Recommend(cfg, latency, sim.Candidates(formula))
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet simulate: %w", err)}
	}
	fmt.Fprintf(w, "traffic %s over %s; %s fleet, processing mean %s (%s), concurrency %d\n",
		cfg.Profile.Name(), cfg.Duration, cfg.Policy.Kind, cfg.Processing.Mean().Round(time.Millisecond), procSource, cfg.Concurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tp99 wait\tlongest wait\tpeak\tinstance-hours\tsqs cost\tcost\twithin %s\t\n", latency)
	for _, c := range cands {
		s := c.Summary
		mark := "no"
		if c.Meets {
			mark = "yes"
		}
		if c.Target == best {
			mark += " <-"
		}
		fmt.Fprintf(tw, "%g\t%s\t%s\t%d\t%.2f\t$%.4f\t$%.4f\t%s\t\n", c.Target, s.P99Wait, s.MaxWait, s.PeakInstances,
			s.InstanceHours, s.RequestCost, s.RequestCost+s.InstanceCost, mark)
	}
	tw.Flush()
	if cfg.InstanceHourPrice == 0 {
		fmt.Fprintln(w, "(cost is SQS requests only: give --instance-price to add the instances)")
	}
	if best == 0 {
		fmt.Fprintf(w, "no target keeps the p99 wait within %s for this traffic: the policy's reaction time (alarm datapoints, metric lag, boot) exceeds it; raise --min, shorten --boot-time, or use --interval 10s with --alarm-period 10s\n", latency)
		fmt.Fprintf(w, "the scaler target formula gives %g\n", formula)
		return nil
	}
	fmt.Fprintf(w, "recommended target: %g (the largest keeping the p99 wait within %s); the scaler target formula gives %g\n", best, latency, formula)
	if out == "" && chart == "" {
		return nil
	}
	cfg.Policy.Target = best
	res, err := sim.Run(cfg)
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet simulate: %w", err)}
	}
	return writeSimFiles(w, res, out, chart)
}
