#!/bin/bash
# sqsfleet-lifecycle: drains the sqsfleet daemon before this EC2 instance
# goes away, for the ec2-asg Terraform module (deploy/README.md, "How
# draining works").
#
# It polls the instance metadata service (IMDSv2) every 5 seconds for
#   - autoscaling/target-lifecycle-state = Terminated: the Auto Scaling group
#     is terminating this instance (scale-in, instance refresh, unhealthy)
#     and holds it in Terminating:Wait on the module's lifecycle hook;
#   - spot/instance-action: EC2 reclaims this Spot instance in 2 minutes.
# Then it stops sqsfleet.service, which returns only once the daemon has
# drained (or TimeoutStopSec has passed), and completes the lifecycle
# action so that the group terminates the instance now instead of at the
# hook's heartbeat timeout.
#
# Environment (/etc/sqsfleet/lifecycle.env): ASG_NAME, HOOK_NAME.
set -uo pipefail

: "${ASG_NAME:?}" "${HOOK_NAME:?}"
imds=http://169.254.169.254/latest

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

drained=
while :; do
  state=$(metadata autoscaling/target-lifecycle-state 2>/dev/null) || state=
  if [[ $state == Terminated ]]; then
    [[ -n $drained ]] || drain "Auto Scaling is terminating this instance"
    id=$(metadata instance-id) && region=$(metadata placement/region) &&
      aws autoscaling complete-lifecycle-action --region "$region" \
        --auto-scaling-group-name "$ASG_NAME" --lifecycle-hook-name "$HOOK_NAME" \
        --instance-id "$id" --lifecycle-action-result CONTINUE &&
      echo "lifecycle action completed" && exit 0
    # Completing failed (throttling, say): the hook's heartbeat timeout
    # still ends the wait with CONTINUE. Try again.
    sleep 5
    continue
  fi
  if [[ -z $drained ]] && metadata spot/instance-action >/dev/null 2>&1; then
    drain "Spot interruption notice"
    drained=1
  fi
  sleep 5
done
