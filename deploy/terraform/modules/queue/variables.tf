variable "name" {
  description = "Name of the queue. The dead-letter queue is named \"<name>-dlq\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,71}$", var.name))
    error_message = "name must be 1 to 71 characters (\"-dlq.fifo\" must fit within SQS's 80): letters, digits, hyphens and underscores."
  }
}

variable "fifo" {
  description = "Make both queues FIFO queues (names end in \".fifo\")."
  type        = bool
  default     = false
}

variable "max_attempts" {
  description = "The daemon's queue.max_attempts: deliveries before the daemon dead-letters a message itself, with the reason. Keep it equal to what the workers are configured with."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "maxReceiveCount of the redrive policy: after this many receives SQS moves a message to the DLQ by itself. It must be at least 2 x max_attempts + 1, so that it only catches what the daemon could not handle, after the daemon's own crash-loop guard (which allows receives that were not attempts up to twice max_attempts)."
  type        = number
  default     = 11
}

variable "visibility_timeout_seconds" {
  description = "The queue's visibility timeout. The daemon asks for queue.visibility_timeout (30s by default) on every receive and extends it while a handler runs, so this only matters to other consumers."
  type        = number
  default     = 30
}

variable "message_retention_seconds" {
  description = "How long a message stays in the queue (4 days by default, up to 14)."
  type        = number
  default     = 345600
}

variable "dlq_message_retention_seconds" {
  description = "How long a message stays in the dead-letter queue. 14 days, the maximum, to leave time to look at failures."
  type        = number
  default     = 1209600
}

variable "max_message_age_seconds" {
  description = "Alarm when the oldest message in the queue is older than this: the fleet is not keeping up. Set it to your latency objective."
  type        = number
  default     = 900
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires and when it clears, e.g. an SNS topic."
  type        = list(string)
  default     = []
}

variable "sns_topic_arn" {
  description = "Subscribe the queue to this SNS topic; \"\" for none. The queue's policy lets this topic, and no other, send to it. Without sns_raw_message_delivery, run the workers with message.envelope sns (or auto). A FIFO queue needs a FIFO topic. A topic in another account must also allow this account to subscribe (its topic policy)."
  type        = string
  default     = ""

  validation {
    condition     = var.sns_topic_arn == "" || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>) or \"\"."
  }
}

variable "sns_raw_message_delivery" {
  description = "Deliver SNS messages raw: the body is the published message and its attributes become SQS message attributes (at most 10), with no SNS metadata. Leave false to keep the subject, topic and timestamp, which the workers then read with message.envelope sns."
  type        = bool
  default     = false
}

variable "sns_filter_policy" {
  description = "SNS subscription filter policy (JSON) on the message attributes; \"\" delivers every message published to the topic."
  type        = string
  default     = ""

  validation {
    condition     = var.sns_filter_policy == "" || can(jsondecode(var.sns_filter_policy))
    error_message = "sns_filter_policy must be JSON or \"\"."
  }
}

variable "eventbridge_event_pattern" {
  description = "Create an EventBridge rule with this event pattern (JSON) that sends matching events to the queue; \"\" for none. The queue's policy lets this rule, and no other, send to it. Run the workers with message.envelope eventbridge (or auto). Standard queues only."
  type        = string
  default     = ""

  validation {
    condition     = var.eventbridge_event_pattern == "" || can(jsondecode(var.eventbridge_event_pattern))
    error_message = "eventbridge_event_pattern must be JSON or \"\"."
  }
}

variable "eventbridge_bus_name" {
  description = "Event bus of the rule made for eventbridge_event_pattern."
  type        = string
  default     = "default"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "schedules" {
  description = <<-EOT
    Scheduled tasks, sent to the queue by EventBridge Scheduler (no leader election among workers). Each: name (the task's name, unique), path (the application path the http handler POSTs it to, e.g. "/tasks/report"), schedule (an EventBridge Scheduler expression: cron(...) with 6 fields, rate(...) or at(...)), timezone (IANA name, default "UTC"). `sqsfleet schedules import cron.yaml` prints this value for an Elastic Beanstalk cron.yaml. Delivery is at least once: the scheduled time in each message lets the application deduplicate.
  EOT
  type = list(object({
    name     = string
    path     = string
    schedule = string
    timezone = optional(string, "UTC")
  }))
  default = []

  validation {
    condition     = length(distinct([for s in var.schedules : s.name])) == length(var.schedules)
    error_message = "schedules: each name must be unique."
  }

  validation {
    condition     = length(distinct([for s in var.schedules : replace(s.name, "/[^0-9A-Za-z_.-]/", "-")])) == length(var.schedules) && alltrue([for s in var.schedules : length(s.name) >= 1 && length(s.name) <= 64])
    error_message = "schedules: names must be 1 to 64 characters and stay distinct once every character outside A-Z a-z 0-9 _ . - becomes - (EventBridge schedule names)."
  }

  validation {
    condition     = alltrue([for s in var.schedules : startswith(s.path, "/") && !startswith(s.path, "//") && !strcontains(s.path, "#")])
    error_message = "schedules: path must be an absolute path on the application (start with a single /, no fragment), such as \"/tasks/report\"."
  }

  validation {
    condition     = alltrue([for s in var.schedules : can(regex("^(cron|rate|at)\\(.+\\)$", s.schedule))])
    error_message = "schedules: schedule must be an EventBridge Scheduler expression: cron(m h dom mon dow year), rate(n unit) or at(yyyy-mm-ddThh:mm:ss). A Unix cron line converts with `sqsfleet schedules import`."
  }
}
