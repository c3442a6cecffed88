package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/sqsfleet/sqsfleet/health"
	"github.com/sqsfleet/sqsfleet/internal/config"
)

// runHealthcheck probes a running daemon. Exit 0 on 200, 1 otherwise, within
// 2 seconds: it is the Docker HEALTHCHECK and ECS health check command in an
// image that has no curl.
func runHealthcheck(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("healthcheck", pflag.ContinueOnError)
	u := fs.String("url", "", "URL to probe (default: /healthz on http.addr, on loopback)")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	fs.String(config.ConfigFlag, "", "YAML config file to read http.addr from")
	if err := parseFlags(fs, args, stderr, "sqsfleet healthcheck [--url URL] [--config FILE]"); err != nil {
		return err
	}
	target := *u
	if target == "" {
		cfg, err := config.Load(fs, config.ForHealthcheck)
		if err != nil {
			return usageError{err}
		}
		if cfg.HTTP.Addr == "" { // the listener is off: probe where it would be
			cfg.HTTP.Addr = config.Defaults().HTTP.Addr
		}
		target = health.URLFor(cfg.HTTP.Addr)
	}
	if err := health.Check(context.Background(), target, *timeout); err != nil {
		return codeError{code: exitFail, err: fmt.Errorf("unhealthy: %w", err)}
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
