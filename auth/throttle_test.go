package auth_test

import (
	"sync"
	"testing"
	"time"

	"hotline/auth"
)

// fakeClock is the injected clock of these tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestThrottleBacksOffExponentially(t *testing.T) {
	clk := newClock()
	th := auth.NewThrottle(auth.ThrottleConfig{Free: 5, Base: 30 * time.Second, Max: 4 * time.Minute, Forget: time.Hour}, clk.Now)
	for i := 1; i <= 5; i++ {
		if wait, ok := th.Acquire("k"); !ok {
			t.Fatalf("attempt %d refused (wait %v)", i, wait)
		}
	}
	// The 5th attempt locked the key for 30 s; then 60 s, 120 s, capped at 240 s.
	for _, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
		wait, ok := th.Acquire("k")
		if ok || wait != want {
			t.Fatalf("locked attempt: wait %v ok %v, want wait %v", wait, ok, want)
		}
		clk.Advance(want - time.Second)
		if _, ok := th.Acquire("k"); ok {
			t.Fatal("admitted a second early")
		}
		clk.Advance(time.Second)
		if _, ok := th.Acquire("k"); !ok {
			t.Fatalf("refused after waiting %v", want)
		}
	}
	// Other keys are unaffected.
	if _, ok := th.Acquire("other"); !ok {
		t.Fatal("other key refused")
	}
}

func TestThrottleReleaseResetForget(t *testing.T) {
	clk := newClock()
	th := auth.NewThrottle(auth.ThrottleConfig{Free: 3, Base: time.Minute, Max: time.Hour, Forget: 10 * time.Minute}, clk.Now)
	for range 3 {
		th.Acquire("k")
	}
	if _, ok := th.Acquire("k"); ok {
		t.Fatal("4th attempt admitted")
	}
	// The 3rd attempt was a success after all: its lockout goes.
	th.Release("k")
	if _, ok := th.Acquire("k"); !ok {
		t.Fatal("released attempt still locks")
	}
	th.Reset("k")
	for i := range 3 {
		if _, ok := th.Acquire("k"); !ok {
			t.Fatalf("attempt %d after reset refused", i+1)
		}
	}
	// After the lockout and Forget have passed, the key starts over.
	clk.Advance(11 * time.Minute)
	for i := range 3 {
		if _, ok := th.Acquire("k"); !ok {
			t.Fatalf("attempt %d after forget refused", i+1)
		}
	}
	for i := range 100 {
		th.Acquire(string(rune('a' + i%26)))
	}
	if th.Len() == 0 {
		t.Fatal("no keys held")
	}
	clk.Advance(2 * time.Hour)
	th.Sweep()
	if n := th.Len(); n != 0 {
		t.Fatalf("%d keys survive the sweep", n)
	}
}

func TestThrottleCountsConcurrentAttempts(t *testing.T) {
	clk := newClock()
	th := auth.NewThrottle(auth.ThrottleConfig{Free: 5, Base: time.Minute, Max: time.Hour, Forget: time.Hour}, clk.Now)
	var admitted sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 50 {
		admitted.Go(func() {
			if _, ok := th.Acquire("k"); ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	admitted.Wait()
	if n != 5 {
		t.Fatalf("%d of 50 concurrent attempts admitted, want 5", n)
	}
}
