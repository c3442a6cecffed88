package s3payload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"go.uber.org/zap"

	"github.com/sqsfleet/sqsfleet/worker"
)

// API is the part of the S3 client the resolver uses; *s3.Client has it.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Config configures a Resolver.
type Config struct {
	// S3 reads (and with Cleanup deletes) the objects. Required.
	S3 API
	// Handler receives every message, pointers resolved. Required.
	Handler worker.Handler
	// Cleanup deletes a message's object once SQS has confirmed the
	// message's delete, through the queue that Queue returns. Default
	// false: an SNS topic fanning out to several queues shares the object.
	Cleanup bool
	// Logger reports objects that could not be cleaned up. nil logs nothing.
	Logger *zap.Logger
}

// Resolver is a worker.Handler that resolves SQS extended client pointers
// before calling the next handler; see the package documentation.
type Resolver struct {
	s3   API
	next worker.Handler
	log  *zap.Logger
	now  func() time.Time

	cleanup bool
	mu      sync.Mutex
	// done holds, by receipt handle, the objects of messages whose handler
	// succeeded and whose delete SQS has not confirmed yet.
	done      map[string]doneObject
	lastPrune time.Time
}

type doneObject struct {
	p  Pointer
	at time.Time
}

// receiptLife bounds how long a receipt handle can still be deleted: SQS
// keeps a message in flight at most 12 hours from its receive. An entry of
// a message whose delete the engine gave up on is dropped after it.
const receiptLife = 12 * time.Hour

// cleanupTimeout bounds one DeleteObject.
const cleanupTimeout = 30 * time.Second

var _ worker.Handler = (*Resolver)(nil)

// New returns a Resolver.
func New(cfg Config) (*Resolver, error) {
	if cfg.S3 == nil || cfg.Handler == nil {
		return nil, errors.New("s3 payload: S3 client and handler are required")
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Resolver{
		s3: cfg.S3, next: cfg.Handler, log: log, now: time.Now,
		cleanup: cfg.Cleanup, done: map[string]doneObject{},
	}, nil
}

// Handle resolves m's pointer, if it carries one, and calls the next
// handler. The engine's m is never changed: the next handler gets a copy
// whose Payload streams the object and whose attributes lack the size
// attribute (the libraries drop it on receive too), so that a dead-lettered
// message keeps its pointer.
func (r *Resolver) Handle(ctx context.Context, m *worker.Message) error {
	if !IsPointer(m) {
		return r.next.Handle(ctx, m)
	}
	p, err := ParsePointer(m.Body)
	if err != nil {
		return worker.Permanent(fmt.Errorf("s3 payload: message has the %s attribute but %w", AttrSize, err))
	}
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &p.Bucket, Key: &p.Key})
	if err != nil {
		return getError(p, err)
	}
	body := &readErrReader{r: out.Body}
	defer func() { _ = out.Body.Close() }()
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	c := *m
	c.Attributes = make(map[string]worker.Attribute, len(m.Attributes))
	for k, v := range m.Attributes {
		if k != AttrSize && k != AttrSizeLegacy {
			c.Attributes[k] = v
		}
	}
	c.Payload = &worker.Payload{Bucket: p.Bucket, Key: p.Key, Size: size, Body: body}
	err = r.next.Handle(ctx, &c)
	if rerr := body.err(); rerr != nil && ctx.Err() == nil {
		// The handler saw a truncated body, whatever it made of it: its
		// verdict, even a permanent one, is not about this message.
		return fmt.Errorf("s3 payload %s: reading the object failed while the handler streamed it: %w (handler: %v)", p, rerr, err)
	}
	if err == nil && r.cleanup {
		r.remember(m.ReceiptHandle, p)
	}
	return err
}

// getError classifies a GetObject failure. An object or bucket that does not
// exist will not appear by retrying. Note that S3 answers AccessDenied, not
// NoSuchKey, for a missing object when the caller may not list the bucket:
// the Terraform grants s3:ListBucket for that reason.
func getError(p Pointer, err error) error {
	err = fmt.Errorf("s3 payload: get %s: %w", p, err)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket":
			return worker.PermanentReason(err, ReasonMissing)
		}
	}
	return err
}

// readErrReader remembers the first read error other than io.EOF. The exec
// handler's stdin copy can still be reading when Handle returns after its
// wait delay, hence the lock.
type readErrReader struct {
	r    io.Reader
	mu   sync.Mutex
	fail error
}

func (b *readErrReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.fail == nil {
			b.fail = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *readErrReader) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fail
}

func (r *Resolver) remember(receipt string, p Pointer) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[receipt] = doneObject{p: p, at: now}
	if now.Sub(r.lastPrune) < time.Minute {
		return
	}
	r.lastPrune = now
	for k, d := range r.done {
		if now.Sub(d.at) > receiptLife {
			delete(r.done, k)
		}
	}
}

func (r *Resolver) take(receipt string) (Pointer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.done[receipt]
	if ok {
		delete(r.done, receipt)
	}
	return d.p, ok
}

// Queue returns q with cleanup hooked into its deletes: once SQS confirms
// the delete of a message whose handler succeeded, its object is deleted.
// Without Cleanup it returns q itself.
func (r *Resolver) Queue(q worker.Queue) worker.Queue {
	if !r.cleanup {
		return q
	}
	return cleanupQueue{Queue: q, r: r}
}

type cleanupQueue struct {
	worker.Queue
	r *Resolver
}

func (q cleanupQueue) Delete(ctx context.Context, receipts []string) ([]error, error) {
	errs, err := q.Queue.Delete(ctx, receipts)
	for i, rh := range receipts {
		e := err
		if e == nil && i < len(errs) {
			e = errs[i]
		}
		switch {
		case e == nil:
			if p, ok := q.r.take(rh); ok {
				q.r.deleteObject(ctx, p)
			}
		case errors.Is(e, worker.ErrLeaseLost):
			// The message will be delivered again and needs its object.
			q.r.take(rh)
		}
		// Other failures are retried by the engine with the same receipt.
	}
	return errs, err
}

// deleteObject deletes a processed message's object. A failure is logged,
// not returned: the message is done, and a leftover object costs storage
// (an S3 lifecycle rule can expire it), not correctness.
func (r *Resolver) deleteObject(ctx context.Context, p Pointer) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := r.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &p.Bucket, Key: &p.Key}); err != nil {
		r.log.Warn("s3 payload: could not delete the object of a processed message; it stays in the bucket",
			zap.String("object", p.String()), zap.Error(err))
	}
}
