output "queue_url" {
  description = "URL of the queue: the daemon's queue.url."
  value       = aws_sqs_queue.this.id
}

output "queue_arn" {
  description = "ARN of the queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the queue: the QueueName dimension of the scaling metric."
  value       = aws_sqs_queue.this.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue: the daemon's queue.dlq_url."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "max_attempts" {
  description = "The queue.max_attempts the redrive policy was sized for; give the workers the same."
  value       = var.max_attempts
}

output "alarm_arns" {
  description = "ARNs of the module's alarms, by name. dlq_not_empty: messages failed for good. oldest_message: the fleet is not keeping up."
  value = {
    dlq_not_empty  = aws_cloudwatch_metric_alarm.dlq_depth.arn
    oldest_message = aws_cloudwatch_metric_alarm.oldest_message.arn
  }
}

output "sns_subscription_arn" {
  description = "ARN of the queue's subscription to sns_topic_arn; null when there is none."
  value       = one(aws_sns_topic_subscription.this[*].arn)
}

output "eventbridge_rule_arn" {
  description = "ARN of the EventBridge rule made for eventbridge_event_pattern; null when there is none."
  value       = one(aws_cloudwatch_event_rule.this[*].arn)
}

output "schedule_arns" {
  description = "ARNs of the EventBridge Scheduler schedules, by task name."
  value       = { for name, s in aws_scheduler_schedule.task : name => s.arn }
}
