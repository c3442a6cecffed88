output "queue_url" {
  description = "Send your messages here."
  value       = module.queue.queue_url
}

output "dlq_url" {
  description = "Messages that failed for good, with their sqsfleet-failure record."
  value       = module.queue.dlq_url
}

output "autoscaling_group_name" {
  description = "The fleet."
  value       = module.workers.autoscaling_group_name
}

output "instance_role_name" {
  description = "Attach what your handler needs to this role."
  value       = module.workers.role_name
}

output "dashboard_url" {
  description = "The CloudWatch dashboard."
  value       = "https://console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards:name=${module.dashboard.dashboard_name}"
}

output "alarm_arns" {
  description = "Every alarm of the queue and the fleet, by name: route them (alarm_actions) or add them to your own dashboards."
  value       = merge(module.queue.alarm_arns, module.workers.alarm_arns)
}

output "instance_profile_arn" {
  description = "The instances' profile."
  value       = module.workers.instance_profile_arn
}
