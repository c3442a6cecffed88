// Command sqsfleet is the worker daemon. All wiring lives in internal/app.
package main
