#!/usr/bin/env bash
# make demo: the whole loop on this machine. Starts the SQS emulator, creates
# a queue with a DLQ, runs `sqsfleet run` with the example exec handler from
# configs/, sends sample messages, waits until every one has an outcome, shows
# the one that landed in the DLQ with its failure record, then stops the
# daemon with SIGTERM so you can watch it drain.
set -euo pipefail
cd "$(dirname "$0")/.."

export FAUXQS_PORT=${FAUXQS_PORT:-4566}
endpoint="http://127.0.0.1:${FAUXQS_PORT}"
export FAUXQS_PIDFILE=${FAUXQS_PIDFILE:-.tools/fauxqs-demo.pid}

daemon_pid=""
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  bash scripts/fauxqs-run.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "==> starting the SQS emulator (fauxqs) on ${endpoint}"
bash scripts/fauxqs-run.sh

echo "==> creating the queue and its dead-letter queue"
queue_url=$(go run ./scripts/demoqueue setup -endpoint "$endpoint")
echo "    $queue_url"

# The emulator stands in for AWS: the SDK's standard variables point the
# daemon at it, exactly as they would point it at a VPC endpoint.
export AWS_ENDPOINT_URL_SQS=$endpoint AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
export SQSFLEET_QUEUE_URL=$queue_url
export SQSFLEET_HTTP_ADDR=${SQSFLEET_HTTP_ADDR:-127.0.0.1:8080}

echo "==> running: bin/sqsfleet run --config configs/local.yaml"
bin/sqsfleet run --config configs/local.yaml &
daemon_pid=$!

echo "==> sending sample messages"
go run ./scripts/demoqueue send -endpoint "$endpoint" -queue "$queue_url" \
  '{"order":1}' '{"order":2}' '{"order":3}' 'a flaky job: errors on the first try, then succeeds' \
  'please fail: a message the handler rejects (exit 65)'

echo "==> waiting for every message to reach its outcome"
go run ./scripts/demoqueue await -endpoint "$endpoint" -queue "$queue_url" -timeout 90s

echo "==> health: $(curl -fsS "http://${SQSFLEET_HTTP_ADDR}/healthz" 2>/dev/null || bin/sqsfleet healthcheck --url "http://${SQSFLEET_HTTP_ADDR}/healthz")"
echo "==> metrics:"
curl -fsS "http://${SQSFLEET_HTTP_ADDR}/metrics" 2>/dev/null | grep -E '^sqsfleet_(messages|sqs_requests)' || true

echo "==> stopping the daemon with SIGTERM (watch it drain)"
kill -TERM "$daemon_pid"
wait "$daemon_pid" && echo "==> daemon exited 0"
daemon_pid=""
