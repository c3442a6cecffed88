// Package handler holds the ready-made handlers of the daemon, adapters of
// worker.Handler to the outside world: Exec runs a command per message,
// HTTP POSTs each message to a local web application the way the Elastic
// Beanstalk worker daemon (sqsd) does.
//
// They live outside package worker for the same reason package awssqs does:
// the engine knows only its small interfaces (worker.Handler,
// worker.Queue), and what sits behind them (a process, an HTTP endpoint, a
// real SQS queue) is an adapter a program picks and wires in. A Go program
// embedding the engine can use these handlers, or write its own
// worker.Handler instead.
package handler
