// Package faultproxy is a reverse proxy in front of an SQS endpoint that
// injects latency and faults drawn from the project's one fault model
// (internal/faults) and counts, by operation, what it saw: requests, the
// SDK's retries, the faults it injected, the throttles clients received and
// how clients retried after them.
//
// It is a library so that the benchmark (bench, phases latency and faults)
// and the end-to-end tests run it in their own process and read its
// counters directly; bench/faultproxy is the thin command around it for
// trying a daemon by hand against a misbehaving SQS.
//
// A client is pointed at it through its SQS endpoint (AWS_ENDPOINT_URL_SQS
// for the daemon, which loads the SDK's standard configuration): SQS's JSON
// protocol carries the queue URL in the request body, so every request of a
// client reaches the proxy whatever host its queue URLs name.
//
// Retries are told apart with the headers every aws-sdk-go-v2 request
// carries: Amz-Sdk-Request ("attempt=N; max=M") and Amz-Sdk-Invocation-Id,
// the same for all attempts of one call. A request with attempt > 1 is a
// retry; one whose invocation's previous attempt was answered with a
// throttle is a retry after a throttle, and the time between that answer and
// the retry is the client's backoff. Clients without these headers are
// counted, never matched.
//
// ReceiveMessage responses can be observed (Config.OnReceive) with the ids
// of the messages they carried and the time the proxy finished sending
// them: the benchmark measures how long a message waits inside the consumer
// from there to its handler.
package faultproxy
