package scaler

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// logEvery is how often a failure that keeps repeating is logged again. An
// API that is down or a missing IAM permission fails on every interval;
// one line per 30 s with a count says as much as one line per attempt.
const logEvery = 30 * time.Second

// failureLog logs failures at most once per logEvery per operation, and
// says when an operation works again.
type failureLog struct {
	log *zap.Logger

	mu  sync.Mutex
	ops map[string]*opState
}

type opState struct {
	failing    bool
	lastLogged time.Time
	suppressed int
}

func newFailureLog(log *zap.Logger) *failureLog {
	return &failureLog{log: log, ops: map[string]*opState{}}
}

func (f *failureLog) failed(now time.Time, op, msg string, err error, fields ...zap.Field) {
	f.mu.Lock()
	st := f.state(op)
	st.failing = true
	if !st.lastLogged.IsZero() && now.Sub(st.lastLogged) < logEvery {
		st.suppressed++
		f.mu.Unlock()
		return
	}
	repeats := st.suppressed
	st.suppressed = 0
	st.lastLogged = now
	f.mu.Unlock()

	fields = append(fields, zap.String("operation", op), zap.Error(err))
	if repeats > 0 {
		fields = append(fields, zap.Int("repeated", repeats))
	}
	f.log.Warn(msg, fields...)
}

func (f *failureLog) ok(op, msg string) {
	f.mu.Lock()
	st := f.state(op)
	was := st.failing
	repeats := st.suppressed
	*st = opState{}
	f.mu.Unlock()
	if was {
		f.log.Info(msg, zap.String("operation", op), zap.Int("unlogged_failures", repeats))
	}
}

func (f *failureLog) state(op string) *opState {
	st := f.ops[op]
	if st == nil {
		st = &opState{}
		f.ops[op] = st
	}
	return st
}
