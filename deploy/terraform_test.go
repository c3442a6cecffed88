package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The modules and examples deploy/terraform ships (deploy/README.md lists
// them), each linted by tflint: a module dropped or renamed fails here.
var wantDirs = []string{
	"modules/queue", "modules/ec2-asg", "modules/ecs-fargate", "modules/dashboard",
	"examples/ec2-asg", "examples/ecs-fargate",
}

func TestTerraformLayout(t *testing.T) {
	mods := tfModules(t)
	var got []string
	for dir := range mods {
		got = append(got, dir)
	}
	sort.Strings(got)
	want := slices.Clone(wantDirs)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("directories with .tf files: got %v, want %v", got, want)
	}
	for dir, m := range mods {
		if _, err := os.Stat(filepath.Join(m.abs, ".tflint.hcl")); err != nil {
			t.Errorf("terraform/%s has no .tflint.hcl, so scripts/deploy-check.sh does not lint it", dir)
		}
		tf := m.blocks("terraform")
		if len(tf) != 1 {
			t.Errorf("terraform/%s: want one terraform block (required_version, required_providers)", dir)
			continue
		}
		// ~> 6.0: the 6.x provider these were written against (v6 renamed
		// data.aws_region's name to region), and no 7.0 with breaking
		// changes picked up by a fresh `terraform init`.
		rp := nested(tf[0].Body, "required_providers")
		aws := map[string]any{}
		if len(rp) == 1 && rp[0].Attributes["aws"] != nil {
			aws, _ = goValue(m.eval(rp[0].Attributes["aws"].Expr)).(map[string]any)
		}
		if aws["source"] != "hashicorp/aws" || aws["version"] != "~> 6.0" {
			t.Errorf("terraform/%s: required_providers.aws = %v, want hashicorp/aws ~> 6.0", dir, aws)
		}
	}
}

// TestTerraformReferences does part of what `terraform validate` would:
// every var., local., data., resource and module reference resolves, module
// calls pass declared variables and every required one, and the files that
// file() and templatefile() read exist, with every template variable given.
func TestTerraformReferences(t *testing.T) {
	for dir, m := range tfModules(t) {
		declared := map[string]bool{}
		for _, typ := range []string{"resource", "data"} {
			for _, b := range m.blocks(typ) {
				declared[typ+"."+b.Labels[0]+"."+b.Labels[1]] = true
			}
		}
		modules := map[string]*tfModule{}
		for _, b := range m.blocks("module") {
			modules[b.Labels[0]] = calledModule(t, m, b)
		}
		for _, tr := range m.traversals() {
			root := tr.RootName()
			name := func(i int) string {
				if len(tr) > i {
					if a, ok := tr[i].(hcl.TraverseAttr); ok {
						return a.Name
					}
				}
				return ""
			}
			where := fmt.Sprintf("terraform/%s: %s:%d", dir, filepath.Base(tr.SourceRange().Filename), tr.SourceRange().Start.Line)
			switch {
			case root == "var" && m.vars[name(1)] == nil:
				t.Errorf("%s: var.%s is not declared", where, name(1))
			case root == "local" && m.locals[name(1)] == nil:
				t.Errorf("%s: local.%s is not defined", where, name(1))
			case root == "data" && !declared["data."+name(1)+"."+name(2)]:
				t.Errorf("%s: data.%s.%s is not declared", where, name(1), name(2))
			case strings.HasPrefix(root, "aws_") && !declared["resource."+root+"."+name(1)]:
				t.Errorf("%s: %s.%s is not declared", where, root, name(1))
			case root == "module":
				called := modules[name(1)]
				if called == nil {
					t.Errorf("%s: module.%s is not declared", where, name(1))
				} else if called.outputs[name(2)] == nil {
					t.Errorf("%s: module.%s has no output %q", where, name(1), name(2))
				}
			}
		}
		checkFiles(t, m)
	}
}

// calledModule checks a module block's arguments against the module it
// calls, and returns that module.
func calledModule(t *testing.T, m *tfModule, b *hclsyntax.Block) *tfModule {
	t.Helper()
	src := m.attr(t, b.Body, "source")
	if !src.IsKnown() || src.Type() != cty.String || !strings.HasPrefix(src.AsString(), "../") {
		t.Fatalf("terraform/%s: module %q: source must be a local path", m.dir, b.Labels[0])
	}
	dir := filepath.ToSlash(filepath.Join(m.dir, src.AsString()))
	called := tfModuleAt(t, dir)
	meta := map[string]bool{"source": true, "version": true, "count": true, "for_each": true, "providers": true, "depends_on": true}
	for arg := range b.Body.Attributes {
		if !meta[arg] && called.vars[arg] == nil {
			t.Errorf("terraform/%s: module %q passes %s, which terraform/%s does not declare", m.dir, b.Labels[0], arg, dir)
		}
	}
	for name, v := range called.vars {
		if v.Body.Attributes["default"] == nil && b.Body.Attributes[name] == nil {
			t.Errorf("terraform/%s: module %q does not pass %s, which terraform/%s requires", m.dir, b.Labels[0], name, dir)
		}
	}
	return called
}

// checkFiles finds every file() and templatefile() call: the file must
// exist, and a template's variables must be exactly the ones passed.
func checkFiles(t *testing.T, m *tfModule) {
	t.Helper()
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok || (call.Name != "file" && call.Name != "templatefile") {
				return nil
			}
			where := call.Range().String()
			path := m.eval(call.Args[0])
			if !path.IsKnown() || path.Type() != cty.String {
				t.Errorf("%s: %s path is not known from the configuration alone", where, call.Name)
				return nil
			}
			if _, err := os.Stat(path.AsString()); err != nil {
				t.Errorf("%s: %v", where, err)
				return nil
			}
			if call.Name == "file" {
				return nil
			}
			tmpl, err := parseTemplate(path.AsString())
			if err != nil {
				t.Errorf("%s: %v", where, err)
				return nil
			}
			obj, ok := call.Args[1].(*hclsyntax.ObjectConsExpr)
			if !ok {
				t.Errorf("%s: templatefile variables should be an object literal", where)
				return nil
			}
			passed := map[string]bool{}
			for _, item := range obj.Items {
				k := m.eval(item.KeyExpr)
				if k.IsKnown() && k.Type() == cty.String {
					passed[k.AsString()] = true
				}
			}
			used := map[string]bool{}
			for _, tr := range tmpl.Variables() {
				used[tr.RootName()] = true
			}
			for k := range used {
				if !passed[k] {
					t.Errorf("%s: the template uses %s, which is not passed", where, k)
				}
			}
			for k := range passed {
				if !used[k] {
					t.Errorf("%s: %s is passed but the template does not use it", where, k)
				}
			}
			return nil
		})
	}
}

// fleets are the modules that run the daemon, with the resources that
// carry its wiring.
var fleets = []struct {
	dir, policyDoc, settingsPublisher string
}{
	{"modules/ec2-asg", "worker", "cloudwatch"},
	{"modules/ecs-fargate", "task", "emf"},
}

// TestDaemonSettings: the configuration the fleet modules give the daemon
// uses real keys, and the values the rest of the module depends on.
func TestDaemonSettings(t *testing.T) {
	d := daemonDefaults(t)
	for _, f := range fleets {
		m := tfModuleAt(t, f.dir)
		settings, ok := goValue(m.ctx.Variables["local"].GetAttr("settings")).(map[string]any)
		if !ok {
			t.Fatalf("terraform/%s: local.settings is not a known map", f.dir)
		}
		for k := range settings {
			if !d.keys[k] {
				t.Errorf("terraform/%s: local.settings sets %q, which is no configuration key", f.dir, k)
			}
		}
		want := map[string]any{
			"http.addr":                  ":" + d.httpPort,
			"scaler.namespace":           d.namespace,
			"scaler.metric_name":         d.metric,
			"scaler.dimension_name":      d.dimension,
			"scaler.publisher":           f.settingsPublisher,
			"scaler.scale_in_protection": "true",
			"queue.max_attempts":         strconv.Itoa(d.attempts),
		}
		for k, v := range want {
			if settings[k] != v {
				t.Errorf("terraform/%s: local.settings[%q] = %v, want %v", f.dir, k, settings[k], v)
			}
		}
		for _, k := range []string{"queue.url", "queue.dlq_url", "scaler.enabled", "scaler.fleet"} {
			if _, ok := settings[k]; !ok {
				t.Errorf("terraform/%s: local.settings does not set %s", f.dir, k)
			}
		}
	}

	// The examples' variable files: real keys, and every required variable.
	for _, dir := range []string{"examples/ec2-asg", "examples/ecs-fargate"} {
		m := tfModuleAt(t, dir)
		path := filepath.Join("terraform", dir, "terraform.tfvars.example")
		file, diags := hclparse.NewParser().ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", path, diags.Error())
		}
		attrs := file.Body.(*hclsyntax.Body).Attributes
		for name := range attrs {
			if m.vars[name] == nil {
				t.Errorf("%s sets %s, which terraform/%s does not declare", path, name, dir)
			}
		}
		for name, v := range m.vars {
			if v.Body.Attributes["default"] == nil && attrs[name] == nil {
				t.Errorf("%s does not set %s, which terraform/%s requires", path, name, dir)
			}
		}
		if a := attrs["settings"]; a != nil {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("%s: settings: %s", path, diags.Error())
			}
			for k := range v.AsValueMap() {
				if !d.keys[k] {
					t.Errorf("%s: settings has %q, which is no configuration key", path, k)
				}
			}
		}
	}
}

// TestHealthCheckWiring: the load balancer and ECS probe the daemon's
// health endpoint on its port, the way the Dockerfile does.
func TestHealthCheckWiring(t *testing.T) {
	d := daemonDefaults(t)
	port, _ := strconv.ParseFloat(d.httpPort, 64)

	ec2 := tfModuleAt(t, "modules/ec2-asg")
	tg := ec2.block(t, "resource", "aws_lb_target_group", "health")
	if got := goValue(ec2.attr(t, tg.Body, "port")); got != port {
		t.Errorf("target group port %v, want the daemon's %v", got, port)
	}
	hc := nested(tg.Body, "health_check")
	if len(hc) != 1 {
		t.Fatal("target group: want one health_check block")
	}
	if got := goValue(ec2.attr(t, hc[0], "path")); got != d.healthPath {
		t.Errorf("target group health check path %v, want %s", got, d.healthPath)
	}
	asg := ec2.block(t, "resource", "aws_autoscaling_group", "this")
	if !references(asg.Body.Attributes["target_group_arns"].Expr, "aws_lb_target_group", "health") {
		t.Error("the Auto Scaling group does not use the /healthz target group")
	}
	// With the load balancer, the group takes its target group's verdict
	// (ELB). Without one there is no target group, and ELB would check
	// nothing beyond EC2's own status checks: sqsfleet-lifecycle then GETs
	// /healthz itself and calls SetInstanceHealth, which needs the action.
	for _, alb := range []bool{true, false} {
		in := map[string]cty.Value{"alb_health_check": cty.BoolVal(alb)}
		typ := goValue(ec2.evalWith(t, asg.Body.Attributes["health_check_type"].Expr, in))
		wantTyp := map[bool]string{true: "ELB", false: "EC2"}[alb]
		if typ != wantTyp {
			t.Errorf("alb_health_check = %v: health_check_type %v, want %s", alb, typ, wantTyp)
		}
		env := lifecycleEnv(t, ec2, in)
		wantURL := ""
		if !alb {
			wantURL = "http://127.0.0.1:" + d.httpPort + d.healthPath
		}
		if env["HEALTH_URL"] != wantURL {
			t.Errorf("alb_health_check = %v: lifecycle.env HEALTH_URL=%q, want %q", alb, env["HEALTH_URL"], wantURL)
		}
		allowed := false
		for _, s := range policyStatementsWith(t, ec2, in) {
			if slices.Contains(s.actions, "autoscaling:SetInstanceHealth") {
				allowed = true
				if !references(s.resources, "local", "asg_arn") {
					t.Errorf("%s: autoscaling:SetInstanceHealth on something else than the group", s.where)
				}
			}
		}
		if allowed == alb {
			t.Errorf("alb_health_check = %v: the instance role allows autoscaling:SetInstanceHealth: %v", alb, allowed)
		}
	}

	ecs := tfModuleAt(t, "modules/ecs-fargate")
	c := ecsContainer(t, ecs)
	pathDefault, _ := ecs.defaultOf("sqsfleet_path")
	path, _ := goValue(pathDefault).(string)
	hcCmd := strs(t, "ECS healthCheck.command", c["healthCheck"].(map[string]any)["command"])
	if want := []string{"CMD", path, "healthcheck"}; !slices.Equal(hcCmd, want) {
		t.Errorf("ECS healthCheck.command %q, want %q", hcCmd, want)
	}
	if path != dockerfile(t).entrypoint[0] {
		t.Errorf("ECS sqsfleet_path %s, but the image has the binary at %s", path, dockerfile(t).entrypoint[0])
	}
	pm, _ := c["portMappings"].([]any)
	if len(pm) != 1 || pm[0].(map[string]any)["containerPort"] != port {
		t.Errorf("ECS portMappings %v, want the daemon's port %v", c["portMappings"], port)
	}
}

// ecsContainer is the sqsfleet container definition, as far as known.
func ecsContainer(t *testing.T, m *tfModule) map[string]any {
	t.Helper()
	c, ok := goValue(m.ctx.Variables["local"].GetAttr("container_base")).(map[string]any)
	if !ok {
		t.Fatal("terraform/modules/ecs-fargate: local.container_base is not known")
	}
	td := m.block(t, "resource", "aws_ecs_task_definition", "this")
	if !references(td.Body.Attributes["container_definitions"].Expr, "local", "container") {
		t.Fatal("the task definition does not use local.container")
	}
	if !references(m.locals["container"].Expr, "local", "container_base") {
		t.Fatal("local.container is not built from local.container_base")
	}
	return c
}

// TestScalingMetricWiring: the scaling policies, the alarms and the
// dashboard name the metric the daemon publishes.
func TestScalingMetricWiring(t *testing.T) {
	d := daemonDefaults(t)
	for _, f := range []struct{ dir, typ, config, dims string }{
		{"modules/ec2-asg", "aws_autoscaling_policy", "target_tracking_configuration", "metric_dimension"},
		{"modules/ecs-fargate", "aws_appautoscaling_policy", "target_tracking_scaling_policy_configuration", "dimensions"},
	} {
		m := tfModuleAt(t, f.dir)
		p := m.block(t, "resource", f.typ, "backlog")
		if got := goValue(m.attr(t, p.Body, "policy_type")); got != "TargetTrackingScaling" {
			t.Errorf("terraform/%s: policy_type %v", f.dir, got)
		}
		cfg := nested(p.Body, f.config)
		if len(cfg) != 1 {
			t.Fatalf("terraform/%s: want one %s", f.dir, f.config)
		}
		if !references(cfg[0].Attributes["target_value"].Expr, "var", "target_backlog_per_instance") {
			t.Errorf("terraform/%s: target_value is not var.target_backlog_per_instance", f.dir)
		}
		found := false
		for _, spec := range nested(cfg[0], "customized_metric_specification") {
			if spec.Attributes["namespace"] == nil {
				continue // the metric-math alternative
			}
			found = true
			if got := goValue(m.attr(t, spec, "namespace")); got != d.namespace {
				t.Errorf("terraform/%s: policy namespace %v, want %s", f.dir, got, d.namespace)
			}
			if got := goValue(m.attr(t, spec, "metric_name")); got != d.metric {
				t.Errorf("terraform/%s: policy metric_name %v, want %s", f.dir, got, d.metric)
			}
			if got := goValue(m.attr(t, spec, "statistic")); got != "Average" {
				t.Errorf("terraform/%s: policy statistic %v, want Average (what target tracking expects of a per-instance metric)", f.dir, got)
			}
			dims := nested(spec, f.dims)
			if len(dims) != 1 {
				t.Fatalf("terraform/%s: want one %s", f.dir, f.dims)
			}
			if got := goValue(m.attr(t, dims[0], "name")); got != d.dimension {
				t.Errorf("terraform/%s: policy dimension %v, want %s", f.dir, got, d.dimension)
			}
			if !references(dims[0].Attributes["value"].Expr, "local", "queue_name") {
				t.Errorf("terraform/%s: the dimension's value is not the queue's name", f.dir)
			}
		}
		if !found {
			t.Errorf("terraform/%s: no customized_metric_specification on the published metric", f.dir)
		}
		alarm := m.block(t, "resource", "aws_cloudwatch_metric_alarm", "metric_missing")
		if goValue(m.attr(t, alarm.Body, "namespace")) != d.namespace || goValue(m.attr(t, alarm.Body, "metric_name")) != d.metric {
			t.Errorf("terraform/%s: the metric-missing alarm watches another metric", f.dir)
		}
	}

	// The metric-math alternative is there, behind its switch.
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	if v, _ := ec2.defaultOf("scaling_metric"); goValue(v) != "backlog_per_instance" {
		t.Errorf("ec2-asg: scaling_metric defaults to %v", goValue(v))
	}

	dash := tfModuleAt(t, "modules/dashboard")
	widgets, _ := goValue(dash.ctx.Variables["local"].GetAttr("widgets")).([]any)
	found := false
	for _, w := range widgets {
		metrics, _ := w.(map[string]any)["metrics"].([]any) // the fleet's are unknown: var.fleet has no default
		for _, metric := range metrics {
			if m, ok := metric.([]any); ok && len(m) >= 3 && m[0] == d.namespace && m[1] == d.metric && m[2] == d.dimension {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the dashboard has no %s/%s by %s graph", d.namespace, d.metric, d.dimension)
	}
	var titles []string
	for _, w := range widgets {
		title, _ := w.(map[string]any)["title"].(string)
		titles = append(titles, strings.ToLower(title))
	}
	for _, want := range []string{"backlog", "backlog per instance", "fleet size", "oldest message", "dead-letter", "outcomes"} {
		if !slices.ContainsFunc(titles, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("the dashboard has no %q widget (titles: %q)", want, titles)
		}
	}

	for _, dir := range []string{"modules/ec2-asg", "modules/ecs-fargate", "modules/dashboard"} {
		m := tfModuleAt(t, dir)
		for name, want := range map[string]string{"metric_namespace": d.namespace, "metric_name": d.metric, "metric_dimension_name": d.dimension} {
			if v, err := m.defaultOf(name); err != nil || goValue(v) != want {
				t.Errorf("terraform/%s: var.%s defaults to %v, want the daemon's %s", dir, name, goValue(v), want)
			}
		}
	}
}

// TestStopTimeouts: every layer that stops a worker waits longer than the
// daemon's drain (worker.shutdown_timeout plus a long poll in flight).
func TestStopTimeouts(t *testing.T) {
	d := daemonDefaults(t)
	drain := d.shutdown + d.waitTime

	ecs := tfModuleAt(t, "modules/ecs-fargate")
	stop, ok := ecsContainer(t, ecs)["stopTimeout"].(float64)
	if !ok {
		t.Fatal("ECS container has no known stopTimeout")
	}
	if stop <= drain.Seconds() || stop > 120 {
		t.Errorf("ECS stopTimeout %vs: want above the drain (%s) and at most Fargate's 120", stop, drain)
	}

	unitStop := unit(t).timeoutStop(t)
	if unitStop <= drain {
		t.Errorf("TimeoutStopSec %s: want above the drain (%s)", unitStop, drain)
	}

	// The lifecycle hook outlasts the unit's stop, and the module refuses a
	// shorter one.
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	hb, _ := ec2.defaultOf("drain_timeout_seconds")
	if got, _ := number(hb); got <= unitStop.Seconds() {
		t.Errorf("drain_timeout_seconds defaults to %v, want above TimeoutStopSec (%s)", got, unitStop)
	}
	hook := ec2.block(t, "resource", "aws_autoscaling_lifecycle_hook", "drain")
	if goValue(ec2.attr(t, hook.Body, "lifecycle_transition")) != "autoscaling:EC2_INSTANCE_TERMINATING" ||
		!references(hook.Body.Attributes["heartbeat_timeout"].Expr, "var", "drain_timeout_seconds") {
		t.Error("the termination lifecycle hook is not timed by var.drain_timeout_seconds")
	}
	cond := precondition(hook.Body, "var", "drain_timeout_seconds")
	if cond == nil {
		t.Fatal("the lifecycle hook has no precondition on drain_timeout_seconds")
	}
	s := unitStop.Seconds()
	// 7200 s is the most a lifecycle hook's heartbeat timeout may be.
	for v, want := range map[float64]bool{s: false, s + 1: true, 7200: true, 7201: false} {
		got := ec2.evalWith(t, cond, map[string]cty.Value{"drain_timeout_seconds": cty.NumberFloatVal(v)})
		if got.True() != want {
			t.Errorf("precondition with drain_timeout_seconds = %v: %v, want %v (TimeoutStopSec is %s)", v, got.True(), want, unitStop)
		}
	}
}

// statement is one IAM policy statement, as far as the configuration
// alone decides it.
type statement struct {
	where      string
	doc        string
	sid        string
	effect     string
	actions    []string
	resources  hcl.Expression
	resolved   any // resources, evaluated with the variables given
	conditions []condition
	principals []string // types
	identities []string // the principals' identifiers, where known
}

type condition struct {
	test, variable string
	values         any
}

func policyStatements(t *testing.T, m *tfModule) []statement {
	t.Helper()
	return policyStatementsWith(t, m, nil)
}

// policyStatementsWith is policyStatements with some variables set: dynamic
// statements whose for_each the variables decide are left out when empty.
func policyStatementsWith(t *testing.T, m *tfModule, vars map[string]cty.Value) []statement {
	t.Helper()
	if vars != nil {
		ctx, err := m.evalContext(vars)
		if err != nil {
			t.Fatal(err)
		}
		with := *m
		with.ctx = ctx
		m = &with
	}
	var out []statement
	for _, doc := range m.blocks("data", "aws_iam_policy_document") {
		for _, body := range statementBodies(m, doc.Body, vars != nil) {
			s := statement{where: body.SrcRange.String(), doc: doc.Labels[1], effect: "Allow"}
			if a := body.Attributes["effect"]; a != nil {
				s.effect, _ = goValue(m.eval(a.Expr)).(string)
			}
			for _, forbidden := range []string{"not_actions", "not_resources", "not_principals"} {
				if body.Attributes[forbidden] != nil || len(nested(body, forbidden)) > 0 {
					t.Errorf("%s: %s makes a policy hard to review; list what is allowed", s.where, forbidden)
				}
			}
			s.actions = strs(t, s.where+": actions", goValue(m.attr(t, body, "actions")))
			if a := body.Attributes["resources"]; a != nil {
				s.resources = a.Expr
				s.resolved = goValue(m.eval(a.Expr))
			}
			for _, c := range nested(body, "condition") {
				test, _ := goValue(m.attr(t, c, "test")).(string)
				variable, _ := goValue(m.attr(t, c, "variable")).(string)
				s.conditions = append(s.conditions, condition{test, variable, goValue(m.attr(t, c, "values"))})
			}
			if a := body.Attributes["sid"]; a != nil {
				s.sid, _ = goValue(m.eval(a.Expr)).(string)
			}
			for _, p := range nested(body, "principals") {
				typ, _ := goValue(m.attr(t, p, "type")).(string)
				s.principals = append(s.principals, typ)
				if ids, ok := goValue(m.attr(t, p, "identifiers")).([]any); ok {
					for _, id := range ids {
						if id, ok := id.(string); ok {
							s.identities = append(s.identities, id)
						}
					}
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// TestIAMLeastPrivilege: every policy allows only calls the deployment
// makes, never a wildcard action, and the workers' SQS permissions are
// exactly the daemon's SQS calls, on the two queues.
func TestIAMLeastPrivilege(t *testing.T) {
	d := daemonDefaults(t)
	allowed := allowedActions()
	wantSQS := sqsActions()

	for dir, m := range tfModules(t) {
		// Every policy goes through an aws_iam_policy_document, so that this
		// test sees it.
		for _, typ := range []string{"aws_iam_role_policy", "aws_iam_role", "aws_sqs_queue_policy", "aws_iam_policy"} {
			for _, r := range m.blocks("resource", typ) {
				for _, attr := range []string{"policy", "assume_role_policy"} {
					if a := r.Body.Attributes[attr]; a != nil && !hasRoot(a.Expr, "data") {
						t.Errorf("terraform/%s: %s.%s.%s is not an aws_iam_policy_document", dir, typ, r.Labels[1], attr)
					}
				}
			}
		}
		// Managed policies only come from the user.
		for _, r := range m.blocks("resource", "aws_iam_role_policy_attachment") {
			if !hasRoot(r.Body.Attributes["policy_arn"].Expr, "each") {
				t.Errorf("terraform/%s: %s attaches a managed policy of its own", dir, r.Labels[1])
			}
		}

		for _, s := range policyStatements(t, m) {
			for _, a := range s.actions {
				if s.effect == "Deny" {
					continue // denying broadly is fine
				}
				if strings.Contains(a, "*") {
					t.Errorf("%s: allows the wildcard action %q", s.where, a)
				} else if allowed[a] == "" {
					t.Errorf("%s: allows %s, which nothing in the deployment calls", s.where, a)
				}
				if a == "sts:AssumeRole" && !slices.Equal(s.principals, []string{"Service"}) {
					t.Errorf("%s: sts:AssumeRole for principals %v, want one Service", s.where, s.principals)
				}
				if strings.HasPrefix(a, "sqs:") {
					switch {
					case references(s.resources, "var", "queue_arn") || references(s.resources, "var", "dlq_arn"):
					case dir == "modules/queue" && references(s.resources, "aws_sqs_queue", "this") && !producerGrant(s) && len(s.principals) == 0:
						// The queue module's own role (scheduled tasks)
						// names its queue directly.
					case dir == "modules/queue" && producerGrant(s):
						// The queue's own policy admitting SNS or
						// EventBridge; TestQueueProducers checks them.
					default:
						t.Errorf("%s: %s on something else than var.queue_arn or var.dlq_arn", s.where, a)
					}
				}
				if a == "cloudwatch:PutMetricData" {
					ok := slices.ContainsFunc(s.conditions, func(c condition) bool {
						v, _ := c.values.([]any)
						return c.test == "StringEquals" && c.variable == "cloudwatch:namespace" && len(v) == 1 && v[0] == d.namespace
					})
					if !ok {
						t.Errorf("%s: cloudwatch:PutMetricData without a StringEquals cloudwatch:namespace = %s condition", s.where, d.namespace)
					}
				}
			}
			if s.effect == "Allow" && s.resources != nil {
				if res, ok := goValue(m.eval(s.resources)).([]any); ok && slices.Contains(res, any("*")) {
					for _, a := range s.actions {
						if strings.HasPrefix(a, "sqs:") || a == "autoscaling:SetInstanceProtection" || a == "autoscaling:CompleteLifecycleAction" || a == "autoscaling:SetInstanceHealth" || a == "ecs:UpdateTaskProtection" ||
							strings.HasPrefix(a, "kms:") || strings.HasPrefix(a, "ssm:") || strings.HasPrefix(a, "secretsmanager:") {
							t.Errorf("%s: %s on all resources", s.where, a)
						}
					}
				}
			}
		}
	}

	// The workers' roles: exactly the daemon's SQS calls.
	for _, f := range fleets {
		m := tfModuleAt(t, f.dir)
		got := map[string]bool{}
		for _, s := range policyStatements(t, m) {
			if s.doc != f.policyDoc {
				continue
			}
			for _, a := range s.actions {
				if strings.HasPrefix(a, "sqs:") {
					got[a] = true
				}
			}
		}
		if !mapsEqual(got, wantSQS) {
			t.Errorf("terraform/%s: the %s policy allows SQS actions %v; the daemon calls %v", f.dir, f.policyDoc, sortedKeys(got), sortedKeys(wantSQS))
		}
	}
}

// producerGrant reports whether s is a queue policy statement that lets an
// AWS service deliver to the queue: SendMessage only, to a service
// principal, from one source ARN.
func producerGrant(s statement) bool {
	return slices.Equal(s.actions, []string{"sqs:SendMessage"}) && s.effect == "Allow" &&
		slices.Equal(s.principals, []string{"Service"}) &&
		slices.ContainsFunc(s.conditions, func(c condition) bool {
			return c.test == "ArnEquals" && c.variable == "aws:SourceArn"
		})
}

func hasRoot(expr hcl.Expression, root string) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() == root {
			return true
		}
	}
	return false
}

func mapsEqual(a, b map[string]bool) bool {
	return slices.Equal(sortedKeys(a), sortedKeys(b))
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestQueueModule: the redrive policy is a safety net behind the daemon's
// own dead-lettering, the queues are encrypted and TLS-only, and the two
// alarms exist.
func TestQueueModule(t *testing.T) {
	d := daemonDefaults(t)
	m := tfModuleAt(t, "modules/queue")
	attempts, _ := m.defaultOf("max_attempts")
	receives, _ := m.defaultOf("max_receive_count")
	a, _ := number(attempts)
	r, _ := number(receives)
	if int(a) != d.attempts {
		t.Errorf("queue: max_attempts defaults to %v, the daemon's queue.max_attempts to %d", a, d.attempts)
	}
	if r <= a {
		t.Errorf("queue: max_receive_count defaults to %v, not above max_attempts %v", r, a)
	}
	for _, f := range fleets {
		v, _ := tfModuleAt(t, f.dir).defaultOf("max_attempts")
		if n, _ := number(v); int(n) != d.attempts {
			t.Errorf("terraform/%s: max_attempts defaults to %v, the daemon's to %d", f.dir, n, d.attempts)
		}
	}

	q := m.block(t, "resource", "aws_sqs_queue", "this")
	redrive, ok := q.Body.Attributes["redrive_policy"].Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || redrive.Name != "jsonencode" {
		t.Fatal("queue: redrive_policy should be jsonencode({...})")
	}
	if !references(redrive.Args[0], "var", "max_receive_count") || !references(redrive.Args[0], "aws_sqs_queue", "dlq") {
		t.Error("queue: the redrive policy should send to the DLQ after var.max_receive_count receives")
	}
	for _, name := range []string{"this", "dlq"} {
		b := m.block(t, "resource", "aws_sqs_queue", name)
		if goValue(m.attr(t, b.Body, "sqs_managed_sse_enabled")) != true {
			t.Errorf("queue: aws_sqs_queue.%s is not encrypted with SSE-SQS", name)
		}
	}

	tls := false
	for _, s := range policyStatements(t, m) {
		if s.effect == "Deny" && slices.ContainsFunc(s.conditions, func(c condition) bool {
			v, _ := c.values.([]any)
			return c.test == "Bool" && c.variable == "aws:SecureTransport" && slices.Equal(v, []any{"false"})
		}) {
			tls = true
		}
	}
	if !tls {
		t.Error("queue: no policy statement denies aws:SecureTransport = false")
	}
	policies := m.block(t, "resource", "aws_sqs_queue_policy", "tls_only")
	fe, _ := goValue(m.attr(t, policies.Body, "for_each")).(map[string]any)
	if len(fe) != 2 {
		t.Errorf("queue: the TLS-only policy should cover both queues, for_each is %v", fe)
	}

	alarms := map[string]string{}
	for _, b := range m.blocks("resource", "aws_cloudwatch_metric_alarm") {
		metric, _ := goValue(m.attr(t, b.Body, "metric_name")).(string)
		dims := b.Body.Attributes["dimensions"].Expr
		switch {
		case references(dims, "aws_sqs_queue", "dlq"):
			alarms[metric] = "dlq"
		case references(dims, "aws_sqs_queue", "this"):
			alarms[metric] = "queue"
		}
	}
	if alarms["ApproximateNumberOfMessagesVisible"] != "dlq" {
		t.Error("queue: no alarm on the DLQ's depth")
	}
	if alarms["ApproximateAgeOfOldestMessage"] != "queue" {
		t.Error("queue: no alarm on the age of the queue's oldest message")
	}
}

// sampleInputs are values for the fleet modules' required variables.
func sampleInputs(extra map[string]cty.Value) map[string]cty.Value {
	in := map[string]cty.Value{
		"name":                        cty.StringVal("jobs"),
		"vpc_id":                      cty.StringVal("vpc-0123456789abcdef0"),
		"subnet_ids":                  cty.ListVal([]cty.Value{cty.StringVal("subnet-0123456789abcdef0")}),
		"queue_url":                   cty.StringVal("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"),
		"queue_arn":                   cty.StringVal("arn:aws:sqs:eu-west-1:123456789012:jobs"),
		"dlq_url":                     cty.StringVal("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-dlq"),
		"dlq_arn":                     cty.StringVal("arn:aws:sqs:eu-west-1:123456789012:jobs-dlq"),
		"target_backlog_per_instance": cty.NumberIntVal(300),
		"settings": cty.MapVal(map[string]cty.Value{
			"handler.type":       cty.StringVal("exec"),
			"handler.command":    cty.StringVal("/usr/bin/python3 /opt/worker/worker.py"),
			"worker.concurrency": cty.StringVal("20"),
		}),
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// TestRenderedConfiguration renders what the fleet modules give the daemon,
// with sample inputs, and loads it the way the daemon would.
func TestRenderedConfiguration(t *testing.T) {
	d := daemonDefaults(t)

	// EC2: the user data script, and the environment file inside it.
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	for _, url := range []string{"https://artifacts.example.com/sqsfleet", "s3://artifacts/sqsfleet/v1/sqsfleet"} {
		script := ec2.evalWith(t, &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "user_data"}}},
			sampleInputs(map[string]cty.Value{
				"artifact_url":    cty.StringVal(url),
				"artifact_sha256": cty.StringVal(strings.Repeat("ab", 32)),
				"extra_user_data": cty.StringVal("dnf install -y python3"),
			}))
		if !script.IsKnown() {
			t.Fatal("ec2-asg: local.user_data is not known from the inputs alone")
		}
		ud := script.AsString()
		if n := len(ud); n > 16<<10 {
			t.Errorf("the user data is %d bytes; EC2 takes at most 16 KiB", n)
		}
		if strings.HasPrefix(url, "s3://") != strings.Contains(ud, "aws s3 cp --only-show-errors '"+url+"'") {
			t.Errorf("user data for %s does not download it the right way:\n%s", url, ud)
		}
		if _, err := exec.LookPath("bash"); err == nil {
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(ud)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("bash -n on the user data: %v\n%s\n%s", err, out, ud)
			}
		}
		_, rest, ok := strings.Cut(ud, "cat > /etc/sqsfleet/sqsfleet.env <<'SQSFLEET_EOF'\n")
		envText, _, ok2 := strings.Cut(rest, "\nSQSFLEET_EOF\n")
		if !ok || !ok2 {
			t.Fatalf("no environment file in the user data:\n%s", ud)
		}
		env := parseEnvFile(t, envText)
		if err := loadEnv(t, d, env); err != nil {
			t.Errorf("the daemon rejects the ec2-asg environment file:\n%v\n%s", err, envText)
		}
		if env["SQSFLEET_WORKER_CONCURRENCY"] != "20" || env["SQSFLEET_SCALER_ASG_NAME"] != "jobs" {
			t.Errorf("the ec2-asg environment file lost a setting:\n%s", envText)
		}
	}

	// ECS: the container's environment.
	ecs := tfModuleAt(t, "modules/ecs-fargate")
	c := ecs.evalWith(t, ecs.locals["container_base"].Expr, sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1")}))
	envList, _ := goValue(c.GetAttr("environment")).([]any)
	env := map[string]string{}
	for _, e := range envList {
		kv, _ := e.(map[string]any)
		name, _ := kv["name"].(string)
		value, ok := kv["value"].(string)
		if !ok {
			t.Fatalf("ecs-fargate: environment %s is not known from the inputs alone", name)
		}
		env[name] = value
	}
	if err := loadEnv(t, d, env); err != nil {
		t.Errorf("the daemon rejects the ecs-fargate container environment:\n%v\n%v", err, env)
	}
	if env["SQSFLEET_SCALER_ECS_SERVICE"] != "jobs" || env["SQSFLEET_SCALER_ECS_CLUSTER"] != "jobs" {
		t.Errorf("ecs-fargate: the scaler is not told its cluster and service: %v", env)
	}
}

// TestECSTask: the container runs the way the image is meant to run.
func TestECSTask(t *testing.T) {
	m := tfModuleAt(t, "modules/ecs-fargate")
	c := ecsContainer(t, m)
	img := dockerfile(t)
	if got := strs(t, "entryPoint", c["entryPoint"]); !slices.Equal(got, img.entrypoint) {
		t.Errorf("entryPoint %q, the image's ENTRYPOINT is %q", got, img.entrypoint)
	}
	if got := strs(t, "command", c["command"]); !slices.Equal(got, []string{"run"}) {
		t.Errorf("command %q, want [run]", got)
	}
	if c["readonlyRootFilesystem"] != true {
		t.Error("the root file system is not read-only")
	}
	user, _ := c["user"].(string)
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("the container runs as %q", user)
	}
	if imgUID, _, _ := strings.Cut(img.user, ":"); !strings.HasPrefix(user, imgUID+":") {
		t.Errorf("the container runs as %s, the image as %s", user, img.user)
	}
	logs, _ := c["logConfiguration"].(map[string]any)
	if logs["logDriver"] != "awslogs" {
		t.Errorf("logDriver %v, want awslogs (which also carries the EMF lines)", logs["logDriver"])
	}
	if lp, _ := c["linuxParameters"].(map[string]any); lp["initProcessEnabled"] != true {
		t.Error("no init process: exec handlers' orphans would not be reaped")
	}
	td := m.block(t, "resource", "aws_ecs_task_definition", "this")
	if got := goValue(m.attr(t, td.Body, "requires_compatibilities")); !slices.Equal(strs(t, "requires_compatibilities", got), []string{"FARGATE"}) {
		t.Errorf("requires_compatibilities %v", got)
	}
	svc := m.block(t, "resource", "aws_ecs_service", "this")
	providers := map[string]bool{}
	for _, s := range nested(svc.Body, "capacity_provider_strategy") {
		p, _ := goValue(m.attr(t, s, "capacity_provider")).(string)
		providers[p] = true
	}
	if !providers["FARGATE"] || !providers["FARGATE_SPOT"] || len(providers) != 2 {
		t.Errorf("capacity providers %v, want FARGATE and the optional FARGATE_SPOT", sortedKeys(providers))
	}
	if v, _ := m.defaultOf("fargate_spot_weight"); goValue(v) != 0.0 {
		t.Errorf("fargate_spot_weight defaults to %v, want 0 (Spot is opt-in)", goValue(v))
	}
}

// precondition returns the condition of the first precondition in body's
// lifecycle block that refers to root.name.
func precondition(body *hclsyntax.Body, root, name string) hcl.Expression {
	for _, lc := range nested(body, "lifecycle") {
		for _, pre := range nested(lc, "precondition") {
			if references(pre.Attributes["condition"].Expr, root, name) {
				return pre.Attributes["condition"].Expr
			}
		}
	}
	return nil
}

// ignoredChanges lists the attributes in body's lifecycle.ignore_changes.
func ignoredChanges(t *testing.T, body *hclsyntax.Body) []string {
	t.Helper()
	var out []string
	for _, lc := range nested(body, "lifecycle") {
		a := lc.Attributes["ignore_changes"]
		if a == nil {
			continue
		}
		exprs, diags := hcl.ExprList(a.Expr)
		if diags.HasErrors() {
			t.Fatalf("%s: ignore_changes: %s", a.SrcRange, diags.Error())
		}
		for _, e := range exprs {
			tr, diags := hcl.AbsTraversalForExpr(e)
			if diags.HasErrors() {
				t.Fatalf("%s: ignore_changes: %s", a.SrcRange, diags.Error())
			}
			out = append(out, tr.RootName())
		}
	}
	return out
}

// TestLifecycleHookUpdatesInPlace: changing drain_timeout_seconds must not
// replace the Auto Scaling group. Any change to the group's inline
// initial_lifecycle_hook forces a new group (the provider marks it
// ForceNew, hashicorp/terraform-provider-aws#34260), and a group named
// var.name cannot be created before the old one is destroyed: the fleet
// would be terminated. The hook therefore lives in its own
// aws_autoscaling_lifecycle_hook (PutLifecycleHook, in place). The inline
// block stays, with the same name, so that the instances the group
// launches when it is created are covered before that resource exists,
// and the group ignores later changes to it; for a group created by an
// older version of the module, whose state holds the inline hook, this
// also means the upgrade plans no replacement.
func TestLifecycleHookUpdatesInPlace(t *testing.T) {
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	asg := ec2.block(t, "resource", "aws_autoscaling_group", "this")
	hook := ec2.block(t, "resource", "aws_autoscaling_lifecycle_hook", "drain")
	if !references(hook.Body.Attributes["autoscaling_group_name"].Expr, "aws_autoscaling_group", "this") {
		t.Error("the lifecycle hook does not name the module's group")
	}
	if goValue(ec2.attr(t, hook.Body, "default_result")) != "CONTINUE" {
		t.Error("the lifecycle hook's default_result is not CONTINUE: a drain that times out would leave the instance to be abandoned")
	}
	if !slices.Contains(ignoredChanges(t, asg.Body), "initial_lifecycle_hook") {
		t.Error("the Auto Scaling group does not ignore changes to initial_lifecycle_hook: changing drain_timeout_seconds replaces the whole group")
	}
	inline := nested(asg.Body, "initial_lifecycle_hook")
	if len(inline) != 1 {
		t.Fatalf("want one initial_lifecycle_hook (it covers the instances launched before the hook resource exists), found %d", len(inline))
	}
	for _, attr := range []string{"name", "lifecycle_transition", "default_result"} {
		if got, want := goValue(ec2.attr(t, inline[0], attr)), goValue(ec2.attr(t, hook.Body, attr)); got != want {
			t.Errorf("initial_lifecycle_hook.%s = %v, the hook resource's is %v: they must be the same hook", attr, got, want)
		}
	}
}

// dependsOn lists the resources (type.name) in body's depends_on.
func dependsOn(t *testing.T, body *hclsyntax.Body) []string {
	t.Helper()
	a := body.Attributes["depends_on"]
	if a == nil {
		return nil
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		t.Fatalf("%s: depends_on: %s", a.SrcRange, diags.Error())
	}
	var out []string
	for _, e := range exprs {
		tr, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() || len(tr) < 2 {
			t.Fatalf("%s: depends_on: %s", a.SrcRange, diags.Error())
		}
		out = append(out, tr.RootName()+"."+tr[1].(hcl.TraverseAttr).Name)
	}
	return out
}

// TestECSServiceUpdates: what the service needs so that an apply updates it
// in place and its first tasks start.
func TestECSServiceUpdates(t *testing.T) {
	m := tfModuleAt(t, "modules/ecs-fargate")
	svc := m.block(t, "resource", "aws_ecs_service", "this")
	// The provider replaces the service on a capacity_provider_strategy
	// change unless force_new_deployment is true (its
	// capacityProviderStrategyCustomizeDiff): turning on Fargate Spot
	// would delete the service and every running task with it.
	if goValue(m.attr(t, svc.Body, "force_new_deployment")) != true {
		t.Error("aws_ecs_service.this: force_new_deployment is not true, so a capacity_provider_strategy change (fargate_spot_weight) replaces the service")
	}
	// The execution role pulls the image and writes the logs; without its
	// policy the first tasks fail to start.
	deps := dependsOn(t, svc.Body)
	for _, want := range []string{"aws_iam_role_policy.task", "aws_iam_role_policy.execution"} {
		if !slices.Contains(deps, want) {
			t.Errorf("aws_ecs_service.this does not depend on %s (depends_on %v)", want, deps)
		}
	}
}

// TestHealthCheckGracePeriod: the group does not judge an instance's
// health before its user data can have finished (download, handler
// install, first poll). Tied to the warm-up, a slow boot put instances
// in a replace loop.
func TestHealthCheckGracePeriod(t *testing.T) {
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	asg := ec2.block(t, "resource", "aws_autoscaling_group", "this")
	grace := asg.Body.Attributes["health_check_grace_period"]
	if grace == nil || !references(grace.Expr, "var", "health_check_grace_period_seconds") {
		t.Fatal("health_check_grace_period is not var.health_check_grace_period_seconds")
	}
	if references(grace.Expr, "var", "instance_warmup_seconds") {
		t.Error("health_check_grace_period still follows the warm-up")
	}
	v, _ := ec2.defaultOf("health_check_grace_period_seconds")
	if n, ok := number(v); !ok || n < 300 {
		t.Errorf("health_check_grace_period_seconds defaults to %v, want at least 300", goValue(v))
	}
}

// statementBodies are a policy document's statements; with skipEmpty, a
// dynamic statement whose for_each is known to be empty is left out.
func statementBodies(m *tfModule, doc *hclsyntax.Body, skipEmpty bool) []*hclsyntax.Body {
	if !skipEmpty {
		return nested(doc, "statement")
	}
	var out []*hclsyntax.Body
	for _, b := range doc.Blocks {
		switch {
		case b.Type == "statement":
			out = append(out, b.Body)
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "statement":
			if fe := b.Body.Attributes["for_each"]; fe != nil {
				if v := m.eval(fe.Expr); v.IsKnown() && !v.IsNull() && v.LengthInt() == 0 {
					continue
				}
			}
			for _, c := range b.Body.Blocks {
				if c.Type == "content" {
					out = append(out, c.Body)
				}
			}
		}
	}
	return out
}

// lifecycleEnv renders the ec2-asg user data with sample inputs and vars,
// and returns the sqsfleet-lifecycle environment file inside it.
func lifecycleEnv(t *testing.T, ec2 *tfModule, vars map[string]cty.Value) map[string]string {
	t.Helper()
	ud := renderUserData(t, ec2, vars)
	_, rest, ok := strings.Cut(ud, "cat > /etc/sqsfleet/lifecycle.env <<'SQSFLEET_EOF'\n")
	text, _, ok2 := strings.Cut(rest, "\nSQSFLEET_EOF\n")
	if !ok || !ok2 {
		t.Fatalf("no lifecycle.env in the user data:\n%s", ud)
	}
	return parseEnvFile(t, text)
}

// renderUserData is the ec2-asg user data script for sample inputs plus vars.
func renderUserData(t *testing.T, ec2 *tfModule, vars map[string]cty.Value) string {
	t.Helper()
	in := map[string]cty.Value{
		"artifact_url":    cty.StringVal("https://artifacts.example.com/sqsfleet"),
		"artifact_sha256": cty.StringVal(strings.Repeat("ab", 32)),
	}
	for k, v := range vars {
		in[k] = v
	}
	v := ec2.evalWith(t, &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "user_data"}}}, sampleInputs(in))
	if !v.IsKnown() {
		t.Fatal("ec2-asg: local.user_data is not known from the inputs alone")
	}
	return v.AsString()
}

// TestInstanceRefreshGate: an instance refresh never claims to roll back,
// and stops on alarms the module creates that mean the new release is
// bad. Auto rollback cannot work here: Terraform moves the group to the new
// launch template version before the refresh starts
// (hashicorp/terraform-provider-aws#34189), so a rollback returns to that
// same version.
func TestInstanceRefreshGate(t *testing.T) {
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	asg := ec2.block(t, "resource", "aws_autoscaling_group", "this")
	refresh := nested(asg.Body, "instance_refresh")
	if len(refresh) != 1 {
		t.Fatal("want one instance_refresh")
	}
	prefs := nested(refresh[0], "preferences")
	if len(prefs) != 1 {
		t.Fatal("want one instance_refresh.preferences")
	}
	if a := prefs[0].Attributes["auto_rollback"]; a != nil && goValue(ec2.eval(a.Expr)) != false {
		t.Error("instance_refresh: auto_rollback is on, but it rolls back to the version Terraform already put in place")
	}
	spec := nested(prefs[0], "alarm_specification")
	if len(spec) != 1 {
		t.Fatal("instance_refresh: no alarm_specification: a bad release replaces the whole fleet")
	}
	alarms := spec[0].Attributes["alarms"].Expr
	// The gate can be lifted for the apply that ships a fix while a gate
	// alarm is still in ALARM (a refresh would otherwise fail at once),
	// and is on by default.
	var gate *hclsyntax.Block
	for _, b := range prefs[0].Blocks {
		if b.Type == "dynamic" && b.Labels[0] == "alarm_specification" {
			gate = b
		}
	}
	if gate == nil {
		t.Fatal("alarm_specification should be a dynamic block behind var.instance_refresh_alarm_gate")
	}
	for on, want := range map[bool]int{true: 1, false: 0} {
		fe := ec2.evalWith(t, gate.Body.Attributes["for_each"].Expr, map[string]cty.Value{"instance_refresh_alarm_gate": cty.BoolVal(on)})
		if fe.LengthInt() != want {
			t.Errorf("instance_refresh_alarm_gate = %v: %d alarm_specification blocks, want %d", on, fe.LengthInt(), want)
		}
	}
	if v, _ := ec2.defaultOf("instance_refresh_alarm_gate"); goValue(v) != true {
		t.Errorf("instance_refresh_alarm_gate defaults to %v, want true", goValue(v))
	}

	// The daemon dead-letters what its handler fails for good: a release
	// whose handler fails sends messages to the DLQ at once.
	dl := ec2.block(t, "resource", "aws_cloudwatch_metric_alarm", "release_dead_letters")
	if !references(alarms, "aws_cloudwatch_metric_alarm", "release_dead_letters") {
		t.Error("the refresh does not stop on the dead-letter alarm")
	}
	if goValue(ec2.attr(t, dl.Body, "namespace")) != "AWS/SQS" || goValue(ec2.attr(t, dl.Body, "metric_name")) != "NumberOfMessagesSent" {
		t.Error("release_dead_letters does not watch the messages sent to the DLQ (the daemon's SendMessage; SQS's own redrive is not counted there)")
	}
	dims := ec2.evalWith(t, dl.Body.Attributes["dimensions"].Expr, sampleInputs(nil))
	if got := goValue(dims); !reflect.DeepEqual(got, map[string]any{"QueueName": "jobs-dlq"}) {
		t.Errorf("release_dead_letters dimensions %v, want the DLQ's name", got)
	}

	// New instances that fail /healthz: the target group's unhealthy hosts.
	uh := ec2.block(t, "resource", "aws_cloudwatch_metric_alarm", "release_unhealthy_hosts")
	if !references(alarms, "aws_cloudwatch_metric_alarm", "release_unhealthy_hosts") {
		t.Error("the refresh does not stop on the unhealthy-hosts alarm")
	}
	if goValue(ec2.attr(t, uh.Body, "metric_name")) != "UnHealthyHostCount" ||
		!references(uh.Body.Attributes["dimensions"].Expr, "aws_lb_target_group", "health") {
		t.Error("release_unhealthy_hosts does not watch the /healthz target group's UnHealthyHostCount")
	}
	for _, alb := range []bool{true, false} {
		n := goValue(ec2.evalWith(t, uh.Body.Attributes["count"].Expr, map[string]cty.Value{"alb_health_check": cty.BoolVal(alb)}))
		if want := map[bool]float64{true: 1, false: 0}[alb]; n != want {
			t.Errorf("alb_health_check = %v: release_unhealthy_hosts count %v, want %v", alb, n, want)
		}
	}
}

// TestECSTmpWritable: the container's root file system is read-only, so
// /tmp is the task's bind mount, which Fargate creates owned by root,
// mode 0755, unless the image has a VOLUME at the same path: then the
// image's directory (distroless's /tmp: root, mode 1777) is copied into
// it. Fargate has no tmpfs (linuxParameters.tmpfs is not supported on
// Fargate). The README promises handlers may write to /tmp, and the
// container runs as uid 65532.
func TestECSTmpWritable(t *testing.T) {
	m := tfModuleAt(t, "modules/ecs-fargate")
	c := ecsContainer(t, m)
	mounts, _ := c["mountPoints"].([]any)
	var tmpVolume string
	for _, mp := range mounts {
		mp, _ := mp.(map[string]any)
		if mp["containerPath"] == "/tmp" && mp["readOnly"] != true {
			tmpVolume, _ = mp["sourceVolume"].(string)
		}
	}
	if tmpVolume == "" {
		t.Fatal("no writable mount at /tmp")
	}
	if lp, _ := c["linuxParameters"].(map[string]any); lp["tmpfs"] != nil {
		t.Error("linuxParameters.tmpfs: Fargate does not support it")
	}
	// Our image: the VOLUME makes the mount take /tmp's ownership and mode.
	if img := dockerfile(t); !slices.Contains(img.volumes, "/tmp") {
		t.Errorf("the Dockerfile declares VOLUME %q, not /tmp: on Fargate the task's /tmp is then root's, mode 0755, and uid %s cannot write to it", img.volumes, img.user)
	}

	// Users' images: with tmp_init_image, a container that runs first, as
	// root, opens the volume to everyone (1777, sticky, as /tmp always is),
	// whatever their Dockerfile says.
	for _, image := range []cty.Value{cty.NullVal(cty.String), cty.StringVal("public.ecr.aws/docker/library/busybox:stable")} {
		in := sampleInputs(map[string]cty.Value{"image": cty.StringVal("worker:v1"), "tmp_init_image": image})
		// The log group's name is unknown before apply, so the JSON is:
		// read what is given to jsonencode.
		call, ok := m.block(t, "resource", "aws_ecs_task_definition", "this").Body.Attributes["container_definitions"].Expr.(*hclsyntax.FunctionCallExpr)
		if !ok || call.Name != "jsonencode" {
			t.Fatal("container_definitions should be jsonencode(...)")
		}
		containers, _ := goValue(m.evalWith(t, call.Args[0], in)).([]any)
		defs := fmt.Sprint(containers)
		var init, daemon map[string]any
		for _, c := range containers {
			c, _ := c.(map[string]any)
			switch c["name"] {
			case "tmp-init":
				init = c
			case "sqsfleet":
				daemon = c
			}
		}
		deps := fmt.Sprint(daemon["dependsOn"])
		if image.IsNull() {
			if init != nil || strings.Contains(deps, "tmp-init") {
				t.Errorf("without tmp_init_image there is a tmp-init container: %s", defs)
			}
			continue
		}
		if init == nil {
			t.Fatalf("tmp_init_image is set but no tmp-init container runs: %s", defs)
		}
		if init["image"] != image.AsString() || init["user"] != "0" || init["essential"] != false {
			t.Errorf("tmp-init: image %v, user %v, essential %v; want %s, root, not essential", init["image"], init["user"], init["essential"], image.AsString())
		}
		cmd := append(strs(t, "tmp-init entryPoint", init["entryPoint"]), strs(t, "tmp-init command", init["command"])...)
		if !slices.Equal(cmd, []string{"chmod", "1777", "/tmp"}) {
			t.Errorf("tmp-init runs %q, want chmod 1777 /tmp", cmd)
		}
		if want := []any{map[string]any{"containerPath": "/tmp", "sourceVolume": tmpVolume, "readOnly": false}}; !reflect.DeepEqual(init["mountPoints"], want) {
			t.Errorf("tmp-init mounts %v, want %v", init["mountPoints"], want)
		}
		if !slices.ContainsFunc(daemon["dependsOn"].([]any), func(d any) bool {
			return reflect.DeepEqual(d, map[string]any{"containerName": "tmp-init", "condition": "SUCCESS"})
		}) {
			t.Errorf("sqsfleet's dependsOn %s: it must start after tmp-init has succeeded", deps)
		}
	}
}

// TestInstanceTagsAndVolumes: the instances and their volumes carry the
// tags (the provider's default_tags too, which never reach an Auto Scaling
// group's tag blocks or a launch template's tag_specifications:
// hashicorp/terraform-provider-aws#19387), and the root volume is an
// encrypted gp3.
func TestInstanceTagsAndVolumes(t *testing.T) {
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	ec2.block(t, "data", "aws_default_tags", "current")
	tags := ec2.locals["instance_tags"]
	if tags == nil || !references(tags.Expr, "data", "aws_default_tags") || !references(tags.Expr, "var", "tags") {
		t.Fatal("local.instance_tags should merge data.aws_default_tags with var.tags")
	}
	asg := ec2.block(t, "resource", "aws_autoscaling_group", "this")
	for _, b := range asg.Body.Blocks {
		if b.Type == "dynamic" && b.Labels[0] == "tag" {
			if !references(b.Body.Attributes["for_each"].Expr, "local", "instance_tags") {
				t.Error("the group's tags are not local.instance_tags")
			}
			for _, c := range nested(b.Body, "content") {
				if goValue(ec2.attr(t, c, "propagate_at_launch")) != true {
					t.Error("the group's tags are not propagated at launch")
				}
			}
		}
	}
	lt := ec2.block(t, "resource", "aws_launch_template", "this")
	tagged := map[string]bool{}
	for _, ts := range nested(lt.Body, "tag_specifications") {
		typ, _ := goValue(ec2.attr(t, ts, "resource_type")).(string)
		tagged[typ] = references(ts.Attributes["tags"].Expr, "local", "instance_tags")
	}
	for _, typ := range []string{"instance", "volume"} {
		if !tagged[typ] {
			t.Errorf("the launch template does not tag each %s with local.instance_tags", typ)
		}
	}

	bdm := nested(lt.Body, "block_device_mappings")
	if len(bdm) != 1 {
		t.Fatalf("the launch template has %d block_device_mappings, want the root volume's", len(bdm))
	}
	if !references(bdm[0].Attributes["device_name"].Expr, "data", "aws_ami") {
		t.Error("block_device_mappings.device_name is not the AMI's root device")
	}
	ebs := nested(bdm[0], "ebs")
	if len(ebs) != 1 {
		t.Fatal("block_device_mappings: want one ebs")
	}
	for attr, want := range map[string]any{"volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"} {
		if got := goValue(ec2.attr(t, ebs[0], attr)); got != want && fmt.Sprint(got) != want {
			t.Errorf("root volume %s = %v, want %v", attr, got, want)
		}
	}
	if !references(ebs[0].Attributes["volume_size"].Expr, "var", "root_volume_size_gib") || !references(ebs[0].Attributes["kms_key_id"].Expr, "var", "root_volume_kms_key_id") {
		t.Error("the root volume's size and key are not the variables")
	}

	// The examples hand their tags to every module that takes them.
	for _, dir := range []string{"examples/ec2-asg", "examples/ecs-fargate"} {
		m := tfModuleAt(t, dir)
		for _, b := range m.blocks("module") {
			called := calledModule(t, m, b)
			if called.vars["tags"] != nil && (b.Body.Attributes["tags"] == nil || !references(b.Body.Attributes["tags"].Expr, "var", "tags")) {
				t.Errorf("terraform/%s: module %q is not given var.tags", dir, b.Labels[0])
			}
		}
	}
}

// TestUserDataSize: EC2 refuses user data above 16 KB (raw, before base64),
// and the launch template says so at plan time instead of at launch.
func TestUserDataSize(t *testing.T) {
	ec2 := tfModuleAt(t, "modules/ec2-asg")
	lt := ec2.block(t, "resource", "aws_launch_template", "this")
	cond := precondition(lt.Body, "local", "user_data_base64")
	if cond == nil {
		t.Fatal("the launch template has no precondition on local.user_data's size")
	}
	base := len(renderUserData(t, ec2, nil))
	for extra, want := range map[int]bool{0: true, 16384 - base - 1: true, 16384 - base: true, 16384 - base + 1: false, 16384 - base + 2: false, 16384 - base + 3: false} {
		// Multi-byte characters: EC2 counts bytes.
		in := sampleInputs(map[string]cty.Value{
			"artifact_url":    cty.StringVal("https://artifacts.example.com/sqsfleet"),
			"artifact_sha256": cty.StringVal(strings.Repeat("ab", 32)),
			"extra_user_data": cty.StringVal(strings.Repeat("é", extra/2) + strings.Repeat("x", extra%2)),
		})
		if got := ec2.evalWith(t, cond, in); got.True() != want {
			t.Errorf("user data of %d bytes: precondition %v, want %v", base+extra, got.True(), want)
		}
	}
}

// allowedOn maps each action the statements of doc allow to the resources
// it is allowed on.
func allowedOn(stmts []statement, doc string) map[string][]any {
	out := map[string][]any{}
	for _, s := range stmts {
		if s.doc != doc || s.effect != "Allow" {
			continue
		}
		res, _ := s.resolved.([]any)
		for _, a := range s.actions {
			out[a] = append(out[a], res...)
		}
	}
	return out
}

// TestSecrets: secrets reach the daemon (and its handlers) from SSM
// Parameter Store or Secrets Manager, never as plain text in the user
// data or the task definition, and each role may read exactly those.
func TestSecrets(t *testing.T) {
	const (
		param  = "arn:aws:ssm:eu-west-1:123456789012:parameter/jobs/handler-url"
		secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jobs/db-AbCdEf"
	)
	secrets := cty.MapVal(map[string]cty.Value{
		"SQSFLEET_HANDLER_URL": cty.StringVal(param),
		"DB_PASSWORD":          cty.StringVal(secret),
	})
	for _, dir := range []string{"modules/ec2-asg", "modules/ecs-fargate"} {
		m := tfModuleAt(t, dir)
		v := m.vars["secrets"]
		if v == nil {
			t.Fatalf("terraform/%s has no secrets variable", dir)
		}
		for _, c := range nested(v.Body, "validation") {
			for value, want := range map[string]bool{param: true, secret: true, "plain text": false, "arn:aws:s3:::bucket/key": false} {
				in := map[string]cty.Value{"secrets": cty.MapVal(map[string]cty.Value{"X": cty.StringVal(value)})}
				if got := m.evalWith(t, c.Attributes["condition"].Expr, in); got.True() != want {
					t.Errorf("terraform/%s: secrets = {X = %q} passes validation: %v, want %v", dir, value, got.True(), want)
				}
			}
		}
		if len(nested(v.Body, "validation")) == 0 {
			t.Errorf("terraform/%s: var.secrets has no validation", dir)
		}
	}

	ec2 := tfModuleAt(t, "modules/ec2-asg")
	in := map[string]cty.Value{"secrets": secrets}
	ud := renderUserData(t, ec2, in)
	for _, want := range []string{"secret 'DB_PASSWORD' '" + secret + "'\n", "secret 'SQSFLEET_HANDLER_URL' '" + param + "'\n", "aws ssm get-parameter", "--with-decryption", "aws secretsmanager get-secret-value", ">> /etc/sqsfleet/sqsfleet.env"} {
		if !strings.Contains(ud, want) {
			t.Errorf("the user data does not contain %q:\n%s", want, ud)
		}
	}
	if _, err := exec.LookPath("bash"); err == nil {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(ud)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("bash -n on the user data with secrets: %v\n%s", err, out)
		}
	}
	got := allowedOn(policyStatementsWith(t, ec2, sampleInputs(in)), "worker")
	if !reflect.DeepEqual(got["ssm:GetParameter"], []any{param}) || !reflect.DeepEqual(got["secretsmanager:GetSecretValue"], []any{secret}) {
		t.Errorf("ec2-asg: the instance role reads SSM %v and Secrets Manager %v, want %s and %s", got["ssm:GetParameter"], got["secretsmanager:GetSecretValue"], param, secret)
	}
	none := allowedOn(policyStatementsWith(t, ec2, sampleInputs(nil)), "worker")
	if none["ssm:GetParameter"] != nil || none["secretsmanager:GetSecretValue"] != nil {
		t.Error("ec2-asg: without secrets the instance role may still read some")
	}

	// A name from one place only: a secret may not shadow a setting.
	for _, f := range []struct{ dir, typ string }{{"modules/ec2-asg", "aws_launch_template"}, {"modules/ecs-fargate", "aws_ecs_task_definition"}} {
		m := tfModuleAt(t, f.dir)
		cond := precondition(m.block(t, "resource", f.typ, "this").Body, "var", "secrets")
		if cond == nil {
			t.Errorf("terraform/%s: no precondition keeps secrets and settings apart", f.dir)
			continue
		}
		for name, want := range map[string]bool{"DB_PASSWORD": true, "SQSFLEET_QUEUE_URL": false, "SQSFLEET_WORKER_CONCURRENCY": false} {
			in := sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1"), "secrets": cty.MapVal(map[string]cty.Value{name: cty.StringVal(param)})})
			if got := m.evalWith(t, cond, in); got.True() != want {
				t.Errorf("terraform/%s: secret %s: precondition %v, want %v", f.dir, name, got.True(), want)
			}
		}
	}

	ecs := tfModuleAt(t, "modules/ecs-fargate")
	ein := sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1"), "secrets": secrets})
	c := goValue(ecs.evalWith(t, ecs.locals["container"].Expr, ein)).(map[string]any)
	want := []any{
		map[string]any{"name": "DB_PASSWORD", "valueFrom": secret},
		map[string]any{"name": "SQSFLEET_HANDLER_URL", "valueFrom": param},
	}
	if !reflect.DeepEqual(c["secrets"], want) {
		t.Errorf("ecs-fargate: container secrets %v, want %v", c["secrets"], want)
	}
	for _, e := range c["environment"].([]any) {
		if name := e.(map[string]any)["name"]; name == "DB_PASSWORD" || name == "SQSFLEET_HANDLER_URL" {
			t.Errorf("ecs-fargate: %s is also in the plain environment", name)
		}
	}
	got = allowedOn(policyStatementsWith(t, ecs, ein), "execution")
	if !reflect.DeepEqual(got["ssm:GetParameters"], []any{param}) || !reflect.DeepEqual(got["secretsmanager:GetSecretValue"], []any{secret}) {
		t.Errorf("ecs-fargate: the execution role reads SSM %v and Secrets Manager %v, want %s and %s", got["ssm:GetParameters"], got["secretsmanager:GetSecretValue"], param, secret)
	}
	if c := goValue(ecs.evalWith(t, ecs.locals["container"].Expr, sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1")}))).(map[string]any); c["secrets"] != nil {
		t.Errorf("ecs-fargate: without secrets the container still has secrets %v", c["secrets"])
	}
}

// TestKMSKeys: queues (and secrets) encrypted with a customer managed key
// need kms:Decrypt to receive and kms:GenerateDataKey to send (the DLQ);
// the roles get both on kms_key_arns, and nothing without them.
func TestKMSKeys(t *testing.T) {
	const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	keys := cty.ListVal([]cty.Value{cty.StringVal(key)})
	for _, f := range []struct{ dir, doc string }{{"modules/ec2-asg", "worker"}, {"modules/ecs-fargate", "task"}} {
		m := tfModuleAt(t, f.dir)
		if m.vars["kms_key_arns"] == nil {
			t.Fatalf("terraform/%s has no kms_key_arns variable", f.dir)
		}
		in := sampleInputs(map[string]cty.Value{"kms_key_arns": keys, "image": cty.StringVal("sqsfleet:v1")})
		got := allowedOn(policyStatementsWith(t, m, in), f.doc)
		for _, a := range []string{"kms:Decrypt", "kms:GenerateDataKey"} {
			if !reflect.DeepEqual(got[a], []any{key}) {
				t.Errorf("terraform/%s: the %s role allows %s on %v, want %s", f.dir, f.doc, a, got[a], key)
			}
		}
		none := allowedOn(policyStatementsWith(t, m, sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1")})), f.doc)
		if none["kms:Decrypt"] != nil || none["kms:GenerateDataKey"] != nil {
			t.Errorf("terraform/%s: without kms_key_arns the role still has KMS actions", f.dir)
		}
	}
	// Secrets under a customer key: ECS reads them with the execution role.
	ecs := tfModuleAt(t, "modules/ecs-fargate")
	in := sampleInputs(map[string]cty.Value{"kms_key_arns": keys, "image": cty.StringVal("sqsfleet:v1"),
		"secrets": cty.MapVal(map[string]cty.Value{"DB_PASSWORD": cty.StringVal("arn:aws:secretsmanager:eu-west-1:123456789012:secret:jobs/db-AbCdEf")})})
	if got := allowedOn(policyStatementsWith(t, ecs, in), "execution"); !reflect.DeepEqual(got["kms:Decrypt"], []any{key}) {
		t.Errorf("ecs-fargate: the execution role allows kms:Decrypt on %v, want %s", got["kms:Decrypt"], key)
	}
}

// TestOutputs: what a caller wires to the fleets (alarm routing,
// dashboards, other security groups, deploy tooling) is an output.
func TestOutputs(t *testing.T) {
	for _, f := range []struct {
		dir  string
		want map[string]string // output -> resource (type.name) its value refers to
	}{
		{"modules/ec2-asg", map[string]string{
			"instance_profile_arn":    "aws_iam_instance_profile.this",
			"instance_profile_name":   "aws_iam_instance_profile.this",
			"alb_arn":                 "aws_lb.health",
			"alb_security_group_id":   "aws_security_group.alb",
			"alarm_arns":              "aws_cloudwatch_metric_alarm.release_dead_letters",
			"lifecycle_hook_name":     "aws_autoscaling_lifecycle_hook.drain",
			"autoscaling_group_arn":   "aws_autoscaling_group.this",
			"target_group_arn":        "aws_lb_target_group.health",
			"security_group_id":       "aws_security_group.instances",
			"launch_template_id":      "aws_launch_template.this",
			"role_arn":                "aws_iam_role.this",
			"autoscaling_group_name":  "aws_autoscaling_group.this",
			"role_name":               "aws_iam_role.this",
			"launch_template_version": "aws_launch_template.this",
		}},
		{"modules/ecs-fargate", map[string]string{
			"service_arn":        "aws_ecs_service.this",
			"alarm_arns":         "aws_cloudwatch_metric_alarm.metric_missing",
			"execution_role_arn": "aws_iam_role.execution",
			"task_role_arn":      "aws_iam_role.task",
		}},
	} {
		m := tfModuleAt(t, f.dir)
		for name, res := range f.want {
			o := m.outputs[name]
			if o == nil {
				t.Errorf("terraform/%s: no output %q", f.dir, name)
				continue
			}
			typ, rname, _ := strings.Cut(res, ".")
			if !references(o.Body.Attributes["value"].Expr, typ, rname) {
				t.Errorf("terraform/%s: output %q does not come from %s", f.dir, name, res)
			}
		}
	}
	// Every alarm a fleet module creates is in its alarm_arns.
	for _, dir := range []string{"modules/ec2-asg", "modules/ecs-fargate"} {
		m := tfModuleAt(t, dir)
		o := m.outputs["alarm_arns"]
		if o == nil {
			continue // reported above
		}
		for _, b := range m.blocks("resource", "aws_cloudwatch_metric_alarm") {
			if !references(o.Body.Attributes["value"].Expr, "aws_cloudwatch_metric_alarm", b.Labels[1]) {
				t.Errorf("terraform/%s: output alarm_arns lacks %s", dir, b.Labels[1])
			}
		}
	}
}

// TestExamplesPassThrough: what a production user of an example must be
// able to set without editing it (more permissions for the handler,
// secrets, customer managed keys, tags) is one of its variables, passed
// to the module unchanged, with the module's default.
func TestExamplesPassThrough(t *testing.T) {
	for _, f := range []struct {
		dir  string
		vars []string
	}{
		{"examples/ec2-asg", []string{"iam_policy_arns", "secrets", "kms_key_arns", "tags", "alb_health_check", "health_check_grace_period_seconds", "instance_refresh_alarm_gate", "lambda_function"}},
		{"examples/ecs-fargate", []string{"task_role_policy_arns", "secrets", "kms_key_arns", "tags", "tmp_init_image", "publisher", "lambda_function"}},
	} {
		m := tfModuleAt(t, f.dir)
		b := m.block(t, "module", "workers")
		called := calledModule(t, m, b)
		for _, name := range f.vars {
			a := b.Body.Attributes[name]
			if a == nil || !references(a.Expr, "var", name) {
				t.Errorf("terraform/%s: module \"workers\" is not given var.%s", f.dir, name)
				continue
			}
			got, err := m.defaultOf(name)
			if err != nil {
				t.Error(err)
				continue
			}
			want, _ := called.defaultOf(name)
			if !reflect.DeepEqual(goValue(got), goValue(want)) {
				t.Errorf("terraform/%s: var.%s defaults to %v, the module's to %v", f.dir, name, goValue(got), goValue(want))
			}
		}
	}
}

// TestPayloadBucketGrants: the workers may read payloads from the one
// bucket named, list it only so that a missing object reads as missing,
// delete objects only with cleanup (which the daemon is then told to do),
// and decrypt with the payload keys only through S3.
func TestPayloadBucketGrants(t *testing.T) {
	const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, f := range fleets {
		m := tfModuleAt(t, f.dir)
		none := allowedOn(policyStatementsWith(t, m, sampleInputs(map[string]cty.Value{"image": cty.StringVal("sqsfleet:v1")})), f.policyDoc)
		if none["s3:DeleteObject"] != nil || none["s3:ListBucket"] != nil || (f.dir == "modules/ecs-fargate" && none["s3:GetObject"] != nil) {
			t.Errorf("terraform/%s: without payload_bucket the workers may still use S3: %v", f.dir, none)
		}
		for _, cleanup := range []bool{false, true} {
			stmts := policyStatementsWith(t, m, sampleInputs(map[string]cty.Value{
				"image":                cty.StringVal("sqsfleet:v1"),
				"payload_bucket":       cty.StringVal("big-bodies"),
				"payload_cleanup":      cty.BoolVal(cleanup),
				"payload_kms_key_arns": cty.ListVal([]cty.Value{cty.StringVal(key)}),
			}))
			// The ARNs' partition is a data source's, unknown here: the
			// resources are checked as written.
			on := map[string][]string{}
			for _, s := range stmts {
				if s.doc != f.policyDoc || s.resources == nil || !references(s.resources, "var", "payload_bucket") {
					continue
				}
				src, err := os.ReadFile(s.resources.Range().Filename)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range s.actions {
					on[a] = append(on[a], string(s.resources.Range().SliceBytes(src)))
				}
			}
			objects := []string{`["arn:${local.partition}:s3:::${var.payload_bucket}/*"]`}
			want := map[string][]string{"s3:GetObject": objects, "s3:ListBucket": {`["arn:${local.partition}:s3:::${var.payload_bucket}"]`}}
			if cleanup {
				want["s3:DeleteObject"] = objects
			}
			if !reflect.DeepEqual(on, want) {
				t.Errorf("terraform/%s: cleanup %v: S3 grants on the payload bucket %v, want %v", f.dir, cleanup, on, want)
			}
			decrypt := 0
			for _, s := range stmts {
				if s.doc != f.policyDoc || !slices.Contains(s.actions, "kms:Decrypt") || !reflect.DeepEqual(s.resolved, []any{key}) {
					continue
				}
				decrypt++
				if !slices.Equal(s.actions, []string{"kms:Decrypt"}) || len(s.conditions) != 1 || s.conditions[0].variable != "kms:ViaService" {
					t.Errorf("%s: the payload key allows %v with conditions %v, want kms:Decrypt through S3 only", s.where, s.actions, s.conditions)
				}
			}
			if decrypt != 1 {
				t.Errorf("terraform/%s: %d statements allow kms:Decrypt on the payload key, want 1", f.dir, decrypt)
			}
		}
	}
}
