package dlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// maxVisibility is SQS's limit on a visibility timeout.
const maxVisibility = 12 * time.Hour

// maxHeld bounds how many messages one scan holds. SQS refuses receives
// past 120,000 in-flight messages on a standard queue (20,000 on older FIFO
// queues); staying well under keeps the source queues' own consumers of a
// shared account, and the release at the end, quick.
const maxHeld = 20000

// callTimeout bounds each SQS call of a scan. Calls run on a context that
// an interrupt does not cancel: a receive cut short could strand what SQS
// had already handed out, and a send cut short could leave a message sent
// but not deleted.
const callTimeout = 30 * time.Second

// Stop says why a scan ended.
type Stop string

const (
	StopEmpty       Stop = "examined every message the DLQ would hand out"
	StopLimit       Stop = "reached --limit"
	StopTime        Stop = "reached --max-time"
	StopHeld        Stop = "holding the most messages a scan may hold"
	StopInterrupted Stop = "interrupted"
)

// scan receives the DLQ's messages once each, holding them until release.
type scan struct {
	d        *DLQ
	bounds   Bounds
	deadline time.Time
	held     []string // receipts to release at the end
	seen     map[string]bool
	examined int
}

func (d *DLQ) newScan(b Bounds) *scan {
	return &scan{d: d, bounds: b, deadline: d.now().Add(b.MaxTime), seen: map[string]bool{}}
}

// visibility is what a receive asks for now: until the scan's deadline
// plus the margin, in whole seconds, within SQS's 12 hours.
func (s *scan) visibility() time.Duration {
	v := s.deadline.Sub(s.d.now()) + s.bounds.Margin
	v = (v + time.Second - 1).Truncate(time.Second)
	return min(max(v, time.Second), maxVisibility)
}

// next receives the next batch of messages not seen before. It returns
// none and why when the scan is over: the DLQ handed out nothing, the time
// is up, or the scan holds its maximum. ctx only decides whether to start
// another receive.
func (s *scan) next(ctx context.Context) ([]*worker.Message, Stop, error) {
	for attempt := 1; ; attempt++ {
		switch {
		case ctx.Err() != nil:
			return nil, StopInterrupted, nil
		case !s.d.now().Before(s.deadline):
			return nil, StopTime, nil
		case len(s.held) >= maxHeld:
			return nil, StopHeld, nil
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		msgs, err := s.d.q.Receive(rctx, 10, s.visibility())
		cancel()
		if err != nil {
			// The adapter leaves receive retries to its caller (the
			// engine's poller); a scan retries a little before giving up.
			if attempt >= 4 {
				return nil, "", err
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
			continue
		}
		if len(msgs) == 0 {
			return nil, StopEmpty, nil
		}
		fresh := msgs[:0]
		for _, m := range msgs {
			if s.seen[m.ID] {
				// A standard queue may hand out a second copy; hold it
				// with the first, count it once.
				s.hold(m)
				continue
			}
			s.seen[m.ID] = true
			s.examined++
			fresh = append(fresh, m)
		}
		if len(fresh) > 0 {
			return fresh, "", nil
		}
	}
}

// hold keeps m hidden until release.
func (s *scan) hold(m *worker.Message) { s.held = append(s.held, m.ReceiptHandle) }

// release makes every held message visible again, untouched. A receipt SQS
// no longer accepts belongs to a message already visible again.
func (s *scan) release(ctx context.Context) error {
	var errs []error
	for len(s.held) > 0 {
		n := min(10, len(s.held))
		batch := make([]worker.VisibilityChange, n)
		for i, r := range s.held[:n] {
			batch[i] = worker.VisibilityChange{ReceiptHandle: r}
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		perEntry, err := s.d.q.ChangeVisibility(cctx, batch)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range perEntry {
			if e != nil && !errors.Is(e, worker.ErrLeaseLost) {
				errs = append(errs, e)
			}
		}
		s.held = s.held[n:]
	}
	if len(errs) > 0 {
		return fmt.Errorf("releasing examined messages (they reappear at most %s after the scan's time limit): %w",
			s.bounds.Margin, errors.Join(errs...))
	}
	return nil
}

// deleteOne deletes a message the scan holds.
func (s *scan) deleteOne(ctx context.Context, m *worker.Message) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	perEntry, err := s.d.q.Delete(cctx, []string{m.ReceiptHandle})
	if err == nil && len(perEntry) > 0 {
		err = perEntry[0]
	}
	return err
}
