package deploy

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/config"
)

// systemdUnit is a unit file: section -> key -> every value, in order.
type systemdUnit map[string]map[string][]string

func parseUnit(t *testing.T, path string) systemdUnit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := systemdUnit{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: bad line %q", path, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func unit(t *testing.T) systemdUnit {
	t.Helper()
	return parseUnit(t, "systemd/sqsfleet.service")
}

// get returns the last value of key in section ("" if unset).
func (u systemdUnit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// timeoutStop parses TimeoutStopSec: plain seconds or "1min 30s" style.
func (u systemdUnit) timeoutStop(t *testing.T) time.Duration {
	t.Helper()
	raw := u.get("Service", "TimeoutStopSec")
	if n, err := strconv.Atoi(raw); err == nil {
		return time.Duration(n) * time.Second
	}
	var total time.Duration
	for _, part := range strings.Fields(raw) {
		i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			t.Fatalf("TimeoutStopSec=%q: cannot parse %q", raw, part)
		}
		n, _ := strconv.Atoi(part[:i])
		unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour}[part[i:]]
		if unit == 0 {
			t.Fatalf("TimeoutStopSec=%q: unknown unit in %q", raw, part)
		}
		total += time.Duration(n) * unit
	}
	if total == 0 {
		t.Fatalf("TimeoutStopSec=%q: want a positive time", raw)
	}
	return total
}

// TestSystemdUnit checks what systemd-analyze cannot: the stop sequence,
// restarts, logging, and that the sandbox leaves the daemon its network
// (IMDS included). scripts/deploy-check.sh runs systemd-analyze verify and
// security.
func TestSystemdUnit(t *testing.T) {
	u := unit(t)
	want := map[[2]string]string{
		{"Service", "Restart"}:               "on-failure",
		{"Service", "KillMode"}:              "mixed", // SIGTERM to the daemon only: it stops its handlers itself
		{"Service", "KillSignal"}:            "SIGTERM",
		{"Service", "SendSIGKILL"}:           "yes",
		{"Service", "StandardOutput"}:        "journal",
		{"Service", "StandardError"}:         "journal",
		{"Service", "NoNewPrivileges"}:       "yes",
		{"Service", "ProtectSystem"}:         "strict",
		{"Service", "PrivateTmp"}:            "yes",
		{"Service", "CapabilityBoundingSet"}: "",
		{"Service", "EnvironmentFile"}:       "/etc/sqsfleet/sqsfleet.env",
	}
	for k, v := range want {
		if got := u.get(k[0], k[1]); got != v || len(u[k[0]][k[1]]) == 0 {
			t.Errorf("[%s] %s=%q, want %q", k[0], k[1], got, v)
		}
	}
	for _, k := range []string{"StartLimitIntervalSec", "StartLimitBurst"} {
		if u.get("Unit", k) == "" {
			t.Errorf("[Unit] %s is not set: a crash loop would go on forever", k)
		}
	}
	if u.get("Service", "DynamicUser") != "yes" && u.get("Service", "User") == "" {
		t.Error("the daemon runs as root: set DynamicUser=yes or User=")
	}
	if u.get("Service", "SystemCallFilter") == "" {
		t.Error("no SystemCallFilter")
	}
	if exec := strings.Fields(u.get("Service", "ExecStart")); len(exec) < 2 || exec[1] != "run" {
		t.Errorf("ExecStart=%q, want the binary and run", u.get("Service", "ExecStart"))
	} else if exec[0] != dockerfile(t).entrypoint[0] {
		t.Errorf("ExecStart runs %s, the image has the binary at %s", exec[0], dockerfile(t).entrypoint[0])
	}
	// The daemon needs IPv4 and IPv6 to SQS, CloudWatch and IMDS
	// (169.254.169.254, its credentials), and AF_UNIX for the journal.
	families := strings.Fields(u.get("Service", "RestrictAddressFamilies"))
	for _, f := range []string{"AF_INET", "AF_INET6", "AF_UNIX"} {
		if !slices.Contains(families, f) {
			t.Errorf("RestrictAddressFamilies=%q lacks %s", families, f)
		}
	}
	for _, k := range []string{"IPAddressDeny", "PrivateNetwork", "IPAddressAllow"} {
		if len(u["Service"][k]) > 0 {
			t.Errorf("%s is set: it can cut the daemon off from IMDS (169.254.169.254) or SQS", k)
		}
	}
	if u.get("Service", "RestartPreventExitStatus") != "2" {
		t.Error("RestartPreventExitStatus=2 missing: exit 2 is a bad configuration, which restarting cannot fix")
	}

	// The ec2-asg user data writes the env file and installs the units
	// where the unit and sqsfleet-lifecycle expect them.
	ud, err := os.ReadFile("terraform/modules/ec2-asg/user_data.sh.tftpl")
	if err != nil {
		t.Fatal(err)
	}
	life := parseUnit(t, "systemd/sqsfleet-lifecycle.service")
	for _, want := range []string{
		"cat > " + u.get("Service", "EnvironmentFile") + " ",
		"cat > " + life.get("Service", "EnvironmentFile") + " ",
		"cat > /etc/systemd/system/sqsfleet.service ",
		"cat > /etc/systemd/system/sqsfleet-lifecycle.service ",
		"cat > " + life.get("Service", "ExecStart") + " ",
		"install -m 0755 \"$tmp\" " + strings.Fields(u.get("Service", "ExecStart"))[0] + "\n",
		"systemctl enable --now sqsfleet.service sqsfleet-lifecycle.service",
	} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("user_data.sh.tftpl does not contain %q", want)
		}
	}
	script, err := os.ReadFile("systemd/sqsfleet-lifecycle.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"autoscaling/target-lifecycle-state", "spot/instance-action", "systemctl stop sqsfleet.service", "complete-lifecycle-action"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("sqsfleet-lifecycle.sh does not contain %q", want)
		}
	}
}

// TestEnvFileExample: the example environment file names real keys and is
// a configuration the daemon accepts.
func TestEnvFileExample(t *testing.T) {
	d := daemonDefaults(t)
	f, err := os.Open("systemd/sqsfleet.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	env := parseEnvFile(t, string(raw))
	if len(env) == 0 {
		t.Fatal("the example sets nothing")
	}
	if err := loadEnv(t, d, env); err != nil {
		t.Errorf("the daemon rejects systemd/sqsfleet.env.example:\n%v", err)
	}
}

// parseEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does,
// for values that are single-quoted, double-quoted without escapes, or bare.
func parseEnvFile(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad environment file line %q", line)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env
}

// loadEnv loads the daemon's configuration from env alone, as `sqsfleet
// run` would with only these variables set.
func loadEnv(t *testing.T, d daemon, env map[string]string) error {
	t.Helper()
	for _, kv := range os.Environ() { // a developer's own settings must not count
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, config.EnvPrefix) {
			t.Setenv(k, "")
		}
	}
	for k, v := range env {
		if _, ok := d.envKey(k); !ok {
			t.Errorf("%s is no configuration key's variable", k)
		}
		t.Setenv(k, v)
	}
	_, err := config.Load(nil)
	return err
}

type dockerImage struct {
	buildRuns  []string
	finalFrom  string
	user       string
	entrypoint []string
	healthcmd  []string
	copies     []string
	expose     []string
}

func dockerfile(t *testing.T) dockerImage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	cur := ""
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		if cur+l != "" {
			lines = append(lines, cur+l)
		}
		cur = ""
	}
	var img dockerImage
	stage := 0
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			stage++
			img = dockerImage{buildRuns: img.buildRuns}
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			img.finalFrom = f[0]
		case "RUN":
			img.buildRuns = append(img.buildRuns, rest)
		case "USER":
			img.user = rest
		case "COPY":
			img.copies = append(img.copies, rest)
		case "EXPOSE":
			img.expose = append(img.expose, strings.Fields(rest)...)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &img.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT %s is not the exec (JSON) form, so SIGTERM would go to a shell: %v", rest, err)
			}
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok || json.Unmarshal([]byte(strings.TrimSpace(cmd)), &img.healthcmd) != nil {
				t.Fatalf("Dockerfile: HEALTHCHECK %s: want CMD in the exec (JSON) form", rest)
			}
		}
	}
	if stage < 2 {
		t.Fatal("Dockerfile: want a build stage and a final stage")
	}
	return img
}

// TestDockerfile: what no Docker engine here can check by building.
func TestDockerfile(t *testing.T) {
	d := daemonDefaults(t)
	img := dockerfile(t)
	if !slices.ContainsFunc(img.buildRuns, func(r string) bool { return strings.Contains(r, "make build") }) {
		t.Error("the build stage does not run `make build`, the target CI runs")
	}
	if img.finalFrom != "scratch" && !strings.HasPrefix(img.finalFrom, "gcr.io/distroless/static") {
		t.Errorf("final image FROM %s: want scratch or distroless static", img.finalFrom)
	}
	uid, _, _ := strings.Cut(img.user, ":")
	if uid == "" || uid == "root" || uid == "0" {
		t.Errorf("final image USER %q: want a non-root user", img.user)
	}
	if len(img.entrypoint) != 1 {
		t.Fatalf("ENTRYPOINT %q: want the binary alone", img.entrypoint)
	}
	bin := img.entrypoint[0]
	if !slices.ContainsFunc(img.copies, func(c string) bool { return strings.HasSuffix(c, "/bin/sqsfleet "+bin) }) {
		t.Errorf("no COPY puts the binary make build makes (bin/sqsfleet) at %s", bin)
	}
	if want := []string{bin, "healthcheck"}; !slices.Equal(img.healthcmd, want) {
		t.Errorf("HEALTHCHECK CMD %q, want %q", img.healthcmd, want)
	}
	if !slices.Contains(img.expose, d.httpPort) {
		t.Errorf("EXPOSE %v, want the daemon's port %s", img.expose, d.httpPort)
	}
}
