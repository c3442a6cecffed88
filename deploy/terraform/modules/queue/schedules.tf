# Scheduled tasks without a leader: EventBridge Scheduler sends the queue
# one message per firing, and whichever worker receives it runs the task.
# The message is the JSON body the daemon reads as a task (README:
# Scheduled tasks); with the http handler it becomes the POST to the task's
# path that an Elastic Beanstalk worker application expects.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id

  schedules = { for s in var.schedules : s.name => s }
  # EventBridge schedule names allow [0-9A-Za-z_.-] only; the task keeps its
  # name in the message.
  schedule_names = { for name, s in local.schedules : name => replace(name, "/[^0-9A-Za-z_.-]/", "-") }

  # <aws.scheduler.scheduled-time> is a context attribute: EventBridge
  # Scheduler replaces it with the firing's scheduled time (RFC 3339, UTC),
  # the same on every retry of that firing. The body is assembled around
  # the JSON-encoded name and path rather than by jsonencode, which would
  # escape the attribute's < and >.
  task_bodies = { for name, s in local.schedules : name => format(
    "{\"sqsfleet_task\":{\"name\":%s,\"path\":%s,\"scheduled_at\":\"<aws.scheduler.scheduled-time>\"}}",
    jsonencode(s.name), jsonencode(s.path),
  ) }

  # SendMessage parameters besides the queue URL. On a FIFO queue the
  # deduplication id is the task and its scheduled time, so a firing that
  # Scheduler retries within SQS's 5-minute window is enqueued once (and
  # the queue needs no content-based deduplication).
  send_message = { for name, s in local.schedules : name => merge(
    { MessageBody = local.task_bodies[name] },
    var.fifo ? {
      MessageGroupId         = local.schedule_names[name]
      MessageDeduplicationId = "${local.schedule_names[name]}@<aws.scheduler.scheduled-time>"
    } : {},
  ) }
}

resource "aws_scheduler_schedule_group" "this" {
  count = length(var.schedules) > 0 ? 1 : 0

  name = var.name
  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.name) <= 64
      error_message = "schedules need a name of at most 64 characters: the schedule group is named after the queue."
    }
  }
}

resource "aws_scheduler_schedule" "task" {
  for_each = local.schedules

  name                         = local.schedule_names[each.key]
  group_name                   = aws_scheduler_schedule_group.this[0].name
  description                  = "sqsfleet scheduled task of ${var.name}"
  schedule_expression          = each.value.schedule
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  # The universal target calls SQS SendMessage with these parameters: the
  # context attributes are replaced in them, jsonencode's escaping of < and
  # > undone for those alone.
  target {
    arn      = "arn:${local.partition}:scheduler:::aws-sdk:sqs:sendMessage"
    role_arn = aws_iam_role.scheduler[0].arn
    input = replace(
      jsonencode(merge({ QueueUrl = aws_sqs_queue.this.url }, local.send_message[each.key])),
      "\\u003caws.scheduler.scheduled-time\\u003e",
      "<aws.scheduler.scheduled-time>",
    )
  }
}

# The role Scheduler assumes to send: SendMessage on this queue only, for
# schedules of this account and region.
data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:scheduler:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
  }
}

resource "aws_iam_role" "scheduler" {
  count = length(var.schedules) > 0 ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 26)}-sched-"
  description        = "EventBridge Scheduler sending the scheduled tasks of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  count = length(var.schedules) > 0 ? 1 : 0

  name   = "send-scheduled-tasks"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}
