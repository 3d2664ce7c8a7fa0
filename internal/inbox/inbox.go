// Package inbox is the mailbox of a single-owner goroutine: other
// goroutines hand it functions, the owner runs them in order. The sender
// never blocks, so the owner may itself submit without deadlocking.
package inbox

import (
	"context"
	"sync"
	"time"
)

// Inbox queues functions for one owner goroutine. The zero value is not
// usable; make one with New.
type Inbox struct {
	done       <-chan struct{}
	errStopped error

	mu      sync.Mutex
	fns     []func(now time.Time)
	stopped bool
	wake    chan struct{}
}

// New makes an Inbox. done is closed by the owner once it has gone for
// good (after Stop and its last Drain); Do then stops waiting and answers
// errStopped, the owner package's own error for "stopped".
func New(done <-chan struct{}, errStopped error) *Inbox {
	return &Inbox{done: done, errStopped: errStopped, wake: make(chan struct{}, 1)}
}

// Wake fires (coalesced) when functions are waiting; the owner then
// calls Drain.
func (b *Inbox) Wake() <-chan struct{} { return b.wake }

// Submit queues fn for the owner; false once the Inbox has stopped.
func (b *Inbox) Submit(fn func(now time.Time)) bool {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return false
	}
	b.fns = append(b.fns, fn)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// Do runs fn on the owner and waits for its result, for ctx, or for the
// owner to be gone (a result already sent still wins then).
func (b *Inbox) Do(ctx context.Context, fn func(now time.Time) error) error {
	reply := make(chan error, 1)
	if !b.Submit(func(now time.Time) { reply <- fn(now) }) {
		return b.errStopped
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.done:
		select {
		case err := <-reply:
			return err
		default:
			return b.errStopped
		}
	}
}

// Drain runs, on the owner, everything queued, including what those
// functions queue, until the Inbox is empty.
func (b *Inbox) Drain() {
	for {
		b.mu.Lock()
		batch := b.fns
		b.fns = nil
		b.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, fn := range batch {
			fn(time.Now())
		}
	}
}

// Stop refuses further Submits; what is already queued stays for Drain.
func (b *Inbox) Stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
}
