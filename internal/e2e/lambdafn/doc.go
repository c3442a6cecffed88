// Command lambdafn is an AWS Lambda function for SQS written the way Lambda
// users write one, with github.com/aws/aws-lambda-go (events.SQSEvent in,
// events.SQSEventResponse out, ReportBatchItemFailures), and nothing
// sqsfleet-specific in it. The end-to-end tests run it under the Lambda
// Runtime Interface Emulator with sqsfleet's lambda handler in front, to show
// that a Lambda function written for SQS runs unchanged on the fleet.
//
// What it does with each record is steered by the record's body:
//
//	failfirst... reported in batchItemFailures on its first delivery only
//	fail...    reported in batchItemFailures (a partial failure)
//	error...   the whole invocation returns an error (a function error)
//	sleep=D... sleeps for the Go duration D before going on
//	anything else succeeds
//
// Every event it receives is appended, as one JSON line, to the file named
// by LAMBDAFN_LOG, so a test can check the event field for field and the
// order in which records arrived.
package main
