package deploy

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/internal/wait"
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
	_, err := config.Load(pflag.NewFlagSet("t", pflag.ContinueOnError), config.ForRun)
	return err
}

type dockerImage struct {
	buildRuns  []string
	froms      []string          // every FROM's image, as written
	fromArgs   map[string]string // ARGs before the first FROM: name -> default
	stageArgs  []string          // ARGs declared in the final stage
	labels     map[string]string // the final stage's LABELs
	finalFrom  string            // the final image, ARG defaults substituted
	user       string
	entrypoint []string
	healthcmd  []string
	copies     []string
	expose     []string
	volumes    []string
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
	img := dockerImage{fromArgs: map[string]string{}}
	stage := 0
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "ARG":
			for _, a := range strings.Fields(rest) {
				name, def, _ := strings.Cut(a, "=")
				if stage == 0 {
					img.fromArgs[name] = strings.Trim(def, `"`)
				} else {
					img.stageArgs = append(img.stageArgs, name)
				}
			}
		case "LABEL":
			for _, kv := range splitLabels(t, rest) {
				k, v, _ := strings.Cut(kv, "=")
				img.labels[k] = strings.Trim(v, `"`)
			}
		case "FROM":
			stage++
			img = dockerImage{buildRuns: img.buildRuns, froms: img.froms, fromArgs: img.fromArgs, labels: map[string]string{}}
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			img.froms = append(img.froms, f[0])
			img.finalFrom = os.Expand(f[0], func(name string) string { return img.fromArgs[name] })
		case "RUN":
			img.buildRuns = append(img.buildRuns, rest)
		case "USER":
			img.user = rest
		case "COPY":
			img.copies = append(img.copies, rest)
		case "EXPOSE":
			img.expose = append(img.expose, strings.Fields(rest)...)
		case "VOLUME":
			var vs []string
			if err := json.Unmarshal([]byte(rest), &vs); err != nil {
				vs = strings.Fields(rest)
			}
			img.volumes = append(img.volumes, vs...)
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

// splitLabels splits a LABEL instruction's key="value" pairs, values
// double-quoted and possibly holding spaces.
func splitLabels(t *testing.T, rest string) []string {
	t.Helper()
	var out []string
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("Dockerfile: LABEL %q: want key=value", rest)
		}
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				t.Fatalf("Dockerfile: LABEL %q: unterminated quote", rest)
			}
			out = append(out, k+"="+v[:end+2])
			rest = v[end+2:]
			continue
		}
		val, after, _ := strings.Cut(v, " ")
		out = append(out, k+"="+val)
		rest = after
	}
	return out
}

// TestDockerfileReproducible: the base images are build arguments, so a
// pipeline can pin them by digest without editing the file, and the image
// carries the OCI labels that say what it is and which commit built it.
func TestDockerfileReproducible(t *testing.T) {
	img := dockerfile(t)
	for _, from := range img.froms {
		name := strings.TrimSuffix(strings.TrimPrefix(from, "${"), "}")
		if !strings.HasPrefix(from, "${") || img.fromArgs[name] == "" {
			t.Errorf("FROM %s: want a build argument declared before the first FROM, with a default (e.g. ARG RUNTIME_IMAGE=...)", from)
		}
	}
	want := map[string]string{
		"org.opencontainers.image.title":    "sqsfleet",
		"org.opencontainers.image.source":   "https://github.com/sqsfleet/sqsfleet",
		"org.opencontainers.image.version":  "${VERSION}",
		"org.opencontainers.image.revision": "${REVISION}",
		"org.opencontainers.image.created":  "${CREATED}",
	}
	for k, v := range want {
		if img.labels[k] != v {
			t.Errorf("LABEL %s=%q, want %q", k, img.labels[k], v)
		}
	}
	for _, k := range []string{"org.opencontainers.image.description", "org.opencontainers.image.base.name"} {
		if img.labels[k] == "" {
			t.Errorf("no LABEL %s", k)
		}
	}
	for _, arg := range []string{"VERSION", "REVISION", "CREATED"} {
		if !slices.Contains(img.stageArgs, arg) {
			t.Errorf("the final stage does not declare ARG %s, so its label would be empty", arg)
		}
	}
	// How to pin the bases, and how long a container may take to stop,
	// are in the README (the image alone cannot say).
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--build-arg RUNTIME_IMAGE=", "--build-arg GO_IMAGE=", "@sha256:", "--stop-timeout", "stop_grace_period"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("deploy/README.md does not mention %s", want)
		}
	}
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

// TestLifecycleHelper runs sqsfleet-lifecycle.sh against a stand-in for the
// instance metadata service and the daemon's /healthz, with `aws` and
// `systemctl` replaced by scripts that record their arguments. Without a
// load balancer the helper is what replaces a wedged worker: it must
// report the instance Unhealthy after HEALTH_FAILURES failed checks in a
// row (not before, and not after a success reset the count), once, and
// still drain and complete the lifecycle action when the group then
// terminates the instance.
func TestLifecycleHelper(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	const failures = 3
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	hits := filepath.Join(dir, "healthz-hits")
	// The stand-ins log each call with the /healthz requests seen so far:
	// the server writes that count before it answers, and the helper calls
	// aws only after its check returned, so the count is exact.
	for _, name := range []string{"aws", "systemctl"} {
		script := "#!/bin/sh\necho \"" + name + " $* hits=$(cat " + hits + " 2>/dev/null)\" >> " + log + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	state := "InService"
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/latest/api/token":
			if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "IMDSv2 wants a PUT with a TTL", http.StatusBadRequest)
				return
			}
			io.WriteString(w, "token")
		case "/latest/meta-data/autoscaling/target-lifecycle-state":
			io.WriteString(w, state)
		case "/latest/meta-data/instance-id":
			io.WriteString(w, "i-0123456789abcdef0")
		case "/latest/meta-data/placement/region":
			io.WriteString(w, "eu-west-1")
		case "/healthz":
			n++
			if err := os.WriteFile(hits, []byte(strconv.Itoa(n)), 0o644); err != nil {
				t.Error(err)
			}
			// Fails, fails, recovers once, then fails for good.
			if n == failures {
				io.WriteString(w, "ok")
				return
			}
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
		default: // spot/instance-action: no interruption
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cmd := exec.Command("bash", "systemd/sqsfleet-lifecycle.sh")
	cmd.Env = []string{
		"PATH=" + dir + ":" + os.Getenv("PATH"),
		"ASG_NAME=jobs", "HOOK_NAME=jobs-drain",
		"IMDS_URL=" + srv.URL + "/latest",
		"HEALTH_URL=" + srv.URL + "/healthz",
		"HEALTH_FAILURES=" + strconv.Itoa(failures),
		"POLL_SECONDS=0.01",
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	}()

	calls := func() string { b, _ := os.ReadFile(log); return string(b) }
	// Each poll is a handful of curl processes, 50-100 ms each on a
	// loaded machine: the deadlines only bound a failure.
	if !wait.Until(time.Minute, func() bool { return strings.Contains(calls(), "set-instance-health") }) {
		t.Fatalf("no set-instance-health; calls:\n%s\noutput:\n%s", calls(), out.String())
	}
	// The group now terminates the instance.
	mu.Lock()
	state = "Terminated"
	mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the helper exited with %v:\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the helper did not finish after Terminated; calls:\n%s\noutput:\n%s", calls(), out.String())
	}

	lines := strings.Split(strings.TrimSpace(calls()), "\n")
	want := []string{
		// failures before the success do not count: 2 + 3 more.
		"aws autoscaling set-instance-health --region eu-west-1 --instance-id i-0123456789abcdef0 --health-status Unhealthy --should-respect-grace-period hits=" + strconv.Itoa(2*failures),
		"systemctl stop sqsfleet.service",
		"aws autoscaling complete-lifecycle-action --region eu-west-1 --auto-scaling-group-name jobs --lifecycle-hook-name jobs-drain --instance-id i-0123456789abcdef0 --lifecycle-action-result CONTINUE",
	}
	if len(lines) != len(want) {
		t.Fatalf("calls:\n%s\nwant:\n%s", calls(), strings.Join(want, "\n"))
	}
	for i, w := range want {
		// The hit counts of the drain calls depend on timing: compare
		// only what precedes them.
		if i > 0 {
			lines[i], _, _ = strings.Cut(lines[i], " hits=")
		}
		if lines[i] != w {
			t.Errorf("call %d:\n got %s\nwant %s", i+1, lines[i], w)
		}
	}
}

// TestEndpointGuidance: the VPC endpoints a private subnet without NAT
// needs are all named, in the walk-throughs and in subnet_ids: a missing
// one fails at run time (PutMetricData goes to the monitoring endpoint;
// secrets need ssm or secretsmanager, and kms under a customer key).
func TestEndpointGuidance(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	section := func(title string) string {
		_, rest, ok := strings.Cut(readme, "\n## "+title+"\n")
		if !ok {
			t.Fatalf("README.md has no section %q", title)
		}
		body, _, _ := strings.Cut(rest, "\n## ")
		return body
	}
	for _, f := range []struct{ title, dir string }{
		{"Walk-through: EC2 Auto Scaling group", "modules/ec2-asg"},
		{"Walk-through: ECS Fargate", "modules/ecs-fargate"},
	} {
		text := section(f.title)
		m := tfModuleAt(t, f.dir)
		desc, _ := goValue(m.attr(t, m.vars["subnet_ids"].Body, "description")).(string)
		for _, ep := range []string{"`sqs`", "`monitoring`", "`ssm`", "`secretsmanager`", "`kms`"} {
			if !strings.Contains(text, ep) {
				t.Errorf("README.md %q does not name the %s endpoint", f.title, ep)
			}
			if !strings.Contains(desc, strings.Trim(ep, "`")) {
				t.Errorf("terraform/%s: subnet_ids' description does not name %s", f.dir, ep)
			}
		}
	}
}

// TestUserDataSecrets runs the user data's secret function, as rendered,
// with `aws` replaced by a script that answers as the CLI would: each
// value lands in the environment file single-quoted, for the right
// service and region, and a value systemd could not take stops the boot.
func TestUserDataSecrets(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	ud := renderUserData(t, tfModuleAt(t, "modules/ec2-asg"), nil)
	start := strings.Index(ud, "\nsecret() {")
	end := strings.Index(ud[max(start, 0):], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatalf("no secret function in the user data:\n%s", ud)
	}
	dir := t.TempDir()
	envFile := filepath.Join(dir, "sqsfleet.env")
	fn := strings.ReplaceAll(ud[start:start+end+3], "/etc/sqsfleet/sqsfleet.env", envFile)
	// The stand-in prints what the CLI's --output text would: the value.
	aws := `#!/bin/bash
echo "$*" >> ` + filepath.Join(dir, "calls") + `
case "$*" in
  *ssm*good*) echo "https://user:p@ss w0rd@example.com/hook?x=1&y=2" ;;
  *secretsmanager*db*) echo 'db$ecret"with$(id)\n' ;;
  *bad*) echo "it's" ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(aws), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(calls string) (string, error) {
		cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+fn+calls)
		cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(`
secret 'SQSFLEET_HANDLER_URL' 'arn:aws:ssm:eu-west-1:123456789012:parameter/good'
secret 'DB_PASSWORD' 'arn:aws:secretsmanager:us-east-2:123456789012:secret:db-AbCdEf'
`)
	if err != nil {
		t.Fatalf("secret: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(envFile)
	env := parseEnvFile(t, string(got))
	want := map[string]string{
		"SQSFLEET_HANDLER_URL": "https://user:p@ss w0rd@example.com/hook?x=1&y=2",
		"DB_PASSWORD":          `db$ecret"with$(id)\n`,
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("environment file:\n%s\nwant %v", got, want)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	for _, w := range []string{
		"ssm get-parameter --region eu-west-1 --with-decryption --name arn:aws:ssm:eu-west-1:123456789012:parameter/good --query Parameter.Value --output text",
		"secretsmanager get-secret-value --region us-east-2 --secret-id arn:aws:secretsmanager:us-east-2:123456789012:secret:db-AbCdEf --query SecretString --output text",
	} {
		if !strings.Contains(string(calls), w) {
			t.Errorf("no call %q in:\n%s", w, calls)
		}
	}

	if out, err := run("\nsecret 'X' 'arn:aws:ssm:eu-west-1:123456789012:parameter/bad'\necho still running\n"); err == nil || strings.Contains(out, "still running") {
		t.Errorf("a value with a single quote did not stop the boot: %v\n%s", err, out)
	}
}
