# The work queue and its dead-letter queue, encrypted at rest (SSE-SQS),
# reachable only over TLS, with the two alarms an on-call engineer needs.

locals {
  suffix = var.fifo ? ".fifo" : ""

  # Optional producers in front of the queue. Their permission to send is a
  # statement in the queue's one policy below.
  sns         = var.sns_topic_arn != ""
  eventbridge = var.eventbridge_event_pattern != ""
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq${local.suffix}"
  fifo_queue                = var.fifo
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = "${var.name}${local.suffix}"
  fifo_queue                 = var.fifo
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true
  tags                       = var.tags

  # SQS's own redrive is the safety net: the daemon dead-letters a message
  # itself after max_attempts, with a failure record, and a message that
  # keeps killing the daemon once it was received more than twice
  # max_attempts times (reason crash_loop). The headroom is for receives
  # that were not attempts: releases at shutdown, FIFO messages released
  # behind a failing one.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = var.max_receive_count >= 2 * var.max_attempts + 1
      error_message = "max_receive_count must be at least 2 x max_attempts + 1: otherwise SQS may move a message to the DLQ before the daemon records why it failed (the daemon allows receives that were not attempts up to twice max_attempts)."
    }
  }
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

# Each queue has exactly one policy: SQS keeps one policy per queue, so a
# second aws_sqs_queue_policy on the same queue would replace this one on
# every apply (and this one the other). The statements that let SNS and
# EventBridge send to the work queue are therefore merged in here.
data "aws_iam_policy_document" "tls_only" {
  for_each = {
    queue = aws_sqs_queue.this.arn
    dlq   = aws_sqs_queue.dlq.arn
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # SNS delivers to a subscribed queue as the service principal; only this
  # topic may.
  dynamic "statement" {
    for_each = local.sns && each.key == "queue" ? [1] : []
    content {
      sid       = "AllowSNSTopic"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [each.value]

      principals {
        type        = "Service"
        identifiers = ["sns.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [var.sns_topic_arn]
      }
    }
  }

  # EventBridge delivers to a queue target as the service principal; only
  # this module's rule may.
  dynamic "statement" {
    for_each = local.eventbridge && each.key == "queue" ? [1] : []
    content {
      sid       = "AllowEventBridgeRule"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [each.value]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [aws_cloudwatch_event_rule.this[0].arn]
      }
    }
  }
}

resource "aws_sqs_queue_policy" "tls_only" {
  for_each = {
    queue = aws_sqs_queue.this.id
    dlq   = aws_sqs_queue.dlq.id
  }

  queue_url = each.value
  policy    = data.aws_iam_policy_document.tls_only[each.key].json
}

# The queue subscribed to an SNS topic. Without raw message delivery each
# message is an SNS notification: run the workers with message.envelope sns
# (or auto). With raw delivery the body and attributes arrive as published.
resource "aws_sns_topic_subscription" "this" {
  count = local.sns ? 1 : 0

  topic_arn            = var.sns_topic_arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this.arn
  raw_message_delivery = var.sns_raw_message_delivery
  filter_policy        = var.sns_filter_policy != "" ? var.sns_filter_policy : null

  # SNS starts delivering at once; the queue must admit it by then.
  depends_on = [aws_sqs_queue_policy.tls_only]

  lifecycle {
    precondition {
      condition     = var.fifo == endswith(var.sns_topic_arn, ".fifo")
      error_message = "A FIFO queue can only subscribe to a FIFO topic (ARN ending in .fifo), and a standard queue only to a standard topic."
    }
  }
}

# An EventBridge rule whose matching events go to the queue, whole (no input
# transformer): run the workers with message.envelope eventbridge (or auto).
resource "aws_cloudwatch_event_rule" "this" {
  count = local.eventbridge ? 1 : 0

  name           = substr(var.name, 0, 64) # EventBridge allows 64 characters
  description    = "Events for the sqsfleet workers on ${aws_sqs_queue.this.name}"
  event_bus_name = var.eventbridge_bus_name
  event_pattern  = var.eventbridge_event_pattern
  tags           = var.tags

  lifecycle {
    precondition {
      # A FIFO target needs a message group id per event, and ordering
      # across one group would serialise every event: not a choice this
      # module can make for you.
      condition     = !var.fifo
      error_message = "eventbridge_event_pattern is for standard queues only."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  count = local.eventbridge ? 1 : 0

  rule           = aws_cloudwatch_event_rule.this[0].name
  event_bus_name = var.eventbridge_bus_name
  target_id      = "sqsfleet"
  arn            = aws_sqs_queue.this.arn

  # EventBridge starts delivering at once; the queue must admit it by then.
  depends_on = [aws_sqs_queue_policy.tls_only]
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Messages in ${aws_sqs_queue.dlq.name}: they failed for good. Each carries its sqsfleet-failure record; fix the cause, then redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  alarm_name          = "${var.name}-oldest-message"
  alarm_description   = "The oldest message in ${aws_sqs_queue.this.name} is older than ${var.max_message_age_seconds}s: the fleet is not keeping up (at max size? workers unhealthy? scaling metric missing?)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.max_message_age_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
