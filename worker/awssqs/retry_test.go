package awssqs

import (
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// A 5xx or a reset connection is retried after tens of milliseconds, not
// the SDK's default of up to two seconds; a throttle keeps the SDK's long,
// jittered wait, so a throttling SQS is not hammered.
func TestBackoffIsShortForTransientErrorsAndLongForThrottles(t *testing.T) {
	b := newBackoff()
	transient := &smithy.GenericAPIError{Code: "InternalError", Message: "boom"}
	throttle := &smithy.GenericAPIError{Code: "RequestThrottled", Message: "slow down"}
	for attempt := 1; attempt <= 8; attempt++ {
		want := min(transientBase<<(attempt-1), transientMax)
		for range 50 {
			d, err := b.BackoffDelay(attempt, transient)
			if err != nil || d < want/2 || d > want {
				t.Fatalf("attempt %d after a 5xx: %s, %v; want between %s and %s", attempt, d, err, want/2, want)
			}
		}
	}
	var longest time.Duration
	for range 200 {
		d, _ := b.BackoffDelay(1, throttle)
		longest = max(longest, d)
	}
	if longest < 500*time.Millisecond {
		t.Errorf("the longest of 200 first waits after a throttle is %s; want the SDK's jittered backoff of up to 2s", longest)
	}
}
