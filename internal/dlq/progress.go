package dlq

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress reports a redrive as it goes.
type Progress interface {
	// Update is called after each message with the counts so far.
	Update(s *Summary)
	// Event reports one notable message (a failure), as a line.
	Event(line string)
	// Done ends the report.
	Done()
}

// NewProgress returns a bar redrawn in place when terminal is true, and
// plain lines at most once a second otherwise (a log, a pipe). total is
// the expected number of messages to examine (0 if unknown).
func NewProgress(w io.Writer, terminal bool, total int) Progress {
	if terminal {
		return &bar{w: w, total: total}
	}
	return &lines{w: w, every: time.Second}
}

type bar struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	drawn bool
}

func (b *bar) Update(s *Summary) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const width = 30
	total := max(b.total, s.Examined)
	filled := width
	if total > 0 {
		filled = width * s.Examined / total
	}
	fmt.Fprintf(b.w, "\r\x1b[K[%s%s] %d/%d  %s %d  skipped %d  failed %d",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), s.Examined, total,
		s.movedWord(), s.Moved, s.SkippedCount(), s.FailedCount())
	b.drawn = true
}

func (b *bar) Event(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
	fmt.Fprintln(b.w, line)
}

func (b *bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

type lines struct {
	w     io.Writer
	every time.Duration
	last  time.Time
	s     string
}

func (l *lines) Update(s *Summary) {
	l.s = fmt.Sprintf("redrive: examined %d, %s %d, skipped %d, failed %d",
		s.Examined, s.movedWord(), s.Moved, s.SkippedCount(), s.FailedCount())
	if now := time.Now(); now.Sub(l.last) >= l.every {
		l.last = now
		fmt.Fprintln(l.w, l.s)
		l.s = ""
	}
}

func (l *lines) Event(line string) { fmt.Fprintln(l.w, line) }

func (l *lines) Done() {
	if l.s != "" {
		fmt.Fprintln(l.w, l.s)
	}
}

// NoProgress reports nothing.
type NoProgress struct{}

func (NoProgress) Update(*Summary) {}
func (NoProgress) Event(string)    {}
func (NoProgress) Done()           {}
