// Package config turns defaults, a YAML file, SQSFLEET_* environment
// variables and flags into one validated Config; it alone imports viper.
//
// Keys are declared by Config's tags (config.go), loaded and decoded in
// load.go, checked in validate.go and masked in redact.go. Every problem is
// reported at once, a line each naming the key as the file spells it, and an
// unknown key is an error: a misspelt key left at its default only shows in
// production.
//
//	config: queue.batch_size: must be between 1 and 10, got 11
package config
