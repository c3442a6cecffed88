// Package config turns defaults, a YAML file, SQSFLEET_* environment
// variables and flags, in increasing precedence, into one validated Config.
// It alone imports viper, so the daemon sees typed fields, never sources.
//
// Keys are declared by Config's tags (config.go), loaded and decoded in
// load.go, checked in validate.go and masked for logging in redact.go. All
// problems are reported at once, a line each naming the key as the file
// spells it, since the reader is fixing a manifest; an unknown key is an
// error, because a misspelt key falling back to its default only shows in
// production:
//
//	config: queue.batch_size: must be between 1 and 10, got 11
package config
