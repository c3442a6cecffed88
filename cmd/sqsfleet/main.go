// Command sqsfleet is the worker daemon. All wiring lives in internal/app.
package main

import (
	"os"

	"github.com/sqsfleet/sqsfleet/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
