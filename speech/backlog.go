package speech

import "sync"

// Backlog is the bounded audio queue between a Write that must not block
// (a call's media path) and the worker that consumes the audio: what does
// not fit is dropped and counted, never queued without bound.
type Backlog struct {
	mu      sync.Mutex
	buf     []int16
	dropped int
	closed  bool
	wake    chan struct{}
}

// NewBacklog holds at most max samples.
func NewBacklog(max int) *Backlog {
	return &Backlog{buf: make([]int16, 0, max), wake: make(chan struct{}, 1)}
}

// Write appends pcm, dropping what does not fit; false after Close.
func (b *Backlog) Write(pcm []int16) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	room := cap(b.buf) - len(b.buf)
	if len(pcm) > room {
		b.dropped += len(pcm) - room
		pcm = pcm[:room]
	}
	b.buf = append(b.buf, pcm...)
	b.mu.Unlock()
	b.signal()
	return true
}

func (b *Backlog) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Wake receives after Writes and Close: the worker waits on it.
func (b *Backlog) Wake() <-chan struct{} { return b.wake }

// Take moves the oldest samples, at most max of them (all when max <= 0),
// to dst[:0] and returns it, with whether Close was called (then what is
// left is the last of the audio).
func (b *Backlog) Take(dst []int16, max int) ([]int16, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.buf)
	if max > 0 {
		n = min(n, max)
	}
	dst = append(dst[:0], b.buf[:n]...)
	b.buf = append(b.buf[:0], b.buf[n:]...)
	return dst, b.closed
}

// Len is the samples queued.
func (b *Backlog) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

// Close refuses further Writes and wakes the worker to finish.
func (b *Backlog) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.signal()
}

// Dropped is the samples Write dropped.
func (b *Backlog) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Closed reports whether Close was called.
func (b *Backlog) Closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
