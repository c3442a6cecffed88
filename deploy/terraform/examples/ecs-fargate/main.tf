# A queue, its DLQ and an ECS Fargate service of sqsfleet workers, with a
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
  source = "../../modules/ecs-fargate"

  name                        = var.name
  vpc_id                      = var.vpc_id
  subnet_ids                  = var.subnet_ids
  queue_url                   = module.queue.queue_url
  queue_arn                   = module.queue.queue_arn
  dlq_url                     = module.queue.dlq_url
  dlq_arn                     = module.queue.dlq_arn
  max_attempts                = module.queue.max_attempts
  image                       = var.image
  ecr_repository_arns         = var.ecr_repository_arns
  settings                    = var.settings
  sidecar_containers          = var.sidecar_containers
  lambda_function             = var.lambda_function
  cpu                         = var.cpu
  memory                      = var.memory
  target_backlog_per_instance = var.target_backlog_per_instance
  min_capacity                = var.min_capacity
  max_capacity                = var.max_capacity
  fargate_spot_weight         = var.fargate_spot_weight
  alarm_actions               = var.alarm_actions
  task_role_policy_arns       = var.task_role_policy_arns
  tmp_init_image              = var.tmp_init_image
  publisher                   = var.publisher
  secrets                     = var.secrets
  kms_key_arns                = var.kms_key_arns
  tags                        = var.tags
}

module "dashboard" {
  source = "../../modules/dashboard"

  name       = var.name
  queue_name = module.queue.queue_name
  dlq_name   = module.queue.dlq_name
  fleet = {
    type         = "ecs"
    cluster_name = module.workers.cluster_name
    service_name = module.workers.service_name
  }
  target_backlog_per_instance = var.target_backlog_per_instance
}
