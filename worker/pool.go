package worker

import (
	"context"
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
	// and the pipelined receives allow. And never few: in a brown-out a
	// flush now and then takes a second (a delayed answer, a throttle's
	// backoff before the retry), and with four in parallel a few such
	// flushes capped a fast handler at concurrency 10 to a third of its
	// rate. A flush waiting costs a goroutine, not a request.
	parallel := max(16, (cfg.Concurrency+p.maxCredit)/10)
	p.deletes = newBatcher(10, cfg.FlushInterval, parallel, p.flushDeletes)
	p.visibility = newBatcher(10, cfg.FlushInterval, parallel, p.flushVisibility)
	return p, nil
}

// Run receives and handles messages until ctx is cancelled, then shuts down
// in the steps README.md's Operations section lists (see shutdown.go): it
// stops receiving at once, waits up to ShutdownTimeout for running
// handlers, cancels those still running, makes every unfinished message
// visible again so another instance takes it at once, lets a receive still
// pending return, and flushes pending deletes and releases. Run returns nil
// after a clean shutdown. It may be called once.
func (p *Pool) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("worker: Pool.Run called twice")
	}
	// Handlers get their own context: cancelling ctx stops receiving, but
	// running work is only cancelled when the shutdown timeout runs out.
	p.workCtx, p.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	defer p.cancelWork()
	r := p.start(ctx)
	defer r.cancelPolls()

	<-ctx.Done()
	// The shutdown, step by step as README.md lists it (Shutdown).
	p.stopReceiving(r)      // 1
	p.waitForHandlers(r)    // 2
	p.cancelHandlers(r)     // 3
	p.releaseUnfinished(r)  // 4
	p.endPendingReceives(r) // 5
	p.flushPending()        // 6
	p.log.Info("shutdown complete")
	return nil // 7
}

// start launches what Run runs until shutdown: the handler goroutines and
// the receive pipeline (standard queues), the extender and the pollers.
// stop, cancelled when shutdown begins, ends the pollers' loops.
func (p *Pool) start(stop context.Context) *runState {
	r := &runState{}
	if !p.cfg.FIFO {
		// Every admission fits: a send never blocks.
		p.work = make(chan *lease, p.cfg.Concurrency+p.maxCredit)
		for range p.cfg.Concurrency {
			go p.handle()
		}
		r.pipeline.Go(func() { p.pipelineLoop(stop) })
	}
	p.lastReturn.Store(p.now().UnixNano())

	var extCtx context.Context
	extCtx, r.stopExtending = context.WithCancel(context.WithoutCancel(stop))
	r.extender.Go(func() { p.extendLoop(extCtx) })

	// In-flight receives are not cancelled when receiving stops. SQS (and
	// the emulator) keep serving a long poll whose client went away: the
	// next messages to arrive, or the ones released at shutdown, would be
	// handed to the dead connection and stay invisible for a whole
	// visibility timeout. So a pending receive is allowed to finish, its
	// messages are released at once, and only a receive still pending after
	// the shutdown timeout and the grace period is cut off (pollCtx).
	var pollCtx context.Context
	pollCtx, r.cancelPolls = context.WithCancel(context.WithoutCancel(stop))
	var pollers sync.WaitGroup
	for range p.cfg.Pollers {
		pollers.Go(func() { p.poll(stop, pollCtx) })
	}
	r.polled = make(chan struct{})
	go func() { pollers.Wait(); close(r.polled) }()
	return r
}

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

// maxCredit is the most admissions beyond the handler slots that receives
// may use on a standard queue (none on FIFO): enough for several batches in
// flight at small concurrency, twice the slots at large.
func maxCredit(c *Config) int {
	if c.FIFO {
		return 0
	}
	return max(2*c.Concurrency, 3*c.BatchSize)
}
