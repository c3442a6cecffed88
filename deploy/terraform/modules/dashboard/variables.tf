variable "name" {
  description = "Name of the dashboard."
  type        = string
}

variable "queue_name" {
  description = "Name of the queue (the queue module's queue_name)."
  type        = string
}

variable "dlq_name" {
  description = "Name of the dead-letter queue (the queue module's dlq_name)."
  type        = string
}

variable "fleet" {
  description = "Where the fleet size comes from: { type = \"asg\", asg_name = ... } or { type = \"ecs\", cluster_name = ..., service_name = ... } (ECS needs Container Insights)."
  type = object({
    type         = string
    asg_name     = optional(string)
    cluster_name = optional(string)
    service_name = optional(string)
  })

  validation {
    condition     = contains(["asg", "ecs"], var.fleet.type)
    error_message = "fleet.type must be asg or ecs."
  }
}

variable "target_backlog_per_instance" {
  description = "The scaling policy's target, drawn as a line on the backlog-per-instance graph; null draws none."
  type        = number
  default     = null
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the scaling metric (the daemon's scaler.namespace)."
  type        = string
  default     = "SQSFleet"
}

variable "metric_name" {
  description = "Name of the scaling metric (the daemon's scaler.metric_name)."
  type        = string
  default     = "BacklogPerInstance"
}

variable "metric_dimension_name" {
  description = "The metric's one dimension, whose value is the queue's name (the daemon's scaler.dimension_name)."
  type        = string
  default     = "QueueName"
}
