package deploy

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sqsfleet/sqsfleet/worker"
)

// The queue module's RedrivePolicy must leave room for the daemon's
// crash-loop guard: receives that were not attempts (shutdown releases, FIFO
// messages released behind a failing one) raise the receive count up to
// twice max_attempts before the daemon calls a message a crash loop, and SQS
// must not move it to the DLQ, without its failure record, before that. The
// rule is the engine's own, worker.MinMaxReceiveCount: the default must meet
// it, and the module's precondition must refuse exactly what falls short.
func TestQueueRedriveLeavesRoomForTheCrashLoopGuard(t *testing.T) {
	m := tfModuleAt(t, "modules/queue")
	attempts, _ := m.defaultOf("max_attempts")
	receives, _ := m.defaultOf("max_receive_count")
	a, _ := number(attempts)
	r, _ := number(receives)
	if want := worker.MinMaxReceiveCount(int(a)); int(r) < want {
		t.Errorf("queue: max_receive_count defaults to %v; with max_attempts %v it must be at least %d", r, a, want)
	}
	cond := precondition(m.block(t, "resource", "aws_sqs_queue", "this").Body, "var", "max_receive_count")
	if cond == nil {
		t.Fatal("queue: no precondition on var.max_receive_count")
	}
	for _, maxAttempts := range []int{1, 3, 5, 10} {
		want := worker.MinMaxReceiveCount(maxAttempts)
		for _, count := range []int{want - 1, want, want + 5} {
			got := m.evalWith(t, cond, map[string]cty.Value{
				"max_attempts":      cty.NumberIntVal(int64(maxAttempts)),
				"max_receive_count": cty.NumberIntVal(int64(count)),
			})
			if ok := got.True(); ok != (count >= want) {
				t.Errorf("queue: max_attempts %d, max_receive_count %d: precondition %v, want %v", maxAttempts, count, ok, count >= want)
			}
		}
	}
}
