package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/internal/dlq"
	"github.com/sqsfleet/sqsfleet/internal/redact"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// exitInterrupted is the shell's code for a command stopped by SIGINT
// (128 + 2): a redrive stopped by Ctrl-C prints its summary and exits so,
// so that a script can tell it from one that finished.
const exitInterrupted = 130

const dlqSynopsis = `sqsfleet dlq stats   [--dlq URL] [--limit N] [--max-time D]
       sqsfleet dlq show    [--dlq URL] [--limit N] [--reason R] [--match REGEX] [--max-time D]
       sqsfleet dlq redrive [--dlq URL] [--reason R] [--match REGEX] [--to URL] [--rate N/s] [--limit N] [--dry-run] [--max-time D]

The DLQ is --dlq, else queue.dlq_url, else the target of queue.url's
RedrivePolicy (from --config FILE, SQSFLEET_* variables or --queue.url).
Reasons: ` + "%s"

// runDLQ is `sqsfleet dlq`.
func runDLQ(args []string, stdout, stderr io.Writer) error {
	synopsis := fmt.Sprintf(dlqSynopsis, dlq.ReasonNames())
	if len(args) == 0 {
		return usageError{fmt.Errorf("Usage: %s", synopsis)}
	}
	sub := args[0]
	switch sub {
	case "stats", "show", "redrive":
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, "Usage: %s\n", synopsis)
		return nil
	default:
		return usageError{fmt.Errorf("sqsfleet dlq: unknown command %q\n\nUsage: %s", sub, synopsis)}
	}
	fs := pflag.NewFlagSet("dlq "+sub, pflag.ContinueOnError)
	config.Flags(fs)
	dlqURL := fs.String("dlq", "", "the dead-letter queue's URL (default: queue.dlq_url, else the target of queue.url's RedrivePolicy)")
	maxTime := fs.Duration("max-time", 0, "how long the scan may run; examined messages stay hidden until then plus 30s at most (default 1m, redrive 15m)")
	limitUsage := map[string]string{
		"stats":   "examine at most N messages; a larger DLQ is sampled (default 1000)",
		"show":    "print at most N messages (default 100)",
		"redrive": "move at most N messages (default 0: no limit)",
	}[sub]
	limit := fs.Int("limit", 0, limitUsage)
	var reasons []string
	var match, to, rate string
	var dryRun bool
	if sub != "stats" {
		fs.StringSliceVar(&reasons, "reason", nil, "only messages with this reason (repeatable, or comma-separated): "+dlq.ReasonNames())
		fs.StringVar(&match, "match", "", "only messages whose error text or body matches this regular expression (Go syntax)")
	}
	if sub == "redrive" {
		fs.StringVar(&to, "to", "", "send every selected message to this queue instead of its source queue")
		fs.StringVar(&rate, "rate", "", "send at most N messages per second, e.g. 10/s (default: no limit)")
		fs.BoolVar(&dryRun, "dry-run", false, "select and report what would move; send, delete and change nothing")
	}
	if err := parseFlags(fs, args[1:], stderr, synopsis); err != nil {
		return err
	}
	if *limit < 0 {
		return usageError{fmt.Errorf("sqsfleet dlq %s: --limit must not be negative, got %d", sub, *limit)}
	}
	if *maxTime < 0 || *maxTime > 11*time.Hour {
		return usageError{fmt.Errorf("sqsfleet dlq %s: --max-time must be between 0 and 11h (SQS hides a message at most 12h), got %s", sub, *maxTime)}
	}
	filter := dlq.Filter{Reasons: reasons}
	if err := dlq.CheckReasons(reasons); err != nil {
		return usageError{fmt.Errorf("sqsfleet dlq %s: --reason: %w", sub, err)}
	}
	if match != "" {
		re, err := regexp.Compile(match)
		if err != nil {
			return usageError{fmt.Errorf("sqsfleet dlq %s: --match: %w", sub, err)}
		}
		filter.Match = re
	}
	var perSecond float64
	if rate != "" {
		r, err := dlq.ParseRate(rate)
		if err != nil {
			return usageError{fmt.Errorf("sqsfleet dlq %s: %w", sub, err)}
		}
		perSecond = r
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := openDLQ(ctx, fs, *dlqURL)
	if err != nil {
		return err
	}
	bounds := dlq.Bounds{MaxTime: *maxTime}
	switch sub {
	case "stats":
		st, err := d.Stats(ctx, dlq.StatsOptions{Limit: *limit, Bounds: bounds})
		if st != nil {
			if werr := st.Write(stdout); err == nil {
				err = werr
			}
		}
		if err == nil && st.Stop == dlq.StopInterrupted {
			return codeError{code: exitInterrupted}
		}
		return err
	case "show":
		res, err := d.Show(ctx, dlq.ShowOptions{Limit: *limit, Filter: filter, Bounds: bounds}, stdout)
		fmt.Fprintf(stderr, "shown %d of %d message(s) examined (%s); every one released, none deleted\n", res.Shown, res.Examined, res.Stop)
		if err == nil && res.Stop == dlq.StopInterrupted {
			return codeError{code: exitInterrupted}
		}
		return err
	}
	info := d.Info()
	progress := dlq.NewProgress(stderr, isTerminal(stderr), info.Messages+info.Delayed)
	sum, err := d.Redrive(ctx, dlq.RedriveOptions{
		Filter: filter, To: to, Rate: perSecond, Limit: *limit, DryRun: dryRun, Progress: progress, Bounds: bounds,
	})
	var ie *dlq.InputError
	if errors.As(err, &ie) {
		return usageError{fmt.Errorf("sqsfleet dlq redrive: %w", err)}
	}
	if sum != nil {
		if werr := sum.Write(stdout); err == nil {
			err = werr
		}
	}
	switch {
	case err != nil:
		return err
	case sum.Interrupted():
		return codeError{code: exitInterrupted}
	case sum.FailedCount() > 0:
		return codeError{code: exitFail}
	}
	return nil
}

// openDLQ finds the DLQ as the daemon does (--dlq, else queue.dlq_url, else
// the queue's RedrivePolicy target) and opens it.
func openDLQ(ctx context.Context, fs *pflag.FlagSet, flagURL string) (*dlq.DLQ, error) {
	url := flagURL
	var queueURL string
	if url == "" {
		cfg, err := config.Load(fs, config.ForScaler)
		if err != nil {
			return nil, usageError{fmt.Errorf("sqsfleet dlq: pass --dlq URL, or configure queue.dlq_url or queue.url: %w", err)}
		}
		url, queueURL = cfg.Queue.DLQURL, cfg.Queue.URL
	}
	awsCfg, err := loadAWS(ctx, firstNonEmpty(url, queueURL))
	if err != nil {
		return nil, err
	}
	client := awssqs.NewClient(awsCfg, nil)
	if url == "" {
		red, err := awssqs.LookupRedrive(ctx, client, queueURL)
		switch {
		case awssqs.IsNoSuchQueue(err):
			return nil, usageError{fmt.Errorf("sqsfleet dlq: queue.url %s: no such queue", redact.URL(queueURL))}
		case err != nil:
			return nil, err
		case red == nil:
			return nil, usageError{fmt.Errorf("sqsfleet dlq: queue.dlq_url is not set and queue.url %s has no RedrivePolicy: pass --dlq URL", redact.URL(queueURL))}
		}
		url = red.DLQURL
	}
	d, err := dlq.Open(ctx, client, url)
	var ie *dlq.InputError
	if errors.As(err, &ie) {
		return nil, usageError{fmt.Errorf("sqsfleet dlq: %w", err)}
	}
	return d, err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// isTerminal reports whether w is a terminal, where a progress bar can be
// redrawn in place; a pipe or a file gets plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
