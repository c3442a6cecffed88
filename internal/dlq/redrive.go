package dlq

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/awssqs"
)

// RedriveOptions are the options of Redrive.
type RedriveOptions struct {
	Filter Filter
	// To sends every selected message to this queue instead of its source.
	To string
	// Rate is the most messages sent per second; 0 for no limit.
	Rate float64
	// Limit is the most messages moved; 0 for no limit.
	Limit int
	// DryRun selects and reports, and changes nothing.
	DryRun bool
	// Progress reports as the redrive goes; nil reports nothing.
	Progress Progress
	// Bounds: MaxTime defaults to 15m for a redrive.
	Bounds
}

// Summary is what a redrive did. Skipped and Failed count messages by
// reason; a skipped message is in the DLQ as it was, a failed one too (its
// send failed) unless the reason says otherwise.
type Summary struct {
	DLQ      string
	DryRun   bool
	Examined int
	Moved    int
	// MovedTo counts the moved messages by destination queue URL.
	MovedTo map[string]int
	Skipped map[string]int
	Failed  map[string]int
	// NotRestored counts moved messages by the name of an attribute their
	// failure record says was dropped when they were dead-lettered.
	NotRestored map[string]int
	Stop        Stop
	Elapsed     time.Duration
}

// SkippedCount is the number of skipped messages.
func (s *Summary) SkippedCount() int { return sum(s.Skipped) }

// FailedCount is the number of messages that failed to move.
func (s *Summary) FailedCount() int { return sum(s.Failed) }

// Interrupted reports whether SIGINT (a cancelled context) ended the run.
func (s *Summary) Interrupted() bool { return s.Stop == StopInterrupted }

func (s *Summary) movedWord() string {
	if s.DryRun {
		return "would move"
	}
	return "moved"
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Reasons a message is skipped or fails.
const (
	skipNotSelected = "not selected by --reason/--match"
	skipBehindGroup = "behind a message of its FIFO group that stays in the DLQ"
	skipLimit       = "not reached: --limit moved"
	skipStopped     = "not moved: the redrive stopped"
	failNoSource    = "no source queue known (no failure record and no DeadLetterQueueSourceArn): use --to"
	failDeleted     = "sent, but the delete from the DLQ failed: the message is in both queues"
)

// Redrive sends each selected message to its source queue, or opts.To:
// with its body, its attributes but the failure record, its AWSTraceHeader
// and its group id; a FIFO destination gets a fresh deduplication id, so
// that a message sent before within five minutes is not dropped as a
// duplicate. The message is deleted from the DLQ only once the send
// succeeded. Messages not moved are released untouched at the end.
//
// A cancelled ctx (SIGINT) stops it after the message in hand: that one is
// sent and deleted, or not sent at all; the summary says so.
//
// A destination (opts.To) that is not a queue, or of the other kind than
// the DLQ (FIFO or standard), is an *InputError, found before anything is
// received.
func (d *DLQ) Redrive(ctx context.Context, opts RedriveOptions) (*Summary, error) {
	opts.Bounds = opts.Bounds.withDefaults(15 * time.Minute)
	if opts.Progress == nil {
		opts.Progress = NoProgress{}
	}
	if opts.To != "" {
		fifo, err := d.kindOf(ctx, opts.To)
		if err != nil {
			if errors.Is(err, errNoQueue) || errors.Is(err, errSelf) {
				return nil, inputErrorf("--to %s: %v", opts.To, err)
			}
			return nil, fmt.Errorf("--to %s: %w", opts.To, err)
		}
		if fifo != d.info.FIFO {
			return nil, inputErrorf("--to %s: the DLQ is %s and the destination %s; SQS keeps FIFO messages in FIFO queues and standard in standard",
				opts.To, kindName(d.info.FIFO), kindName(fifo))
		}
	}
	start := d.now()
	sum := &Summary{DLQ: d.info.URL, DryRun: opts.DryRun, MovedTo: map[string]int{}, Skipped: map[string]int{},
		Failed: map[string]int{}, NotRestored: map[string]int{}}
	pace := newPace(opts.Rate)
	s := d.newScan(opts.Bounds)
	stuck := map[string]bool{} // FIFO groups with a message that stays
	var scanErr error
	stopped := func() Stop {
		switch {
		case ctx.Err() != nil:
			return StopInterrupted
		case opts.Limit > 0 && sum.Moved >= opts.Limit:
			return StopLimit
		case !d.now().Before(s.deadline):
			return StopTime
		}
		return ""
	}
	for sum.Stop == "" {
		if sum.Stop = stopped(); sum.Stop != "" {
			break
		}
		msgs, stop, err := s.next(ctx)
		if err != nil {
			scanErr = err
			break
		}
		sum.Stop = stop
		for _, m := range msgs {
			sum.Examined++
			group := m.GroupID
			keep := func(bucket map[string]int, reason string) {
				s.hold(m)
				bucket[reason]++
				if d.info.FIFO {
					stuck[group] = true
				}
			}
			if st := stopped(); st != "" {
				sum.Stop = st
				if st == StopLimit {
					keep(sum.Skipped, skipLimit)
				} else {
					keep(sum.Skipped, skipStopped)
				}
				continue
			}
			if d.info.FIFO && stuck[group] {
				keep(sum.Skipped, skipBehindGroup)
				continue
			}
			e := d.entry(ctx, m)
			if !opts.Filter.Selects(e) {
				keep(sum.Skipped, skipNotSelected)
				continue
			}
			dest := cmp.Or(opts.To, e.Source)
			if dest == "" {
				keep(sum.Failed, failNoSource)
				opts.Progress.Event(fmt.Sprintf("message %s: %s", m.ID, failNoSource))
				continue
			}
			fifo, err := d.kindOf(ctx, dest)
			if err == nil && fifo != d.info.FIFO {
				err = fmt.Errorf("it is %s and the DLQ %s", kindName(fifo), kindName(d.info.FIFO))
			}
			if err != nil {
				reason := fmt.Sprintf("source queue %s: %v", dest, err)
				keep(sum.Failed, reason)
				opts.Progress.Event(fmt.Sprintf("message %s: %s", m.ID, reason))
				continue
			}
			if opts.DryRun {
				s.hold(m)
				sum.moved(dest, e)
				opts.Progress.Update(sum)
				continue
			}
			// The wait can be long at a low rate: past the deadline the
			// message's visibility may end before its delete.
			_ = pace.wait(ctx) // a cancelled wait shows in stopped
			if st := stopped(); st == StopInterrupted || st == StopTime {
				sum.Stop = st
				keep(sum.Skipped, skipStopped)
				continue
			}
			if err := d.send(ctx, dest, fifo, m); err != nil {
				reason := "send failed: " + ErrorClass(err.Error())
				keep(sum.Failed, reason)
				opts.Progress.Event(fmt.Sprintf("message %s: send to %s failed: %v", m.ID, dest, err))
				continue
			}
			sum.moved(dest, e)
			if err := s.deleteOne(ctx, m); err != nil {
				sum.Failed[failDeleted]++
				opts.Progress.Event(fmt.Sprintf("message %s: %s: %v", m.ID, failDeleted, err))
			}
			opts.Progress.Update(sum)
		}
		opts.Progress.Update(sum)
	}
	opts.Progress.Done()
	relErr := s.release(ctx)
	sum.Elapsed = d.now().Sub(start)
	if scanErr != nil {
		return sum, scanErr
	}
	return sum, relErr
}

func (s *Summary) moved(dest string, e *Entry) {
	s.Moved++
	s.MovedTo[dest]++
	if e.Record != nil {
		for _, a := range e.Record.DroppedAttributes {
			s.NotRestored[a]++
		}
	}
}

// send sends m to dest as it first was: body, attributes without the
// failure record, trace header and group id.
func (d *DLQ) send(ctx context.Context, dest string, fifo bool, m *worker.Message) error {
	out := &worker.DeadLetter{Body: m.Body, GroupID: m.GroupID, TraceHeader: m.SystemAttributes[worker.TraceHeaderAttribute]}
	for k, v := range m.Attributes {
		if k == worker.FailureAttribute {
			continue
		}
		if out.Attributes == nil {
			out.Attributes = map[string]worker.Attribute{}
		}
		out.Attributes[k] = v
	}
	if fifo {
		// The source saw this message's deduplication id before, perhaps
		// within the last five minutes, and would drop it: a fresh one
		// per message, reused by the SDK's retries of this send, which is
		// what the window is for.
		out.DeduplicationID = rand.Text()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	return awssqs.NewQueue(d.api, dest, 0).Send(cctx, out)
}

func kindName(fifo bool) string {
	if fifo {
		return "FIFO"
	}
	return "standard"
}

// Write prints the summary for a person.
func (s *Summary) Write(w io.Writer) error {
	var b strings.Builder
	verb := "moved"
	if s.DryRun {
		verb = "would move (dry run: nothing was sent or deleted)"
	}
	fmt.Fprintf(&b, "redrive from %s: %s %d, skipped %d, failed %d, of %d examined in %s (%s)\n",
		s.DLQ, verb, s.Moved, s.SkippedCount(), s.FailedCount(), s.Examined, s.Elapsed.Round(10*time.Millisecond), s.Stop)
	list := func(title string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		keys := slices.Sorted(maps.Keys(m))
		slices.SortStableFunc(keys, func(a, c string) int { return cmp.Compare(m[c], m[a]) })
		for _, k := range keys {
			fmt.Fprintf(&b, "  %6d  %s\n", m[k], k)
		}
	}
	if s.DryRun {
		list("would move to", s.MovedTo)
	} else {
		list("moved to", s.MovedTo)
	}
	list("skipped (left in the DLQ, untouched)", s.Skipped)
	list("failed (left in the DLQ unless said otherwise)", s.Failed)
	list("attributes that could not be restored (dropped when the message was dead-lettered)", s.NotRestored)
	_, err := io.WriteString(w, b.String())
	return err
}
