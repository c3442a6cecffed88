# A queue, its DLQ and an EC2 Auto Scaling fleet of sqsfleet workers, with a
# dashboard. deploy/README.md walks through it.

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "queue" {
  source = "../../modules/queue"

  name                    = var.name
  max_message_age_seconds = var.max_message_age_seconds
  alarm_actions           = var.alarm_actions
  tags                    = var.tags
}

module "workers" {
  source = "../../modules/ec2-asg"

  name                                     = var.name
  vpc_id                                   = var.vpc_id
  subnet_ids                               = var.subnet_ids
  queue_url                                = module.queue.queue_url
  queue_arn                                = module.queue.queue_arn
  dlq_url                                  = module.queue.dlq_url
  dlq_arn                                  = module.queue.dlq_arn
  max_attempts                             = module.queue.max_attempts
  artifact_url                             = var.artifact_url
  artifact_sha256                          = var.artifact_sha256
  settings                                 = var.settings
  extra_user_data                          = var.extra_user_data
  lambda_function                          = var.lambda_function
  target_backlog_per_instance              = var.target_backlog_per_instance
  scaling_metric                           = var.scaling_metric
  instance_types                           = var.instance_types
  on_demand_percentage_above_base_capacity = var.on_demand_percentage_above_base_capacity
  min_size                                 = var.min_size
  max_size                                 = var.max_size
  alarm_actions                            = var.alarm_actions
  iam_policy_arns                          = var.iam_policy_arns
  alb_health_check                         = var.alb_health_check
  health_check_grace_period_seconds        = var.health_check_grace_period_seconds
  secrets                                  = var.secrets
  kms_key_arns                             = var.kms_key_arns
  instance_refresh_alarm_gate              = var.instance_refresh_alarm_gate
  tags                                     = var.tags
}

module "dashboard" {
  source = "../../modules/dashboard"

  name                        = var.name
  queue_name                  = module.queue.queue_name
  dlq_name                    = module.queue.dlq_name
  fleet                       = { type = "asg", asg_name = module.workers.autoscaling_group_name }
  target_backlog_per_instance = var.target_backlog_per_instance
}
