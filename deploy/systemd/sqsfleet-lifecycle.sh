#!/bin/bash
# sqsfleet-lifecycle: drains the sqsfleet daemon before this EC2 instance
# goes away, for the ec2-asg Terraform module (deploy/README.md, "How
# draining works"), and reports the daemon's health to the Auto Scaling
# group when no load balancer checks it.
#
# It polls the instance metadata service (IMDSv2) every POLL_SECONDS for
#   - autoscaling/target-lifecycle-state = Terminated: the Auto Scaling group
#     is terminating this instance (scale-in, instance refresh, unhealthy)
#     and holds it in Terminating:Wait on the module's lifecycle hook;
#   - spot/instance-action: EC2 reclaims this Spot instance in 2 minutes.
# Then it stops sqsfleet.service, which returns only once the daemon has
# drained (or TimeoutStopSec has passed), and completes the lifecycle
# action so that the group terminates the instance now instead of at the
# hook's heartbeat timeout.
#
# With HEALTH_URL set (the module sets it without alb_health_check), it
# also GETs the daemon's /healthz at each poll. After HEALTH_FAILURES
# failures in a row (no 200: unhealthy, or the daemon is not running), it
# marks the instance Unhealthy (autoscaling:SetInstanceHealth), once, and
# the group replaces it through the lifecycle hook above. The call respects
# the group's health check grace period, so a slow boot is not reported.
#
# Environment (/etc/sqsfleet/lifecycle.env): ASG_NAME, HOOK_NAME, and
# optionally HEALTH_URL, HEALTH_FAILURES (12), POLL_SECONDS (5).
# IMDS_URL is for tests.
set -uo pipefail

: "${ASG_NAME:?}" "${HOOK_NAME:?}"
imds=${IMDS_URL:-http://169.254.169.254/latest}
poll=${POLL_SECONDS:-5}
health_url=${HEALTH_URL:-}
# 12 polls of 5 s: a minute, as the load balancer's 4 checks 15 s apart.
health_failures=${HEALTH_FAILURES:-12}

metadata() {
  local token
  token=$(curl -fsS -m 2 -X PUT "$imds/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 60") || return 1
  curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}

drain() {
  echo "$1: stopping sqsfleet.service (the daemon drains first)"
  systemctl stop sqsfleet.service
  echo "sqsfleet.service stopped"
}

# check_health counts /healthz failures in a row and reports the instance
# Unhealthy once there are health_failures of them.
failures=0
reported=
check_health() {
  [[ -n $health_url && -z $reported ]] || return 0
  if curl -fsS -o /dev/null -m 4 "$health_url" 2>/dev/null; then
    failures=0
    return 0
  fi
  failures=$((failures + 1))
  ((failures >= health_failures)) || return 0
  echo "$health_url failed $failures times in a row: reporting this instance Unhealthy"
  id=$(metadata instance-id) && region=$(metadata placement/region) &&
    aws autoscaling set-instance-health --region "$region" --instance-id "$id" \
      --health-status Unhealthy --should-respect-grace-period &&
    reported=1
}

drained=
while :; do
  state=$(metadata autoscaling/target-lifecycle-state 2>/dev/null) || state=
  if [[ $state == Terminated ]]; then
    [[ -n $drained ]] || drain "Auto Scaling is terminating this instance"
    drained=1
    id=$(metadata instance-id) && region=$(metadata placement/region) &&
      aws autoscaling complete-lifecycle-action --region "$region" \
        --auto-scaling-group-name "$ASG_NAME" --lifecycle-hook-name "$HOOK_NAME" \
        --instance-id "$id" --lifecycle-action-result CONTINUE &&
      echo "lifecycle action completed" && exit 0
    # Completing failed (throttling, say): the hook's heartbeat timeout
    # still ends the wait with CONTINUE. Try again.
    sleep "$poll"
    continue
  fi
  if [[ -z $drained ]] && metadata spot/instance-action >/dev/null 2>&1; then
    drain "Spot interruption notice"
    drained=1
  fi
  # A drained daemon is down on purpose: that is not ill health.
  [[ -n $drained ]] || check_health
  sleep "$poll"
done
