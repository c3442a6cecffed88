// Package config turns defaults, a YAML file, SQSFLEET_* environment
// variables and command-line flags into one validated [Config].
//
// It is the only package that imports viper, so that the rest of the daemon
// sees plain typed fields and never has to know where a value came from.
// Keeping the sources in one place is also what makes the precedence
// (default < file < env < flag) hold for every key: each key is declared once,
// in a table in load.go, and gets its default, its env var and its flag from
// that one declaration, so none can be forgotten.
//
// Validation is exhaustive rather than fail-fast and names the key, in the
// dotted form used by the YAML file and the flags, because the person reading
// the error is usually fixing a deployment manifest and wants every mistake
// at once, spelled the way they must type it:
//
//	config: queue.batch_size: must be between 1 and 10, got 11
//	config: handler.command: is required when handler.type is "exec"
//
// Unknown keys in the file are errors rather than warnings: a misspelled key
// silently falling back to its default is the kind of bug that only shows up
// in production.
package config
