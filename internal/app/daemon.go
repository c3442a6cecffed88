package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sqsfleet/sqsfleet/health"
	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/scaler"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
	"github.com/sqsfleet/sqsfleet/worker/envelope"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

// parseFlags parses a subcommand's flags, turning --help and bad flags into
// usage errors (exit 0 and 2).
func parseFlags(fs *pflag.FlagSet, args []string, stderr io.Writer, synopsis string) error {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n%s", synopsis, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return usageError{errHelp}
		}
		return usageError{fmt.Errorf("sqsfleet: %w", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("sqsfleet: unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func loadConfig(fs *pflag.FlagSet) (*config.Config, error) {
	cfg, err := config.Load(fs, config.ForRun)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

func runDaemon(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	config.Flags(fs)
	if err := parseFlags(fs, args, stderr, "sqsfleet run [--config FILE] [--KEY VALUE ...]"); err != nil {
		return err
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return usageError{err}
	}
	defer func() { _ = log.Sync() }()

	// First signal: drain. Second: hurry. The daemon owns signal handling
	// so that SIGTERM from systemd or ECS starts the same drain as Ctrl-C.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	d := &daemon{cfg: cfg, log: log, startedAt: time.Now()}
	hurry := make(chan struct{})
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		log.Info("signal received; draining", zap.String("signal", s.String()))
		stop()
		if s, ok = <-sigs; ok {
			log.Warn("second signal; hurrying shutdown", zap.String("signal", s.String()))
			close(hurry)
		}
	}()
	return d.run(ctx, hurry)
}

type daemon struct {
	cfg       *config.Config
	log       *zap.Logger
	startedAt time.Time

	meter *awssqs.Meter
	// pool is published only once it is fully built: the health server
	// answers probes from before it exists, and an unsynchronised pointer
	// could let a probe see a half-built pool (on arm64, say).
	pool atomic.Pointer[worker.Pool]
}

// checkDLQKind refuses a dead-letter queue of the other kind. SQS allows a
// FIFO queue's messages only into a FIFO DLQ (order and group must
// survive), and a standard queue's only into a standard one; a mismatch
// would fail every dead-letter send.
func checkDLQKind(cfg *config.Config) error {
	fifo := strings.HasSuffix(cfg.Queue.URL, ".fifo")
	if cfg.Queue.DLQURL == "" || strings.HasSuffix(cfg.Queue.DLQURL, ".fifo") == fifo {
		return nil
	}
	kind := map[bool]string{true: "FIFO", false: "standard"}
	return usageError{fmt.Errorf("config: queue.dlq_url: the queue is %s, so its dead-letter queue must be %s too (a FIFO queue's URL ends in .fifo), got %s",
		kind[fifo], kind[fifo], redact.URL(cfg.Queue.DLQURL))}
}

func (d *daemon) run(ctx context.Context, hurry <-chan struct{}) error {
	cfg, log := d.cfg, d.log
	if err := checkDLQKind(cfg); err != nil {
		return err
	}
	log.Info("sqsfleet starting", zap.String("version", fullVersion()), zap.Any("config", cfg.Redacted()))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.meter = awssqs.NewMeter(reg)
	metrics := worker.NewMetrics(reg)

	handler, err := newHandler(cfg, os.Stderr)
	var envMode envelope.Mode
	if err == nil {
		envMode, err = envelope.ParseMode(cfg.Message.Envelope)
	}
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet: %w", err)}
	}
	if b, ok := handler.(interface{ Close() }); ok {
		// A batch handler's runs end with their calls; Close waits for the
		// last one, after the pool has stopped calling it.
		defer b.Close()
	}

	// The health server comes up before the SQS checks, so that an
	// orchestrator sees "starting" instead of a refused connection.
	var hs *health.Server
	if cfg.HTTP.Addr != "" {
		hs, err = health.New(health.Config{
			Addr:           cfg.HTTP.Addr,
			UnhealthyAfter: cfg.Health.UnhealthyAfter,
			Source:         health.SourceFunc(d.snapshot),
			Gatherer:       reg,
			Logger:         log,
			StartedAt:      d.startedAt,
		})
		if err == nil {
			err = hs.Start()
		}
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Stop(sctx)
		}()
		log.Info("health and metrics listening", zap.String("addr", hs.Addr()))
	}

	awsCfg, err := loadAWS(ctx, cfg.Queue.URL)
	if err != nil {
		return err
	}
	client := awssqs.NewClient(awsCfg, d.meter)
	queue := awssqs.NewQueue(client, cfg.Queue.URL, cfg.Queue.WaitTime)

	dlq, err := d.resolveDLQ(ctx, client)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}

	wrapped, wqueue := withS3Payload(cfg, awsCfg, handler, queue, log)
	// Outside the payload step, so that a pointer inside an SNS envelope is
	// resolved after unwrapping; configuration refuses an envelope for
	// batches, which get bodies as SQS delivered them (as Lambda does).
	wrapped = envelope.Wrap(envMode, wrapped)
	// Outermost, so that the span covers all of a delivery's processing.
	wrapped, stopTracing, err := withTracing(ctx, cfg, wrapped, log)
	if err != nil {
		return err
	}
	// Deferred here, so it runs after pool.Run has drained: no span is
	// still open when the last batch is flushed.
	defer stopTracing()
	pcfg := worker.Config{
		Queue:             wqueue,
		Handler:           wrapped,
		QueueURL:          cfg.Queue.URL,
		Concurrency:       cfg.Worker.Concurrency,
		BatchSize:         cfg.Queue.BatchSize,
		VisibilityTimeout: cfg.Queue.VisibilityTimeout,
		HandlerTimeout:    cfg.Handler.Timeout,
		MaxAttempts:       cfg.Queue.MaxAttempts,
		Backoff:           worker.Backoff{Base: cfg.Retry.BaseDelay, Max: cfg.Retry.MaxDelay},
		ShutdownTimeout:   cfg.Worker.ShutdownTimeout,
		ReceiveTimeout:    cfg.Queue.WaitTime + 20*time.Second,
		Logger:            log,
		Metrics:           metrics,
	}
	if dlq != nil {
		pcfg.DeadLetter = dlq
		// The failure record must fit next to the body within the DLQ's
		// own limit, which may be lower than the SQS maximum.
		if n, err := awssqs.MaxMessageSize(ctx, client, dlq.URL()); err != nil {
			log.Warn("cannot read the dead-letter queue's MaximumMessageSize; assuming the SQS maximum", zap.Error(err))
		} else {
			pcfg.MaxMessageSize = n
		}
	}
	pool, err := worker.New(pcfg)
	if err != nil {
		return err
	}
	d.pool.Store(pool)
	ran := make(chan struct{})
	defer close(ran)
	go func() {
		select {
		case <-hurry:
			pool.Hurry()
		case <-ran:
		}
	}()
	// The scaler (scaler.enabled) publishes backlog per instance, and the
	// guard (scaler.scale_in_protection) protects this instance while it
	// holds work. Both are no-ops when switched off.
	stopScaler, err := startScaler(ctx, cfg, awsCfg, client, log, reg,
		scaler.ActivityFunc(func() bool { return pool.Stats().InFlight > 0 }))
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet: %w", err)}
	}
	log.Info("receiving", zap.String("queue_url", redact.URL(cfg.Queue.URL)), zap.Int("concurrency", cfg.Worker.Concurrency))
	err = pool.Run(ctx)
	// After the drain, not before: stopping releases scale-in protection,
	// which must stay on until the last message is settled.
	stopScaler()
	return err
}

// snapshot feeds the health server. Until the pool is published the daemon
// is "starting": alive, not ready.
func (d *daemon) snapshot() health.Snapshot {
	s := health.Snapshot{}
	if d.meter != nil {
		s.LastSQSSuccess = d.meter.LastSuccess()
	}
	if p := d.pool.Load(); p != nil {
		st := p.Stats()
		s.Started = true
		s.Draining = st.Draining
		s.InFlight = st.InFlight
		s.Wedged = st.Wedged
	}
	return s
}

// resolveDLQ finds where failed messages go: queue.dlq_url, else the target
// of the queue's RedrivePolicy. SQS being unreachable at start is retried,
// not fatal: a fleet starting during an outage must come up by itself.
func (d *daemon) resolveDLQ(ctx context.Context, api awssqs.QueueAPI) (*awssqs.Queue, error) {
	cfg, log := d.cfg, d.log
	var red *awssqs.Redrive
	delay := worker.Backoff{Base: time.Second, Max: 30 * time.Second}
	for attempt := 1; ; attempt++ {
		var err error
		red, err = awssqs.LookupRedrive(ctx, api, cfg.Queue.URL)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if code := awssqs.ErrorCode(err); code == "AWS.SimpleQueueService.NonExistentQueue" || code == "QueueDoesNotExist" {
			return nil, codeError{code: exitFail, err: fmt.Errorf("queue.url %s: the queue does not exist", redact.URL(cfg.Queue.URL))}
		}
		wait := delay.Delay(attempt)
		log.Warn("cannot read the queue's attributes yet; retrying", zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(wait):
		}
	}
	// Receives that were not attempts (releases at shutdown, FIFO messages
	// released behind a failing one, possibly on other instances) raise the
	// receive count too; the daemon allows for them up to twice
	// max_attempts, and SQS must not redrive before that.
	if want := worker.MinMaxReceiveCount(cfg.Queue.MaxAttempts); red != nil && red.MaxReceiveCount > 0 && red.MaxReceiveCount < want {
		log.Warn("the queue's RedrivePolicy maxReceiveCount is below 2 x queue.max_attempts + 1: SQS may move messages to its DLQ before the daemon records why they failed",
			zap.Int("max_receive_count", red.MaxReceiveCount), zap.Int("max_attempts", cfg.Queue.MaxAttempts),
			zap.Int("want_at_least", want))
	}
	wait := d.cfg.Queue.WaitTime
	switch {
	case cfg.Queue.DLQURL != "":
		log.Info("dead-letter queue from queue.dlq_url", zap.String("dlq_url", redact.URL(cfg.Queue.DLQURL)))
		return awssqs.NewQueue(api.(awssqs.API), cfg.Queue.DLQURL, wait), nil
	case red != nil:
		log.Info("queue.dlq_url not set: dead-lettering to the target of the queue's RedrivePolicy",
			zap.String("dlq_url", redact.URL(red.DLQURL)), zap.Int("max_receive_count", red.MaxReceiveCount))
		return awssqs.NewQueue(api.(awssqs.API), red.DLQURL, wait), nil
	default:
		log.Warn("no dead-letter queue: queue.dlq_url is not set and the queue has no RedrivePolicy; messages that fail for good stay on the queue, retried every retry.max_delay")
		return nil, nil
	}
}

// loadAWS loads the SDK's standard configuration chain. When no region is
// configured it is taken from the queue URL (sqs.REGION.amazonaws.com), so
// a queue URL alone is enough on a laptop.
func loadAWS(ctx context.Context, queueURL string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, usageError{fmt.Errorf("sqsfleet: AWS configuration: %w", err)}
	}
	// The SDK keeps 10 idle connections per host; every poller, delete
	// flush and heartbeat beyond that opened a new connection (a TLS
	// handshake on real SQS) under load.
	// Built on the client the chain made (AWS_CA_BUNDLE, for one, lives
	// there), or on the SDK's default.
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok && cfg.HTTPClient == nil {
		bc, ok = awshttp.NewBuildableClient(), true
	}
	if ok {
		cfg.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = 200
			tr.MaxIdleConnsPerHost = 100
		})
	}
	cfg.HTTPClient = awssqs.GuardBodies(cfg.HTTPClient)
	if cfg.Region == "" {
		cfg.Region = awssqs.ParseQueueURL(queueURL).Region
	}
	if cfg.Region == "" {
		return aws.Config{}, usageError{errors.New("sqsfleet: no AWS region: set AWS_REGION or use a queue URL of the form https://sqs.REGION.amazonaws.com/...")}
	}
	return cfg, nil
}

func newHandler(cfg *config.Config, out io.Writer) (worker.Handler, error) {
	// An event names the queue's region; a queue URL that does not (an
	// emulator's) leaves it to the SDK's usual variable.
	src := handler.EventSource{Region: awssqs.ParseQueueURL(cfg.Queue.URL).Region}
	if src.Region == "" {
		src.Region = os.Getenv("AWS_REGION")
	}
	var (
		batch    handler.BatchHandler
		size     = cfg.Handler.BatchSize
		inFlight int
	)
	switch cfg.Handler.Type {
	case "exec":
		h, err := handler.NewExec(handler.ExecConfig{Command: cfg.Handler.Command, Stdout: out, Stderr: out, Source: src})
		if err != nil || size == 0 {
			return h, err
		}
		batch = h
	case "http":
		h, err := handler.NewHTTP(handler.HTTPConfig{
			URL:               cfg.Handler.URL,
			Concurrency:       cfg.Worker.Concurrency,
			PermanentStatuses: cfg.Handler.PermanentStatuses,
			Source:            src,
		})
		if err != nil || size == 0 {
			return h, err
		}
		batch = h
	case "lambda":
		h, err := handler.NewLambda(handler.LambdaConfig{URLs: cfg.LambdaURLs(), Source: src})
		if err != nil {
			return nil, err
		}
		if size == 0 {
			// Lambda's default batch size, within the slots.
			size = min(10, cfg.Worker.Concurrency)
		}
		batch, inFlight = h, h.Runtimes()
	default:
		return nil, fmt.Errorf("handler.type: unknown %q", cfg.Handler.Type)
	}
	return handler.NewBatch(handler.BatchConfig{
		Handler:     batch,
		Size:        size,
		Window:      cfg.Handler.BatchWindow,
		MaxBytes:    handler.MaxEventBytes,
		Source:      src,
		MaxInFlight: inFlight,
	})
}

func newLogger(cfg *config.Config, out io.Writer) (*zap.Logger, error) {
	c := cfg.Log
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("config: log.level: %w", err)
	}
	var enc zapcore.Encoder
	if c.Format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "time"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(out), level)
	return zap.New(core), nil
}
