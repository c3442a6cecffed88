output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = local.cluster_name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = local.cluster_arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN of the task definition revision."
  value       = aws_ecs_task_definition.this.arn
}

output "task_role_name" {
  description = "Name of the task role, to attach what the handler needs."
  value       = aws_iam_role.task.name
}

output "task_role_arn" {
  description = "ARN of the task role."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = aws_iam_role.execution.arn
}

output "security_group_id" {
  description = "Security group of the tasks."
  value       = aws_security_group.tasks.id
}

output "log_group_name" {
  description = "CloudWatch log group of the tasks."
  value       = aws_cloudwatch_log_group.this.name
}

output "service_arn" {
  description = "ARN of the ECS service (the resource's id is its ARN)."
  value       = aws_ecs_service.this.id
}

output "alarm_arns" {
  description = "ARNs of the module's alarms, by name. scaling_metric_missing: target tracking has no metric."
  value = {
    scaling_metric_missing = aws_cloudwatch_metric_alarm.metric_missing.arn
  }
}
