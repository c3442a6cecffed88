package deploy

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sqsfleet/sqsfleet/internal/cronimport"
	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

func scheduleVal(name, path, expr string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "path": cty.StringVal(path),
		"schedule": cty.StringVal(expr), "timezone": cty.StringVal("UTC"),
	})
}

// TestQueueSchedules: the queue module's schedules send, through
// EventBridge Scheduler's SendMessage target, exactly the body the daemon
// reads as a task, with the scheduled time filled in; the role may send to
// this queue only; nothing is created without schedules.
func TestQueueSchedules(t *testing.T) {
	m := tfModuleAt(t, "modules/queue")
	if d, _ := m.defaultOf("schedules"); !d.IsKnown() || d.LengthInt() != 0 {
		t.Fatalf("schedules defaults to %#v, want []", d)
	}
	for _, typ := range []string{"aws_scheduler_schedule_group", "aws_iam_role", "aws_iam_role_policy"} {
		for _, b := range m.blocks("resource", typ) {
			if n := m.attr(t, b.Body, "count"); !n.IsKnown() || !n.Equals(cty.NumberIntVal(0)).True() {
				t.Errorf("queue: %s.%s is created without schedules (count %#v)", typ, b.Labels[1], n)
			}
		}
	}

	sched := m.block(t, "resource", "aws_scheduler_schedule", "task")
	if !references(sched.Body.Attributes["for_each"].Expr, "local", "schedules") {
		t.Error("queue: aws_scheduler_schedule.task is not one per schedule")
	}
	for attr, ref := range map[string][2]string{
		"schedule_expression":          {"each", "value"},
		"schedule_expression_timezone": {"each", "value"},
		"group_name":                   {"aws_scheduler_schedule_group", "this"},
	} {
		if a := sched.Body.Attributes[attr]; a == nil || !references(a.Expr, ref[0], ref[1]) {
			t.Errorf("queue: aws_scheduler_schedule.task.%s should come from %s.%s", attr, ref[0], ref[1])
		}
	}
	ftw := nested(sched.Body, "flexible_time_window")
	if len(ftw) != 1 || goValue(m.attr(t, ftw[0], "mode")) != "OFF" {
		t.Error("queue: schedules should fire at their time: flexible_time_window mode OFF")
	}
	targets := nested(sched.Body, "target")
	if len(targets) != 1 {
		t.Fatal("queue: aws_scheduler_schedule.task needs one target")
	}
	target := targets[0]
	if !references(target.Attributes["role_arn"].Expr, "aws_iam_role", "scheduler") {
		t.Error("queue: the schedules' target should use the module's scheduler role")
	}

	names := []string{"nightly report", "odd <&> \"name\" ${x}", "backup"}
	paths := []string{"/tasks/report?full=1&x=<y>", "/odd", "/backup"}
	var list []cty.Value
	for i, n := range names {
		list = append(list, scheduleVal(n, paths[i], "cron(0 3 * * ? *)"))
	}
	const queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo"
	const scheduled = "2026-12-02T03:00:00Z"
	for _, fifo := range []bool{false, true} {
		vars := map[string]cty.Value{"schedules": cty.ListVal(list), "fifo": cty.BoolVal(fifo)}
		ctx, err := m.evalContext(vars)
		if err != nil {
			t.Fatal(err)
		}
		// The partition comes from a data source: take the commercial one.
		locals := ctx.Variables["local"].AsValueMap()
		locals["partition"] = cty.StringVal("aws")
		ctx.Variables["local"] = cty.ObjectVal(locals)
		if arn := goValue(m.evalIn(t, ctx, target.Attributes["arn"].Expr)); arn != "arn:aws:scheduler:::aws-sdk:sqs:sendMessage" {
			t.Errorf("queue: target arn %v, want EventBridge Scheduler's universal target for SQS SendMessage", arn)
		}
		ctx.Variables["aws_sqs_queue"] = cty.ObjectVal(map[string]cty.Value{"this": cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal(queueURL)})})
		for i, name := range names {
			ctx.Variables["each"] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(name), "value": list[i]})
			sn := goValue(m.evalIn(t, ctx, sched.Body.Attributes["name"].Expr))
			if sn != cronimport.ScheduleName(name) || !regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`).MatchString(sn.(string)) {
				t.Errorf("queue: schedule name %q for task %q, want %q (what sqsfleet schedules import checks)", sn, name, cronimport.ScheduleName(name))
			}
			input, ok := goValue(m.evalIn(t, ctx, target.Attributes["input"].Expr)).(string)
			if !ok {
				t.Fatalf("queue: target input is not a known string with fifo=%v", fifo)
			}
			// What EventBridge Scheduler does at each firing.
			if !strings.Contains(input, "<aws.scheduler.scheduled-time>") {
				t.Fatalf("queue: target input %s does not carry the scheduled-time context attribute unescaped", input)
			}
			input = strings.ReplaceAll(input, "<aws.scheduler.scheduled-time>", scheduled)
			var send map[string]string
			if err := json.Unmarshal([]byte(input), &send); err != nil {
				t.Fatalf("queue: target input is not SendMessage's JSON: %v\n%s", err, input)
			}
			if send["QueueUrl"] != queueURL {
				t.Errorf("queue: SendMessage to %q, want the queue", send["QueueUrl"])
			}
			got, isTask, err := task.Parse(&worker.Message{Body: send["MessageBody"]})
			want := task.Task{Name: name, Path: paths[i], ScheduledAt: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)}
			if !isTask || err != nil || got != want {
				t.Errorf("queue: the daemon reads the body %s as %+v (task %v, %v), want %+v", send["MessageBody"], got, isTask, err, want)
			}
			wantKeys := []string{"MessageBody", "QueueUrl"}
			if fifo {
				wantKeys = []string{"MessageBody", "MessageDeduplicationId", "MessageGroupId", "QueueUrl"}
				// SQS: up to 128 alphanumeric or punctuation characters.
				valid := regexp.MustCompile("^[[:alnum:][:punct:]]{1,128}$")
				if !valid.MatchString(send["MessageGroupId"]) || !valid.MatchString(send["MessageDeduplicationId"]) {
					t.Errorf("queue: FIFO ids %q, %q are not valid SQS ids", send["MessageGroupId"], send["MessageDeduplicationId"])
				}
				if !strings.Contains(send["MessageDeduplicationId"], scheduled) {
					t.Errorf("queue: deduplication id %q does not name the firing", send["MessageDeduplicationId"])
				}
			}
			var keys []string
			for k := range send {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("queue: SendMessage parameters %v with fifo=%v, want %v", keys, fifo, wantKeys)
			}
		}
	}

	// The role: SendMessage on this queue, assumed by Scheduler of this
	// account only.
	var send, assume bool
	for _, s := range policyStatements(t, m) {
		switch s.doc {
		case "scheduler":
			send = slices.Equal(s.actions, []string{"sqs:SendMessage"}) && references(s.resources, "aws_sqs_queue", "this")
		case "scheduler_assume":
			assume = slices.Equal(s.principals, []string{"Service"}) && slices.ContainsFunc(s.conditions, func(c condition) bool {
				return c.test == "StringEquals" && c.variable == "aws:SourceAccount"
			})
		}
	}
	if !send || !assume {
		t.Errorf("queue: scheduler role policy ok %v, trust policy with aws:SourceAccount ok %v", send, assume)
	}
	doc := m.block(t, "data", "aws_iam_policy_document", "scheduler_assume")
	for _, st := range nested(doc.Body, "statement") {
		for _, p := range nested(st, "principals") {
			if ids := goValue(m.attr(t, p, "identifiers")); !slices.Equal(anyStrings(ids), []string{"scheduler.amazonaws.com"}) {
				t.Errorf("queue: the scheduler role trusts %v, want scheduler.amazonaws.com", ids)
			}
		}
	}
}

// TestQueueSchedulesValidation: the variable refuses what EventBridge or
// the daemon would, and takes what `sqsfleet schedules import` prints.
func TestQueueSchedulesValidation(t *testing.T) {
	m := tfModuleAt(t, "modules/queue")
	v := m.vars["schedules"]
	validations := nested(v.Body, "validation")
	if len(validations) == 0 {
		t.Fatal("queue: var.schedules has no validation")
	}
	passes := func(list []cty.Value) bool {
		val := cty.ListValEmpty(cty.Object(map[string]cty.Type{"name": cty.String, "path": cty.String, "schedule": cty.String, "timezone": cty.String}))
		if len(list) > 0 {
			val = cty.ListVal(list)
		}
		for _, c := range validations {
			if !m.evalWith(t, c.Attributes["condition"].Expr, map[string]cty.Value{"schedules": val}).True() {
				return false
			}
		}
		return true
	}

	imported, err := cronimport.Import([]byte(`version: 1
cron:
  - name: "Remove unattended jobs"
    url: /jobs/cleanup?older=1d
    schedule: "30 2 * * 1-5"
  - name: backup
    url: /backup
    schedule: "*/15 * * * *"
`), "cron.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(imported, "imported.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	attrs, _ := f.Body.JustAttributes()
	iv, diags := attrs["schedules"].Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var fromImport []cty.Value
	for it := iv.ElementIterator(); it.Next(); {
		_, e := it.Element()
		fromImport = append(fromImport, scheduleVal(e.GetAttr("name").AsString(), e.GetAttr("path").AsString(), e.GetAttr("schedule").AsString()))
	}

	tests := []struct {
		name string
		list []cty.Value
		want bool
	}{
		{"none", nil, true},
		{"imported from cron.yaml", fromImport, true},
		{"rate and at", []cty.Value{scheduleVal("a", "/a", "rate(5 minutes)"), scheduleVal("b", "/b", "at(2027-01-01T00:00:00)")}, true},
		{"duplicate name", []cty.Value{scheduleVal("a", "/a", "rate(1 hour)"), scheduleVal("a", "/b", "rate(1 hour)")}, false},
		{"names that collide as schedule names", []cty.Value{scheduleVal("a b", "/a", "rate(1 hour)"), scheduleVal("a-b", "/b", "rate(1 hour)")}, false},
		{"name too long", []cty.Value{scheduleVal(strings.Repeat("x", 65), "/a", "rate(1 hour)")}, false},
		{"empty name", []cty.Value{scheduleVal("", "/a", "rate(1 hour)")}, false},
		{"relative path", []cty.Value{scheduleVal("a", "a", "rate(1 hour)")}, false},
		{"another host", []cty.Value{scheduleVal("a", "//evil.example/a", "rate(1 hour)")}, false},
		{"absolute URL", []cty.Value{scheduleVal("a", "https://evil.example/a", "rate(1 hour)")}, false},
		{"Unix cron line", []cty.Value{scheduleVal("a", "/a", "0 3 * * *")}, false},
	}
	for _, tt := range tests {
		if got := passes(tt.list); got != tt.want {
			t.Errorf("queue: schedules %s: passes validation %v, want %v", tt.name, got, tt.want)
		}
	}
}

// evalIn evaluates expr in ctx, failing the test on errors.
func (m *tfModule) evalIn(t *testing.T, ctx *hcl.EvalContext, expr hcl.Expression) cty.Value {
	t.Helper()
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", m.dir, diags.Error())
	}
	return v
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}
