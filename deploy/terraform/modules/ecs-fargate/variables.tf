variable "name" {
  description = "Name of the ECS service and task family; also the prefix of the roles, security group, log group and alarms, and the cluster's name when the module creates it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.name))
    error_message = "name must be 1 to 32 letters, digits, hyphens and underscores."
  }
}

variable "cluster_arn" {
  description = "ARN of an existing ECS cluster with the FARGATE (and, for fargate_spot_weight, FARGATE_SPOT) capacity providers. null: the module creates one named after var.name."
  type        = string
  default     = null
}

variable "container_insights" {
  description = "Turn on Container Insights in the cluster the module creates: the dashboard's fleet size (RunningTaskCount) comes from it."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the tasks, normally private ones with a NAT gateway, or VPC endpoints for sqs, ecr.api, ecr.dkr, s3 (gateway, for image layers), logs and ecs; monitoring with publisher = \"cloudwatch\"; ssm or secretsmanager for secrets; kms for customer managed keys."
  type        = list(string)
}

variable "assign_public_ip" {
  description = "Give tasks a public IP (subnets with an internet gateway and no NAT)."
  type        = bool
  default     = false
}

variable "queue_url" {
  description = "URL of the queue the workers consume (the queue module's queue_url)."
  type        = string
}

variable "queue_arn" {
  description = "ARN of that queue: the tasks may receive, delete and change the visibility of its messages, and nothing else."
  type        = string
}

variable "dlq_url" {
  description = "URL of the dead-letter queue (the queue module's dlq_url)."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue: the tasks may only send to it."
  type        = string
}

variable "max_attempts" {
  description = "queue.max_attempts for the daemon; the queue's maxReceiveCount must be at least 2 x max_attempts + 1 (the queue module's max_attempts output and its precondition)."
  type        = number
  default     = 5
}

variable "image" {
  description = "Container image that holds sqsfleet at sqsfleet_path: the image the Dockerfile builds, or your own image with the binary copied in, for an exec handler."
  type        = string
}

variable "sqsfleet_path" {
  description = "Path of the sqsfleet binary in the image; the entry point and the health check run it."
  type        = string
  default     = "/usr/local/bin/sqsfleet"
}

variable "container_user" {
  description = "uid:gid the container runs as. The default is distroless's nonroot user."
  type        = string
  default     = "65532:65532"

  validation {
    condition     = !contains(["root", "0", "0:0", "root:root"], var.container_user)
    error_message = "container_user must not be root."
  }
}

variable "tmp_init_image" {
  description = "An image with chmod on its PATH (e.g. public.ecr.aws/docker/library/busybox:stable), for an image that does not declare VOLUME [\"/tmp\"]: a container of it runs first, as root, and makes the task's /tmp volume writable for everyone (mode 1777). null: the image must declare the VOLUME itself, as the Dockerfile's does (deploy/README.md, \"/tmp on Fargate\")."
  type        = string
  default     = null
}

variable "settings" {
  description = "The daemon's configuration, by key as in configs/sqsfleet.yaml (\"handler.type\" = \"http\", \"handler.url\" = \"http://127.0.0.1:8000/sqs\", \"worker.concurrency\" = \"20\", ...), passed as SQSFLEET_* environment variables. The queue, DLQ, http.addr and scaler keys are set by the module."
  type        = map(string)
  default     = {}
}

variable "sidecar_containers" {
  description = "More container definitions for the task (ECS JSON shape, as HCL objects), e.g. the web app an http handler posts to on 127.0.0.1. sqsfleet starts after each one is HEALTHY (when it has a healthCheck) or started."
  type        = any
  default     = []
}

variable "lambda_function" {
  description = <<-EOT
    A Lambda function's container image to run next to sqsfleet, as handler.type lambda (README: "Run a Lambda function on the fleet"). Each of runtimes containers runs the image's Lambda Runtime Interface Emulator (emulator_path; AWS's base images carry it) taking one batch at a time, on its own loopback port 9000, 9001, ..., with command the runtime it starts (e.g. ["/var/runtime/bootstrap"] for a provided.al2023 image, or ["/var/lang/bin/python3", "-m", "awslambdaric", "app.handler"] for AWS's Python image). timeout_seconds is AWS_LAMBDA_FUNCTION_TIMEOUT. The module sets handler.type and handler.url; worker.concurrency (default 10 per runtime) and handler.timeout (default timeout_seconds + 10 s, the batch window's 5 s at most and a margin) may be set in settings. null: no function.
  EOT
  type = object({
    image           = string
    command         = list(string)
    runtimes        = optional(number, 1)
    timeout_seconds = optional(number, 300)
    environment     = optional(map(string), {})
    emulator_path   = optional(string, "/usr/local/bin/aws-lambda-rie")
  })
  default = null

  validation {
    condition     = var.lambda_function == null || (try(var.lambda_function.runtimes, 0) >= 1 && try(var.lambda_function.runtimes, 0) <= 50 && floor(try(var.lambda_function.runtimes, 0)) == try(var.lambda_function.runtimes, 0))
    error_message = "lambda_function.runtimes must be a whole number between 1 and 50."
  }

  validation {
    condition     = var.lambda_function == null || (try(var.lambda_function.timeout_seconds, 0) >= 1 && try(var.lambda_function.timeout_seconds, 0) <= 900)
    error_message = "lambda_function.timeout_seconds must be between 1 and 900, as Lambda's own function timeout."
  }
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

variable "cpu_architecture" {
  description = "X86_64 or ARM64; the image must have it."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "min_capacity" {
  description = "Fewest tasks. At least 1: the running workers publish the scaling metric, so a service at 0 would never see its backlog."
  type        = number
  default     = 1

  validation {
    condition     = var.min_capacity >= 1
    error_message = "min_capacity must be at least 1: the workers publish the scaling metric (deploy/README.md, \"Scaling to zero\")."
  }
}

variable "max_capacity" {
  description = "Most tasks."
  type        = number
  default     = 10
}

variable "target_backlog_per_instance" {
  description = "The target of the scaling policy: acceptable messages waiting per task. Compute it with `sqsfleet scaler target --latency D --processing-time D --concurrency N`."
  type        = number

  validation {
    condition     = var.target_backlog_per_instance > 0
    error_message = "target_backlog_per_instance must be positive."
  }
}

variable "fargate_spot_weight" {
  description = "Weight of FARGATE_SPOT against FARGATE's 1 in the capacity provider strategy. 0: no Spot; 3: about three Spot tasks for each On-Demand one."
  type        = number
  default     = 0
}

variable "fargate_base" {
  description = "Tasks that always run on FARGATE (On-Demand) before the weights apply."
  type        = number
  default     = 0
}

variable "publisher" {
  description = "How the workers publish the scaling metric: \"emf\" (a log line that CloudWatch Logs turns into the metric; no API call, no cloudwatch:PutMetricData) or \"cloudwatch\" (PutMetricData)."
  type        = string
  default     = "emf"

  validation {
    condition     = contains(["emf", "cloudwatch"], var.publisher)
    error_message = "publisher must be emf or cloudwatch."
  }
}

variable "leader_only" {
  description = "Only one task (the lowest running task ARN) publishes the metric, instead of all of them. Adds ecs:ListTasks to the task role."
  type        = bool
  default     = false
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

variable "http_port" {
  description = "Port of the daemon's /healthz and /metrics listener (http.addr)."
  type        = number
  default     = 8080
}

variable "metrics_cidr_blocks" {
  description = "CIDR blocks allowed to reach http_port on the tasks (Prometheus scraping /metrics)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "More security groups for the tasks, e.g. to reach the handler's databases."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the tasks' CloudWatch log group."
  type        = number
  default     = 30
}

variable "ecr_repository_arns" {
  description = "ECR repositories the images come from; the execution role may pull from these only. Empty for public images."
  type        = list(string)
  default     = []
}

variable "task_role_policy_arns" {
  description = "More managed policies for the task role: what the handler needs."
  type        = list(string)
  default     = []
}

variable "secrets" {
  description = "Environment variables read from SSM Parameter Store or Secrets Manager, by name: { SQSFLEET_HANDLER_URL = \"arn:aws:ssm:...:parameter/...\", DB_PASSWORD = \"arn:aws:secretsmanager:...:secret:...\" }. A SQSFLEET_* name sets that configuration key; any other reaches the handler through the daemon's environment. Full ARNs (no JSON key suffix): the role may read exactly these. Put secrets here, never in settings, which are plain text. ECS injects them into the container (the execution role reads them)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name, arn in var.secrets : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", name)) && can(regex("^arn:aws[a-z-]*:(ssm:[^:]+:[0-9]{12}:parameter/.+|secretsmanager:[^:]+:[0-9]{12}:secret:[^:]+)$", arn))])
    error_message = "secrets maps environment variable names to the ARN of an SSM parameter (arn:...:ssm:<region>:<account>:parameter/...) or a Secrets Manager secret (arn:...:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys the workers need: the queue's and the DLQ's (SSE-KMS; receiving needs kms:Decrypt, sending to the DLQ kms:GenerateDataKey), and the keys of secrets. The execution role gets kms:Decrypt on these for the secrets. The roles get kms:Decrypt and kms:GenerateDataKey on these only. Not needed for SSE-SQS or AWS managed keys."
  type        = list(string)
  default     = []
}

variable "alarm_actions" {
  description = "ARNs notified by the module's alarm (scaling metric missing)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "payload_bucket" {
  description = "The S3 bucket where producers using the Amazon SQS extended client libraries store large bodies (payload.s3_resolve). The workers may read objects of this bucket only (s3:GetObject on its objects, s3:ListBucket on it so that a missing object is reported as missing). \"\" grants no S3 access."
  type        = string
  default     = ""
}

variable "payload_cleanup" {
  description = "Sets payload.s3_cleanup: delete a payload's object once its message has succeeded, and grant s3:DeleteObject on payload_bucket's objects for it. Leave false when an SNS topic fans the messages out to several queues: they share one object."
  type        = bool
  default     = false
}

variable "payload_kms_key_arns" {
  description = "Customer managed KMS keys that payload_bucket's objects are encrypted with (SSE-KMS). The workers get kms:Decrypt on these, through S3 only. Not needed for SSE-S3 or the AWS managed key."
  type        = list(string)
  default     = []
}
