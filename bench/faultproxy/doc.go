// Command faultproxy puts latency and faults between an SQS client and an
// SQS endpoint, for trying sqsfleet by hand against a slow or misbehaving
// SQS. It is a thin command around internal/faultproxy, which the
// benchmark's latency and faults phases and the end-to-end tests run in
// their own process.
//
//	go run ./bench/faultproxy -upstream http://127.0.0.1:4566 -latency 15ms \
//	    -throttle 0.02 -server-error 0.02 -reset 0.02 -lost 0.02 -delay 0.05 -max-delay 1s
//	AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4567 sqsfleet run ...
//
// It prints its URL on the first line of stdout, and on SIGINT or SIGTERM
// the counts of requests, retries, faults and retries per throttle by
// operation (and writes them as JSON with -json-out).
package main
