package dlq

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseRate reads --rate: "N/s" (or a bare N) messages per second, N > 0,
// fractions allowed ("0.5/s" is one message every two seconds).
func ParseRate(s string) (float64, error) {
	num := strings.TrimSpace(s)
	num = strings.TrimSuffix(num, "/s")
	r, err := strconv.ParseFloat(num, 64)
	if err != nil || r != r { // NaN
		return 0, fmt.Errorf("--rate: want messages per second such as 10/s, got %q", s)
	}
	if r <= 0 {
		return 0, fmt.Errorf("--rate: must be more than 0 messages per second, got %q", s)
	}
	return r, nil
}

// pace spaces calls at most rate per second. Unlike a token bucket it
// allows no burst: a redrive at 10/s sends one message every 100ms, which
// is what the service behind the queue sees.
type pace struct {
	interval time.Duration
	next     time.Time
}

// newPace returns nil (no limit) for a rate of 0.
func newPace(rate float64) *pace {
	if rate <= 0 {
		return nil
	}
	return &pace{interval: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the next call is allowed, or ctx ends.
func (p *pace) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	now := time.Now()
	if d := p.next.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		now = p.next
	}
	p.next = now.Add(p.interval)
	return ctx.Err()
}
