package handler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// MaxBatchWindow is the longest a batch may wait to fill. Lambda's
// MaximumBatchingWindowInSeconds goes up to 300 s, but a message waiting
// here holds a handler slot and sits received but idle, so the wait is
// kept to a few seconds: long enough to gather several receives, short
// enough not to matter to a message's latency.
const MaxBatchWindow = 5 * time.Second

// BatchHandler processes several messages in one call, with partial
// failures, as a Lambda function subscribed to an SQS queue with
// ReportBatchItemFailures does.
//
// Returning (nil, nil) means every message succeeded. A message whose ID is
// a key of failed failed with that error; Permanent and RetryAfter apply to
// it alone, and a nil error counts as an ordinary retryable failure.
// Messages not in failed succeeded. A non-nil err fails the whole batch:
// every message fails with it (so Permanent(err) dead-letters them all).
//
// Each message's outcome is then decided on its own, exactly as for a
// worker.Handler: deleted on success, retried with backoff on failure,
// dead-lettered after queue.max_attempts with the error in its failure
// record. ctx ends when the first message of the batch reaches its handler
// timeout, or at a forced shutdown. Delivery is at least once: a batch
// handler must be idempotent per message.
type BatchHandler interface {
	HandleBatch(ctx context.Context, msgs []*worker.Message) (failed map[string]error, err error)
}

// BatchHandlerFunc adapts a function to BatchHandler.
type BatchHandlerFunc func(ctx context.Context, msgs []*worker.Message) (map[string]error, error)

// HandleBatch calls f(ctx, msgs).
func (f BatchHandlerFunc) HandleBatch(ctx context.Context, msgs []*worker.Message) (map[string]error, error) {
	return f(ctx, msgs)
}

// BatchConfig configures a Batch.
type BatchConfig struct {
	// Handler processes the batches. Required.
	Handler BatchHandler
	// Size is the most messages in one batch, at least 1. It should not be
	// more than the worker concurrency: each message of a batch holds a
	// handler slot while it waits and runs, so a larger batch never fills
	// and always waits out the window.
	Size int
	// Window is how long a batch waits for more messages once its first
	// one arrived, 0..MaxBatchWindow. 0 sends a batch as soon as a call can
	// be made; messages that arrive while every call is busy still join
	// the next batch.
	Window time.Duration
	// MaxBytes caps the size of a batch's event (EventSource.Event): a
	// message that would take the event past it starts a new batch. 0 means
	// no cap. A single message larger than the cap is sent alone.
	MaxBytes int
	// Source names the queue in events, for MaxBytes accounting.
	Source EventSource
	// MaxInFlight is the most batches handled at once; 0 means no limit.
	// A handler that can only take one call at a time (the Lambda Runtime
	// Interface Emulator) sets it, so that batches wait here, still open
	// to more messages, rather than inside the handler.
	MaxInFlight int
}

// Batch is a worker.Handler that gathers the messages of several Handle
// calls into one call of a BatchHandler. It keeps the engine unaware of
// batches: each message still arrives through its own Handle call, holding
// its own handler slot, kept hidden by the engine's heartbeats while it
// waits for its batch to fill and while the batch runs, and its Handle
// returns its own result, so the engine decides each message's outcome on
// its own.
//
// A batch is sent when it holds Size messages, or Window after its first
// message arrived, whichever is first, and then only when fewer than
// MaxInFlight batches are running; until it is sent it keeps taking
// messages. The engine's handler timeout counts from each Handle call, so it
// must cover the window and the batch call together.
//
// On a FIFO queue the engine hands a group's messages over one at a time,
// each after the previous one's outcome, so a batch holds at most one
// message of each group, and a group's order and its stop-on-failure hold
// as with any handler.
type Batch struct {
	h        BatchHandler
	size     int
	window   time.Duration
	maxBytes int
	source   EventSource
	inflight chan struct{} // nil when unlimited
	mu       sync.Mutex
	open     *pendingBatch
	runs     sync.WaitGroup
	closed   bool
}

// pendingBatch is a batch being filled, then run.
type pendingBatch struct {
	msgs   []*worker.Message
	ctxs   []context.Context
	sizes  []int // each message's share of bytes
	bytes  int
	sealed bool
	full   chan struct{} // closed when no more messages may join
	empty  chan struct{} // closed when every message left before the batch was sent
	done   chan struct{} // closed when failed and err are set
	failed map[string]error
	err    error
}

// NewBatch validates cfg and returns the handler.
func NewBatch(cfg BatchConfig) (*Batch, error) {
	switch {
	case cfg.Handler == nil:
		return nil, errors.New("batch handler: no handler")
	case cfg.Size < 1:
		return nil, fmt.Errorf("batch handler: size %d is less than 1", cfg.Size)
	case cfg.Window < 0 || cfg.Window > MaxBatchWindow:
		return nil, fmt.Errorf("batch handler: window %s is not between 0s and %s", cfg.Window, MaxBatchWindow)
	case cfg.MaxBytes < 0:
		return nil, fmt.Errorf("batch handler: max bytes %d is negative", cfg.MaxBytes)
	case cfg.MaxInFlight < 0:
		return nil, fmt.Errorf("batch handler: max in flight %d is negative", cfg.MaxInFlight)
	}
	b := &Batch{
		h:        cfg.Handler,
		size:     cfg.Size,
		window:   cfg.Window,
		maxBytes: cfg.MaxBytes,
		source:   cfg.Source,
	}
	if cfg.MaxInFlight > 0 {
		b.inflight = make(chan struct{}, cfg.MaxInFlight)
	}
	return b, nil
}

// errBatchClosed is returned to calls made after Close.
var errBatchClosed = errors.New("batch handler: closed")

// Handle adds m to the batch being filled and waits for that batch's
// result; see Batch.
func (b *Batch) Handle(ctx context.Context, m *worker.Message) error {
	size := 0
	if b.maxBytes > 0 {
		r, err := b.source.record(m)
		if err != nil {
			return worker.Permanent(fmt.Errorf("batch handler: %w", err))
		}
		size = len(r) + 1 // and its comma
	}
	p, err := b.join(ctx, m, size)
	if err != nil {
		return err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		if b.leave(p, m) {
			return fmt.Errorf("batch handler: while waiting for the batch to fill: %w", ctx.Err())
		}
		// Already sent: the batch's context ends with this one's, so the
		// call ends promptly; its result, whatever it is, is this
		// message's.
		<-p.done
	}
	n := len(p.msgs)
	if p.err != nil {
		return fmt.Errorf("batch of %d failed: %w", n, p.err)
	}
	if e, ok := p.failed[m.ID]; ok {
		if e == nil {
			e = errItemFailure
		}
		return fmt.Errorf("failed in a batch of %d: %w", n, e)
	}
	return nil
}

// join adds m to the open batch, opening one (and starting its run) when
// there is none or when m would take it past MaxBytes.
func (b *Batch) join(ctx context.Context, m *worker.Message, size int) (*pendingBatch, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errBatchClosed
	}
	p := b.open
	if p != nil && b.maxBytes > 0 && len(p.msgs) > 0 && eventOverhead(0)+p.bytes+size > b.maxBytes {
		b.seal(p)
		p = nil
	}
	if p == nil {
		p = &pendingBatch{full: make(chan struct{}), empty: make(chan struct{}), done: make(chan struct{})}
		b.open = p
		b.runs.Add(1)
		go b.run(p)
	}
	p.msgs = append(p.msgs, m)
	p.ctxs = append(p.ctxs, ctx)
	p.sizes = append(p.sizes, size)
	p.bytes += size
	if len(p.msgs) >= b.size {
		b.seal(p)
	}
	return p, nil
}

// seal closes p to new messages. b.mu must be held.
func (b *Batch) seal(p *pendingBatch) {
	if p.sealed {
		return
	}
	p.sealed = true
	close(p.full)
	if b.open == p {
		b.open = nil
	}
}

// leave takes m out of p if p has not been sent yet, reporting whether it
// did.
func (b *Batch) leave(p *pendingBatch, m *worker.Message) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.sealed {
		return false
	}
	for i, x := range p.msgs {
		if x == m {
			p.bytes -= p.sizes[i]
			p.msgs = append(p.msgs[:i], p.msgs[i+1:]...)
			p.ctxs = append(p.ctxs[:i], p.ctxs[i+1:]...)
			p.sizes = append(p.sizes[:i], p.sizes[i+1:]...)
			break
		}
	}
	if len(p.msgs) == 0 {
		// Nobody is left to send it to: close it, so that run ends and a
		// later message opens a batch of its own.
		b.seal(p)
		close(p.empty)
	}
	return true
}

// run waits for p to fill (or its window to pass) and for a free call,
// then sends it.
func (b *Batch) run(p *pendingBatch) {
	defer b.runs.Done()
	window := time.NewTimer(b.window)
	select {
	case <-p.full:
	case <-window.C:
	case <-p.empty:
	}
	window.Stop()
	if b.inflight != nil {
		select {
		case b.inflight <- struct{}{}:
			defer func() { <-b.inflight }()
		case <-p.empty:
		}
	}

	b.mu.Lock()
	b.seal(p)
	msgs, ctxs := p.msgs, p.ctxs
	if len(msgs) == 0 {
		b.mu.Unlock()
		close(p.done)
		return
	}
	b.mu.Unlock()

	ctx, cancel := batchContext(ctxs)
	defer cancel()
	p.failed, p.err = b.call(ctx, msgs)
	if p.err != nil && ctx.Err() != nil && !errors.Is(p.err, ctx.Err()) {
		p.err = fmt.Errorf("%w: %w", ctx.Err(), p.err)
	}
	close(p.done)
}

// batchContext is the context of a batch call: it ends at the earliest
// deadline of its messages' contexts (the first message's handler timeout)
// and when any of them is cancelled (a forced shutdown cancels them all).
func batchContext(ctxs []context.Context) (context.Context, context.CancelFunc) {
	var deadline time.Time
	for _, c := range ctxs {
		if d, ok := c.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if !deadline.IsZero() {
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, deadline)
		parent := cancel
		cancel = func() { cancelDeadline(); parent() }
	}
	stops := make([]func() bool, 0, len(ctxs))
	for _, c := range ctxs {
		stops = append(stops, context.AfterFunc(c, func() {
			// A message context that reaches its deadline is covered by
			// the batch's own deadline, which reports DeadlineExceeded.
			if !errors.Is(c.Err(), context.DeadlineExceeded) {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// call runs the batch handler, turning a panic into a failed batch.
func (b *Batch) call(ctx context.Context, msgs []*worker.Message) (failed map[string]error, err error) {
	defer func() {
		if r := recover(); r != nil {
			failed, err = nil, fmt.Errorf("batch handler panicked: %v", r)
		}
	}()
	return b.h.HandleBatch(ctx, msgs)
}

// Close refuses new messages and waits for the batches already started to
// end. The engine must have stopped calling Handle.
func (b *Batch) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.runs.Wait()
}
