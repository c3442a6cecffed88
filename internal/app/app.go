package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Version is stamped at build time with
// -ldflags "-X github.com/sqsfleet/sqsfleet/internal/app.Version=v1.2.3".
var Version = "dev"

// Exit codes. 2 is for bad input (flags, config) so that systemd and ECS can
// tell a misconfiguration from a runtime failure.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

// usageError marks an error caused by the user's input: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

const usage = `sqsfleet turns an Amazon SQS queue into an autoscaling fleet of workers.

Usage:
  sqsfleet run [--config FILE] [--KEY VALUE ...]   run the worker daemon
  sqsfleet scaler [--once] [--config FILE] ...      publish the backlog-per-instance metric
  sqsfleet scaler target --latency D ...            print the target value for the scaling policy
  sqsfleet simulate [--profile P] [--target V] ...   model the fleet under target tracking before deploying it
  sqsfleet healthcheck [--url URL]                  probe a running daemon's /healthz
  sqsfleet schedules import CRON_YAML               print the queue module's schedules for a Beanstalk cron.yaml
  sqsfleet dlq stats|show|redrive [--dlq URL] ...   why messages failed; send them back
  sqsfleet version                                  print the version
  sqsfleet COMMAND --help                           help for a command

Configuration comes from the YAML file, then SQSFLEET_* environment
variables, then flags. See configs/sqsfleet.yaml for every key.
`

// Main runs the command line args (without the program name) and returns the
// process exit code.
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	var err error
	switch args[0] {
	case "run":
		err = runDaemon(args[1:], stdout, stderr)
	case "healthcheck":
		err = runHealthcheck(args[1:], stdout, stderr)
	case "scaler":
		err = runScaler(args[1:], stdout, stderr)
	case "schedules":
		err = runSchedules(args[1:], stdout, stderr)
	case "dlq":
		err = runDLQ(args[1:], stdout, stderr)
	case "simulate":
		err = runSimulate(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "sqsfleet", fullVersion())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "sqsfleet: unknown command %q\n\n%s", args[0], usage)
		return exitConfig
	}
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		if !errors.Is(err, errHelp) {
			fmt.Fprintln(stderr, strings.TrimRight(err.Error(), "\n"))
			return exitConfig
		}
		return exitOK
	}
	var ce codeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintln(stderr, "sqsfleet:", ce.err)
		}
		return ce.code
	}
	fmt.Fprintln(stderr, "sqsfleet:", err)
	return exitFail
}

// codeError carries a specific exit code.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

var errHelp = errors.New("help requested")

func fullVersion() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
