variable "region" {
  description = "AWS region of the queue and the fleet."
  type        = string
}

variable "name" {
  description = "Name of the queue, the Auto Scaling group and the dashboard."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the instances."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets in at least two Availability Zones, with a route to SQS (NAT gateway or VPC endpoints)."
  type        = list(string)
}

variable "artifact_url" {
  description = "https:// or s3:// URL of the linux sqsfleet binary (make build)."
  type        = string
}

variable "artifact_sha256" {
  description = "sha256sum of that binary."
  type        = string
}

variable "settings" {
  description = "The daemon's configuration by key (configs/sqsfleet.yaml): at least handler.type and handler.command or handler.url, unless lambda_function is set."
  type        = map(string)
  default     = {}
}

variable "lambda_function" {
  description = "A Lambda function's container image to run as the handler on each instance, under Docker (the module's lambda_function)."
  type = object({
    image           = string
    command         = optional(list(string), [])
    runtimes        = optional(number, 1)
    timeout_seconds = optional(number, 300)
    environment     = optional(map(string), {})
  })
  default = null
}

variable "extra_user_data" {
  description = "Shell commands run at boot before sqsfleet starts: install your handler."
  type        = string
  default     = ""
}

variable "target_backlog_per_instance" {
  description = "Scaling target: `sqsfleet scaler target --latency D --processing-time D --concurrency N`."
  type        = number
}

variable "scaling_metric" {
  description = "backlog_per_instance (published by the workers) or metric_math (computed by CloudWatch)."
  type        = string
  default     = "backlog_per_instance"
}

variable "instance_types" {
  description = "Instance types, in order of preference."
  type        = list(string)
  default     = ["t3.small", "t3a.small"]
}

variable "on_demand_percentage_above_base_capacity" {
  description = "100: On-Demand only; lower: the rest on Spot."
  type        = number
  default     = 100
}

variable "min_size" {
  description = "Fewest instances (at least 1)."
  type        = number
  default     = 1
}

variable "max_size" {
  description = "Most instances."
  type        = number
  default     = 10
}

variable "max_message_age_seconds" {
  description = "Alarm when the oldest message is older than this."
  type        = number
  default     = 900
}

variable "alarm_actions" {
  description = "SNS topic ARNs for the alarms."
  type        = list(string)
  default     = []
}

variable "secrets" {
  description = "Environment variable name => ARN of an SSM parameter or Secrets Manager secret (deploy/README.md, \"Secrets and KMS keys\")."
  type        = map(string)
  default     = {}
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys of the queues and secrets, if any."
  type        = list(string)
  default     = []
}

variable "iam_policy_arns" {
  description = "More managed policies for the instance role: what the handler needs, AmazonSSMManagedInstanceCore for Session Manager."
  type        = list(string)
  default     = []
}

variable "alb_health_check" {
  description = "true: an internal load balancer checks /healthz; false: each instance reports its own health."
  type        = bool
  default     = true
}

variable "health_check_grace_period_seconds" {
  description = "Seconds after launch before a failed health check counts: the whole boot must fit."
  type        = number
  default     = 300
}

variable "instance_refresh_alarm_gate" {
  description = "false for the one apply that ships a fix while a release gate alarm is in ALARM (deploy/README.md, \"Deploys\")."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
