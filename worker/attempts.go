package worker

import "sync"

// unrunMemory is how many messages' unrun releases a process remembers. A
// message is remembered from its release until it comes back and is
// settled; a fleet-wide backlog of released FIFO followers fits many times
// over, and at about a hundred bytes an entry it stays near a megabyte.
const unrunMemory = 10000

// releaseLog remembers, per message, how often this process gave the message
// back without running its handler: FIFO messages released behind a failing
// head, messages received after shutdown began, handlers cancelled by
// shutdown. SQS counts each of those receives in ApproximateReceiveCount;
// they are not attempts, so attempts subtracts them. It is bounded: past
// unrunMemory the oldest entries are forgotten, which can only make a message
// look as if it had been tried more often, as it would on another instance.
type releaseLog struct {
	mu    sync.Mutex
	count map[string]unrunEntry
	ring  []unrunEntry // insertion order, for eviction
	next  int
	seq   uint64
	limit int
}

type unrunEntry struct {
	id  string
	seq uint64 // tells a ring slot from a later entry for the same id
	n   int
}

func newReleaseLog(limit int) *releaseLog {
	return &releaseLog{count: make(map[string]unrunEntry), limit: limit}
}

// note records one release of message id without a run.
func (r *releaseLog) note(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.count[id]
	if !ok {
		r.seq++
		e = unrunEntry{id: id, seq: r.seq}
		if len(r.ring) < r.limit {
			r.ring = append(r.ring, e)
		} else {
			old := r.ring[r.next]
			if cur, ok := r.count[old.id]; ok && cur.seq == old.seq {
				delete(r.count, old.id)
			}
			r.ring[r.next] = e
			r.next = (r.next + 1) % r.limit
		}
	}
	e.n++
	r.count[id] = e
}

// unrun returns how often id was released without a run.
func (r *releaseLog) unrun(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id].n
}

// forget drops id once the message is gone for good. Its ring slot is
// reused when the ring comes round to it.
func (r *releaseLog) forget(id string) {
	r.mu.Lock()
	delete(r.count, id)
	r.mu.Unlock()
}

// attempts is how often m's handler ran (or could have run) for this
// delivery and those before it, as far as this process knows: the receive
// count less the releases this process made without running it. Releases
// by other instances (a FIFO follower released elsewhere, a message released
// at another instance's shutdown) still count; the README says so, and the
// crash-loop guard leaves headroom for them.
func (p *Pool) attempts(m *Message) int {
	return max(m.ReceiveCount-p.unrun.unrun(m.ID), 1)
}

// crashLoopAfter is the attempts beyond which a message is dead-lettered
// without running (reason crash_loop): its earlier deliveries reached no
// outcome, because the daemon crashed or was killed while running it. It
// leaves max_attempts of headroom above max_attempts for receives that were
// not attempts and that this process cannot know of (releases by other
// instances, lost receive responses).
func crashLoopAfter(maxAttempts int) int { return 2 * maxAttempts }

// MinMaxReceiveCount is the least maxReceiveCount a queue's RedrivePolicy
// should have for this max_attempts: SQS must not move a message to the DLQ
// by itself before the daemon's crash-loop guard has seen it, or the
// message arrives there without the record of why it failed.
func MinMaxReceiveCount(maxAttempts int) int { return crashLoopAfter(maxAttempts) + 1 }
