package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/scaler"
	"github.com/sqsfleet/sqsfleet/scaler/sim"
)

type options struct {
	bin         string
	compress    float64
	handler     string
	concurrency int
	base, peak  float64       // real messages a second
	spikeAt     time.Duration // real
	spikeFor    time.Duration // real
	duration    time.Duration // real
	boot        time.Duration // real, added to the daemon's own start-up
	target      float64
	min, max    int
	chart       string
	tolerance   float64
	dump        bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "sqsfleet", "bin/sqsfleet", "the sqsfleet binary")
	flag.Float64Var(&o.compress, "compress", 12, "simulated seconds per real second (12: a minute in 5 s)")
	flag.StringVar(&o.handler, "handler", "sleep 0.5", "the daemons' exec handler command")
	flag.IntVar(&o.concurrency, "concurrency", 2, "worker.concurrency of each daemon")
	flag.Float64Var(&o.base, "base", 1, "arrivals before and after the spike, real messages a second")
	flag.Float64Var(&o.peak, "peak", 7, "arrivals during the spike, real messages a second")
	flag.DurationVar(&o.spikeAt, "spike-at", 20*time.Second, "real time the spike starts")
	flag.DurationVar(&o.spikeFor, "spike-for", 60*time.Second, "real length of the spike")
	flag.DurationVar(&o.duration, "duration", 180*time.Second, "real length of the run")
	flag.DurationVar(&o.boot, "boot", 3*time.Second, "real boot delay before a daemon starts")
	flag.Float64Var(&o.target, "target", 25, "the policy's target backlog per instance")
	flag.IntVar(&o.min, "min", 1, "minimum daemons")
	flag.IntVar(&o.max, "max", 4, "maximum daemons (two cores hold only a few)")
	flag.StringVar(&o.chart, "chart", "bin/fleet-demo.png", "draw real beside predicted to this PNG")
	flag.Float64Var(&o.tolerance, "tolerance", 0.2, "largest gap between the curves, as a share of each curve's peak")
	flag.BoolVar(&o.dump, "dump", false, "print every measured point beside the predicted one")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-demo:", err)
		os.Exit(1)
	}
}

// sample is one observation, in simulated seconds.
type sample struct {
	t                          float64
	backlog                    float64
	desired, inService, booted int
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", o.bin, err)
	}
	fmt.Println("==> starting the SQS emulator")
	srv, err := fauxqs.Launch()
	if err != nil {
		return err
	}
	defer srv.Close()
	client := srv.Client()

	// Calibrate: one daemon, a batch of messages, its own /metrics.
	calURL, err := createQueue(ctx, client, "fleet-demo-calibrate")
	if err != nil {
		return err
	}
	handler, proc, startup, err := calibrate(ctx, o, srv, client, calURL)
	if err != nil {
		return err
	}
	k := o.compress
	boot := o.boot + startup
	fmt.Printf("    handler time %s (sqsfleet_handler_duration_seconds), %s per message and slot (sqsfleet_handler_duration_seconds_count over time)\n",
		handler.Round(time.Millisecond), proc.Round(time.Millisecond))
	fmt.Printf("    start-up %s, boot %s real\n", startup.Round(time.Millisecond), boot.Round(time.Millisecond))

	// Predict, before the run, in simulated time.
	ks := func(d time.Duration) time.Duration { return time.Duration(float64(d) * k) }
	processing, err := sim.LogNormal(ks(proc), 0)
	if err != nil {
		return err
	}
	simCfg := sim.Config{
		Profile:     sim.Spike(o.base/k, o.peak/k, ks(o.spikeAt), ks(o.spikeFor)),
		Duration:    ks(o.duration),
		Record:      ks(500 * time.Millisecond),
		Processing:  processing,
		Concurrency: o.concurrency,
		BootTime:    ks(boot),
		Initial:     o.min,
		Interval:    time.Minute,
		Lag:         time.Minute,
		Policy:      sim.PolicyConfig{Kind: sim.ECS, Target: o.target, Min: o.min, Max: o.max},
	}
	pred, err := sim.Run(simCfg)
	if err != nil {
		return err
	}
	fmt.Printf("==> predicted: %d scale-outs, %d scale-ins, largest backlog %.0f, peak %d daemons\n",
		pred.Summary.ScaleOuts, pred.Summary.ScaleIns, pred.Summary.MaxBacklog, pred.Summary.PeakInstances)

	// The real run.
	url, err := createQueue(ctx, client, "fleet-demo")
	if err != nil {
		return err
	}
	real, actions, err := runFleet(ctx, o, srv, client, url, simCfg, boot)
	if err != nil {
		return err
	}
	fmt.Printf("==> real: %d scaling actions\n", len(actions))
	if o.dump {
		for _, r := range real {
			p := pred.Points[min(len(pred.Points)-1, max(0, int(r.t/pred.Config.Record.Seconds()+0.5)-1))]
			fmt.Printf("%8.1f real %5.0f %d | pred %8.1f %5.0f %d\n", r.t, r.backlog, r.inService, p.T, p.Backlog, p.InService)
		}
	}
	return report(o, pred, real)
}

func createQueue(ctx context.Context, c *sqs.Client, name string) (string, error) {
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": "30"}})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// daemon is one `sqsfleet run` process.
type daemon struct {
	cmd     *exec.Cmd
	done    chan struct{}
	metrics string
}

func startDaemon(o options, srv *fauxqs.Server, url string) (*daemon, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(o.bin, "run")
	cmd.Env = append(os.Environ(), srv.Env()...)
	cmd.Env = append(cmd.Env,
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec",
		"SQSFLEET_HANDLER_COMMAND="+o.handler,
		"SQSFLEET_WORKER_CONCURRENCY="+strconv.Itoa(o.concurrency),
		"SQSFLEET_HTTP_ADDR="+addr,
		"SQSFLEET_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, done: make(chan struct{}), metrics: "http://" + addr + "/metrics"}
	go func() { _ = cmd.Wait(); close(d.done) }()
	return d, nil
}

// ready waits until the daemon's /readyz answers 200.
func (d *daemon) ready(ctx context.Context) error {
	u := strings.TrimSuffix(d.metrics, "/metrics") + "/readyz"
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return errors.New("daemon exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond) // polling an HTTP endpoint with a deadline
	}
	return errors.New("daemon not ready within 30s")
}

// isReady asks /readyz once.
func (d *daemon) isReady() bool {
	resp, err := readyClient.Get(strings.TrimSuffix(d.metrics, "/metrics") + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

var readyClient = &http.Client{Timeout: 200 * time.Millisecond}

func (d *daemon) stop() { _ = d.cmd.Process.Signal(syscall.SIGTERM) }

func (d *daemon) wait(limit time.Duration) {
	select {
	case <-d.done:
	case <-time.After(limit):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// calibrate runs the largest fleet the demo will use over a backlog and
// returns, from the daemons' own /metrics, the average handler time and the
// time a handler slot spends per message (the handler plus receiving and
// deleting, with every daemon competing for the same cores), and how long a
// daemon took to become ready. The prediction uses the time per slot: it is
// what the fleet delivers.
func calibrate(ctx context.Context, o options, srv *fauxqs.Server, c *sqs.Client, url string) (handler, perSlot, startup time.Duration, err error) {
	fmt.Printf("==> measuring the handler time with %d daemons\n", o.max)
	var ds []*daemon
	defer func() {
		for _, d := range ds {
			d.stop()
		}
		for _, d := range ds {
			d.wait(30 * time.Second)
		}
	}()
	start := time.Now()
	for range o.max {
		d, err := startDaemon(o, srv, url)
		if err != nil {
			return 0, 0, 0, err
		}
		ds = append(ds, d)
	}
	for _, d := range ds {
		if err := d.ready(ctx); err != nil {
			return 0, 0, 0, err
		}
	}
	startup = time.Since(start) / time.Duration(o.max) // they start in parallel; an upper bound per daemon
	slots := o.max * o.concurrency
	n := 30 * slots
	if err := send(ctx, c, url, n); err != nil {
		return 0, 0, 0, err
	}
	total := func() (sum, count float64) {
		for _, d := range ds {
			s, c, err := handlerTime(d.metrics)
			if err == nil {
				sum += s
				count += c
			}
		}
		return sum, count
	}
	var t1, t2 time.Time
	var c1, c2 float64
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		sum, count := total()
		now := time.Now()
		if t1.IsZero() && count >= float64(n)/5 {
			t1, c1 = now, count
		}
		if count >= float64(n)*4/5 {
			t2, c2 = now, count
			for count < float64(n) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond) // polling /metrics with a deadline
				sum, count = total()
			}
			handler = time.Duration(sum / count * float64(time.Second))
			perSlot = time.Duration(float64(slots) * float64(t2.Sub(t1)) / (c2 - c1))
			return handler, perSlot, startup, nil
		}
		time.Sleep(50 * time.Millisecond) // polling /metrics with a deadline
	}
	return 0, 0, 0, errors.New("calibration: the daemons did not handle their messages within 2 minutes")
}

func handlerTime(metricsURL string) (sum, count float64, err error) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		name, _, _ = strings.Cut(name, "{")
		v, perr := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if perr != nil {
			continue
		}
		switch name {
		case "sqsfleet_handler_duration_seconds_sum":
			sum += v
		case "sqsfleet_handler_duration_seconds_count":
			count += v
		}
	}
	return sum, count, sc.Err()
}

func send(ctx context.Context, c *sqs.Client, url string, n int) error {
	for n > 0 {
		m := min(n, 10)
		entries := make([]types.SendMessageBatchRequestEntry, m)
		for i := range entries {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String("x")}
		}
		if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		n -= m
	}
	return nil
}

func visible(ctx context.Context, c *sqs.Client, url string) (float64, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], 64)
}

// member is one instance of the real fleet: booting until its daemon is
// started, then running until told to stop.
type member struct {
	startAt time.Time
	d       *daemon
	ready   bool // its /readyz has answered 200: it receives
}

// runFleet runs the real fleet and returns its samples (in simulated time)
// and its scaling actions.
func runFleet(ctx context.Context, o options, srv *fauxqs.Server, c *sqs.Client, url string, cfg sim.Config, boot time.Duration) ([]sample, []string, error) {
	k := o.compress
	pol, err := sim.NewPolicy(cfg.Policy)
	if err != nil {
		return nil, nil, err
	}
	queue, err := scaler.NewQueue(scaler.QueueConfig{API: c, URL: url})
	if err != nil {
		return nil, nil, err
	}
	fmt.Printf("==> running the fleet for %s (%s simulated), a simulated minute every %s\n",
		o.duration, time.Duration(float64(o.duration)*k), time.Duration(float64(time.Minute)/k))

	var (
		mu       sync.Mutex
		members  []*member
		draining []*daemon
		desired  = o.min
		actions  []string
	)
	start := time.Now()
	simNow := func() time.Duration { return time.Duration(float64(time.Since(start)) * k) }
	reconcile := func() error {
		// Called with mu held.
		now := time.Now()
		for _, m := range members {
			if m.d == nil && !now.Before(m.startAt) {
				d, err := startDaemon(o, srv, url)
				if err != nil {
					return err
				}
				m.d = d
			}
			if m.d != nil && !m.ready {
				m.ready = m.d.isReady()
			}
		}
		for len(members) < desired {
			members = append(members, &member{startAt: now.Add(o.boot)})
		}
		for len(members) > desired {
			m := members[len(members)-1]
			members = members[:len(members)-1]
			if m.d != nil {
				m.d.stop() // SIGTERM: it stops receiving and drains
				draining = append(draining, m.d)
			}
		}
		return nil
	}
	inService := func() (n, booted int) {
		for _, m := range members {
			if m.ready {
				n++
			}
		}
		return n, len(members) - n
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range members {
			if m.d != nil {
				m.d.stop()
				draining = append(draining, m.d)
			}
		}
		for _, d := range draining {
			d.wait(30 * time.Second)
		}
	}()
	mu.Lock()
	// The fleet starts with its minimum already running, as the simulation does.
	for range o.min {
		d, err := startDaemon(o, srv, url)
		if err != nil {
			mu.Unlock()
			return nil, nil, err
		}
		members = append(members, &member{d: d, ready: true})
	}
	mu.Unlock()
	for _, m := range members {
		if err := m.d.ready(ctx); err != nil {
			return nil, nil, err
		}
	}
	start = time.Now()

	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)

	// Traffic, in real time.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		prof := sim.Spike(o.base, o.peak, o.spikeAt, o.spikeFor)
		sent, owed, last := 0.0, 0.0, 0.0
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			t := time.Since(start).Seconds()
			owed += prof.Arrivals(last, t)
			last = t
			if n := int(owed - sent); n > 0 {
				if err := send(runCtx, c, url, n); err != nil && runCtx.Err() == nil {
					errc <- err
					return
				}
				sent += float64(n)
			}
		}
	}()

	// The policy: every compressed interval, the backlog as the scaler
	// reads it, one interval (the metric's lag) late.
	wg.Add(1)
	go func() {
		defer wg.Done()
		interval := time.Duration(float64(cfg.Interval) / k)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		lagged, err := queue.Backlog(runCtx)
		if err != nil {
			errc <- err
			return
		}
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			b, err := queue.Backlog(runCtx)
			if err != nil {
				if runCtx.Err() == nil {
					errc <- err
				}
				return
			}
			mu.Lock()
			n, _ := inService()
			value := math.Round(float64(lagged)/float64(max(1, n))*100) / 100
			lagged = b
			d := pol.Step(simNow(), value, true, sim.Capacity{Desired: desired})
			if d.Action != "" {
				a := fmt.Sprintf("%s %d -> %d (metric %g) at %s simulated", d.Action, desired, d.Desired, value, simNow().Round(time.Second))
				actions = append(actions, a)
				fmt.Println("    " + a)
				desired = d.Desired
			}
			err = reconcile()
			mu.Unlock()
			if err != nil {
				errc <- err
				return
			}
		}
	}()

	// Boots finishing (every 50 ms), and the observations (every record
	// interval).
	var samples []sample
	tick := time.NewTicker(time.Duration(float64(cfg.Record) / k))
	defer tick.Stop()
	boots := time.NewTicker(50 * time.Millisecond)
	defer boots.Stop()
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case err := <-errc:
			cancel()
			wg.Wait()
			return nil, nil, err
		case <-boots.C:
			mu.Lock()
			err := reconcile()
			mu.Unlock()
			if err != nil {
				return nil, nil, err
			}
			continue
		case <-tick.C:
		}
		v, err := visible(runCtx, c, url)
		if err != nil {
			if runCtx.Err() != nil {
				break
			}
			return nil, nil, err
		}
		mu.Lock()
		if err := reconcile(); err != nil {
			mu.Unlock()
			return nil, nil, err
		}
		n, booting := inService()
		samples = append(samples, sample{t: simNow().Seconds(), backlog: v, desired: desired, inService: n, booted: booting})
		mu.Unlock()
	}
	cancel()
	wg.Wait()
	return samples, actions, nil
}
