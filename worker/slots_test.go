package worker

import (
	"context"
	"testing"
	"time"
)

// While a receive is in flight, a poller waits for a full batch rather than
// ask SQS for the few slots that just came free; with none in flight, it
// takes what is free.
func TestSlotsKeepReceivesFull(t *testing.T) {
	s := newSlots(20)
	ctx := context.Background()
	if n, _ := s.acquire(ctx, 10); n != 10 {
		t.Fatalf("first acquire = %d, want 10", n)
	}
	if n, _ := s.acquire(ctx, 10); n != 10 {
		t.Fatalf("second acquire = %d, want 10", n)
	}
	s.release(3) // three handlers finished; two receives still in flight

	got := make(chan int, 1)
	go func() {
		n, _ := s.acquire(ctx, 10)
		got <- n
	}()
	select {
	case n := <-got:
		t.Fatalf("acquire took %d slots while receives were in flight; want it to wait for a full batch", n)
	case <-time.After(50 * time.Millisecond): // proving a negative: it must still be waiting
	}
	s.received()
	select {
	case n := <-got:
		t.Fatalf("acquire took %d slots with a receive still in flight", n)
	case <-time.After(50 * time.Millisecond):
	}
	s.received() // no receive in flight: free slots must not sit unpolled
	select {
	case n := <-got:
		if n != 3 {
			t.Fatalf("acquire = %d, want the 3 free slots", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("acquire still waiting with free slots and no receive in flight")
	}

	// A full batch goes at once even with receives in flight.
	s.release(17) // all back: 20 free, one receive in flight
	if n, _ := s.acquire(ctx, 10); n != 10 {
		t.Fatalf("acquire with a full batch free = %d, want 10", n)
	}
	// Fewer slots than a batch in total: all of them count as full.
	small := newSlots(4)
	small.acquire(ctx, 10)
	small.release(4)
	if n, _ := small.acquire(ctx, 10); n != 4 {
		t.Fatalf("acquire on 4 slots = %d, want 4", n)
	}
}
