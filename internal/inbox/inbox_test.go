package inbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errStopped = errors.New("stopped")

// owner runs b until ctx ends, as Runtime and chat.Service do.
func owner(ctx context.Context, b *Inbox, done chan struct{}) {
	defer close(done)
	for {
		b.Drain()
		select {
		case <-ctx.Done():
			b.Stop()
			b.Drain()
			return
		case <-b.Wake():
		}
	}
}

func TestOrderAndNesting(t *testing.T) {
	done := make(chan struct{})
	b := New(done, errStopped)
	ctx, cancel := context.WithCancel(context.Background())
	go owner(ctx, b, done)
	var got []int
	for i := range 100 {
		b.Submit(func(time.Time) {
			got = append(got, i)
			if i == 99 { // queued from the owner itself: must not block
				b.Submit(func(time.Time) { got = append(got, 100) })
			}
		})
	}
	if err := b.Do(ctx, func(time.Time) error { return nil }); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if len(got) != 101 {
		t.Fatalf("ran %d functions, want 101", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("position %d ran %d", i, v)
		}
	}
}

func TestStopped(t *testing.T) {
	done := make(chan struct{})
	b := New(done, errStopped)
	ctx, cancel := context.WithCancel(context.Background())
	go owner(ctx, b, done)
	want := errors.New("from fn")
	if err := b.Do(context.Background(), func(time.Time) error { return want }); err != want {
		t.Fatalf("Do = %v, want fn's error", err)
	}
	cancel()
	<-done
	if b.Submit(func(time.Time) {}) {
		t.Fatal("Submit after stop accepted")
	}
	if err := b.Do(context.Background(), func(time.Time) error { return nil }); err != errStopped {
		t.Fatalf("Do after stop = %v, want errStopped", err)
	}
}

func TestDoOwnerGone(t *testing.T) {
	done := make(chan struct{})
	b := New(done, errStopped)
	close(done) // the owner is gone without having stopped the inbox
	if err := b.Do(context.Background(), func(time.Time) error { return nil }); err != errStopped {
		t.Fatalf("Do = %v, want errStopped", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(make(chan struct{}), errStopped).Do(ctx, func(time.Time) error { return nil }); err != context.Canceled {
		t.Fatalf("Do with cancelled ctx = %v", err)
	}
}
