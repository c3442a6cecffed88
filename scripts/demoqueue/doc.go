// Command demoqueue is the demo's stand-in for the AWS CLI, which a fresh
// machine does not have: it creates the demo queue and its DLQ on the local
// emulator, sends sample messages, and waits for and prints the outcome.
//
//	go run ./scripts/demoqueue setup   -endpoint URL            prints the queue URL
//	go run ./scripts/demoqueue send    -endpoint URL -queue URL BODY...
//	go run ./scripts/demoqueue await   -endpoint URL -queue URL [-timeout 90s]
package main
