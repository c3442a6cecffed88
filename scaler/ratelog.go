package scaler

import (
	"sync"

	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/ratelog"
)

// failureLog logs failures at most once per ratelog.Every per message (so
// per operation: each has its own), and says when an operation works again.
type failureLog struct {
	log     *zap.Logger
	limited *ratelog.Logger

	mu sync.Mutex
	// failing holds, for each operation failing now, the messages its
	// failures were logged with, to count the unlogged ones at recovery.
	failing map[string]map[string]bool
}

func newFailureLog(log *zap.Logger) *failureLog {
	return &failureLog{log: log, limited: ratelog.New(log, ratelog.Every), failing: map[string]map[string]bool{}}
}

func (f *failureLog) failed(op, msg string, err error, fields ...zap.Field) {
	f.mu.Lock()
	msgs := f.failing[op]
	if msgs == nil {
		msgs = map[string]bool{}
		f.failing[op] = msgs
	}
	msgs[msg] = true
	f.mu.Unlock()
	f.limited.Warn(msg, append(fields, zap.String("operation", op), zap.Error(err))...)
}

func (f *failureLog) ok(op, msg string) {
	f.mu.Lock()
	msgs, was := f.failing[op]
	delete(f.failing, op)
	f.mu.Unlock()
	if !was {
		return
	}
	unlogged := 0
	for m := range msgs {
		unlogged += f.limited.Unlogged(m)
	}
	f.log.Info(msg, zap.String("operation", op), zap.Int("unlogged_failures", unlogged))
}
