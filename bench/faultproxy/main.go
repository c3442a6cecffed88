package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faultproxy"
	"github.com/sqsfleet/sqsfleet/internal/faults"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("faultproxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4567", "address to listen on (port 0: a free one)")
	upstream := fs.String("upstream", "", "SQS endpoint to forward to, e.g. http://127.0.0.1:4566 (required)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the fault decisions (printed, to replay a run)")
	latency := fs.Duration("latency", 0, "added to every request")
	maxDelay := fs.Duration("max-delay", time.Second, "a delay fault holds a request for up to this long")
	op := fs.String("op", "", "limit the faults to this operation (X-Amz-Target action, e.g. ReceiveMessage); the latency applies to all")
	jsonOut := fs.String("json-out", "", "on exit, also write the counts as JSON to this file")
	rates := map[faults.Kind]*float64{}
	for k := faults.Throttle; k <= faults.Delay; k++ {
		flagName := map[faults.Kind]string{faults.ServerError: "server-error"}[k]
		if flagName == "" {
			flagName = k.String()
		}
		rates[k] = fs.Float64(flagName, 0, fmt.Sprintf("fraction of requests that get the %s fault, 0..1", k))
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "faultproxy: -upstream is required")
		return 2
	}
	cfg := faults.Config{Seed: *seed, Latency: *latency, MaxDelay: *maxDelay}
	for k := faults.Throttle; k <= faults.Delay; k++ {
		if r := *rates[k]; r != 0 {
			cfg.Rules = append(cfg.Rules, faults.Rule{Kind: k, Rate: r, Op: *op})
		}
	}
	s, err := faultproxy.Listen(*listen, faultproxy.Config{Upstream: *upstream, Faults: cfg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println(s.URL)
	fmt.Fprintf(os.Stderr, "faultproxy: %s -> %s, seed %d, latency %s, rules %+v\n", s.URL, *upstream, *seed, *latency, cfg.Rules)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = s.Close()
	st := s.Stats()
	fmt.Fprint(os.Stderr, st.Report())
	if *jsonOut != "" {
		b, err := json.MarshalIndent(st, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultproxy:", err)
			return 1
		}
	}
	return 0
}
