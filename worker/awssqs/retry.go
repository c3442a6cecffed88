package awssqs

import (
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// transientBase and transientMax bound the SDK's wait before retrying a
// call that failed for a passing reason (a 5xx, a reset connection): from
// about 25-50 ms on the first retry, doubling, to at most a second.
const (
	transientBase = 50 * time.Millisecond
	transientMax  = time.Second
)

// backoff waits briefly before retrying a 5xx or a reset connection and as
// long as the SDK's default before retrying a throttle. The SDK's default
// waits up to 2 s on the first retry of anything; a delete batch that hit
// one 500 then held its ten finished messages, and the work behind them, for
// a second on average, for a failure that a retry 50 ms later almost always
// gets past. A throttle is SQS asking for less traffic, so it keeps the
// long, jittered wait.
type backoff struct {
	throttle   retry.BackoffDelayer
	isThrottle retry.IsErrorThrottles
}

func newBackoff() backoff {
	return backoff{
		throttle:   retry.NewExponentialJitterBackoff(retry.DefaultMaxBackoff),
		isThrottle: retry.IsErrorThrottles(retry.DefaultThrottles),
	}
}

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	if b.isThrottle.IsErrorThrottle(err) == aws.TrueTernary {
		return b.throttle.BackoffDelay(attempt, err)
	}
	d := min(transientBase<<max(attempt-1, 0), transientMax)
	// Half to all of it, so that clients failing together spread out.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)), nil
}

// newRetryer is the SDK's standard retryer with that backoff.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = newBackoff() })
}
