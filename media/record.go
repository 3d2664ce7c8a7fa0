package media

import (
	"slices"
	"sync"
)

// Recording needs both directions of a call, aligned, 20 ms at a time: the
// pacer's tick is that clock. The caller's audio is put in a jitter buffer
// as it arrives (placed by timestamp, loss as silence) and taken out one
// frame per tick, next to the frame the caller was sent that tick.

// FrameRecorder takes one 20 ms frame of each direction per tick: left is
// what the caller said, right what the caller heard (the agent, hold
// music). It runs on the pacer: it must not block, and must copy what it
// keeps.
type FrameRecorder interface {
	WriteFrame(left, right []int16)
}

// recRef is the recording state of a session; its buffers belong to the
// pacer (tick) and the jitter buffer has its own lock for the receive side.
type recRef struct {
	r       FrameRecorder
	jb      JitterBuffer
	in, out [frameSamples]int16
}

// AddRecorder starts feeding r next to the session's other recorders (the
// call's recording, an ARI recording, a supervisor's snoop: each gets
// every frame); remove stops it and may be called more than once. The
// caller's audio buffered so far is not carried over when the set changes
// (a frame or two of the caller's side).
func (s *Session) AddRecorder(r FrameRecorder) (remove func()) {
	e := &recEntry{r: r}
	s.recMu.Lock()
	s.recorders = append(slices.Clone(s.recorders), e)
	s.publishRecLocked()
	s.recMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.recMu.Lock()
			s.recorders = slices.DeleteFunc(slices.Clone(s.recorders), func(x *recEntry) bool { return x == e })
			s.publishRecLocked()
			s.recMu.Unlock()
		})
	}
}

// recEntry boxes a recorder so that any FrameRecorder (comparable or not)
// can be found again for removal.
type recEntry struct{ r FrameRecorder }

// recFanout feeds several recorders; it is replaced, never changed.
type recFanout []*recEntry

func (f recFanout) WriteFrame(left, right []int16) {
	for _, e := range f {
		e.r.WriteFrame(left, right)
	}
}

func (s *Session) publishRecLocked() {
	switch len(s.recorders) {
	case 0:
		s.rec.Store(nil)
	case 1:
		s.rec.Store(&recRef{r: s.recorders[0].r})
	default:
		s.rec.Store(&recRef{r: recFanout(slices.Clone(s.recorders))})
	}
}

// tick records this tick: payload is what was sent (nil: nothing, which is
// silence for the caller).
func (r *recRef) tick(codec uint8, payload []byte) {
	if !r.jb.ReadFrame(r.in[:]) {
		clear(r.in[:])
	}
	if len(payload) >= frameSamples {
		decode(PayloadType(codec), r.out[:], payload[:frameSamples])
	} else {
		clear(r.out[:])
	}
	r.r.WriteFrame(r.in[:], r.out[:])
}

// Mix adds src into dst sample by sample, saturating at the int16 range
// (two loud voices clip rather than wrap around into noise).
func Mix(dst, src []int16) {
	for i := range min(len(dst), len(src)) {
		v := int32(dst[i]) + int32(src[i])
		switch {
		case v > 32767:
			v = 32767
		case v < -32768:
			v = -32768
		}
		dst[i] = int16(v)
	}
}
