variable "name" {
  description = "Name of the Auto Scaling group; also the prefix of the role, launch template, security groups and alarms."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,28}$", var.name))
    error_message = "name must be 1 to 28 letters, digits and hyphens (load balancer names derived from it are limited to 32 characters)."
  }
}

variable "vpc_id" {
  description = "VPC of the instances."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the instances (and of the internal load balancer), normally private ones with a NAT gateway, or interface VPC endpoints for sqs, monitoring (CloudWatch PutMetricData), autoscaling, s3 (gateway) for an s3:// artifact, ssm or secretsmanager for secrets, and kms for customer managed keys."
  type        = list(string)
}

variable "queue_url" {
  description = "URL of the queue the workers consume (the queue module's queue_url)."
  type        = string
}

variable "queue_arn" {
  description = "ARN of that queue: the workers may receive, delete and change the visibility of its messages, and nothing else."
  type        = string
}

variable "dlq_url" {
  description = "URL of the dead-letter queue (the queue module's dlq_url)."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue: the workers may only send to it."
  type        = string
}

variable "max_attempts" {
  description = "queue.max_attempts for the daemon; the queue's maxReceiveCount must be at least 2 x max_attempts + 1 (the queue module's max_attempts output and its precondition)."
  type        = number
  default     = 5
}

variable "artifact_url" {
  description = "Where each instance downloads the sqsfleet binary at boot (linux, the instances' architecture): an https:// URL, or s3://bucket/key (the role is then allowed s3:GetObject on that object only)."
  type        = string

  validation {
    condition     = can(regex("^(https|s3)://", var.artifact_url))
    error_message = "artifact_url must start with https:// or s3://."
  }
}

variable "artifact_sha256" {
  description = "SHA-256 of the binary at artifact_url (sha256sum bin/sqsfleet). An instance whose download does not match refuses to start."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.artifact_sha256))
    error_message = "artifact_sha256 must be 64 lower-case hex digits."
  }
}

variable "settings" {
  description = "The daemon's configuration, by key as in configs/sqsfleet.yaml (\"handler.type\" = \"exec\", \"handler.command\" = \"python3 /opt/app/worker.py\", \"worker.concurrency\" = \"20\", ...). Written to /etc/sqsfleet/sqsfleet.env as SQSFLEET_* variables. The queue, DLQ, http.addr and scaler keys are set by the module."
  type        = map(string)
  default     = {}
}

variable "extra_user_data" {
  description = "Shell commands run as root at boot before sqsfleet starts: install the handler your settings name, for example."
  type        = string
  default     = ""
}

variable "lambda_function" {
  description = <<-EOT
    A Lambda function's container image to run on each instance, as handler.type lambda (README: "Run a Lambda function on the fleet"). The user data installs Docker, pulls the image (logging in to ECR for an ECR image: give the instance role ECR read access through iam_policy_arns), and runs runtimes containers of it under systemd (sqsfleet-lambda@PORT), each publishing the image's emulator (port 8080 inside AWS's base images) on 127.0.0.1:9000, 9001, ... command overrides the image's CMD (for AWS's base images, the handler, e.g. ["app.handler"]); each element may hold letters, digits and _ . / : = @ + , - only. timeout_seconds is AWS_LAMBDA_FUNCTION_TIMEOUT, environment more variables for the function. The module sets handler.type and handler.url; worker.concurrency (default 10 per runtime) and handler.timeout (default timeout_seconds + 10 s) may be set in settings. null: no function.
  EOT
  type = object({
    image           = string
    command         = optional(list(string), [])
    runtimes        = optional(number, 1)
    timeout_seconds = optional(number, 300)
    environment     = optional(map(string), {})
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

  validation {
    # They end up in a systemd ExecStart= line, where quotes, $ and % mean
    # something, and in docker's --env-file, which takes no newlines.
    condition = var.lambda_function == null || alltrue(concat(
      [for a in concat([try(var.lambda_function.image, "")], try(var.lambda_function.command, [])) : can(regex("^[A-Za-z0-9_./:=@+,-]+$", a))],
      [for k, v in try(var.lambda_function.environment, {}) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && !strcontains(v, "\n")],
    ))
    error_message = "lambda_function: image and command elements may hold letters, digits and _ . / : = @ + , - only; environment names must be variable names and values one line."
  }
}

variable "ami_id" {
  description = "AMI of the instances. null: the latest Amazon Linux 2023 for architecture (it has curl, the AWS CLI and systemd, which the user data needs). A new AMI release changes the launch template, and the next apply rolls the fleet."
  type        = string
  default     = null
}

variable "architecture" {
  description = "x86_64 or arm64: picks the default AMI. The binary at artifact_url and instance_types must match it."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "root_volume_size_gib" {
  description = "Size of each instance's root volume (gp3, encrypted), GiB; at least the AMI's snapshot (8 GiB for Amazon Linux 2023)."
  type        = number
  default     = 20
}

variable "root_volume_kms_key_id" {
  description = "ARN of the KMS key that encrypts the root volumes. null: the account's default EBS key (aws/ebs). A customer key's policy must let the Auto Scaling service-linked role use it."
  type        = string
  default     = null
}

variable "instance_types" {
  description = "Instance types, in order of preference. Several types help Spot capacity."
  type        = list(string)
  default     = ["t3.small", "t3a.small"]
}

variable "on_demand_base_capacity" {
  description = "Instances that are always On-Demand."
  type        = number
  default     = 0
}

variable "on_demand_percentage_above_base_capacity" {
  description = "Percentage of On-Demand instances above the base; the rest are Spot. 100: no Spot."
  type        = number
  default     = 100
}

variable "min_size" {
  description = "Fewest instances. At least 1: the running workers publish the scaling metric, so a group at 0 would never see its backlog."
  type        = number
  default     = 1

  validation {
    condition     = var.min_size >= 1
    error_message = "min_size must be at least 1: the workers publish the scaling metric (deploy/README.md, \"Scaling to zero\")."
  }
}

variable "max_size" {
  description = "Most instances."
  type        = number
  default     = 10
}

variable "target_backlog_per_instance" {
  description = "The target of the scaling policy: acceptable messages waiting per instance. Compute it with `sqsfleet scaler target --latency D --processing-time D --concurrency N`."
  type        = number

  validation {
    condition     = var.target_backlog_per_instance > 0
    error_message = "target_backlog_per_instance must be positive."
  }
}

variable "scaling_metric" {
  description = "\"backlog_per_instance\": track SQSFleet/BacklogPerInstance, which the workers compute and publish (the default; it counts the fleet the way the daemon does). \"metric_math\": track the queue's ApproximateNumberOfMessagesVisible divided by the group's GroupInServiceInstances in CloudWatch metric math; nothing is published and the role gets no cloudwatch:PutMetricData."
  type        = string
  default     = "backlog_per_instance"

  validation {
    condition     = contains(["backlog_per_instance", "metric_math"], var.scaling_metric)
    error_message = "scaling_metric must be backlog_per_instance or metric_math."
  }
}

variable "leader_only" {
  description = "Only one worker (the lowest InService instance id) publishes the metric, instead of all of them: fewer PutMetricData calls in a large fleet."
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

variable "alb_health_check" {
  description = "Create an internal Application Load Balancer whose target group checks /healthz, so that the group (health_check_type ELB) replaces a worker that cannot reach SQS or is wedged. It serves no traffic and accepts none. false: no load balancer; sqsfleet-lifecycle checks /healthz on the instance and reports it Unhealthy (autoscaling:SetInstanceHealth) after a minute of failures, with health_check_type EC2."
  type        = bool
  default     = true
}

variable "metrics_cidr_blocks" {
  description = "CIDR blocks allowed to reach http_port on the instances (Prometheus scraping /metrics)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "More security groups for the instances, e.g. to reach the handler's databases."
  type        = list(string)
  default     = []
}

variable "instance_warmup_seconds" {
  description = "Seconds from launch until a new instance's metrics count in scaling (boot, download, first poll). Health checks wait health_check_grace_period_seconds instead."
  type        = number
  default     = 120
}

variable "health_check_grace_period_seconds" {
  description = "Seconds after launch before the group acts on a failed health check: the whole boot (user data, the handler's install, the first poll) must fit, or new instances are replaced in a loop. Longer than instance_warmup_seconds, which only decides when an instance counts in scaling."
  type        = number
  default     = 300
}

variable "drain_timeout_seconds" {
  description = "Heartbeat timeout of the termination lifecycle hook: the longest an instance waits in Terminating:Wait for its daemon to drain. sqsfleet-lifecycle ends the wait as soon as the daemon has stopped; keep this above the unit's TimeoutStopSec (90s)."
  type        = number
  default     = 300
}

variable "iam_policy_arns" {
  description = "More managed policies for the instance role, e.g. arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore for Session Manager, or what the handler needs."
  type        = list(string)
  default     = []
}

variable "instance_refresh_alarm_gate" {
  description = "Stop an instance refresh when the release-dead-letters or release-unhealthy-hosts alarm goes to ALARM. Set false for the one apply that ships a fix while one of them is still in ALARM (the refresh could stop on it at once), then back to true."
  type        = bool
  default     = true
}

variable "release_dead_letter_threshold" {
  description = "Messages the workers may send to the DLQ in 5 minutes before the release-dead-letters alarm fires, which stops a running instance refresh. Raise it if the fleet dead-letters some messages routinely."
  type        = number
  default     = 0
}

variable "secrets" {
  description = "Environment variables read from SSM Parameter Store or Secrets Manager, by name: { SQSFLEET_HANDLER_URL = \"arn:aws:ssm:...:parameter/...\", DB_PASSWORD = \"arn:aws:secretsmanager:...:secret:...\" }. A SQSFLEET_* name sets that configuration key; any other reaches the handler through the daemon's environment. Full ARNs (no JSON key suffix): the role may read exactly these. Put secrets here, never in settings, which are plain text. The user data reads them at boot into /etc/sqsfleet/sqsfleet.env (0600); values may not contain a single quote or a newline."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name, arn in var.secrets : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", name)) && can(regex("^arn:aws[a-z-]*:(ssm:[^:]+:[0-9]{12}:parameter/.+|secretsmanager:[^:]+:[0-9]{12}:secret:[^:]+)$", arn))])
    error_message = "secrets maps environment variable names to the ARN of an SSM parameter (arn:...:ssm:<region>:<account>:parameter/...) or a Secrets Manager secret (arn:...:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys the workers need: the queue's and the DLQ's (SSE-KMS; receiving needs kms:Decrypt, sending to the DLQ kms:GenerateDataKey), and the keys of secrets. The roles get kms:Decrypt and kms:GenerateDataKey on these only. Not needed for SSE-SQS or AWS managed keys."
  type        = list(string)
  default     = []
}

variable "alarm_actions" {
  description = "ARNs notified by the module's alarms (scaling metric missing, and the release gates of the instance refresh)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource, and for the instances and their volumes, with the provider's default_tags (which do not reach those by themselves)."
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
