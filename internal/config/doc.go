// Package config turns defaults, a YAML file, SQSFLEET_* environment
// variables and command-line flags into one validated [Config].
//
// It is the only package that imports viper, so that the rest of the daemon
// sees plain typed fields and never has to know where a value came from.
// Every key is declared once, by a field of Config (config.go); its env var,
// flag, decoding and redaction derive from that (keys.go), so the precedence
// default < file < env < flag holds for all (load.go).
//
// Validation (validate.go) is exhaustive rather than fail-fast and names the
// key as the YAML file and the flags spell it, because the reader is usually
// fixing a deployment manifest and wants every mistake at once:
//
//	config: queue.batch_size: must be between 1 and 10, got 11
//	config: handler.command: is required when handler.type is "exec"
//
// Unknown keys in the file are errors rather than warnings: a misspelled key
// silently falling back to its default is the kind of bug that only shows up
// in production.
package config
