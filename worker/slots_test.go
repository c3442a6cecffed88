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

// Releases one at a time, as handlers finish at saturation, wake waiting
// pollers only once one of them can take a full batch, and never miss that
// moment, with several pollers waiting at once.
func TestSlotsWakeOnFullBatch(t *testing.T) {
	s := newSlots(30)
	ctx := context.Background()
	for range 3 {
		if n, _ := s.acquire(ctx, 10); n != 10 {
			t.Fatalf("acquire = %d, want 10", n)
		}
	}
	// All 30 slots are held and three receives are in flight; two of them
	// come back and two pollers wait for batches of their own.
	s.received()
	s.received()
	got := make(chan int, 2)
	for range 2 {
		go func() {
			n, err := s.acquire(ctx, 10)
			if err != nil {
				t.Error(err)
			}
			got <- n
		}()
	}
	for i := 1; i <= 20; i++ {
		s.release(1)
		if i == 10 {
			select {
			case n := <-got:
				if n != 10 {
					t.Fatalf("first waiter took %d, want 10", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("10 free slots and a receive in flight: a waiter should have taken them")
			}
		}
	}
	select {
	case n := <-got:
		if n != 10 {
			t.Fatalf("second waiter took %d, want 10", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second waiter not woken after 20 releases")
	}
	if free := 30 - s.busy(); free != 0 {
		t.Fatalf("%d slots free, want 0", free)
	}
}
