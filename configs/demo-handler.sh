#!/usr/bin/env bash
# Demo exec handler for configs/local.yaml. It shows the three outcomes of
# the exec contract:
#   body contains "fail"   exit 65: permanent, dead-lettered at once
#   body contains "flaky"  exit 1 on the first delivery (retried), then 0
#   anything else          exit 0: processed and deleted
set -euo pipefail

body="$(cat)"
id="${SQSFLEET_MESSAGE_ID:-unknown}"
count="${SQSFLEET_RECEIVE_COUNT:-1}"
# Checked before arithmetic: bash evaluates expressions inside a variable
# used in (( )), so a non-number must never reach it.
[[ "$count" =~ ^[0-9]+$ ]] || count=1

if [[ "$body" == *fail* ]]; then
	echo "demo-handler: $id: cannot process \"$body\", giving up" >&2
	exit 65
fi

if [[ "$body" == *flaky* ]] && ((count < 2)); then
	echo "demo-handler: $id: transient failure on receive $count, will be retried" >&2
	exit 1
fi

echo "processed $id: $body"
