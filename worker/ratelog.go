package worker

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// rateLog keeps a failing dependency from flooding the log: while SQS is
// down every poller fails every few seconds, and the first line says all
// there is to say. It logs at most once per every, noting how many lines it
// swallowed in between.
type rateLog struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *rateLog) allow() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return true, n
}

func (r *rateLog) warn(log *zap.Logger, msg string, fields ...zap.Field) {
	if ok, n := r.allow(); ok {
		if n > 0 {
			fields = append(fields, zap.Int("suppressed", n))
		}
		log.Warn(msg, fields...)
	}
}

func (r *rateLog) error(log *zap.Logger, msg string, fields ...zap.Field) {
	if ok, n := r.allow(); ok {
		if n > 0 {
			fields = append(fields, zap.Int("suppressed", n))
		}
		log.Error(msg, fields...)
	}
}
