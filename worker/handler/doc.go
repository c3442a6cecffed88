// Package handler holds the ready-made handlers of the daemon, adapters of
// worker.Handler to the outside world: Exec runs a command per message,
// HTTP POSTs each message to a local web application the way the Elastic
// Beanstalk worker daemon (sqsd) does, and Lambda invokes a Lambda function
// through the Lambda Runtime Interface Emulator.
//
// Batches: Batch gathers the engine's per-message calls into calls of a
// BatchHandler, in one format everywhere, Lambda's: the SQS event Lambda
// sends a function (EventSource.Event) and its partial batch response.
// Lambda, Exec and HTTP are BatchHandlers too (HandleBatch), and a Go
// program can write its own. Batch keeps the engine unaware of batches:
// each message still holds its own slot and gets its own outcome.
//
// They live outside package worker for the same reason package awssqs does:
// the engine knows only its small interfaces (worker.Handler,
// worker.Queue), and what sits behind them (a process, an HTTP endpoint, a
// Lambda runtime, a real SQS queue) is an adapter a program picks and wires
// in. A Go program embedding the engine can use these handlers, or write
// its own worker.Handler or BatchHandler instead.
package handler
