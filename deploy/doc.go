// Package deploy holds what it takes to run sqsfleet in production, and no
// Go code: the systemd unit (systemd/), Terraform modules for the queue, an
// EC2 Auto Scaling fleet, an ECS Fargate service and a CloudWatch dashboard
// (terraform/), and the walk-through (README.md). The image is the
// repository's Dockerfile.
//
// Its tests read those files and check them against the code they deploy:
// the health check path, the scaling metric's namespace, name and
// dimension, the IAM actions against the SQS calls the daemon makes, stop
// timeouts against worker.shutdown_timeout, and every reference in the
// Terraform. scripts/deploy-check.sh (make deploy-check) runs the tools:
// tflint, terraform fmt, systemd-analyze, and the binary alone in an empty
// root.
package deploy
