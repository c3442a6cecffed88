# One CloudWatch dashboard per fleet: backlog, backlog per instance, fleet
# size, age of the oldest message, DLQ depth and handler outcomes.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region
  q      = var.queue_name

  # Indexed rather than a conditional: the two lists have different shapes.
  fleet_metrics = {
    asg = [
      ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", coalesce(var.fleet.asg_name, "-"), { label = "in service" }],
      ["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", coalesce(var.fleet.asg_name, "-"), { label = "desired" }],
    ]
    ecs = [
      ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", coalesce(var.fleet.cluster_name, "-"), "ServiceName", coalesce(var.fleet.service_name, "-"), { label = "running" }],
      ["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", coalesce(var.fleet.cluster_name, "-"), "ServiceName", coalesce(var.fleet.service_name, "-"), { label = "desired" }],
    ]
  }[var.fleet.type]

  target_line = {
    for k, v in { annotations = { horizontal = [{ label = "target", value = var.target_backlog_per_instance }] } } :
    k => v if var.target_backlog_per_instance != null
  }

  widgets = [
    {
      title = "Backlog (messages)"
      stat  = "Maximum"
      metrics = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.q, { label = "waiting" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", local.q, { label = "in flight" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesDelayed", "QueueName", local.q, { label = "delayed" }],
      ]
      extra = {}
    },
    {
      title   = "Backlog per instance (the scaling metric)"
      stat    = "Average"
      metrics = [[var.metric_namespace, var.metric_name, var.metric_dimension_name, local.q, { label = "backlog per instance" }]]
      extra   = local.target_line
    },
    {
      title   = "Fleet size"
      stat    = "Average"
      metrics = local.fleet_metrics
      extra   = {}
    },
    {
      title   = "Age of the oldest message (seconds)"
      stat    = "Maximum"
      metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.q, { label = "oldest" }]]
      extra   = {}
    },
    {
      title   = "Dead-letter queue depth"
      stat    = "Maximum"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dlq_name, { label = "in the DLQ" }]]
      extra   = {}
    },
    {
      # The daemon's own counters (sqsfleet_messages_completed_total) are on
      # /metrics, for Prometheus; CloudWatch sees the outcomes through SQS.
      # The daemon dead-letters with SendMessage, which the DLQ counts as
      # sent, and deletes the original, which the queue counts as deleted.
      title = "Handler outcomes (messages per minute, from SQS)"
      stat  = "Sum"
      metrics = [
        ["AWS/SQS", "NumberOfMessagesReceived", "QueueName", local.q, { id = "received", label = "received (retries included)" }],
        ["AWS/SQS", "NumberOfMessagesDeleted", "QueueName", local.q, { id = "deleted", visible = false }],
        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", var.dlq_name, { id = "dead", label = "dead-lettered" }],
        [{ id = "succeeded", expression = "deleted - dead", label = "succeeded" }],
        [{ id = "retried", expression = "received - deleted", label = "retried or released" }],
      ]
      extra = {}
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.widgets : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = merge({
          title   = w.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = w.stat
          metrics = w.metrics
        }, w.extra)
      }
    ]
  })
}
