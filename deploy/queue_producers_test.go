package deploy

import (
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestQueueProducers: the queue module's optional SNS subscription and
// EventBridge rule exist only when asked for, deliver to the work queue,
// and get their permission as statements of the queue's one policy, each
// admitting one service from one source ARN. A second aws_sqs_queue_policy
// would replace the TLS-only policy on every apply.
func TestQueueProducers(t *testing.T) {
	m := tfModuleAt(t, "modules/queue")
	for dir, mod := range tfModules(t) {
		want := 0
		if dir == "modules/queue" {
			want = 1
		}
		if n := len(mod.blocks("resource", "aws_sqs_queue_policy")); n != want {
			t.Errorf("terraform/%s: %d aws_sqs_queue_policy resources, want %d: SQS keeps one policy per queue", dir, n, want)
		}
	}

	const (
		topic   = "arn:aws:sns:eu-west-1:123456789012:orders"
		pattern = `{"source":["com.example.orders"]}`
	)
	count := func(b *hclsyntax.Block, vars map[string]cty.Value) int {
		t.Helper()
		v := m.evalWith(t, b.Body.Attributes["count"].Expr, vars)
		n, _ := number(v)
		return int(n)
	}
	sub := m.block(t, "resource", "aws_sns_topic_subscription", "this")
	rule := m.block(t, "resource", "aws_cloudwatch_event_rule", "this")
	target := m.block(t, "resource", "aws_cloudwatch_event_target", "this")
	none := map[string]cty.Value{}
	withSNS := map[string]cty.Value{"sns_topic_arn": cty.StringVal(topic)}
	withEB := map[string]cty.Value{"eventbridge_event_pattern": cty.StringVal(pattern)}
	for _, tt := range []struct {
		name      string
		vars      map[string]cty.Value
		sub, rule int
		sids      []string
	}{
		{"defaults", none, 0, 0, []string{"DenyInsecureTransport"}},
		{"sns", withSNS, 1, 0, []string{"DenyInsecureTransport", "AllowSNSTopic"}},
		{"eventbridge", withEB, 0, 1, []string{"DenyInsecureTransport", "AllowEventBridgeRule"}},
	} {
		if got := count(sub, tt.vars); got != tt.sub {
			t.Errorf("%s: %d SNS subscriptions, want %d", tt.name, got, tt.sub)
		}
		if got, gotT := count(rule, tt.vars), count(target, tt.vars); got != tt.rule || gotT != tt.rule {
			t.Errorf("%s: %d EventBridge rules and %d targets, want %d", tt.name, got, gotT, tt.rule)
		}
		var sids []string
		for _, s := range policyStatementsWith(t, m, tt.vars) {
			if s.doc == "tls_only" {
				sids = append(sids, s.sid)
			}
		}
		if !slices.Equal(sids, tt.sids) {
			t.Errorf("%s: the queue policy document has statements %q, want %q", tt.name, sids, tt.sids)
		}
	}

	// What each grant admits.
	for _, s := range policyStatementsWith(t, m, map[string]cty.Value{
		"sns_topic_arn": cty.StringVal(topic), "eventbridge_event_pattern": cty.StringVal(pattern),
	}) {
		// Only the queue's own policy: the scheduled tasks' role has
		// statements of its own (TestQueueSchedules checks them).
		if s.effect != "Allow" || s.doc != "tls_only" {
			continue
		}
		if !producerGrant(s) || !references(s.resources, "each", "value") {
			t.Errorf("%s: %s should allow only sqs:SendMessage on the queue, to a service, from one source ARN", s.where, s.sid)
		}
		var source any
		for _, c := range s.conditions {
			if c.variable == "aws:SourceArn" {
				source = c.values
			}
		}
		switch s.sid {
		case "AllowSNSTopic":
			if !slices.Equal(s.identities, []string{"sns.amazonaws.com"}) || !slices.Equal(source.([]any), []any{topic}) {
				t.Errorf("%s: SNS grant to %v from %v, want sns.amazonaws.com from %s", s.where, s.identities, source, topic)
			}
		case "AllowEventBridgeRule":
			if !slices.Equal(s.identities, []string{"events.amazonaws.com"}) {
				t.Errorf("%s: EventBridge grant to %v, want events.amazonaws.com", s.where, s.identities)
			}
		default:
			t.Errorf("%s: unexpected Allow statement %q in the queue policy", s.where, s.sid)
		}
	}
	// The rule's ARN is only known after apply: check the reference.
	for _, doc := range m.blocks("data", "aws_iam_policy_document", "tls_only") {
		found := false
		for _, b := range doc.Body.Blocks {
			if b.Type == "dynamic" {
				for _, c := range nested(b.Body, "content") {
					for _, cond := range nested(c, "condition") {
						if references(cond.Attributes["values"].Expr, "aws_cloudwatch_event_rule", "this") {
							found = true
						}
					}
				}
			}
		}
		if !found {
			t.Error("queue: the EventBridge grant is not conditioned on the module's rule ARN")
		}
	}

	// Both deliver to the work queue, and only once the policy admits them.
	if !references(sub.Body.Attributes["endpoint"].Expr, "aws_sqs_queue", "this") ||
		goValue(m.attr(t, sub.Body, "protocol")) != "sqs" ||
		!references(sub.Body.Attributes["raw_message_delivery"].Expr, "var", "sns_raw_message_delivery") {
		t.Error("queue: the SNS subscription should be protocol sqs to aws_sqs_queue.this, raw delivery as var.sns_raw_message_delivery")
	}
	if !references(target.Body.Attributes["arn"].Expr, "aws_sqs_queue", "this") ||
		!references(target.Body.Attributes["rule"].Expr, "aws_cloudwatch_event_rule", "this") ||
		!references(rule.Body.Attributes["event_pattern"].Expr, "var", "eventbridge_event_pattern") {
		t.Error("queue: the EventBridge target should send the rule's events (var.eventbridge_event_pattern) to aws_sqs_queue.this")
	}
	if target.Body.Attributes["input"] != nil || target.Body.Attributes["input_path"] != nil || len(nested(target.Body, "input_transformer")) > 0 {
		t.Error("queue: the EventBridge target must deliver whole events, which message.envelope eventbridge expects")
	}
	for _, b := range []*hclsyntax.Block{sub, target} {
		dep := b.Body.Attributes["depends_on"]
		if dep == nil || !references(dep.Expr, "aws_sqs_queue_policy", "tls_only") {
			t.Errorf("queue: %s.%s starts delivering at once; it should depend on the queue policy that admits it", b.Labels[0], b.Labels[1])
		}
	}

	// The topic ARN is checked before anything is created.
	v := m.vars["sns_topic_arn"]
	cond := nested(v.Body, "validation")[0].Attributes["condition"].Expr
	for arn, ok := range map[string]bool{
		"":                true,
		topic:             true,
		topic + "-x.fifo": true,
		"arn:aws-cn:sns:cn-north-1:123456789012:t": true,
		"orders": false,
		"arn:aws:sqs:eu-west-1:123456789012:orders": false,
	} {
		if got := m.evalWith(t, cond, map[string]cty.Value{"sns_topic_arn": cty.StringVal(arn)}); got.True() != ok {
			t.Errorf("sns_topic_arn %q: validation says %v, want %v", arn, got.True(), ok)
		}
	}
}
