package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/scaler"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// imdsProbe is how long scaler.fleet auto waits for the EC2 instance
// metadata service before deciding this is not EC2. IMDS answers in
// milliseconds where it exists; elsewhere the address does not answer at
// all, so anything longer only delays start-up off EC2.
const imdsProbe = 2 * time.Second

const scalerSynopsis = `sqsfleet scaler [--once] [--config FILE] [--KEY VALUE ...]
       sqsfleet scaler target --latency D [--processing-time D | --metrics-url URL] [--concurrency N]`

// runScaler is `sqsfleet scaler`: the scaler loop on its own, one small task
// per fleet, for users who prefer that to every daemon publishing.
func runScaler(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "target" {
		return runScalerTarget(args[1:], stdout, stderr)
	}
	fs := pflag.NewFlagSet("scaler", pflag.ContinueOnError)
	config.Flags(fs)
	once := fs.Bool("once", false, "compute and publish the metric once, print the value and exit")
	if err := parseFlags(fs, args, stderr, scalerSynopsis); err != nil {
		return err
	}
	cfg, err := config.Load(fs, config.ForScaler)
	if err != nil {
		return usageError{err}
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return usageError{err}
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	awsCfg, err := loadAWS(ctx, cfg.Queue.URL)
	if err != nil {
		return err
	}
	if cfg.Scaler.ScaleInProtection {
		log.Warn("scaler.scale_in_protection is ignored by `sqsfleet scaler`: it holds no messages; set it on the workers (sqsfleet run)")
	}
	sc := cfg.Scaler
	ecsNamed := sc.ECSCluster != "" && sc.ECSService != ""
	discovers := sc.Fleet == "asg" && sc.ASGName == "" || sc.Fleet == "ecs" && !ecsNamed ||
		sc.Fleet == "auto" && sc.ASGName == "" && !ecsNamed
	if discovers {
		// Discovery finds the group or service this process runs in, which
		// is the workers' only when it runs on a worker instance or task.
		log.Info("the fleet is discovered from where `sqsfleet scaler` runs; when it runs apart from the workers, set scaler.asg_name, or scaler.ecs_cluster and scaler.ecs_service, to theirs")
	}
	env := newScalerEnv(cfg, awsCfg, os.Getenv, log)
	loop, err := newScalerLoop(ctx, env, nil, scaler.NewMetrics(nil), log, stdout)
	if err != nil {
		return err
	}
	if *once {
		s, err := loop.Once(ctx)
		if s.Time.IsZero() { // not even computed
			return codeError{code: exitFail, err: err}
		}
		fmt.Fprintln(stdout, strconv.FormatFloat(s.Value, 'f', -1, 64))
		if err != nil {
			return codeError{code: exitFail, err: err}
		}
		log.Info("published", zap.Float64("backlog_per_instance", s.Value), zap.Int64("backlog", s.Backlog), zap.Int("fleet", s.Fleet))
		return nil
	}
	log.Info("sqsfleet scaler starting", zap.String("version", fullVersion()), zap.Any("config", cfg.Redacted()))
	if err := loop.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	loop.Stop()
	log.Info("sqsfleet scaler stopped")
	return nil
}

// startScaler runs what the scaler section asks for inside `sqsfleet run`:
// the metric loop when scaler.enabled is true, and scale-in protection when
// scaler.scale_in_protection is true (either, both or neither). Call it
// unconditionally once the engine exists, and call stop after the engine
// has drained: stop releases protection, which must outlive the drain.
//
// sqsAPI is the daemon's (metered) SQS client, so the scaler's
// GetQueueAttributes calls are counted like every other SQS request; nil
// makes an unmetered one from awsCfg. activity reports whether the engine
// holds messages; it is required only for scale-in protection. Nothing
// here fails later at run time: publishing and protection errors are
// logged and counted in sqsfleet_scaler_errors_total. An error returned
// here is a configuration problem.
func startScaler(ctx context.Context, cfg *config.Config, awsCfg aws.Config, sqsAPI scaler.QueueAttributesAPI,
	log *zap.Logger, reg prometheus.Registerer, activity scaler.Activity) (stop func(), err error) {
	sc := cfg.Scaler
	if !sc.Enabled && !sc.ScaleInProtection {
		return func() {}, nil
	}
	metrics := scaler.NewMetrics(reg)
	env := newScalerEnv(cfg, awsCfg, os.Getenv, log)
	var stops []func()
	stopAll := func() {
		// Protection last: it is released after the loop is gone, and the
		// caller has drained the engine before calling this.
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if sc.ScaleInProtection {
		if activity == nil {
			return nil, errors.New("scaler: scale-in protection needs the engine's activity")
		}
		g, err := newScalerGuard(env, activity, metrics, log)
		if err != nil {
			return nil, err
		}
		if err := g.Start(ctx); err != nil {
			return nil, err
		}
		stops = append(stops, g.Stop)
	}
	if sc.Enabled {
		loop, err := newScalerLoop(ctx, env, sqsAPI, metrics, log, os.Stdout)
		if err == nil {
			err = loop.Start(ctx)
		}
		if err != nil {
			stopAll()
			return nil, err
		}
		stops = append(stops, loop.Stop)
	}
	return stopAll, nil
}

// scalerEnv builds the AWS clients the scaler section needs and remembers
// what it discovers about where the daemon runs, so that the loop and the
// guard share one instance id, one group, one task.
type scalerEnv struct {
	cfg    *config.Config
	awsCfg aws.Config
	getenv func(string) string
	log    *zap.Logger

	instanceID scaler.Lookup[string]
	task       scaler.Lookup[scaler.TaskMetadata]
	asg        *autoscaling.Client
	ecs        *ecs.Client
	group      scaler.Lookup[string]
	service    scaler.Lookup[scaler.ECSService]
}

func newScalerEnv(cfg *config.Config, awsCfg aws.Config, getenv func(string) string, log *zap.Logger) *scalerEnv {
	e := &scalerEnv{cfg: cfg, awsCfg: awsCfg, getenv: getenv, log: log}
	sc := cfg.Scaler
	if sc.InstanceID != "" {
		e.instanceID = scaler.Fixed(sc.InstanceID)
	} else {
		e.instanceID = announce(log, "scaler: instance id from IMDS", scaler.InstanceID(imds.NewFromConfig(awsCfg)))
	}
	e.task = scaler.TaskMetadataFrom(nil, getenv(scaler.EnvECSMetadata))
	return e
}

// announce logs the first value a discovery lookup finds, so the log says
// which group or service the scaler sizes and protects.
func announce[T any](log *zap.Logger, msg string, f scaler.Lookup[T]) scaler.Lookup[T] {
	var once sync.Once
	return func(ctx context.Context) (T, error) {
		v, err := f(ctx)
		if err == nil {
			once.Do(func() { log.Info(msg, zap.Any("found", v)) })
		}
		return v, err
	}
}

func (e *scalerEnv) asgClient() *autoscaling.Client {
	if e.asg == nil {
		e.asg = autoscaling.NewFromConfig(e.awsCfg)
	}
	return e.asg
}

func (e *scalerEnv) ecsClient() *ecs.Client {
	if e.ecs == nil {
		e.ecs = ecs.NewFromConfig(e.awsCfg)
	}
	return e.ecs
}

func (e *scalerEnv) asgGroup() scaler.Lookup[string] {
	if e.group == nil {
		if name := e.cfg.Scaler.ASGName; name != "" {
			e.group = scaler.Fixed(name)
		} else {
			e.group = announce(e.log, "scaler: auto scaling group from DescribeAutoScalingInstances", scaler.ASGGroup(e.asgClient(), e.instanceID))
		}
	}
	return e.group
}

func (e *scalerEnv) ecsService() scaler.Lookup[scaler.ECSService] {
	if e.service == nil {
		e.service = announce(e.log, "scaler: ECS service", scaler.ECSServiceOf(e.cfg.Scaler.ECSCluster, e.cfg.Scaler.ECSService, e.task, e.ecsClient()))
	}
	return e.service
}

// fleetKind resolves scaler.fleet auto. Explicit settings win over probing:
// an ASG name or instance id means EC2, an ECS cluster or service means ECS.
func (e *scalerEnv) fleetKind(ctx context.Context) string {
	sc := e.cfg.Scaler
	switch {
	case sc.Fleet != "auto":
		return sc.Fleet
	case sc.ECSCluster != "" || sc.ECSService != "":
		return "ecs"
	case sc.ASGName != "" || sc.InstanceID != "":
		return "asg"
	}
	return scaler.DetectFleet(ctx, e.getenv, e.instanceID, imdsProbe)
}

func newScalerLoop(ctx context.Context, e *scalerEnv, sqsAPI scaler.QueueAttributesAPI, metrics *scaler.Metrics,
	log *zap.Logger, stdout io.Writer) (*scaler.Loop, error) {
	cfg, sc := e.cfg, e.cfg.Scaler
	if sqsAPI == nil {
		sqsAPI = awssqs.NewClient(e.awsCfg, nil)
	}
	queue, err := scaler.NewQueue(scaler.QueueConfig{
		API:             sqsAPI,
		URL:             cfg.Queue.URL,
		IncludeInFlight: sc.IncludeInFlight,
		IncludeDelayed:  sc.IncludeDelayed,
	})
	if err != nil {
		return nil, err
	}

	var (
		fleet   scaler.FleetSizer
		elector scaler.Elector
	)
	kind := e.fleetKind(ctx)
	switch kind {
	case "asg":
		f, err := scaler.NewASGFleet(scaler.ASGConfig{API: e.asgClient(), Group: e.asgGroup(), InstanceID: e.instanceID})
		if err != nil {
			return nil, err
		}
		fleet, elector = f, f
	case "ecs":
		f, err := scaler.NewECSFleet(scaler.ECSConfig{API: e.ecsClient(), Service: e.ecsService(), Tasks: e.ecsClient(), Task: e.task})
		if err != nil {
			return nil, err
		}
		fleet, elector = f, f
	default:
		size := sc.StaticSize
		if sc.Fleet == "auto" {
			size = 1
			log.Warn("scaler.fleet auto: found neither ECS nor EC2 instance metadata; the fleet counts as 1 instance (set scaler.fleet)")
		}
		fleet = scaler.StaticFleet(size)
	}
	if !sc.LeaderOnly {
		elector = nil
	} else if elector == nil {
		log.Warn("scaler.leader_only: a static fleet cannot elect a leader; every daemon publishes")
	}

	metric := scaler.Metric{
		Namespace:      sc.Namespace,
		Name:           sc.MetricName,
		HighResolution: sc.Interval < time.Minute,
	}
	if sc.DimensionName != "" {
		v := sc.DimensionValue
		if v == "" {
			v = awssqs.ParseQueueURL(cfg.Queue.URL).Name
		}
		metric.Dimensions = []scaler.Dimension{{Name: sc.DimensionName, Value: v}}
	}
	var pub scaler.Publisher
	switch sc.Publisher {
	case "cloudwatch":
		pub, err = scaler.NewCloudWatch(cloudwatch.NewFromConfig(e.awsCfg), metric)
	case "emf":
		pub, err = scaler.NewEMF(stdout, metric)
	default:
		pub = scaler.Discard
	}
	if err != nil {
		return nil, err
	}
	fields := []zap.Field{zap.String("fleet", kind), zap.String("publisher", sc.Publisher),
		zap.String("namespace", metric.Namespace), zap.String("metric", metric.Name),
		zap.Duration("interval", sc.Interval), zap.Bool("leader_only", elector != nil)}
	if len(metric.Dimensions) > 0 {
		fields = append(fields, zap.String("dimension", metric.Dimensions[0].Name+"="+metric.Dimensions[0].Value))
	}
	log.Info("scaler: publishing backlog per instance", fields...)
	return scaler.New(scaler.Config{
		Queue:     queue,
		Fleet:     fleet,
		Publisher: pub,
		Elector:   elector,
		Interval:  sc.Interval,
		Metrics:   metrics,
		Logger:    log,
	})
}

// newScalerGuard protects the ECS task when the agent endpoint is there,
// else the EC2 instance in its Auto Scaling group.
func newScalerGuard(e *scalerEnv, activity scaler.Activity, metrics *scaler.Metrics, log *zap.Logger) (*scaler.Guard, error) {
	var (
		p   scaler.Protector
		err error
	)
	if uri := e.getenv(scaler.EnvECSAgent); uri != "" {
		p, err = scaler.NewTaskProtector(uri, 0, nil)
		log.Info("scale-in protection: ECS task protection through the agent")
	} else {
		p, err = scaler.NewASGProtector(e.asgClient(), e.asgGroup(), e.instanceID)
		log.Info("scale-in protection: EC2 instance protection in the Auto Scaling group")
	}
	if err != nil {
		return nil, err
	}
	return scaler.NewGuard(scaler.GuardConfig{
		Protector: p,
		Activity:  activity,
		HoldDown:  e.cfg.Scaler.ProtectionHold,
		Metrics:   metrics,
		Logger:    log,
	})
}

const processingTimeHelp = `The daemon measures the processing time: the average handler time per
message is sqsfleet_handler_duration_seconds_sum divided by
sqsfleet_handler_duration_seconds_count on its /metrics, e.g. in Prometheus
  rate(sqsfleet_handler_duration_seconds_sum[1h]) / rate(sqsfleet_handler_duration_seconds_count[1h])
or read from a running worker (average since it started) with
  sqsfleet scaler target --latency 60s --metrics-url http://WORKER:8080/metrics`

// runScalerTarget is `sqsfleet scaler target`: the target value for the
// scaling policy. An instance that handles c messages at once, each in p
// seconds on average, works off a backlog of B messages in B*p/c seconds;
// keeping that under the acceptable latency L means B <= L/p*c.
func runScalerTarget(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("scaler target", pflag.ContinueOnError)
	latency := fs.Duration("latency", 0, "acceptable time a message may wait before its handler starts (required)")
	processing := fs.Duration("processing-time", 0, "average handler time per message")
	metricsURL := fs.String("metrics-url", "", "read the average handler time from a running worker's /metrics instead")
	concurrency := fs.Int("concurrency", config.Defaults().Worker.Concurrency, "messages one instance handles at once (its worker.concurrency)")
	if err := parseFlags(fs, args, stderr, "sqsfleet scaler target --latency D [--processing-time D | --metrics-url URL] [--concurrency N]"); err != nil {
		return err
	}
	if *latency <= 0 {
		return usageError{errors.New("sqsfleet scaler target: --latency is required and must be positive, e.g. --latency 60s")}
	}
	if *concurrency < 1 {
		return usageError{fmt.Errorf("sqsfleet scaler target: --concurrency must be at least 1, got %d", *concurrency)}
	}
	p := *processing
	source := "--processing-time"
	switch {
	case p < 0:
		return usageError{fmt.Errorf("sqsfleet scaler target: --processing-time must be positive, got %s", p)}
	case p > 0 && *metricsURL != "":
		return usageError{errors.New("sqsfleet scaler target: give --processing-time or --metrics-url, not both")}
	case p == 0 && *metricsURL != "":
		avg, n, err := averageHandlerTime(*metricsURL)
		if err != nil {
			return codeError{code: exitFail, err: fmt.Errorf("scaler target: %w", err)}
		}
		p, source = avg, fmt.Sprintf("%s (average of %d handler runs)", *metricsURL, n)
	case p == 0:
		return usageError{errors.New("sqsfleet scaler target: --processing-time is required, or --metrics-url\n\n" + processingTimeHelp)}
	}
	target := targetValue(*latency, p, *concurrency)
	fmt.Fprintln(stdout, strconv.FormatFloat(target, 'f', -1, 64))
	fmt.Fprintf(stderr, "target = latency %s / processing time %s per message (from %s) x %d messages at once per instance\n",
		*latency, p.Round(time.Millisecond), source, *concurrency)
	fmt.Fprintln(stderr, "Use it as the TargetValue of a target-tracking policy on the metric (default SQSFleet/BacklogPerInstance, statistic Average).")
	if target < 1 {
		fmt.Fprintln(stderr, "warning: the target is below 1: one message already takes longer than the latency allows, and no number of instances fixes that.")
	}
	return nil
}

// targetValue is latency / processing * concurrency, rounded down to two
// decimals: a lower target means more instances, the safe side.
func targetValue(latency, processing time.Duration, concurrency int) float64 {
	v := latency.Seconds() / processing.Seconds() * float64(concurrency)
	return math.Floor(v*100+1e-9) / 100
}

// averageHandlerTime reads a running worker's /metrics and returns the
// average of sqsfleet_handler_duration_seconds since it started.
func averageHandlerTime(metricsURL string) (time.Duration, int64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(metricsURL)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s: %s", metricsURL, resp.Status)
	}
	var sum, count float64
	var seen bool
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ = strings.Cut(name, "{")
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		var dst *float64
		switch name {
		case "sqsfleet_handler_duration_seconds_sum":
			dst = &sum
		case "sqsfleet_handler_duration_seconds_count":
			dst, seen = &count, true
		default:
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: bad value in %q", metricsURL, line)
		}
		*dst += v
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", metricsURL, err)
	}
	if !seen {
		return 0, 0, fmt.Errorf("%s has no sqsfleet_handler_duration_seconds: is it a sqsfleet worker's /metrics?", metricsURL)
	}
	if count == 0 {
		return 0, 0, fmt.Errorf("%s: the worker has handled no message yet", metricsURL)
	}
	return time.Duration(sum / count * float64(time.Second)), int64(count), nil
}
