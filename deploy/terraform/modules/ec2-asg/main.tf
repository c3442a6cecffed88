# A fleet of sqsfleet workers on EC2: systemd on each instance, an Auto
# Scaling group that tracks backlog per instance, drains on scale-in, and
# replaces workers whose /healthz fails.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# The provider's default_tags reach resources' tags, but neither the
# group's tag blocks nor the launch template's tag_specifications
# (hashicorp/terraform-provider-aws#19387): merged in by hand, so that the
# instances and their volumes carry them too.
data "aws_default_tags" "current" {}

# For the root volume's device name, which differs between AMIs.
data "aws_ami" "this" {
  filter {
    name   = "image-id"
    values = [local.ami_id]
  }
}

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == null ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  asg_arn    = "arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/${var.name}"
  hook_name  = "${var.name}-drain"
  queue_name = element(split(":", var.queue_arn), 5)
  dlq_name   = element(split(":", var.dlq_arn), 5)
  ami_id     = var.ami_id != null ? var.ami_id : data.aws_ssm_parameter.al2023[0].insecure_value

  # The roles may read exactly the secrets named, by service.
  secret_parameters = sort([for arn in values(var.secrets) : arn if split(":", arn)[2] == "ssm"])
  secret_secrets    = sort([for arn in values(var.secrets) : arn if split(":", arn)[2] == "secretsmanager"])

  instance_tags = merge(data.aws_default_tags.current.tags, var.tags, { Name = var.name })

  # With metric_math nothing is published: CloudWatch divides the queue's
  # depth by the group's size itself.
  publish     = var.scaling_metric == "backlog_per_instance"
  artifact_s3 = startswith(var.artifact_url, "s3://")

  # A Lambda function's runtimes (var.lambda_function): Docker containers
  # in their own network namespaces, each publishing the emulator on its
  # own loopback port of the instance, the first on the lambda handler's
  # default port, 9000.
  lambda_ports = var.lambda_function == null ? [] : [for i in range(var.lambda_function.runtimes) : 9000 + i]
  lambda = var.lambda_function == null ? null : {
    image   = var.lambda_function.image
    command = join(" ", var.lambda_function.command)
    ports   = local.lambda_ports
    env_file = join("\n", [
      for name, value in merge(var.lambda_function.environment, { AWS_LAMBDA_FUNCTION_TIMEOUT = tostring(var.lambda_function.timeout_seconds) }) :
      "${name}=${value}"
    ])
  }
  # Defaults var.settings may override, as in the ecs-fargate module.
  lambda_settings = var.lambda_function == null ? {} : {
    "worker.concurrency" = tostring(10 * var.lambda_function.runtimes)
    "handler.timeout"    = "${var.lambda_function.timeout_seconds + 10}s"
  }
  lambda_handler = var.lambda_function == null ? {} : {
    "handler.type" = "lambda"
    "handler.url"  = join(",", [for p in local.lambda_ports : "http://127.0.0.1:${p}/2015-03-31/functions/function/invocations"])
  }

  # The module's keys win over var.settings: the role, the scaling policy
  # and the dashboard are built for exactly these values.
  settings = merge(local.lambda_settings, var.settings, local.lambda_handler, {
    "queue.url"                  = var.queue_url
    "queue.dlq_url"              = var.dlq_url
    "queue.max_attempts"         = tostring(var.max_attempts)
    "http.addr"                  = ":${var.http_port}"
    "scaler.enabled"             = tostring(local.publish)
    "scaler.fleet"               = "asg"
    "scaler.asg_name"            = var.name
    "scaler.publisher"           = "cloudwatch"
    "scaler.namespace"           = var.metric_namespace
    "scaler.metric_name"         = var.metric_name
    "scaler.dimension_name"      = var.metric_dimension_name
    "scaler.leader_only"         = tostring(var.leader_only)
    "scaler.scale_in_protection" = "true"
    "payload.s3_cleanup"         = tostring(var.payload_cleanup)
  })

  # /etc/sqsfleet/sqsfleet.env, single-quoted for systemd's EnvironmentFile=.
  env_file = join("\n", [
    for key in sort(keys(local.settings)) :
    "SQSFLEET_${upper(replace(key, ".", "_"))}='${local.settings[key]}'"
  ])

  user_data_base64 = base64encode(local.user_data)

  systemd_dir = "${path.module}/../../../systemd"
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    env_file         = local.env_file
    unit             = file("${local.systemd_dir}/sqsfleet.service")
    lifecycle_unit   = file("${local.systemd_dir}/sqsfleet-lifecycle.service")
    lifecycle_script = file("${local.systemd_dir}/sqsfleet-lifecycle.sh")
    asg_name         = var.name
    hook_name        = local.hook_name
    health_url       = var.alb_health_check ? "" : "http://127.0.0.1:${var.http_port}/healthz"
    secrets          = var.secrets
    artifact_url     = var.artifact_url
    artifact_s3      = local.artifact_s3
    artifact_sha256  = var.artifact_sha256
    extra_user_data  = var.extra_user_data
    lambda           = local.lambda
  })
}

# --- IAM: exactly the calls the daemon and sqsfleet-lifecycle make ---------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.${data.aws_partition.current.dns_suffix}"]
    }
  }
}

data "aws_iam_policy_document" "worker" {
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

  dynamic "statement" {
    for_each = local.publish ? [1] : []
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

  dynamic "statement" {
    for_each = local.publish ? [1] : []
    content {
      sid       = "FleetSize"
      actions   = ["autoscaling:DescribeAutoScalingGroups"]
      resources = ["*"] # Describe calls have no resource-level permissions
    }
  }

  statement {
    sid = "ProtectAndDrain"
    actions = [
      "autoscaling:SetInstanceProtection",   # the daemon, while it holds messages
      "autoscaling:CompleteLifecycleAction", # sqsfleet-lifecycle, once drained
    ]
    resources = [local.asg_arn]
  }

  dynamic "statement" {
    for_each = length(local.secret_parameters) > 0 ? [1] : []
    content {
      sid       = "ReadSecretParameters"
      actions   = ["ssm:GetParameter"] # the user data, at boot
      resources = local.secret_parameters
    }
  }

  dynamic "statement" {
    for_each = length(local.secret_secrets) > 0 ? [1] : []
    content {
      sid       = "ReadSecrets"
      actions   = ["secretsmanager:GetSecretValue"] # the user data, at boot
      resources = local.secret_secrets
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid = "CustomerManagedKeys"
      actions = [
        "kms:Decrypt",         # receiving from an SSE-KMS queue; secrets
        "kms:GenerateDataKey", # sending to an SSE-KMS DLQ
      ]
      resources = var.kms_key_arns
    }
  }

  dynamic "statement" {
    for_each = var.alb_health_check ? [] : [1]
    content {
      sid       = "ReportHealth"
      actions   = ["autoscaling:SetInstanceHealth"] # sqsfleet-lifecycle, when /healthz keeps failing
      resources = [local.asg_arn]
    }
  }

  dynamic "statement" {
    for_each = local.artifact_s3 ? [1] : []
    content {
      sid       = "DownloadBinary"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${trimprefix(var.artifact_url, "s3://")}"]
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

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-"
  description        = "sqsfleet workers of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "worker" {
  name   = "sqsfleet"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.worker.json
}

resource "aws_iam_role_policy_attachment" "extra" {
  for_each   = toset(var.iam_policy_arns)
  role       = aws_iam_role.this.name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${var.name}-"
  role        = aws_iam_role.this.name
  tags        = var.tags
}

# --- Network ----------------------------------------------------------------

resource "aws_security_group" "instances" {
  name_prefix = "${var.name}-workers-"
  description = "sqsfleet workers of ${var.name}"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-workers" })

  lifecycle {
    create_before_destroy = true
  }
}

# Workers call SQS, CloudWatch and Auto Scaling, and whatever the handler
# needs.
resource "aws_vpc_security_group_egress_rule" "instances_ipv4" {
  security_group_id = aws_security_group.instances.id
  description       = "Outbound IPv4"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "instances_ipv6" {
  security_group_id = aws_security_group.instances.id
  description       = "Outbound IPv6"
  ip_protocol       = "-1"
  cidr_ipv6         = "::/0"
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  for_each          = toset(var.metrics_cidr_blocks)
  security_group_id = aws_security_group.instances.id
  description       = "Prometheus /metrics"
  ip_protocol       = "tcp"
  from_port         = var.http_port
  to_port           = var.http_port
  cidr_ipv4         = each.value
}

# --- Optional internal ALB: it only health-checks /healthz ---------------------

resource "aws_security_group" "alb" {
  count       = var.alb_health_check ? 1 : 0
  name_prefix = "${var.name}-health-"
  description = "Health-check-only load balancer of ${var.name}: no inbound rules"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-health" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_instances" {
  count                        = var.alb_health_check ? 1 : 0
  security_group_id            = aws_security_group.alb[0].id
  description                  = "Health checks to the workers"
  ip_protocol                  = "tcp"
  from_port                    = var.http_port
  to_port                      = var.http_port
  referenced_security_group_id = aws_security_group.instances.id
}

resource "aws_vpc_security_group_ingress_rule" "instances_from_alb" {
  count                        = var.alb_health_check ? 1 : 0
  security_group_id            = aws_security_group.instances.id
  description                  = "Health checks from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.http_port
  to_port                      = var.http_port
  referenced_security_group_id = aws_security_group.alb[0].id
}

resource "aws_lb" "health" {
  count                      = var.alb_health_check ? 1 : 0
  name                       = "${var.name}-hc"
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.alb[0].id]
  drop_invalid_header_fields = true
  tags                       = var.tags
}

resource "aws_lb_target_group" "health" {
  count       = var.alb_health_check ? 1 : 0
  name        = "${var.name}-hc"
  port        = var.http_port
  protocol    = "HTTP"
  target_type = "instance"
  vpc_id      = var.vpc_id
  # Nothing is routed to the workers, so there is nothing to drain here:
  # the daemon's own drain happens in the lifecycle hook.
  deregistration_delay = 0
  tags                 = var.tags

  health_check {
    path                = "/healthz"
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 4
  }
}

# A target group is health-checked only while a listener uses it. The
# load balancer's security group admits nobody, so this forwards nothing.
resource "aws_lb_listener" "health" {
  count             = var.alb_health_check ? 1 : 0
  load_balancer_arn = aws_lb.health[0].arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.health[0].arn
  }
}

# --- Launch template and group -----------------------------------------------

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-"
  description            = "sqsfleet workers of ${var.name}"
  image_id               = local.ami_id
  instance_type          = var.instance_types[0]
  vpc_security_group_ids = concat([aws_security_group.instances.id], var.security_group_ids)
  user_data              = local.user_data_base64
  update_default_version = true
  tags                   = var.tags

  iam_instance_profile {
    arn = aws_iam_instance_profile.this.arn
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required" # IMDSv2 only
    # 2 lets a container on the instance (a handler's, say) reach IMDS
    # through the docker bridge.
    http_put_response_hop_limit = 2
    instance_metadata_tags      = "disabled"
  }

  # The root volume: gp3 (cheaper and faster than the AMI's gp2 default),
  # encrypted with the account's EBS key or root_volume_kms_key_id.
  block_device_mappings {
    device_name = data.aws_ami.this.root_device_name

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size_gib
      encrypted             = true
      kms_key_id            = var.root_volume_kms_key_id
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = local.instance_tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.instance_tags
  }

  lifecycle {
    # EC2 takes at most 16 KB of user data, counted in bytes before base64.
    # Terraform's length counts characters, so the bytes are read off the
    # base64 form: 16384 bytes (3 x 5461 + 1) are 21848 characters ending
    # in "==", and 16385 or 16386 bytes are 21848 characters with less
    # padding. Refused here, at plan time, rather than by every launch.
    precondition {
      condition     = length(local.user_data_base64) < 21848 || (length(local.user_data_base64) == 21848 && endswith(local.user_data_base64, "=="))
      error_message = "The user data is over EC2's 16 KB: shorten extra_user_data (download a script and run it instead) or settings."
    }

    precondition {
      condition     = !contains(local.lambda_ports, var.http_port)
      error_message = "http_port is one of the ports lambda_function's runtimes take (9000 onwards, one per runtime): choose another."
    }

    precondition {
      condition     = var.lambda_function == null || !contains(keys(var.settings), "handler.type") || try(var.settings["handler.type"], "") == "lambda"
      error_message = "lambda_function is set, so the handler is the function: leave handler.type out of settings (or set it to \"lambda\")."
    }

    precondition {
      condition     = alltrue([for name in keys(var.secrets) : !contains([for key in keys(local.settings) : "SQSFLEET_${upper(replace(key, ".", "_"))}"], name)])
      error_message = "a name in secrets is also set by settings or the module: each environment variable comes from one place."
    }

    precondition {
      condition     = alltrue([for v in values(local.settings) : !can(regex("['\\n]", v))])
      error_message = "settings values may not contain a single quote or a newline: they are written single-quoted to a systemd EnvironmentFile."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name                = var.name
  min_size            = var.min_size
  max_size            = var.max_size
  vpc_zone_identifier = var.subnet_ids
  # ELB: the /healthz target group's verdict. Without the load balancer
  # there is no target group, and ELB would add nothing to EC2's status
  # checks: sqsfleet-lifecycle then checks /healthz on the instance and
  # reports the instance Unhealthy itself (SetInstanceHealth).
  health_check_type         = var.alb_health_check ? "ELB" : "EC2"
  health_check_grace_period = var.health_check_grace_period_seconds
  default_instance_warmup   = var.instance_warmup_seconds
  target_group_arns         = aws_lb_target_group.health[*].arn
  capacity_rebalance        = var.on_demand_percentage_above_base_capacity < 100
  metrics_granularity       = "1Minute"
  enabled_metrics = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
  ]

  mixed_instances_policy {
    instances_distribution {
      on_demand_base_capacity                  = var.on_demand_base_capacity
      on_demand_percentage_above_base_capacity = var.on_demand_percentage_above_base_capacity
      spot_allocation_strategy                 = "price-capacity-optimized"
    }

    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.this.id
        version            = aws_launch_template.this.latest_version
      }

      dynamic "override" {
        for_each = var.instance_types
        content {
          instance_type = override.value
        }
      }
    }
  }

  # The drain hook as the group is created, so that the first instances
  # are covered before aws_autoscaling_lifecycle_hook.drain exists. That
  # resource owns the hook afterwards: any change here would replace the
  # group (see lifecycle.ignore_changes below).
  initial_lifecycle_hook {
    name                 = local.hook_name
    lifecycle_transition = "autoscaling:EC2_INSTANCE_TERMINATING"
    default_result       = "CONTINUE"
    heartbeat_timeout    = var.drain_timeout_seconds
  }

  instance_refresh {
    strategy = "Rolling"

    preferences {
      # Launch the replacement before terminating the old instance.
      min_healthy_percentage = 100
      max_healthy_percentage = 150
      skip_matching          = true
      # No auto_rollback: Terraform puts the group on the new launch
      # template version before the refresh starts (provider issue
      # #34189), so a rollback would return to the same version. A bad
      # release stops the refresh instead (the alarms below); roll back by
      # applying the previous artifact_url and artifact_sha256.
      auto_rollback = false
      # A worker holding messages is protected from scale-in; a refresh
      # replaces it anyway, through the lifecycle hook, so it drains.
      scale_in_protected_instances = "Refresh"
      standby_instances            = "Terminate"

      # The refresh fails, leaving the instances not yet replaced on the old
      # release, when one of these goes to ALARM. instance_refresh_alarm_gate
      # = false lifts the gate for the apply that ships a fix while one of
      # them is still in ALARM.
      dynamic "alarm_specification" {
        for_each = var.instance_refresh_alarm_gate ? [1] : []
        content {
          alarms = concat([aws_cloudwatch_metric_alarm.release_dead_letters.alarm_name], aws_cloudwatch_metric_alarm.release_unhealthy_hosts[*].alarm_name)
        }
      }
    }
  }

  dynamic "tag" {
    for_each = local.instance_tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # The provider replaces the group on any change to
    # initial_lifecycle_hook (hashicorp/terraform-provider-aws#34260), and a
    # group named var.name is destroyed before its replacement exists: the
    # whole fleet would go. The hook resource below updates in place.
    ignore_changes = [initial_lifecycle_hook]
  }

  depends_on = [aws_iam_role_policy.worker]
}

# Every termination waits here until sqsfleet-lifecycle has drained the
# daemon and completed the action, or until the heartbeat timeout. The
# same hook as the group's initial_lifecycle_hook: PutLifecycleHook creates
# or updates it, so this takes it over, and a new drain_timeout_seconds is
# an in-place update. A termination hook applies to every instance the
# group terminates while it exists, whenever the instance was launched.
resource "aws_autoscaling_lifecycle_hook" "drain" {
  name                   = local.hook_name
  autoscaling_group_name = aws_autoscaling_group.this.name
  lifecycle_transition   = "autoscaling:EC2_INSTANCE_TERMINATING"
  default_result         = "CONTINUE"
  heartbeat_timeout      = var.drain_timeout_seconds

  lifecycle {
    precondition {
      condition     = var.drain_timeout_seconds > 90 && var.drain_timeout_seconds <= 7200
      error_message = "drain_timeout_seconds must be above sqsfleet.service's TimeoutStopSec (90s) and at most 7200 (a lifecycle hook's longest heartbeat timeout)."
    }
  }
}

# --- Scaling -------------------------------------------------------------------

resource "aws_autoscaling_policy" "backlog" {
  name                   = "${var.name}-backlog-per-instance"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.target_backlog_per_instance

    # The metric the workers publish (scaler.enabled).
    dynamic "customized_metric_specification" {
      for_each = local.publish ? [1] : []
      content {
        namespace   = var.metric_namespace
        metric_name = var.metric_name
        statistic   = "Average"

        metric_dimension {
          name  = var.metric_dimension_name
          value = local.queue_name
        }
      }
    }

    # The alternative: the same quotient computed by CloudWatch.
    dynamic "customized_metric_specification" {
      for_each = local.publish ? [] : [1]
      content {
        metrics {
          id          = "backlog"
          label       = "Messages visible in the queue"
          return_data = false

          metric_stat {
            stat = "Sum"

            metric {
              namespace   = "AWS/SQS"
              metric_name = "ApproximateNumberOfMessagesVisible"

              dimensions {
                name  = "QueueName"
                value = local.queue_name
              }
            }
          }
        }

        metrics {
          id          = "fleet"
          label       = "InService instances"
          return_data = false

          metric_stat {
            stat = "Average"

            metric {
              namespace   = "AWS/AutoScaling"
              metric_name = "GroupInServiceInstances"

              dimensions {
                name  = "AutoScalingGroupName"
                value = aws_autoscaling_group.this.name
              }
            }
          }
        }

        metrics {
          id          = "backlog_per_instance"
          label       = "Backlog per instance"
          expression  = "backlog / fleet"
          return_data = true
        }
      }
    }
  }
}

# Target tracking does nothing while its metric is missing; say so.
resource "aws_cloudwatch_metric_alarm" "metric_missing" {
  count               = local.publish ? 1 : 0
  alarm_name          = "${var.name}-scaling-metric-missing"
  alarm_description   = "No ${var.metric_namespace}/${var.metric_name} datapoints for 10 minutes: the group ${var.name} is not scaling. Are workers running (min_size >= 1)? Check their logs for scaler errors."
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

# --- Release gates: the instance refresh stops on these --------------------------

# The daemon sends a message to the DLQ itself (SendMessage) when its
# handler fails it for good, so a release whose handler is broken shows up
# here within minutes. SQS's own redrive is not counted in this metric.
resource "aws_cloudwatch_metric_alarm" "release_dead_letters" {
  alarm_name          = "${var.name}-release-dead-letters"
  alarm_description   = "Workers of ${var.name} sent more than ${var.release_dead_letter_threshold} messages to ${local.dlq_name} in 5 minutes. During an instance refresh this stops it: the new release is probably failing its messages. Each one carries its sqsfleet-failure record."
  namespace           = "AWS/SQS"
  metric_name         = "NumberOfMessagesSent"
  dimensions          = { QueueName = local.dlq_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.release_dead_letter_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# New instances whose /healthz fails (the daemon cannot start, reach SQS,
# or is wedged): the target group counts them unhealthy.
resource "aws_cloudwatch_metric_alarm" "release_unhealthy_hosts" {
  count               = var.alb_health_check ? 1 : 0
  alarm_name          = "${var.name}-release-unhealthy-hosts"
  alarm_description   = "Workers of ${var.name} have failed /healthz for 3 minutes. During an instance refresh this stops it: the new release probably does not start or cannot reach SQS."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { TargetGroup = aws_lb_target_group.health[0].arn_suffix, LoadBalancer = aws_lb.health[0].arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
