package deploy

import (
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sqsfleet/sqsfleet/worker/handler"
)

func lambdaFunctionInput(runtimes int, settings map[string]cty.Value) map[string]cty.Value {
	extra := map[string]cty.Value{
		"image": cty.StringVal("sqsfleet:v1"),
		"lambda_function": cty.ObjectVal(map[string]cty.Value{
			"image":           cty.StringVal("123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:v3"),
			"command":         cty.ListVal([]cty.Value{cty.StringVal("/var/runtime/bootstrap")}),
			"runtimes":        cty.NumberIntVal(int64(runtimes)),
			"timeout_seconds": cty.NumberIntVal(60),
			"environment":     cty.MapVal(map[string]cty.Value{"TABLE": cty.StringVal("orders")}),
			"emulator_path":   cty.StringVal("/usr/local/bin/aws-lambda-rie"),
		}),
	}
	if settings != nil {
		extra["settings"] = cty.MapVal(settings)
	}
	return sampleInputs(extra)
}

// TestECSLambdaFunction: lambda_function adds one emulator container per
// runtime, each on its own loopback ports (the containers of an awsvpc
// task share them), and points sqsfleet's lambda handler at exactly those,
// with an environment the daemon accepts.
func TestECSLambdaFunction(t *testing.T) {
	d := daemonDefaults(t)
	m := tfModuleAt(t, "modules/ecs-fargate")
	call, ok := m.block(t, "resource", "aws_ecs_task_definition", "this").Body.Attributes["container_definitions"].Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" {
		t.Fatal("container_definitions should be jsonencode(...)")
	}
	in := lambdaFunctionInput(2, map[string]cty.Value{"handler.batch_size": cty.StringVal("10"), "worker.concurrency": cty.StringVal("20")})
	containers, _ := goValue(m.evalWith(t, call.Args[0], in)).([]any)
	byName := map[string]map[string]any{}
	for _, c := range containers {
		c, _ := c.(map[string]any)
		name, _ := c["name"].(string)
		byName[name] = c
	}
	daemon := byName["sqsfleet"]
	if daemon == nil {
		t.Fatalf("no sqsfleet container: %v", containers)
	}
	env := map[string]string{}
	for _, e := range daemon["environment"].([]any) {
		kv := e.(map[string]any)
		env[kv["name"].(string)], _ = kv["value"].(string)
	}
	if err := loadEnv(t, d, env); err != nil {
		t.Errorf("the daemon rejects the environment:\n%v\n%v", err, env)
	}
	if env["SQSFLEET_HANDLER_TYPE"] != "lambda" {
		t.Errorf("handler.type %q, want lambda", env["SQSFLEET_HANDLER_TYPE"])
	}
	// The sample settings' worker.concurrency (20) wins over the module's
	// default; the handler timeout covers the function's 60 s.
	if env["SQSFLEET_WORKER_CONCURRENCY"] != "20" || env["SQSFLEET_HANDLER_TIMEOUT"] != "70s" {
		t.Errorf("concurrency %q timeout %q, want 20 and 70s", env["SQSFLEET_WORKER_CONCURRENCY"], env["SQSFLEET_HANDLER_TIMEOUT"])
	}
	urls := strings.Split(env["SQSFLEET_HANDLER_URL"], ",")
	if len(urls) != 2 {
		t.Fatalf("handler.url %q, want one URL per runtime", env["SQSFLEET_HANDLER_URL"])
	}
	def, _ := url.Parse(handler.DefaultLambdaURL)
	used := map[string]string{":" + d.httpPort: "sqsfleet's http.addr"}
	deps := fmt.Sprint(daemon["dependsOn"])
	for i, u := range urls {
		name := fmt.Sprintf("lambda-%d", i)
		c := byName[name]
		if c == nil {
			t.Fatalf("no container %s: %v", name, containers)
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Path != def.Path {
			t.Errorf("%s: handler URL %q does not take the emulator's invoke path %s", name, u, def.Path)
		}
		if i == 0 && pu.Port() != def.Port() {
			t.Errorf("the first runtime listens on %s, not the handler's default port %s", pu.Port(), def.Port())
		}
		entry := strs(t, name+" entryPoint", c["entryPoint"])
		want := []string{"/usr/local/bin/aws-lambda-rie", "--runtime-interface-emulator-address", pu.Host}
		if len(entry) < 5 || !slices.Equal(entry[:3], want) || entry[3] != "--runtime-api-address" {
			t.Errorf("%s entryPoint %q, want the emulator on %s and its own Runtime API address", name, entry, pu.Host)
			continue
		}
		for _, addr := range []string{pu.Host, entry[4]} {
			_, port, _ := strings.Cut(addr, ":")
			if other, clash := used[":"+port]; clash {
				t.Errorf("%s uses port %s, as %s does", name, port, other)
			}
			used[":"+port] = name
		}
		if got := strs(t, name+" command", c["command"]); !slices.Equal(got, []string{"/var/runtime/bootstrap"}) {
			t.Errorf("%s command %q", name, got)
		}
		cenv := map[string]any{}
		for _, e := range c["environment"].([]any) {
			kv := e.(map[string]any)
			cenv[kv["name"].(string)] = kv["value"]
		}
		if cenv["AWS_LAMBDA_FUNCTION_TIMEOUT"] != "60" || cenv["TABLE"] != "orders" {
			t.Errorf("%s environment %v, want the function's timeout and its own variables", name, cenv)
		}
		if c["essential"] != true {
			t.Errorf("%s is not essential: a dead runtime would leave sqsfleet failing every batch", name)
		}
		if !strings.Contains(deps, "containerName:"+name) {
			t.Errorf("sqsfleet does not start after %s: %s", name, deps)
		}
	}

	// Without lambda_function the task is as before.
	containers, _ = goValue(m.evalWith(t, call.Args[0], sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1")}))).([]any)
	for _, c := range containers {
		if name, _ := c.(map[string]any)["name"].(string); strings.HasPrefix(name, "lambda-") {
			t.Errorf("container %s without lambda_function", name)
		}
	}

	// settings cannot name another handler next to the function.
	td := m.block(t, "resource", "aws_ecs_task_definition", "this")
	cond := precondition(td.Body, "var", "settings")
	if cond == nil {
		t.Fatal("no precondition on lambda_function and settings")
	}
	bad := lambdaFunctionInput(1, map[string]cty.Value{"handler.type": cty.StringVal("exec")})
	if m.evalWith(t, cond, bad).True() {
		t.Error("lambda_function with handler.type exec in settings passes the precondition")
	}
	ok1 := lambdaFunctionInput(1, map[string]cty.Value{"worker.concurrency": cty.StringVal("10")})
	if !m.evalWith(t, cond, ok1).True() {
		t.Error("lambda_function alone fails the precondition")
	}

	// sqsfleet's own port must not be one the runtimes take.
	portCond := precondition(td.Body, "var", "http_port")
	if portCond == nil {
		t.Fatal("no precondition on http_port and the runtimes' ports")
	}
	for port, want := range map[int64]bool{8080: true, 9000: false, 9101: false, 9102: true} {
		in := lambdaFunctionInput(2, nil)
		in["http_port"] = cty.NumberIntVal(port)
		if got := m.evalWith(t, portCond, in).True(); got != want {
			t.Errorf("http_port %d with 2 runtimes: precondition %v, want %v", port, got, want)
		}
	}
}

// TestEC2LambdaFunction: lambda_function runs the image under Docker, one
// systemd unit per runtime publishing the emulator on the port the lambda
// handler's URL names, and the daemon accepts the settings.
func TestEC2LambdaFunction(t *testing.T) {
	d := daemonDefaults(t)
	m := tfModuleAt(t, "modules/ec2-asg")
	fn := cty.ObjectVal(map[string]cty.Value{
		"image":           cty.StringVal("123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:v3"),
		"command":         cty.ListVal([]cty.Value{cty.StringVal("app.handler")}),
		"runtimes":        cty.NumberIntVal(2),
		"timeout_seconds": cty.NumberIntVal(60),
		"environment":     cty.MapVal(map[string]cty.Value{"TABLE": cty.StringVal("orders")}),
	})
	ud := renderUserData(t, m, map[string]cty.Value{
		"lambda_function": fn,
		"settings":        cty.MapVal(map[string]cty.Value{"handler.batch_window": cty.StringVal("1s")}),
	})
	if _, err := exec.LookPath("bash"); err == nil {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(ud)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("bash -n on the user data: %v\n%s", err, out)
		}
	}
	if n := len(ud); n > 16<<10 {
		t.Errorf("the user data is %d bytes; EC2 takes at most 16 KiB", n)
	}
	_, rest, _ := strings.Cut(ud, "cat > /etc/sqsfleet/sqsfleet.env <<'SQSFLEET_EOF'\n")
	envText, _, _ := strings.Cut(rest, "\nSQSFLEET_EOF\n")
	env := parseEnvFile(t, envText)
	if err := loadEnv(t, d, env); err != nil {
		t.Errorf("the daemon rejects the environment file:\n%v\n%s", err, envText)
	}
	if env["SQSFLEET_HANDLER_TYPE"] != "lambda" || env["SQSFLEET_WORKER_CONCURRENCY"] != "20" || env["SQSFLEET_HANDLER_TIMEOUT"] != "70s" {
		t.Errorf("handler settings:\n%s", envText)
	}
	def, _ := url.Parse(handler.DefaultLambdaURL)
	urls := strings.Split(env["SQSFLEET_HANDLER_URL"], ",")
	var enabled []string
	for i, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || pu.Path != def.Path || pu.Hostname() != "127.0.0.1" {
			t.Errorf("handler URL %q", u)
			continue
		}
		if i == 0 && pu.Port() != def.Port() {
			t.Errorf("the first runtime is on port %s, not the handler's default %s", pu.Port(), def.Port())
		}
		enabled = append(enabled, "sqsfleet-lambda@"+pu.Port()+".service")
	}
	if want := "systemctl enable --now " + strings.Join(enabled, " ") + "\n"; len(urls) != 2 || !strings.Contains(ud, want) {
		t.Errorf("the user data does not start one runtime per handler URL (%v); want %q in:\n%s", urls, want, ud)
	}
	for _, want := range []string{
		"-p 127.0.0.1:%i:8080 --env-file /etc/sqsfleet/lambda.env 123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:v3 app.handler\n",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60\n",
		"TABLE=orders\n",
		"Before=sqsfleet.service\n",
		"docker login --username AWS --password-stdin",
	} {
		if !strings.Contains(ud, want) {
			t.Errorf("the user data lacks %q:\n%s", want, ud)
		}
	}
	// The runtimes start before the daemon is enabled.
	if strings.Index(ud, "sqsfleet-lambda@9000.service") > strings.Index(ud, "enable --now sqsfleet.service") {
		t.Error("sqsfleet is enabled before its function's runtimes")
	}

	lt := m.block(t, "resource", "aws_launch_template", "this")
	cond := precondition(lt.Body, "var", "http_port")
	if cond == nil {
		t.Fatal("no precondition on http_port and the runtimes' ports")
	}
	for port, want := range map[int64]bool{8080: true, 9001: false} {
		vars := map[string]cty.Value{"lambda_function": fn, "http_port": cty.NumberIntVal(port)}
		in := sampleInputs(vars)
		if got := m.evalWith(t, cond, in).True(); got != want {
			t.Errorf("http_port %d: precondition %v, want %v", port, got, want)
		}
	}

	// Without lambda_function, no Docker.
	if ud := renderUserData(t, m, nil); strings.Contains(ud, "docker") {
		t.Error("the user data installs Docker without lambda_function")
	}
}
