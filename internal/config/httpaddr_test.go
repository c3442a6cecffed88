package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// The healthcheck must resolve http.addr even when the rest of the config
// would not load: it runs where only part of the daemon's setup is visible.
func TestHealthcheckIgnoresOtherProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("queue:\n  batch_size: 99\nhttp:\n  addr: 127.0.0.1:9100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String(ConfigFlag, "", "")
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	addr := func() (string, error) {
		cfg, err := Load(fs, ForHealthcheck)
		if err != nil {
			return "", err
		}
		return cfg.HTTP.Addr, nil
	}
	if got, err := addr(); err != nil || got != "127.0.0.1:9100" {
		t.Errorf("http.addr from file = %q, %v; want 127.0.0.1:9100", got, err)
	}
	t.Setenv("SQSFLEET_HTTP_ADDR", "127.0.0.1:9200")
	if got, err := addr(); err != nil || got != "127.0.0.1:9200" {
		t.Errorf("http.addr with env = %q, %v; want the env to win", got, err)
	}
	t.Setenv("SQSFLEET_HTTP_ADDR", "nonsense")
	if _, err := addr(); err == nil {
		t.Error("the healthcheck accepted an invalid http.addr")
	}
}
