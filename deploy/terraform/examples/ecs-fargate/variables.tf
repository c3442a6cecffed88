variable "region" {
  description = "AWS region of the queue and the fleet."
  type        = string
}

variable "name" {
  description = "Name of the queue, the ECS cluster and service, and the dashboard."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets with a route to SQS, ECR and CloudWatch Logs (NAT gateway or VPC endpoints)."
  type        = list(string)
}

variable "image" {
  description = "Image with sqsfleet at /usr/local/bin/sqsfleet: the one the Dockerfile builds, or yours with the binary copied in."
  type        = string
}

variable "ecr_repository_arns" {
  description = "ECR repositories of the task's images (empty for public images)."
  type        = list(string)
  default     = []
}

variable "settings" {
  description = "The daemon's configuration by key (configs/sqsfleet.yaml): at least handler.type and handler.command or handler.url, unless lambda_function is set."
  type        = map(string)
  default     = {}
}

variable "lambda_function" {
  description = "A Lambda function's container image to run as the handler, next to sqsfleet (the module's lambda_function)."
  type = object({
    image           = string
    command         = list(string)
    runtimes        = optional(number, 1)
    timeout_seconds = optional(number, 300)
    environment     = optional(map(string), {})
    emulator_path   = optional(string, "/usr/local/bin/aws-lambda-rie")
  })
  default = null
}

variable "sidecar_containers" {
  description = "More containers for the task, e.g. the app an http handler posts to."
  type        = any
  default     = []
}

variable "cpu" {
  description = "Task CPU units."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Task memory, MiB."
  type        = number
  default     = 512
}

variable "target_backlog_per_instance" {
  description = "Scaling target: `sqsfleet scaler target --latency D --processing-time D --concurrency N`."
  type        = number
}

variable "min_capacity" {
  description = "Fewest tasks (at least 1)."
  type        = number
  default     = 1
}

variable "max_capacity" {
  description = "Most tasks."
  type        = number
  default     = 10
}

variable "fargate_spot_weight" {
  description = "FARGATE_SPOT tasks per FARGATE task; 0 for none."
  type        = number
  default     = 0
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

variable "task_role_policy_arns" {
  description = "More managed policies for the task role: what the handler needs."
  type        = list(string)
  default     = []
}

variable "tmp_init_image" {
  description = "An image with chmod, for an image without VOLUME [\"/tmp\"] (deploy/README.md, \"/tmp on Fargate\")."
  type        = string
  default     = null
}

variable "publisher" {
  description = "emf or cloudwatch: how the workers publish the scaling metric."
  type        = string
  default     = "emf"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
