package main

import (
	"os"

	"github.com/sqsfleet/sqsfleet/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
