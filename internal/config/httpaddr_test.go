package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// HTTPAddr must resolve http.addr even when the rest of the config would not
// load: the healthcheck runs where only part of the daemon's setup is visible.
func TestHTTPAddrIgnoresOtherProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("queue:\n  batch_size: 99\nhttp:\n  addr: 127.0.0.1:9100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String(ConfigFlag, "", "")
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	if got, err := HTTPAddr(fs); err != nil || got != "127.0.0.1:9100" {
		t.Errorf("HTTPAddr from file = %q, %v; want 127.0.0.1:9100", got, err)
	}
	t.Setenv("SQSFLEET_HTTP_ADDR", "127.0.0.1:9200")
	if got, err := HTTPAddr(fs); err != nil || got != "127.0.0.1:9200" {
		t.Errorf("HTTPAddr with env = %q, %v; want the env to win", got, err)
	}
	t.Setenv("SQSFLEET_HTTP_ADDR", "nonsense")
	if _, err := HTTPAddr(fs); err == nil {
		t.Error("HTTPAddr accepted an invalid http.addr")
	}
}
