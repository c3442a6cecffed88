package awssqs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

func TestParseQueueURL(t *testing.T) {
	tests := []struct {
		in   string
		want awssqs.QueueURL
	}{
		{"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
			awssqs.QueueURL{Region: "eu-west-1", Account: "123456789012", Name: "jobs"}},
		{"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo/",
			awssqs.QueueURL{Region: "eu-west-1", Account: "123456789012", Name: "jobs.fifo"}},
		{"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
			awssqs.QueueURL{Region: "cn-north-1", Account: "123456789012", Name: "q"}},
		{"https://sqs.us-east-2.api.aws/123456789012/dual",
			awssqs.QueueURL{Region: "us-east-2", Account: "123456789012", Name: "dual"}},
		// The legacy form puts the region before "queue".
		{"https://us-west-2.queue.amazonaws.com/123456789012/old",
			awssqs.QueueURL{Region: "us-west-2", Account: "123456789012", Name: "old"}},
		{"https://queue.amazonaws.com/123456789012/old", awssqs.QueueURL{Account: "123456789012", Name: "old"}},
		{"https://sqs.amazonaws.com/123456789012/q", awssqs.QueueURL{Account: "123456789012", Name: "q"}},
		// Emulators: a region only when the host spells one the AWS way.
		{"http://sqs.us-east-1.localhost:4566/000000000000/sqsfleet-q",
			awssqs.QueueURL{Region: "us-east-1", Account: "000000000000", Name: "sqsfleet-q"}},
		{"http://localhost:4566/000000000000/local/", awssqs.QueueURL{Account: "000000000000", Name: "local"}},
		{"http://127.0.0.1:9324/queue/x", awssqs.QueueURL{Account: "queue", Name: "x"}},
		// Not queue URLs: whatever can be said, never a panic.
		{"https://sqs.eu-west-1.amazonaws.com", awssqs.QueueURL{Region: "eu-west-1"}},
		{"https://sqs.eu-west-1.amazonaws.com/", awssqs.QueueURL{Region: "eu-west-1"}},
		{"my-queue", awssqs.QueueURL{Name: "my-queue"}},
		{"", awssqs.QueueURL{}},
		{"http://[::1/x/y", awssqs.QueueURL{Account: "x", Name: "y"}}, // not a URL: taken as a path
	}
	for _, tt := range tests {
		if got := awssqs.ParseQueueURL(tt.in); got != tt.want {
			t.Errorf("ParseQueueURL(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// FuzzParseQueueURL checks that any input parses without panicking into
// fields that are single path segments, and that a well-formed AWS queue
// URL round-trips.
func FuzzParseQueueURL(f *testing.F) {
	f.Add("eu-west-1", "123456789012", "jobs.fifo")
	f.Add("", "", "")
	f.Add("a.b", "x/y", "%2F")
	f.Fuzz(func(t *testing.T, region, account, name string) {
		raw := "https://sqs." + region + ".amazonaws.com/" + account + "/" + name
		q := awssqs.ParseQueueURL(raw)
		if strings.Contains(q.Name, "/") || strings.Contains(q.Account, "/") || strings.Contains(q.Region, ".") {
			t.Fatalf("ParseQueueURL(%q) = %+v: a field spans separators", raw, q)
		}
		if !plainLabel(region) || !plainSegment(account) || !plainSegment(name) {
			return
		}
		want := awssqs.QueueURL{Region: region, Account: account, Name: name}
		if region == "amazonaws" {
			want.Region = ""
		}
		if q != want {
			t.Fatalf("ParseQueueURL(%q) = %+v, want %+v", raw, q, want)
		}
	})
}

// plainLabel reports whether s is a non-empty DNS label of letters, digits
// and hyphens, as region names are.
func plainLabel(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// plainSegment reports whether s is a non-empty path segment of the
// characters account ids and queue names use.
func plainSegment(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == ""
}

// redriveAPI answers GetQueueAttributes with one RedrivePolicy and records
// the GetQueueUrl request it resolves the target with.
type redriveAPI struct {
	policy string
	asked  *sqs.GetQueueUrlInput
}

func (a *redriveAPI) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"RedrivePolicy": a.policy}}, nil
}

func (a *redriveAPI) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	a.asked = in
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String("https://sqs.eu-west-1.amazonaws.com/" + aws.ToString(in.QueueOwnerAWSAccountId) + "/" + aws.ToString(in.QueueName))}, nil
}

// The emulators only ever hold well-formed targets; these are the ones a
// hand-edited policy can hold.
func TestLookupRedriveTargetARN(t *testing.T) {
	policy := func(target string) string {
		return `{"deadLetterTargetArn":"` + target + `","maxReceiveCount":"7"}`
	}
	api := &redriveAPI{policy: policy("arn:aws-cn:sqs:cn-north-1:123456789012:jobs-dlq")}
	red, err := awssqs.LookupRedrive(context.Background(), api, "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs")
	if err != nil {
		t.Fatalf("LookupRedrive: %v", err)
	}
	if aws.ToString(api.asked.QueueName) != "jobs-dlq" || aws.ToString(api.asked.QueueOwnerAWSAccountId) != "123456789012" || red.MaxReceiveCount != 7 {
		t.Errorf("GetQueueUrl %+v, redrive %+v", api.asked, red)
	}
	for _, bad := range []string{
		"jobs-dlq",
		"arn:aws:sqs:eu-west-1:123456789012",
		"arn:aws:sns:eu-west-1:123456789012:jobs-dlq",
		"arn:aws:sqs:eu-west-1:123456789012:",
		"arn:aws:sqs:eu-west-1:123456789012:jobs:dlq",
	} {
		api := &redriveAPI{policy: policy(bad)}
		_, err := awssqs.LookupRedrive(context.Background(), api, "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs")
		if err == nil || !strings.Contains(err.Error(), "bad deadLetterTargetArn") || api.asked != nil {
			t.Errorf("target %q: err %v, GetQueueUrl %+v; want bad deadLetterTargetArn and no lookup", bad, err, api.asked)
		}
	}
}
