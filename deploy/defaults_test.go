package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/sqsfleet/sqsfleet/health"
	"github.com/sqsfleet/sqsfleet/internal/config"
	"github.com/sqsfleet/sqsfleet/scaler"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// daemon is what the deployment must agree with, taken from the code.
type daemon struct {
	healthPath string // /healthz
	httpPort   string // of the default http.addr
	namespace  string // of the scaling metric
	metric     string
	dimension  string
	shutdown   time.Duration // worker.shutdown_timeout
	waitTime   time.Duration // queue.wait_time: a long poll in flight finishes during the drain
	attempts   int           // queue.max_attempts
	keys       map[string]bool
}

func daemonDefaults(t *testing.T) daemon {
	t.Helper()
	def := config.Defaults()
	u, err := url.Parse(health.URLFor(def.HTTP.Addr))
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(def.HTTP.Addr)
	if err != nil {
		t.Fatal(err)
	}
	d := daemon{
		healthPath: u.Path,
		httpPort:   port,
		namespace:  def.Scaler.Namespace,
		metric:     def.Scaler.MetricName,
		dimension:  def.Scaler.DimensionName,
		shutdown:   def.Worker.ShutdownTimeout,
		waitTime:   def.Queue.WaitTime,
		attempts:   def.Queue.MaxAttempts,
		keys:       configKeys(),
	}
	// The scaler package has its own defaults for a zero Metric; they and
	// the configuration's must be the same metric.
	ns, name := scalerMetricDefaults(t)
	if ns != d.namespace || name != d.metric {
		t.Fatalf("the scaler publishes %s/%s by default but scaler.namespace/metric_name default to %s/%s", ns, name, d.namespace, d.metric)
	}
	if d.dimension == "" {
		t.Fatal("scaler.dimension_name has no default: the scaling policies assume a QueueName-like dimension")
	}
	return d
}

// scalerMetricDefaults reads the namespace and metric name the scaler
// package uses when none is configured, from the EMF line it writes.
func scalerMetricDefaults(t *testing.T) (namespace, name string) {
	t.Helper()
	var buf bytes.Buffer
	emf, err := scaler.NewEMF(&buf, scaler.Metric{})
	if err != nil {
		t.Fatal(err)
	}
	if err := emf.Publish(context.Background(), scaler.Sample{Time: time.Unix(1, 0), Value: 1}); err != nil {
		t.Fatal(err)
	}
	var line struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace string
				Metrics   []struct{ Name string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("EMF line %q: %v", buf.String(), err)
	}
	if len(line.AWS.CloudWatchMetrics) != 1 || len(line.AWS.CloudWatchMetrics[0].Metrics) != 1 {
		t.Fatalf("EMF line %q: want one metric", buf.String())
	}
	cw := line.AWS.CloudWatchMetrics[0]
	return cw.Namespace, cw.Metrics[0].Name
}

// configKeys is every configuration key, e.g. "queue.url".
func configKeys() map[string]bool {
	fs := pflag.NewFlagSet("keys", pflag.ContinueOnError)
	config.Flags(fs)
	keys := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != config.ConfigFlag {
			keys[f.Name] = true
		}
	})
	return keys
}

// envKey maps SQSFLEET_QUEUE_URL back to queue.url.
func (d daemon) envKey(name string) (string, bool) {
	for k := range d.keys {
		if config.EnvVar(k) == name {
			return k, true
		}
	}
	return "", false
}

// methods lists the methods of the interfaces given as nil pointers.
func methods(ifaces ...any) []string {
	var out []string
	for _, i := range ifaces {
		ty := reflect.TypeOf(i).Elem()
		for i := range ty.NumMethod() {
			out = append(out, ty.Method(i).Name)
		}
	}
	return out
}

// sqsActions is the IAM action of every SQS call the daemon makes (the
// interfaces its SQS adapter and scaler are written against). A batch call
// is authorized by its single action: DeleteMessageBatch by
// sqs:DeleteMessage.
func sqsActions() map[string]bool {
	out := map[string]bool{}
	for _, m := range methods((*awssqs.API)(nil), (*awssqs.QueueAPI)(nil), (*scaler.QueueAttributesAPI)(nil)) {
		out["sqs:"+strings.TrimSuffix(m, "Batch")] = true
	}
	return out
}

// allowedActions is every IAM action a policy in terraform/ may allow, and
// why.
func allowedActions() map[string]string {
	out := map[string]string{}
	for a := range sqsActions() {
		out[a] = "the daemon's SQS calls"
	}
	for _, m := range methods((*scaler.ASGGroupsAPI)(nil), (*scaler.ASGInstancesAPI)(nil), (*scaler.ASGProtectionAPI)(nil)) {
		out["autoscaling:"+m] = "the scaler on EC2"
	}
	for _, m := range methods((*scaler.ECSServicesAPI)(nil), (*scaler.ECSTasksAPI)(nil), (*scaler.ECSTaskDescriber)(nil)) {
		out["ecs:"+m] = "the scaler on ECS"
	}
	for _, m := range methods((*scaler.MetricPutter)(nil)) {
		out["cloudwatch:"+m] = "the scaler's cloudwatch publisher"
	}
	for a, why := range map[string]string{
		"autoscaling:CompleteLifecycleAction": "sqsfleet-lifecycle, once the daemon has drained",
		"autoscaling:SetInstanceHealth":       "sqsfleet-lifecycle, when /healthz keeps failing and no load balancer checks it",
		"ecs:UpdateTaskProtection":            "the ECS agent, for the daemon's task scale-in protection (scaler.TaskProtector)",
		"s3:GetObject":                        "the EC2 user data, for an s3:// artifact_url; the daemon, reading payloads (worker/s3payload)",
		"s3:DeleteObject":                     "the daemon, cleaning up payloads (payload.s3_cleanup)",
		"s3:ListBucket":                       "none: it makes S3 report a missing payload as NoSuchKey rather than AccessDenied",
		"ssm:GetParameter":                    "the EC2 user data, reading secrets",
		"ssm:GetParameters":                   "the ECS execution role, injecting secrets",
		"secretsmanager:GetSecretValue":       "the EC2 user data and the ECS execution role, reading secrets",
		"kms:Decrypt":                         "SSE-KMS queues (receive) and secrets under kms_key_arns; SSE-KMS payloads",
		"kms:GenerateDataKey":                 "an SSE-KMS DLQ (send)",
		"sts:AssumeRole":                      "trust policies",
		"logs:CreateLogStream":                "the ECS execution role (awslogs)",
		"logs:PutLogEvents":                   "the ECS execution role (awslogs)",
		"ecr:GetAuthorizationToken":           "the ECS execution role (image pull)",
		"ecr:BatchCheckLayerAvailability":     "the ECS execution role (image pull)",
		"ecr:GetDownloadUrlForLayer":          "the ECS execution role (image pull)",
		"ecr:BatchGetImage":                   "the ECS execution role (image pull)",
	} {
		out[a] = why
	}
	return out
}
