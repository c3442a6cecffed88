output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group."
  value       = aws_autoscaling_group.this.name
}

output "autoscaling_group_arn" {
  description = "ARN of the Auto Scaling group."
  value       = aws_autoscaling_group.this.arn
}

output "role_name" {
  description = "Name of the instance role, to attach what the handler needs."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the instance role."
  value       = aws_iam_role.this.arn
}

output "security_group_id" {
  description = "Security group of the instances."
  value       = aws_security_group.instances.id
}

output "launch_template_id" {
  description = "ID of the launch template."
  value       = aws_launch_template.this.id
}

output "target_group_arn" {
  description = "ARN of the /healthz target group, or null without alb_health_check."
  value       = one(aws_lb_target_group.health[*].arn)
}

output "launch_template_version" {
  description = "The launch template version the group runs: each apply that changes it starts an instance refresh."
  value       = aws_launch_template.this.latest_version
}

output "instance_profile_arn" {
  description = "ARN of the instance profile."
  value       = aws_iam_instance_profile.this.arn
}

output "instance_profile_name" {
  description = "Name of the instance profile."
  value       = aws_iam_instance_profile.this.name
}

output "lifecycle_hook_name" {
  description = "Name of the termination lifecycle hook sqsfleet-lifecycle completes."
  value       = aws_autoscaling_lifecycle_hook.drain.name
}

output "alb_arn" {
  description = "ARN of the health-check load balancer, or null without alb_health_check."
  value       = one(aws_lb.health[*].arn)
}

output "alb_security_group_id" {
  description = "Security group of the health-check load balancer, or null without alb_health_check."
  value       = one(aws_security_group.alb[*].id)
}

output "alarm_arns" {
  description = "ARNs of the module's alarms, by name; an alarm that the inputs turn off is null. scaling_metric_missing: target tracking has no metric. release_dead_letters, release_unhealthy_hosts: the instance refresh's gates."
  value = {
    scaling_metric_missing  = one(aws_cloudwatch_metric_alarm.metric_missing[*].arn)
    release_dead_letters    = aws_cloudwatch_metric_alarm.release_dead_letters.arn
    release_unhealthy_hosts = one(aws_cloudwatch_metric_alarm.release_unhealthy_hosts[*].arn)
  }
}
