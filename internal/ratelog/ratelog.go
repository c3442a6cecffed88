package ratelog

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Every is how often a failure that keeps repeating is logged again. An API
// that is down or a missing IAM permission fails on every attempt; one line
// per 30 s with a count says as much as one line per attempt.
const Every = 30 * time.Second

// Logger writes a line of a given level and message at most once per
// interval: the first one, then, once the interval since it has passed, the
// next one, with the number dropped in between in its "suppressed" field.
// It is safe for concurrent use, and loggers derived from it with With
// share its limits.
type Logger struct {
	*zap.Logger
	dropped *dropped
}

// New returns a Logger writing to log's core, limited to a line per every
// for each message.
func New(log *zap.Logger, every time.Duration) *Logger {
	d := &dropped{n: map[string]int{}}
	l := log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(&countingCore{Core: c, dropped: d}, every, 1, 0,
			zapcore.SamplerHook(func(e zapcore.Entry, dec zapcore.SamplingDecision) {
				if dec&zapcore.LogDropped != 0 {
					d.add(e.Message)
				}
			}))
	}))
	return &Logger{Logger: l, dropped: d}
}

// Unlogged returns how many lines with message msg were dropped since the
// last one written, and forgets them, so that no later line counts them
// again.
func (l *Logger) Unlogged(msg string) int { return l.dropped.take(msg) }

// dropped counts, per message, the lines the sampler dropped since the last
// one it let through.
type dropped struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *dropped) add(msg string) {
	d.mu.Lock()
	d.n[msg]++
	d.mu.Unlock()
}

func (d *dropped) take(msg string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.n[msg]
	delete(d.n, msg)
	return n
}

// countingCore sits under the sampler and adds the "suppressed" count to
// the lines the sampler lets through. The sampler cannot add fields itself:
// its hook sees the entry, not the fields.
type countingCore struct {
	zapcore.Core
	dropped *dropped
}

func (c *countingCore) With(fields []zapcore.Field) zapcore.Core {
	return &countingCore{Core: c.Core.With(fields), dropped: c.dropped}
}

// Check adds c itself, so that Write below sees the entry; whether the core
// under it takes the entry (a tee of cores with their own levels, a sampler
// of the caller's) is asked again there.
func (c *countingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *countingCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if n := c.dropped.take(e.Message); n > 0 {
		fields = append(fields[:len(fields):len(fields)], zap.Int("suppressed", n))
	}
	if under := c.Core.Check(e, nil); under != nil {
		under.Write(fields...)
	}
	return nil
}
