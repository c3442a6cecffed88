package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
	"github.com/sqsfleet/sqsfleet/worker/handler"
)

// childFlag, as the first argument, runs this program as the engine child:
// the smallest Go program that embeds the engine, the way README's "Go:
// embed the engine" shows. The benchmark runs the in-process Go handler in
// such a child rather than in its own process, so that the child's CPU and
// memory, read from /proc like the daemon's, are the engine's alone and not
// the benchmark's.
const childFlag = "-engine-child"

// runChild consumes -queue-url with a no-op Go handler (or, for profiling
// the engine with them, the http or exec handler) until SIGTERM. It serves
// the engine's and the meter's metrics on a free loopback port, announced as
// the first line of stdout. The AWS configuration comes from the SDK's
// standard chain, as in the daemon.
func runChild(args []string) int {
	fs := flag.NewFlagSet("engine-child", flag.ContinueOnError)
	queueURL := fs.String("queue-url", "", "queue to consume")
	concurrency := fs.Int("concurrency", 10, "worker concurrency")
	kind := fs.String("handler", "go", "go (no-op), http or exec")
	handlerURL := fs.String("handler-url", "", "http handler: where to POST")
	command := fs.String("command", "true", "exec handler: command to run")
	waitTime := fs.Duration("wait-time", 20*time.Second, "long-poll wait")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile at exit to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "engine-child:", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fail(err)
	}
	// Failed attempts that the SDK then retried are invisible in the
	// metrics' totals; say what they were (stderr is shown with a phase's
	// anomalies).
	awsCfg.APIOptions = append(awsCfg.APIOptions, logFailedAttempts)
	if os.Getenv("BENCH_DEBUG") != "" {
		awsCfg.HTTPClient = countingClient{awshttp.NewBuildableClient()}
	}
	reg := prometheus.NewRegistry()
	meter := awssqs.NewMeter(reg)
	metrics := worker.NewMetrics(reg)
	client := awssqs.NewClient(awsCfg, meter)

	var h worker.Handler
	switch *kind {
	case "go":
		h = worker.HandlerFunc(func(context.Context, *worker.Message) error { return nil })
	case "http":
		h, err = handler.NewHTTP(handler.HTTPConfig{URL: *handlerURL, Concurrency: *concurrency})
	case "exec":
		h, err = handler.NewExec(handler.ExecConfig{Command: []string{*command}})
	default:
		err = fmt.Errorf("unknown handler %q", *kind)
	}
	if err != nil {
		return fail(err)
	}
	pool, err := worker.New(worker.Config{
		Queue:           awssqs.NewQueue(client, *queueURL, *waitTime),
		Handler:         h,
		QueueURL:        *queueURL,
		Concurrency:     *concurrency,
		ShutdownTimeout: 25 * time.Second,
		ReceiveTimeout:  *waitTime + 20*time.Second,
		Metrics:         metrics,
	})
	if err != nil {
		return fail(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("{\"metrics_addr\":%q}\n", ln.Addr().String())
	if err := pool.Run(ctx); err != nil {
		return fail(err)
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "engine-child: connections: %d new, %d reused\n", newConns.Load(), reusedConns.Load())
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return fail(err)
		}
	}
	return 0
}

// logFailedAttempts reports every SQS request attempt that failed.
func logFailedAttempts(st *middleware.Stack) error {
	return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("benchLogFailedAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "engine-child: %s attempt failed: %v\n", awsmiddleware.GetOperationName(ctx), err)
			}
			return out, md, err
		}), middleware.After)
}

var newConns, reusedConns atomic.Int64

// countingClient counts new and reused connections to SQS (BENCH_DEBUG).
type countingClient struct{ c *awshttp.BuildableClient }

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			reusedConns.Add(1)
		} else {
			newConns.Add(1)
		}
	}}))
	return c.c.Do(r)
}
