output "queue_url" {
  description = "Send your messages here."
  value       = module.queue.queue_url
}

output "dlq_url" {
  description = "Messages that failed for good, with their sqsfleet-failure record."
  value       = module.queue.dlq_url
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = module.workers.cluster_name
}

output "service_name" {
  description = "The ECS service."
  value       = module.workers.service_name
}

output "task_role_name" {
  description = "Attach what your handler needs to this role."
  value       = module.workers.task_role_name
}

output "log_group_name" {
  description = "The tasks' logs."
  value       = module.workers.log_group_name
}

output "dashboard_url" {
  description = "The CloudWatch dashboard."
  value       = "https://console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards:name=${module.dashboard.dashboard_name}"
}

output "alarm_arns" {
  description = "Every alarm of the queue and the fleet, by name: route them (alarm_actions) or add them to your own dashboards."
  value       = merge(module.queue.alarm_arns, module.workers.alarm_arns)
}

output "service_arn" {
  description = "The ECS service's ARN."
  value       = module.workers.service_arn
}
