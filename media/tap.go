package media

import (
	"context"
	"sync/atomic"
)

// Listeners (a speech recognizer at an IVR prompt, later a recorder) need
// the caller's audio as PCM while the bridge's Forwarder keeps the G.711
// bytes. The PCM tap is a second, independent hook so a recognizer never
// has to share or replace the agent bridge's tap.

// PCMTap receives the session's received audio decoded to 8 kHz linear
// PCM, at most one 20 ms frame per call, on the receive goroutine.
//
// TapPCM must not block (it delays this call's RTP and digits) and must not
// keep pcm: it aliases a buffer the next packet overwrites. PCMQueue is a
// ready-made non-blocking consumer.
type PCMTap interface {
	TapPCM(pcm []int16)
}

// pcmTapRef boxes the tap with its decode buffer, so the receive loop reads
// both with one atomic load and decodes without allocating. The buffer is
// only touched by the receive goroutine.
type pcmTapRef struct {
	t   PCMTap
	buf [frameSamples]int16
}

// SetPCMTap installs t as the PCM tap on received audio; nil removes it.
// Like SetForwarder, a packet being handled while this runs may still reach
// the previous tap.
func (s *Session) SetPCMTap(t PCMTap) {
	if t == nil {
		s.pcmTap.Store(nil)
		return
	}
	s.pcmTap.Store(&pcmTapRef{t: t})
}

// tapPCM decodes an audio payload (any packet time) frame by frame into the
// tap. Called from handlePacket for PCMU and PCMA only.
func (r *pcmTapRef) tapPCM(pt PayloadType, payload []byte) {
	for len(payload) > 0 {
		n := min(len(payload), len(r.buf))
		decode(pt, r.buf[:n], payload[:n])
		r.t.TapPCM(r.buf[:n])
		payload = payload[n:]
	}
}

// PCMQueue is a bounded queue of PCM frames between the receive goroutine
// and a slower consumer (a recognizer's Write). TapPCM never blocks and
// never allocates: frames come from a fixed free list, and when the
// consumer has fallen behind by the whole queue the new audio is dropped
// and counted. Dropping the newest keeps what was queued contiguous, and a
// recognizer that far behind is overloaded anyway.
type PCMQueue struct {
	free    chan *pcmFrame
	full    chan *pcmFrame
	dropped atomic.Uint64
}

type pcmFrame struct {
	n int
	s [frameSamples]int16
}

// NewPCMQueue makes a queue of frames 20 ms frames (frames < 1 is 1).
func NewPCMQueue(frames int) *PCMQueue {
	frames = max(frames, 1)
	q := &PCMQueue{free: make(chan *pcmFrame, frames), full: make(chan *pcmFrame, frames)}
	for range frames {
		q.free <- &pcmFrame{}
	}
	return q
}

// TapPCM implements PCMTap.
func (q *PCMQueue) TapPCM(pcm []int16) {
	for len(pcm) > 0 {
		select {
		case f := <-q.free:
			f.n = copy(f.s[:], pcm)
			pcm = pcm[f.n:]
			// full has room for every frame, so this never blocks.
			q.full <- f
		default:
			q.dropped.Add(1)
			return
		}
	}
}

// Dropped is the number of frames dropped because the queue was full.
func (q *PCMQueue) Dropped() uint64 { return q.dropped.Load() }

// Drain hands queued frames to fn, in order, until ctx is done or fn
// fails; it returns ctx's error or fn's. pcm is only valid during the
// call. Run it on the consumer's own goroutine.
func (q *PCMQueue) Drain(ctx context.Context, fn func(pcm []int16) error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-q.full:
			err := fn(f.s[:f.n])
			q.free <- f
			if err != nil {
				return err
			}
		}
	}
}
