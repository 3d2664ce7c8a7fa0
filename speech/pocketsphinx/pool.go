package pocketsphinx

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pool holds decoders of one kind (grammar or dictation), created lazily
// up to a bound and borrowed only for a decode. Decoders are large (30 to
// 110 MB) and a decode is CPU bound, so more of them than cores only
// queue.
type pool struct {
	newDecoder func() (*decoder, error)

	idle   chan *decoder // decoders not in use
	slots  chan struct{} // one token per decoder that may still be created
	mu     sync.Mutex    // guards closed and live
	live   int           // decoders created and not freed
	max    int
	closed bool
	quit   chan struct{} // closed by close: wakes streams waiting for a decoder
	// starving counts the acquires blocked for a decoder past
	// giveWayAfter, so that holders that can do without theirs give them
	// up (see contended).
	starving atomic.Int32
}

func newPool(size int, newDecoder func() (*decoder, error)) *pool {
	p := &pool{
		newDecoder: newDecoder,
		idle:       make(chan *decoder, size),
		slots:      make(chan struct{}, size),
		max:        size,
		quit:       make(chan struct{}),
	}
	for range size {
		p.slots <- struct{}{}
	}
	return p
}

// prime creates the first decoder, so a broken installation fails at
// startup rather than on the first caller.
func (p *pool) prime() error {
	<-p.slots
	d, err := p.create()
	if err != nil {
		return err
	}
	p.idle <- d
	return nil
}

// warm creates the decoders still missing, one after the other, so the
// first phrases of a worker's first calls do not wait seconds for a model
// to load. It ends when the pool is full or closed, or a creation fails
// (acquire then tries again on demand).
func (p *pool) warm() {
	for !p.isClosed() {
		select {
		case <-p.slots:
		default:
			return
		}
		d, err := p.create()
		if err != nil {
			return
		}
		p.release(d)
	}
}

// create makes a decoder for a slot the caller took; the slot goes back
// if that fails.
func (p *pool) create() (*decoder, error) {
	d, err := p.newDecoder()
	if err != nil {
		p.slots <- struct{}{}
		return nil, err
	}
	p.mu.Lock()
	p.live++
	p.mu.Unlock()
	return d, nil
}

// acquire borrows a decoder: an idle one, else a new one while under the
// bound, else the next one released.
func (p *pool) acquire(ctx context.Context) (*decoder, error) {
	select {
	case d := <-p.idle:
		return d, nil
	default:
	}
	giveWay := time.NewTimer(giveWayAfter)
	defer giveWay.Stop()
	starving := false
	defer func() {
		if starving {
			p.starving.Add(-1)
		}
	}()
	for {
		select {
		case d := <-p.idle:
			return d, nil
		case <-p.slots:
			return p.create()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.quit:
			return nil, ErrClosed
		case <-giveWay.C:
			starving = true
			p.starving.Add(1)
		}
	}
}

// giveWayAfter is how long a borrower waits before holders that can do
// without their decoders are asked to give them up (contended): long
// enough for most phrases in progress to end by themselves (their work
// would be redone by a whole decode), well within DecoderWait (3 s).
const giveWayAfter = time.Second

// contended reports that a borrower has waited giveWayAfter for a decoder.
func (p *pool) contended() bool { return p.starving.Load() > 0 }

// tryIdle borrows an idle decoder without waiting or creating one.
func (p *pool) tryIdle() *decoder {
	select {
	case d := <-p.idle:
		return d
	default:
		return nil
	}
}

// release returns a borrowed decoder, or frees it if the pool closed.
// The send happens under mu so close cannot drain the idle channel between
// the check and the send and miss this decoder.
func (p *pool) release(d *decoder) {
	p.mu.Lock()
	if !p.closed {
		p.idle <- d // never blocks: at most max decoders exist
		p.mu.Unlock()
		return
	}
	p.live--
	p.mu.Unlock()
	d.free()
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close frees the idle decoders; borrowed ones are freed when returned.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.quit)
	var idle []*decoder
	for len(p.idle) > 0 {
		idle = append(idle, <-p.idle)
	}
	p.live -= len(idle)
	p.mu.Unlock()
	for _, d := range idle {
		d.free()
	}
}

// Stats is the pool's state, for metrics.
type Stats struct {
	Decoders, Idle, Max int
}

func (p *pool) stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Decoders: p.live, Idle: len(p.idle), Max: p.max}
}
