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
