package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchedulesImportCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "cron.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("version: 1\ncron:\n  - name: backup\n    url: /backup\n    schedule: \"0 3 * * *\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("version: 1\ncron:\n  - name: backup\n    url: /backup\n    schedule: \"0 3 1 * 1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"schedules", "import", good}, 0, `schedule = "cron(0 3 * * ? *)"`, ""},
		{[]string{"schedules", "import", bad}, 2, "", "bad.yaml:5: cron[0].schedule \"0 3 1 * 1\""},
		{[]string{"schedules", "import", filepath.Join(dir, "missing.yaml")}, 2, "", "no such file"},
		{[]string{"schedules", "import"}, 2, "", "want one cron.yaml file"},
		{[]string{"schedules", "import", good, good}, 2, "", "want one cron.yaml file"},
		{[]string{"schedules", "export", good}, 2, "", "usage: sqsfleet schedules import"},
		{[]string{"schedules", "import", "--nope", good}, 2, "", "unknown flag: --nope"},
		{[]string{"schedules", "--help"}, 0, "", "Usage: sqsfleet schedules import"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tt.args, code, out.String(), errOut.String(), tt.code, tt.stdout, tt.stderr)
		}
		if tt.code == 2 && strings.Contains(errOut.String(), "goroutine") {
			t.Errorf("%v: stack trace on bad input", tt.args)
		}
	}
}
