// Package health serves the endpoints that load balancers, Auto Scaling, ECS
// and Prometheus poll: /healthz (liveness), /readyz (readiness) and /metrics,
// and provides the client behind `sqsfleet healthcheck`.
//
// Liveness is deliberately narrow: a worker is unhealthy only when it cannot
// talk to SQS for health.unhealthy_after, or its engine is wedged. A busy
// worker, or one whose handlers fail, is healthy: replacing it would not help
// and would lose in-flight work. Readiness is also false while starting and
// draining, so an ALB stops routing to a stopping instance.
package health
