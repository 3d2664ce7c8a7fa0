package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"hotline/store"
)

// writerMax bounds the rows waiting for a slow or absent database; past
// it rows are dropped (and logged) rather than growing without end.
const writerMax = 100_000

// writer records rows in order on its own goroutine, so the owner never
// waits on the database. A chat's row is written before its messages
// because they are queued in that order.
type writer struct {
	st  Store
	log *slog.Logger

	mu      sync.Mutex
	ops     []func(ctx context.Context) error
	dropped int
	wake    chan struct{}
	stop    chan struct{}
}

func newWriter(st Store, log *slog.Logger) *writer {
	return &writer{st: st, log: log, wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (w *writer) push(op func(ctx context.Context) error) {
	if w.st == nil {
		return
	}
	w.mu.Lock()
	if len(w.ops) >= writerMax {
		w.dropped++
		w.mu.Unlock()
		return
	}
	w.ops = append(w.ops, op)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) saveChat(c store.Chat) {
	w.push(func(ctx context.Context) error { return w.st.SaveChat(ctx, c) })
}

func (w *writer) addMessage(m store.ChatMessage) {
	w.push(func(ctx context.Context) error { return w.st.AddChatMessage(ctx, m) })
}

// run writes until ctx ends; flushAndStop first asks it to finish the
// rows already queued.
func (w *writer) run(ctx context.Context) {
	for {
		w.mu.Lock()
		batch := w.ops
		w.ops = nil
		dropped := w.dropped
		w.dropped = 0
		w.mu.Unlock()
		if dropped > 0 {
			w.log.Error("chat rows dropped: the database is not keeping up", "rows", dropped)
		}
		for _, op := range batch {
			octx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := op(octx); err != nil && ctx.Err() == nil {
				w.log.Warn("chat row not recorded", "error", err)
			}
			cancel()
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case <-w.wake:
		}
	}
}

// flushAndStop ends run once the queued rows are written (bounded by
// run's context).
func (w *writer) flushAndStop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}
