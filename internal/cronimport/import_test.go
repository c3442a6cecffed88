package cronimport

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

const sample = `version: 1
cron:
  - name: "backup"
    url: "/backup"
    schedule: "0 */6 * * *"
  - name: Remove unattended jobs   # Beanstalk names may have spaces
    url: /jobs/cleanup?older=1d
    schedule: 30 2 * * 1-5
    description: "weekday cleanup"
  - name: 'odd "${name}" %{x}'
    url: "/odd"
    schedule: "@daily"
`

func TestImport(t *testing.T) {
	out, err := Import([]byte(sample), "cron.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The output is HCL whose value is exactly the schedules, templates
	// and quotes in names included.
	f, diags := hclsyntax.ParseConfig(out, "out.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("output is not HCL: %s\n%s", diags.Error(), out)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() || len(attrs) != 1 || attrs["schedules"] == nil {
		t.Fatalf("want one attribute schedules, got %v %s\n%s", attrs, diags.Error(), out)
	}
	v, diags := attrs["schedules"].Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := []map[string]string{
		{"name": "backup", "path": "/backup", "schedule": "cron(0 0/6 * * ? *)"},
		{"name": "Remove unattended jobs", "path": "/jobs/cleanup?older=1d", "schedule": "cron(30 2 ? * 2-6 *)"},
		{"name": `odd "${name}" %{x}`, "path": "/odd", "schedule": "cron(0 0 * * ? *)"},
	}
	if v.LengthInt() != len(want) {
		t.Fatalf("%d schedules, want %d:\n%s", v.LengthInt(), len(want), out)
	}
	for i, w := range want {
		e := v.Index(ctyInt(i))
		for k, wv := range w {
			if got := e.GetAttr(k).AsString(); got != wv {
				t.Errorf("schedules[%d].%s = %q, want %q", i, k, got, wv)
			}
		}
	}
	for _, s := range []string{"# line 3: 0 */6 * * *", "# line 6: 30 2 * * 1-5", "# line 10: @daily", "UTC"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestImportRefuses(t *testing.T) {
	task := func(name, url, sched string) string {
		return "  - name: " + name + "\n    url: " + url + "\n    schedule: \"" + sched + "\"\n"
	}
	head := "version: 1\ncron:\n"
	tests := []struct{ name, in, want string }{
		{"both day fields", head + task("a", "/a", "0 0 * * *") + task("b", "/b", "0 0 1 * 1"),
			`cron.yaml:8: cron[1].schedule "0 0 1 * 1": day of month "1" and day of week "1" are both set`},
		{"bad field", head + task("a", "/a", "0 25 * * *"), `cron.yaml:5: cron[0].schedule "0 25 * * *": hour "25"`},
		{"duplicate name", head + task("a", "/a", "0 0 * * *") + task("a", "/b", "0 1 * * *"), `cron.yaml:6: cron[1].name "a": already used on line 3`},
		{"colliding schedule names", head + task("a b", "/a", "0 0 * * *") + task("a-b", "/b", "0 1 * * *"), `cron.yaml:6: cron[1].name "a-b": its schedule name "a-b" is also "a b"'s`},
		{"long name", head + task(strings.Repeat("x", 65), "/a", "0 0 * * *"), "longer than the 64 characters"},
		{"relative url", head + task("a", "a", "0 0 * * *"), `cron.yaml:4: cron[0].url: "a" does not start with a single /`},
		{"absolute url", head + task("a", "http://x/a", "0 0 * * *"), `cron.yaml:4: cron[0].url`},
		{"missing schedule", head + "  - name: a\n    url: /a\n", "cron.yaml:3: cron[0]: schedule is missing"},
		{"unknown key", head + task("a", "/a", "0 0 * * *") + "    timezone: CET\n", `cron.yaml:6: cron[0]: unknown key "timezone"`},
		{"list value", head + "  - name: [a]\n    url: /a\n    schedule: '* * * * *'\n", "cron.yaml:3: cron[0].name: want a string"},
		{"no version", "cron:\n" + task("a", "/a", "0 0 * * *"), "cron.yaml:1: version is missing"},
		{"version 2", "version: 2\ncron:\n" + task("a", "/a", "0 0 * * *"), `cron.yaml:1: version "2"`},
		{"no cron", "version: 1\n", "cron.yaml:1: cron is missing"},
		{"empty cron", "version: 1\ncron: []\n", "cron.yaml:2: cron: no tasks"},
		{"cron not a list", "version: 1\ncron: daily\n", "cron.yaml:2: cron: want a list"},
		{"unknown top-level key", "version: 1\nretry: 3\n", `cron.yaml:2: unknown key "retry"`},
		{"not YAML", "version: 1\ncron: [\n", "cron.yaml: line"},
		{"empty file", "", "cron.yaml: empty file"},
		{"not a mapping", "- a\n", "cron.yaml:1: want a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Import([]byte(tt.in), "cron.yaml")
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHCLString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     `"plain"`,
		`q"b\`:      `"q\"b\\"`,
		"${x} %{y}": `"$${x} %%{y}"`,
		"$ % {":     `"$ % {"`,
		"tab\tnl\n": `"tab\tnl\n"`,
		"bell\x07":  `"bell\u0007"`,
		"ünï":       `"ünï"`,
	} {
		if got := hclString(in); got != want {
			t.Errorf("hclString(%q) = %s, want %s", in, got, want)
		}
	}
}

func ctyInt(i int) cty.Value { return cty.NumberIntVal(int64(i)) }
