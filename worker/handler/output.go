package handler

import (
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// What a command writes: copies to the daemon's log that never fail the
// command, and the bounded tail of stderr quoted in its error.

// bestEffortWriter forwards writes and swallows errors: io.Copy inside
// os/exec would otherwise stop copying and the command would die of SIGPIPE
// because a log sink failed.
type bestEffortWriter struct{ w io.Writer }

func (b bestEffortWriter) Write(p []byte) (int, error) {
	_, _ = b.w.Write(p)
	return len(p), nil
}

// teeWriter feeds the tail buffer and a best-effort copy. io.MultiWriter
// would stop at the first failing writer.
type teeWriter struct {
	tail *tailBuffer
	w    io.Writer
}

func (t teeWriter) Write(p []byte) (int, error) {
	_, _ = t.tail.Write(p)
	_, _ = t.w.Write(p)
	return len(p), nil
}

// tailBuffer keeps the last limit bytes written to it in at most 2*limit bytes of
// memory, whatever the volume written; compacting only when the buffer is
// full keeps the copying amortised O(1) per byte.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	total int64
}

func newTailBuffer(limit int) *tailBuffer { return &tailBuffer{limit: limit} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(n)
	if t.limit <= 0 {
		return n, nil
	}
	if t.buf == nil {
		t.buf = make([]byte, 0, min(2*t.limit, 64<<10))
	}
	if len(p) >= t.limit {
		t.buf = append(t.buf[:0], p[len(p)-t.limit:]...)
		return n, nil
	}
	if len(t.buf)+len(p) > 2*t.limit {
		keep := t.limit - len(p)
		copy(t.buf, t.buf[len(t.buf)-keep:])
		t.buf = t.buf[:keep]
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept tail, marked when earlier output was dropped.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.limit {
		b = b[len(b)-t.limit:]
	}
	truncated := t.total > int64(len(b))
	if truncated {
		// Do not start the quote in the middle of a UTF-8 sequence.
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if truncated && s != "" {
		s = "..." + s
	}
	return s
}

// suffix formats the tail for an error message.
func (t *tailBuffer) suffix() string {
	if s := t.String(); s != "" {
		return "; stderr: " + s
	}
	return ""
}
