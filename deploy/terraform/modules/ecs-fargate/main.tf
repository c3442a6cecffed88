# A fleet of sqsfleet workers on ECS Fargate: a service whose desired count
# tracks backlog per task, published by the tasks themselves as EMF log
# lines, with task scale-in protection while a task holds messages.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition    = data.aws_partition.current.partition
  region       = data.aws_region.current.region
  account_id   = data.aws_caller_identity.current.account_id
  queue_name   = element(split(":", var.queue_arn), 5)
  cluster_arn  = var.cluster_arn != null ? var.cluster_arn : aws_ecs_cluster.this[0].arn
  cluster_name = var.cluster_arn != null ? element(split("/", var.cluster_arn), 1) : var.name
  service_arn  = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${local.cluster_name}/${var.name}"
  tasks_arn    = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${local.cluster_name}/*"

  # ECS sends SIGTERM, waits stopTimeout, then SIGKILL. 120s is Fargate's
  # maximum and what a Spot interruption leaves; the daemon needs
  # worker.shutdown_timeout (25s by default) plus one long poll.
  stop_timeout = 120

  # A Lambda function's runtimes (var.lambda_function). The containers of
  # an awsvpc task share one loopback interface, where the emulator's own
  # defaults would clash: its invoke port 8080 with sqsfleet's http.addr,
  # and the Runtime API it serves the function on 127.0.0.1:9001 with the
  # next runtime's. So runtime i takes invocations on 127.0.0.1:900i (the
  # handler's default port, 9000, for the first) and serves its function
  # on 127.0.0.1:91xx.
  lambda_runtimes = var.lambda_function == null ? [] : range(var.lambda_function.runtimes)
  lambda_urls     = [for i in local.lambda_runtimes : "http://127.0.0.1:${9000 + i}/2015-03-31/functions/function/invocations"]
  lambda_containers = [
    for i in local.lambda_runtimes : {
      name       = "lambda-${i}"
      image      = var.lambda_function.image
      essential  = true
      entryPoint = [var.lambda_function.emulator_path, "--runtime-interface-emulator-address", "127.0.0.1:${9000 + i}", "--runtime-api-address", "127.0.0.1:${9100 + i}"]
      command    = var.lambda_function.command
      environment = [
        for name, value in merge(var.lambda_function.environment, { AWS_LAMBDA_FUNCTION_TIMEOUT = tostring(var.lambda_function.timeout_seconds) }) :
        { name = name, value = value }
      ]
      logConfiguration = merge(local.container_base.logConfiguration, { options = merge(local.container_base.logConfiguration.options, { "awslogs-stream-prefix" = "lambda-${i}" }) })
    }
  ]
  # Defaults for a Lambda handler that var.settings may override: one
  # batch of Lambda's default 10 per runtime at once, and a handler
  # timeout past the function's own (plus the batch window, 5 s at most),
  # so that the emulator's timeout, not sqsfleet's, ends a slow batch.
  lambda_settings = var.lambda_function == null ? {} : {
    "worker.concurrency" = tostring(10 * var.lambda_function.runtimes)
    "handler.timeout"    = "${var.lambda_function.timeout_seconds + 10}s"
  }
  lambda_handler = var.lambda_function == null ? {} : {
    "handler.type" = "lambda"
    "handler.url"  = join(",", local.lambda_urls)
  }

  # The module's keys win over var.settings: the roles, the scaling policy
  # and the dashboard are built for exactly these values.
  settings = merge(local.lambda_settings, var.settings, local.lambda_handler, {
    "queue.url"                  = var.queue_url
    "queue.dlq_url"              = var.dlq_url
    "queue.max_attempts"         = tostring(var.max_attempts)
    "http.addr"                  = ":${var.http_port}"
    "scaler.enabled"             = "true"
    "scaler.fleet"               = "ecs"
    "scaler.ecs_cluster"         = local.cluster_name
    "scaler.ecs_service"         = var.name
    "scaler.publisher"           = var.publisher
    "scaler.namespace"           = var.metric_namespace
    "scaler.metric_name"         = var.metric_name
    "scaler.dimension_name"      = var.metric_dimension_name
    "scaler.leader_only"         = tostring(var.leader_only)
    "scaler.scale_in_protection" = "true"
    "payload.s3_cleanup"         = tostring(var.payload_cleanup)
  })

  # sqsfleet starts after its sidecars (the app an http handler posts to,
  # a Lambda function's runtimes), and after tmp-init has opened /tmp.
  sidecar_deps = concat(
    [for c in local.tmp_init : { containerName = c.name, condition = "SUCCESS" }],
    [
      for c in concat(local.lambda_containers, var.sidecar_containers) :
      { containerName = c.name, condition = try(c.healthCheck, null) != null ? "HEALTHY" : "START" }
    ],
  )

  # The task's /tmp volume starts owned by root, mode 0755 (Fargate has no
  # tmpfs), unless the image has VOLUME ["/tmp"], as ours does. For an
  # image without it, tmp_init_image runs chmod as root first, so that the
  # non-root container can write there whatever its Dockerfile says.
  tmp_init = var.tmp_init_image == null ? [] : [{
    name                   = "tmp-init"
    image                  = var.tmp_init_image
    essential              = false
    user                   = "0"
    entryPoint             = ["chmod"]
    command                = ["1777", "/tmp"]
    readonlyRootFilesystem = true
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration       = merge(local.container_base.logConfiguration, { options = merge(local.container_base.logConfiguration.options, { "awslogs-stream-prefix" = "tmp-init" }) })
  }]

  # Empty lists are left out: ECS drops them, and the task definition
  # would differ from the plan at every apply.
  container = merge(local.container_base, { for k, v in { dependsOn = local.sidecar_deps, secrets = local.secrets } : k => v if length(v) > 0 })

  # ECS reads these with the execution role and sets them in the
  # container's environment; they never appear in the task definition.
  secrets           = [for name in sort(keys(var.secrets)) : { name = name, valueFrom = var.secrets[name] }]
  secret_parameters = sort([for arn in values(var.secrets) : arn if split(":", arn)[2] == "ssm"])
  secret_secrets    = sort([for arn in values(var.secrets) : arn if split(":", arn)[2] == "secretsmanager"])

  container_base = {
    name       = "sqsfleet"
    image      = var.image
    essential  = true
    entryPoint = [var.sqsfleet_path]
    command    = ["run"]
    user       = var.container_user
    # Handlers may write to /tmp only (the "tmp" volume; see local.tmp_init).
    readonlyRootFilesystem = true
    stopTimeout            = local.stop_timeout
    environment = [
      for key in sort(keys(local.settings)) :
      { name = "SQSFLEET_${upper(replace(key, ".", "_"))}", value = local.settings[key] }
    ]
    portMappings = [{ name = "http", containerPort = var.http_port, protocol = "tcp" }]
    healthCheck = {
      command     = ["CMD", var.sqsfleet_path, "healthcheck"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    # An init process as PID 1 reaps the orphans of exec handlers and
    # passes SIGTERM to sqsfleet alone, which then drains.
    linuxParameters = { initProcessEnabled = true }
    mountPoints     = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    # stderr carries the daemon's JSON logs and handler output; stdout the
    # EMF lines. Both go to the log group, where CloudWatch Logs extracts
    # the metric from the EMF lines.
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "sqsfleet"
        "mode"                  = "non-blocking"
        "max-buffer-size"       = "4m"
      }
    }
  }
}

resource "aws_ecs_cluster" "this" {
  count = var.cluster_arn == null ? 1 : 0
  name  = var.name
  tags  = var.tags

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  count              = var.cluster_arn == null ? 1 : 0
  cluster_name       = aws_ecs_cluster.this[0].name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# --- IAM -------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.${data.aws_partition.current.dns_suffix}"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# The task role: what the daemon calls.
data "aws_iam_policy_document" "task" {
  statement {
    sid = "ConsumeQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",           # DeleteMessageBatch
      "sqs:ChangeMessageVisibility", # ChangeMessageVisibilityBatch
      "sqs:GetQueueAttributes",      # redrive policy at start; backlog for the scaler
    ]
    resources = [var.queue_arn]
  }

  statement {
    sid = "DeadLetter"
    actions = [
      "sqs:SendMessage",        # the failed message and its failure record
      "sqs:GetQueueAttributes", # MaximumMessageSize
      "sqs:GetQueueUrl",        # resolving the redrive policy's target
    ]
    resources = [var.dlq_arn]
  }

  statement {
    sid       = "FleetSize"
    actions   = ["ecs:DescribeServices"]
    resources = [local.service_arn]
  }

  # The ECS agent calls this with the task role when the daemon asks it to
  # protect the task while it holds messages.
  statement {
    sid       = "ScaleInProtection"
    actions   = ["ecs:UpdateTaskProtection"]
    resources = [local.tasks_arn]
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid = "CustomerManagedKeys"
      actions = [
        "kms:Decrypt",         # receiving from an SSE-KMS queue
        "kms:GenerateDataKey", # sending to an SSE-KMS DLQ
      ]
      resources = var.kms_key_arns
    }
  }

  dynamic "statement" {
    for_each = var.leader_only ? [1] : []
    content {
      sid       = "LeaderElection"
      actions   = ["ecs:ListTasks"]
      resources = ["*"] # scoped by the condition
      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.cluster_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = var.publisher == "cloudwatch" ? [1] : []
    content {
      sid       = "PublishScalingMetric"
      actions   = ["cloudwatch:PutMetricData"]
      resources = ["*"] # PutMetricData has no resource type; the condition scopes it
      condition {
        test     = "StringEquals"
        variable = "cloudwatch:namespace"
        values   = [var.metric_namespace]
      }
    }
  }

  # Bodies the SQS extended client libraries stored in S3 (payload.s3_resolve):
  # read from the one named bucket, and deleted after success with
  # payload_cleanup.
  dynamic "statement" {
    for_each = var.payload_bucket != "" ? [1] : []
    content {
      sid       = "ReadPayloads"
      actions   = var.payload_cleanup ? ["s3:GetObject", "s3:DeleteObject"] : ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${var.payload_bucket}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.payload_bucket != "" ? [1] : []
    content {
      # Lists nothing: without it S3 answers AccessDenied for a missing
      # object, which the daemon retries, instead of NoSuchKey, which it
      # dead-letters as payload_missing.
      sid       = "TellMissingPayloads"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${var.payload_bucket}"]
    }
  }

  dynamic "statement" {
    for_each = var.payload_bucket != "" && length(var.payload_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptPayloads"
      actions   = ["kms:Decrypt"] # SSE-KMS objects; S3 decrypts on the reader's behalf
      resources = var.payload_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.${data.aws_partition.current.dns_suffix}"]
      }
    }
  }
}

# The execution role: what ECS needs to start the task.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.secret_parameters) > 0 ? [1] : []
    content {
      sid       = "ReadSecretParameters"
      actions   = ["ssm:GetParameters"]
      resources = local.secret_parameters
    }
  }

  dynamic "statement" {
    for_each = length(local.secret_secrets) > 0 ? [1] : []
    content {
      sid       = "ReadSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_secrets
    }
  }

  dynamic "statement" {
    for_each = length(var.secrets) > 0 && length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"] # secrets under a customer managed key
      resources = var.kms_key_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []
    content {
      sid       = "ECRLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"] # GetAuthorizationToken has no resource type
    }
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []
    content {
      sid       = "ECRPull"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
      resources = var.ecr_repository_arns
    }
  }
}

resource "aws_iam_role" "task" {
  name_prefix        = "${substr(var.name, 0, 26)}-task-"
  description        = "sqsfleet tasks of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "task" {
  name   = "sqsfleet"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

resource "aws_iam_role_policy_attachment" "task_extra" {
  for_each   = toset(var.task_role_policy_arns)
  role       = aws_iam_role.task.name
  policy_arn = each.value
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${substr(var.name, 0, 26)}-exec-"
  description        = "ECS task execution role of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "ecs-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Network ---------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  name_prefix = "${var.name}-tasks-"
  description = "sqsfleet tasks of ${var.name}"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "tasks_ipv4" {
  security_group_id = aws_security_group.tasks.id
  description       = "Outbound IPv4"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_ipv6" {
  security_group_id = aws_security_group.tasks.id
  description       = "Outbound IPv6"
  ip_protocol       = "-1"
  cidr_ipv6         = "::/0"
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  for_each          = toset(var.metrics_cidr_blocks)
  security_group_id = aws_security_group.tasks.id
  description       = "Prometheus /metrics"
  ip_protocol       = "tcp"
  from_port         = var.http_port
  to_port           = var.http_port
  cidr_ipv4         = each.value
}

# --- Task and service ----------------------------------------------------------

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(concat(local.tmp_init, [local.container], local.lambda_containers, var.sidecar_containers))
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  lifecycle {
    precondition {
      condition     = alltrue([for c in var.sidecar_containers : can(c.name) && !contains(["sqsfleet", "tmp-init"], c.name) && !startswith(c.name, "lambda-")])
      error_message = "each of sidecar_containers needs a name other than \"sqsfleet\", \"tmp-init\" and \"lambda-N\"."
    }

    precondition {
      condition     = var.lambda_function == null || ((var.http_port < 9000 || var.http_port >= 9000 + try(var.lambda_function.runtimes, 1)) && (var.http_port < 9100 || var.http_port >= 9100 + try(var.lambda_function.runtimes, 1)))
      error_message = "http_port is one of the loopback ports lambda_function's runtimes take (9000 and 9100 onwards, one each per runtime): choose another."
    }

    precondition {
      condition     = var.lambda_function == null || !contains(keys(var.settings), "handler.type") || try(var.settings["handler.type"], "") == "lambda"
      error_message = "lambda_function is set, so the handler is the function: leave handler.type out of settings (or set it to \"lambda\")."
    }

    precondition {
      condition     = alltrue([for name in keys(var.secrets) : !contains([for e in local.container_base.environment : e.name], name)])
      error_message = "a name in secrets is also set by settings or the module: each environment variable comes from one place."
    }
  }
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = local.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.min_capacity
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  tags                               = var.tags
  # Without it the provider replaces the service (and stops every task)
  # when capacity_provider_strategy changes, e.g. fargate_spot_weight from
  # 0 to 3. With it, such a change is a rolling deployment, as every
  # other update of the service also is.
  force_new_deployment = true

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = concat([aws_security_group.tasks.id], var.security_group_ids)
    assign_public_ip = var.assign_public_ip
  }

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = var.fargate_base
    weight            = 1
  }

  dynamic "capacity_provider_strategy" {
    for_each = var.fargate_spot_weight > 0 ? [1] : []
    content {
      capacity_provider = "FARGATE_SPOT"
      weight            = var.fargate_spot_weight
    }
  }

  lifecycle {
    # Application Auto Scaling owns the desired count.
    ignore_changes = [desired_count]
  }

  # The execution role's policy lets ECS pull the image and write the
  # logs; created after the first tasks, they would fail to start.
  depends_on = [aws_iam_role_policy.task, aws_iam_role_policy.execution, aws_ecs_cluster_capacity_providers.this]
}

# --- Scaling ---------------------------------------------------------------------

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${local.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "backlog" {
  name               = "${var.name}-backlog-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.target_backlog_per_instance

    customized_metric_specification {
      namespace   = var.metric_namespace
      metric_name = var.metric_name
      statistic   = "Average"

      dimensions {
        name  = var.metric_dimension_name
        value = local.queue_name
      }
    }
  }
}

# Target tracking does nothing while its metric is missing; say so.
resource "aws_cloudwatch_metric_alarm" "metric_missing" {
  alarm_name          = "${var.name}-scaling-metric-missing"
  alarm_description   = "No ${var.metric_namespace}/${var.metric_name} datapoints for 10 minutes: the service ${var.name} is not scaling. Are tasks running (min_capacity >= 1)? Check their logs for scaler errors."
  namespace           = var.metric_namespace
  metric_name         = var.metric_name
  dimensions          = { (var.metric_dimension_name) = local.queue_name }
  statistic           = "SampleCount"
  period              = 60
  evaluation_periods  = 10
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
