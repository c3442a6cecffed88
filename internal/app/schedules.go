package app

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/sqsfleet/sqsfleet/internal/cronimport"
)

const schedulesUsage = "sqsfleet schedules import CRON_YAML"

// runSchedules is `sqsfleet schedules import cron.yaml`: it prints the
// Terraform queue module's schedules value for an Elastic Beanstalk
// cron.yaml. Anything in the file that does not map exactly is refused,
// with its line, and exits 2.
func runSchedules(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("schedules", pflag.ContinueOnError)
	fs.SetInterspersed(true)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nPrints the queue module's schedules value (HCL) for an Elastic Beanstalk cron.yaml (\"-\" reads stdin).\n", schedulesUsage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return usageError{errHelp}
		}
		return usageError{fmt.Errorf("sqsfleet schedules: %w", err)}
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "import" {
		return usageError{fmt.Errorf("usage: %s", schedulesUsage)}
	}
	if len(rest) != 2 {
		return usageError{fmt.Errorf("sqsfleet schedules import: want one cron.yaml file, got %d arguments\nusage: %s", len(rest)-1, schedulesUsage)}
	}
	file := rest[1]
	var src []byte
	var err error
	if file == "-" {
		src, err = io.ReadAll(os.Stdin)
		file = "stdin"
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet schedules import: %w", err)}
	}
	out, err := cronimport.Import(src, file)
	if err != nil {
		return usageError{fmt.Errorf("sqsfleet schedules import: %w", err)}
	}
	_, err = stdout.Write(out)
	return err
}
