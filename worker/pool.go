package worker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/internal/ratelog"
)

// callTimeout bounds each SQS call the engine makes outside the poll loop
// (deletes, visibility changes, dead-letter sends), including the SDK's own
// retries, so a hung connection cannot hold up shutdown forever.
const callTimeout = 30 * time.Second

// minEmptyPoll is the least time between two receives of one poller that came
// back empty. Long polls already wait; this only matters with wait_time 0,
// where it turns a busy loop into one request a second.
const minEmptyPoll = time.Second

// Config configures a Pool. Zero values mean the stated defaults.
type Config struct {
	Queue      Queue           // required
	Handler    Handler         // required
	DeadLetter DeadLetterQueue // nil: no DLQ; failed messages stay on the queue at Backoff.Max
	QueueURL   string          // recorded in failure records
	// FIFO handles messages of one MessageGroupId one after another, in
	// order; set automatically when QueueURL ends in ".fifo".
	FIFO bool

	Concurrency int // handler slots; default 10
	// Pollers is the number of concurrent receivers; default enough for
	// every admission (handler slots plus the largest receive credit) in
	// batches, plus one: ceil((Concurrency+credit)/BatchSize)+1. Pollers
	// without a free admission wait and send nothing.
	Pollers           int
	BatchSize         int           // messages per ReceiveMessage, 1..10; default 10
	VisibilityTimeout time.Duration // asked for on every receive and every extension; default 30s
	HandlerTimeout    time.Duration // per attempt; default 15m
	MaxAttempts       int           // deliveries before dead-lettering; default 5
	Backoff           Backoff       // retry delays; default 10s doubling to 15m

	// ShutdownTimeout is how long Run waits for running handlers after its
	// context is cancelled before it cancels them. Zero does not wait.
	ShutdownTimeout time.Duration
	// AbandonGrace is how long Run waits for handlers to return after
	// cancelling them before it releases their messages anyway; default 3s.
	AbandonGrace time.Duration
	// FlushInterval is the longest a finished message waits for its batched
	// delete or visibility change; default 50ms.
	FlushInterval time.Duration
	// PollBackoff spaces out receives after errors, counted across pollers;
	// default 100ms doubling to 10s.
	PollBackoff Backoff
	// MaxMessageSize is the dead-letter queue's size limit (its
	// MaximumMessageSize attribute); default DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxPendingDeletes bounds the finished messages whose delete SQS has
	// not confirmed yet. They are kept hidden and hold no handler slot;
	// while there are this many, no receive is sent. Default
	// max(100, 4*Concurrency): with SQS a round trip away a delete waits for
	// its batch and then the round trip, and at 5,000 messages a second
	// twice the concurrency (128 at 64) held receiving back.
	MaxPendingDeletes int
	// ReceiveTimeout bounds one ReceiveMessage call, so a connection that
	// silently died cannot hold a poller (and its slots) forever. Set it
	// above the long-poll wait; default 40s.
	ReceiveTimeout time.Duration

	Logger  *zap.Logger // default: no logging
	Metrics *Metrics    // default: unregistered metrics
	Now     func() time.Time
}

func (c *Config) setDefaults() error {
	if c.Queue == nil {
		return errors.New("worker: Config.Queue is required")
	}
	if c.Handler == nil {
		return errors.New("worker: Config.Handler is required")
	}
	if strings.HasSuffix(c.QueueURL, ".fifo") {
		c.FIFO = true
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.BatchSize <= 0 || c.BatchSize > 10 {
		c.BatchSize = 10
	}
	if c.Pollers <= 0 {
		c.Pollers = (c.Concurrency+maxCredit(c)+c.BatchSize-1)/c.BatchSize + 1
		if c.FIFO {
			c.Pollers = min(c.Pollers, c.Concurrency)
		}
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = 30 * time.Second
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = 15 * time.Minute
	}
	if c.VisibilityTimeout > 12*time.Hour {
		return fmt.Errorf("worker: VisibilityTimeout %s is above the SQS maximum of 12h", c.VisibilityTimeout)
	}
	if limit := MaxHandlerTimeout(c.VisibilityTimeout); c.HandlerTimeout > limit {
		// The message could not stay hidden until the handler's deadline:
		// it would come back while its handler still runs.
		return fmt.Errorf("worker: HandlerTimeout %s is above %s, the longest SQS lets a message stay hidden after its receive less the time to settle it", c.HandlerTimeout, limit)
	}
	if c.MaxPendingDeletes <= 0 {
		c.MaxPendingDeletes = max(100, 4*c.Concurrency)
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff.Base == 0 && c.Backoff.Max == 0 {
		c.Backoff = Backoff{Base: 10 * time.Second, Max: 15 * time.Minute}
	}
	if c.Backoff.Max == 0 {
		// A Base alone would otherwise never grow: Max 0 caps everything.
		c.Backoff.Max = max(c.Backoff.Base, 15*time.Minute)
	}
	if c.AbandonGrace <= 0 {
		c.AbandonGrace = 3 * time.Second
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 50 * time.Millisecond
	}
	if c.PollBackoff.Base == 0 && c.PollBackoff.Max == 0 {
		c.PollBackoff = Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second}
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.ReceiveTimeout <= 0 {
		c.ReceiveTimeout = 40 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Pool receives messages from a Queue and runs them through a Handler with
// bounded concurrency, renewing visibility while handlers run and deciding
// each message's outcome in one place (see decide).
type Pool struct {
	cfg     Config
	log     *zap.Logger
	metrics *Metrics
	now     func() time.Time

	slots          *slots
	pipe           pipeline
	maxCredit      int
	leases         *leaseSet
	unrun          *releaseLog
	pendingDeletes *pendingGate

	deletes    *batcher[*lease]
	visibility *batcher[visChange]

	workCtx    context.Context
	cancelWork context.CancelFunc
	handlers   sync.WaitGroup

	hurry     chan struct{}
	hurryOnce sync.Once
	running   atomic.Bool
	draining  atomic.Bool
	lastPoll  atomic.Int64 // unix nanoseconds of the last successful receive
	// receiveFailures counts failed receives since the last success, by any
	// poller.
	receiveFailures atomic.Int64
	// For wedge detection: receives under way, and when one last returned.
	receiving  atomic.Int64
	lastReturn atomic.Int64

	// errLog writes the failures that repeat while SQS is in trouble, each
	// kind of failure limited on its own (see ratelog): a flood of receive
	// errors must not hide the extension failures that put messages at risk.
	errLog *ratelog.Logger

	dispatchMu     sync.Mutex
	dispatchClosed bool // set at shutdown: dispatch starts nothing more

	// work feeds the standard queue's handler goroutines, one per slot,
	// which live as long as Run. A goroutine per message cost about a tenth
	// of the daemon's CPU in stack growth (runtime.newstack) under load,
	// because every new goroutine grows its stack again through the SDK
	// and net/http call depth. The buffer holds every slot, so a send never
	// blocks.
	work chan *lease

	// FIFO: the messages of each group waiting for, or under, their
	// group's runner, in the order SQS returned them.
	groupsMu sync.Mutex
	groups   map[string][]*lease
}

type visChange struct {
	l       *lease
	timeout time.Duration
}

// New checks cfg and returns a Pool ready to Run.
func New(cfg Config) (*Pool, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:            cfg,
		log:            cfg.Logger,
		metrics:        cfg.Metrics,
		now:            cfg.Now,
		slots:          newSlots(cfg.Concurrency),
		maxCredit:      maxCredit(&cfg),
		leases:         newLeaseSet(),
		unrun:          newReleaseLog(unrunMemory),
		pendingDeletes: newPendingGate(cfg.MaxPendingDeletes),
		hurry:          make(chan struct{}),
		errLog:         ratelog.New(cfg.Logger, ratelog.Every),
		groups:         make(map[string][]*lease),
	}
	// Enough parallel flushes to keep up with every admission finishing
	// within one round trip: with SQS 15 ms away a flush takes that long,
	// and too few in parallel would cap throughput below what the handlers
	// and the pipelined receives allow.
	parallel := max(4, (cfg.Concurrency+p.maxCredit)/10)
	p.deletes = newBatcher(10, cfg.FlushInterval, parallel, p.flushDeletes)
	p.visibility = newBatcher(10, cfg.FlushInterval, parallel, p.flushVisibility)
	return p, nil
}

// Run receives and handles messages until ctx is cancelled, then shuts down:
// it stops receiving at once, waits up to ShutdownTimeout for running
// handlers, cancels those still running, flushes pending deletes and makes
// every unfinished message visible again so another instance takes it at
// once. Run returns nil after a clean shutdown. It may be called once.
func (p *Pool) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("worker: Pool.Run called twice")
	}
	// Handlers get their own context: cancelling ctx stops receiving, but
	// running work is only cancelled when the shutdown timeout runs out.
	p.workCtx, p.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	defer p.cancelWork()
	var pipeDone sync.WaitGroup
	if !p.cfg.FIFO {
		// Every admission fits: a send never blocks.
		p.work = make(chan *lease, p.cfg.Concurrency+p.maxCredit)
		for range p.cfg.Concurrency {
			go p.handle()
		}
		pipeDone.Go(func() { p.pipelineLoop(ctx) })
	}
	p.lastReturn.Store(p.now().UnixNano())

	extCtx, stopExt := context.WithCancel(context.WithoutCancel(ctx))
	var extDone sync.WaitGroup
	extDone.Go(func() { p.extendLoop(extCtx) })

	// In-flight receives are not cancelled when receiving stops. SQS (and
	// the emulator) keep serving a long poll whose client went away: the
	// next messages to arrive, or the ones we release below, would be handed
	// to the dead connection and stay invisible for a whole visibility
	// timeout. So a pending receive is allowed to finish, its messages are
	// released at once, and only a receive still pending after the shutdown
	// timeout and the grace period is cut off.
	pollCtx, cancelPolls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPolls()
	var pollers sync.WaitGroup
	for range p.cfg.Pollers {
		pollers.Go(func() { p.poll(ctx, pollCtx) })
	}

	<-ctx.Done()
	p.draining.Store(true)
	// From here on no handler starts, so waiting on handlers below cannot
	// race with a dispatch adding to it.
	p.dispatchMu.Lock()
	p.dispatchClosed = true
	if p.work != nil {
		// Handler goroutines finish what was dispatched, then end.
		close(p.work)
	}
	p.dispatchMu.Unlock()
	pipeDone.Wait() // no credit, no stale release racing the drain below
	p.log.Info("stopped receiving; waiting for running handlers and pending receives",
		zap.Int("inflight", p.leases.len()), zap.Duration("shutdown_timeout", p.cfg.ShutdownTimeout))

	polled := make(chan struct{})
	go func() { pollers.Wait(); close(polled) }()
	drained := make(chan struct{})
	go func() { p.handlers.Wait(); close(drained) }()
	wait := time.NewTimer(p.cfg.ShutdownTimeout)
	pollsDone, handlersDone := polled, drained
	for pollsDone != nil || handlersDone != nil {
		select {
		case <-pollsDone:
			pollsDone = nil
			continue
		case <-handlersDone:
			handlersDone = nil
			continue
		case <-wait.C:
			p.log.Warn("shutdown timeout reached; cancelling running handlers", zap.Int("inflight", p.leases.len()))
		case <-p.hurry:
			p.log.Warn("second signal; cancelling running handlers", zap.Int("inflight", p.leases.len()))
		}
		break
	}
	wait.Stop()
	p.cancelWork()
	grace := time.NewTimer(p.cfg.AbandonGrace)
	select {
	case <-drained:
	case <-grace.C:
	}
	grace.Stop()

	// Stop heartbeats before the forced release, so no extension can land
	// after the visibility-0 change and hide the message again.
	stopExt()
	extDone.Wait()
	for _, l := range p.leases.snapshot() {
		if !l.settled.Load() {
			p.log.Warn("handler did not return; releasing its message",
				zap.String("message_id", l.m.ID), zap.Int("receive_count", l.m.ReceiveCount))
		}
		// Deletes already queued are claimed, and left to the final flush.
		p.apply(l, outcome{action: actRelease, reason: reasonShutdown})
	}
	// A receive still pending returns as soon as a message is visible, so
	// anything just released comes straight back to it and is released
	// again (see poll); give it a moment to do so before cutting it off.
	cutoff := time.NewTimer(p.cfg.AbandonGrace)
	select {
	case <-polled:
	case <-cutoff.C:
		p.log.Warn("cutting off a receive still pending after the shutdown timeout; a message it was about to get may stay invisible until its visibility timeout")
	}
	cutoff.Stop()
	cancelPolls()
	<-polled
	p.deletes.close()
	p.visibility.close()
	p.log.Info("shutdown complete")
	return nil
}

// Hurry shortens a shutdown already under way, as a second SIGTERM does:
// running handlers are cancelled at once instead of at ShutdownTimeout.
func (p *Pool) Hurry() { p.hurryOnce.Do(func() { close(p.hurry) }) }

// Stats is a snapshot of the engine for health checks.
type Stats struct {
	InFlight int // messages received and not yet settled
	Busy     int // slots taken by handlers or pending receives
	// PendingDeletes are finished messages whose delete SQS has not
	// confirmed; at MaxPendingDeletes, receiving waits.
	PendingDeletes int
	Concurrency    int       // total slots
	LastPoll       time.Time // last successful ReceiveMessage; zero before the first
	Draining       bool      // shutdown has begun
	OldestActive   time.Duration
	// Wedged, when not empty, says why the engine cannot make progress:
	// every slot is held by a handler running past its timeout, or a
	// receive has not returned long after it should have.
	Wedged string
}

// Stats reports the engine's current state.
func (p *Pool) Stats() Stats {
	s := Stats{
		Busy:        p.slots.busy(),
		Concurrency: p.cfg.Concurrency,
		Draining:    p.draining.Load(),
	}
	if ns := p.lastPoll.Load(); ns != 0 {
		s.LastPoll = time.Unix(0, ns)
	}
	now := p.now()
	// Stuck: past its deadline, the kill and the grace for the outcome.
	ls := p.leases.stats(now, p.cfg.AbandonGrace)
	s.InFlight, s.OldestActive = ls.inFlight, ls.oldestActive
	s.PendingDeletes = p.pendingDeletes.count()
	switch {
	case ls.stuck >= p.cfg.Concurrency:
		s.Wedged = fmt.Sprintf("all %d handler slots busy past handler timeout %s", ls.stuck, p.cfg.HandlerTimeout)
	case p.receiving.Load() > 0 && !s.Draining:
		if since := now.Sub(time.Unix(0, p.lastReturn.Load())); since > 2*p.cfg.ReceiveTimeout {
			s.Wedged = fmt.Sprintf("no receive has returned for %s", since.Truncate(time.Second))
		}
	}
	return s
}

// poll is one receiver: it takes free slots, asks SQS for at most that many
// messages, and starts a handler for each.
func (p *Pool) poll(stop, hard context.Context) {
	held := 0       // slots taken for a receive that failed and will be retried (FIFO)
	attemptID := "" // FIFO: ReceiveRequestAttemptId, kept across retries of a failed receive
	defer func() { p.slots.release(held) }()
	for {
		n := held
		if n == 0 {
			var err error
			if n, err = p.slots.acquire(stop, p.cfg.BatchSize); err != nil {
				return
			}
		} else {
			p.slots.receiving()
		}
		held = 0
		// With the slots in hand, so that no other poller's receive can
		// slip past a limit reached meanwhile: finished messages waiting
		// for their delete hold no slot, and this is what bounds them.
		if p.pendingDeletes.wait(stop) != nil {
			p.slots.received()
			p.slots.release(n)
			return
		}
		rctx, cancel := context.WithTimeout(hard, p.cfg.ReceiveTimeout)
		if p.cfg.FIFO {
			// As AWS recommends for FIFO queues: a receive retried with the
			// same attempt id returns the same messages instead of hiding
			// them behind a lost response (and locking their groups).
			if attemptID == "" {
				attemptID = rand.Text()
			}
			rctx = WithReceiveAttemptID(rctx, attemptID)
		}
		start := p.now()
		p.receiving.Add(1)
		msgs, err := p.cfg.Queue.Receive(rctx, n, p.cfg.VisibilityTimeout)
		p.receiving.Add(-1)
		p.slots.received()
		p.lastReturn.Store(p.now().UnixNano())
		cancel()
		if err != nil {
			if p.cfg.FIFO && stop.Err() == nil {
				held = n // the retry must ask for the same number
			} else {
				p.slots.release(n)
			}
			if stop.Err() != nil {
				return
			}
			// Failures are counted across pollers: in an outage every
			// poller fails, and the count reaching the long delays after a
			// few failures of any of them keeps the daemon's request rate
			// down however many pollers it runs. One failure among
			// successes (a 5xx in a brown-out) costs that poller only the
			// short first delay, while the others carry on.
			failures := int(p.receiveFailures.Add(1))
			d := p.cfg.PollBackoff.Delay(failures)
			p.errLog.Error("receive failed; backing off", zap.Error(err),
				zap.Int("consecutive_failures", failures), zap.Duration("backoff", d))
			if !sleep(stop, d) {
				return
			}
			continue
		}
		p.receiveFailures.Store(0)
		attemptID = ""
		now := p.now()
		if len(msgs) > 0 {
			p.pipe.observeRTT(now.Sub(start))
		}
		p.lastPoll.Store(now.UnixNano())
		p.metrics.LastPoll.Set(float64(now.UnixNano()) / 1e9)
		if len(msgs) > n { // SQS never does this; if it did, we would hold unslotted messages
			p.log.Error("receive returned more messages than asked", zap.Int("asked", n), zap.Int("got", len(msgs)))
			p.slots.release(n)
			for _, m := range msgs {
				p.apply(p.track(m, start, now), unstarted(0))
			}
			continue
		}
		p.slots.release(n - len(msgs))
		leases := make([]*lease, 0, len(msgs))
		for _, m := range msgs {
			l := p.track(m, start, now)
			if stop.Err() != nil {
				// Shutdown began while this receive was pending: give the
				// message straight back rather than start work on it.
				p.apply(l, unstarted(0))
				p.slots.release(1)
				continue
			}
			leases = append(leases, l)
		}
		p.dispatch(leases)
		if stop.Err() != nil {
			return
		}
		if len(msgs) == 0 {
			if wait := minEmptyPoll - p.now().Sub(start); wait > 0 && !sleep(stop, wait) {
				return
			}
		}
	}
}

// dispatch starts work on received messages, each holding a slot. On a
// standard queue every message runs at once. On a FIFO queue the messages
// of a group join their group's line and run one after another.
func (p *Pool) dispatch(leases []*lease) {
	p.dispatchMu.Lock()
	defer p.dispatchMu.Unlock()
	if p.dispatchClosed {
		// Shutdown began between the receive and here: no new work.
		for _, l := range leases {
			p.apply(l, unstarted(0))
			p.slots.release(1)
		}
		return
	}
	p.handlers.Add(len(leases))
	if !p.cfg.FIFO {
		for _, l := range leases {
			p.work <- l
		}
		return
	}
	p.groupsMu.Lock()
	defer p.groupsMu.Unlock()
	for _, l := range leases {
		g := l.m.GroupID
		line, running := p.groups[g]
		p.groups[g] = append(line, l)
		if !running {
			go p.runGroup(g)
		}
	}
}

// handle runs the handlers of a standard queue, one message at a time.
func (p *Pool) handle() {
	for l := range p.work {
		if p.draining.Load() {
			// Received ahead and still waiting for a handler when shutdown
			// began: back to the queue at once, unstarted.
			p.apply(l, unstarted(0))
		} else {
			p.process(l)
		}
		p.slots.release(1)
		p.handlers.Done()
	}
}

// runGroup handles one FIFO group's messages in order until its line is
// empty. When a message will come back (a retry, or a release at
// shutdown), the messages queued behind it are released too, with the same
// delay, so that SQS hands the group back in its original order; SQS keeps
// the group locked while any of its messages is in flight.
func (p *Pool) runGroup(g string) {
	for {
		p.groupsMu.Lock()
		line := p.groups[g]
		if len(line) == 0 {
			delete(p.groups, g)
			p.groupsMu.Unlock()
			return
		}
		l := line[0]
		p.groups[g] = line[1:]
		p.groupsMu.Unlock()

		gone, delay := false, time.Duration(0)
		if !p.draining.Load() {
			gone, delay = p.process(l)
		} else {
			// Draining: start nothing new; the rest of the group goes back.
			p.apply(l, unstarted(0))
		}
		p.slots.release(1)
		p.handlers.Done()
		if gone {
			continue
		}
		p.groupsMu.Lock()
		rest := p.groups[g]
		delete(p.groups, g)
		p.groupsMu.Unlock()
		for _, r := range rest {
			// Released with the failed message's delay, so that SQS hands
			// the group back in order. Not an attempt for r.
			p.apply(r, unstarted(delay))
			p.slots.release(1)
			p.handlers.Done()
		}
		return
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// track registers a received message with the extender. sent is when its
// receive was sent: SQS received it no earlier, so its visibility and the
// 12-hour window are counted from there, never late.
func (p *Pool) track(m *Message, sent, arrived time.Time) *lease {
	m.ReceivedAt = sent
	if m.FirstReceivedAt.IsZero() {
		m.FirstReceivedAt = sent
	}
	// Until its handler starts (a FIFO message may wait behind its group),
	// only the 12-hour cap applies; start narrows it.
	l := &lease{m: m, receivedAt: sent, arrived: arrived, expires: sent.Add(p.cfg.VisibilityTimeout)}
	p.leases.add(l)
	p.metrics.Received.Inc()
	p.metrics.InFlight.Inc()
	return l
}

// process runs the handler for one message and settles it, reporting as
// decide does.
func (p *Pool) process(l *lease) (gone bool, delay time.Duration) {
	m := l.m
	if o, run := p.decideBeforeRun(l); !run {
		return p.apply(l, o)
	}

	start := p.now()
	if !p.leases.start(l, start.Add(p.cfg.HandlerTimeout+settleMargin(p.cfg.VisibilityTimeout))) {
		return false, 0 // sent back unstarted after waiting too long for a handler
	}
	p.metrics.LocalWait.Observe(start.Sub(l.arrived).Seconds())
	hctx, cancel := context.WithTimeout(p.workCtx, p.cfg.HandlerTimeout)
	err := p.call(hctx, m)
	if err != nil && errors.Is(hctx.Err(), context.DeadlineExceeded) && p.workCtx.Err() == nil {
		err = fmt.Errorf("handler timed out after %s: %w", p.cfg.HandlerTimeout, err)
	}
	cancel()
	p.pipe.finished.Add(1)
	p.metrics.HandlerDuration.Observe(p.now().Sub(start).Seconds())
	return p.apply(l, p.decide(l, err))
}

// call runs the handler, turning a panic into an ordinary failed attempt.
func (p *Pool) call(ctx context.Context, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return p.cfg.Handler.Handle(ctx, m)
}

// maxCredit is the most admissions beyond the handler slots that receives
// may use on a standard queue (none on FIFO): enough for several batches in
// flight at small concurrency, twice the slots at large.
func maxCredit(c *Config) int {
	if c.FIFO {
		return 0
	}
	return max(2*c.Concurrency, 3*c.BatchSize)
}
