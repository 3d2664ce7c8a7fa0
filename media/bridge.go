package media

import "sync"

// Bridging a session to another leg (the agent's WebRTC peer) needs two
// hooks: a tap on received audio, and a source that plays audio arriving
// from elsewhere. Both work on G.711 payload bytes, so a PCMU caller
// bridged to a PCMU browser is never decoded or encoded.

// Forwarder receives the session's audio payloads (PCMU or PCMA, never
// telephone-events or comfort noise) on the receive goroutine, after
// validation and latching.
//
// ForwardRTP must not block (it delays this call's RTP and digits) and must
// not keep payload: it aliases the receive buffer, which the next read
// overwrites. Copy what you need before returning.
type Forwarder interface {
	ForwardRTP(pt PayloadType, ts uint32, marker bool, payload []byte)
}

// forwarderRef boxes the interface so that the receive loop reads it with
// one atomic load; the box is allocated per SetForwarder, not per packet.
type forwarderRef struct{ f Forwarder }

// SetForwarder installs f as the tap on received audio; nil removes it.
// A packet being handled while this runs may still reach the previous
// forwarder, so a forwarder that must stop exactly checks its own state.
func (s *Session) SetForwarder(f Forwarder) {
	if f == nil {
		s.fwd.Store(nil)
		return
	}
	s.fwd.Store(&forwarderRef{f: f})
}

// PayloadSource is a Source that can hand over G.711 bytes directly. The
// session prefers FillPayload, which saves a decode and an encode per
// packet when the audio already is in the session's codec; ReadFrame is
// for consumers that want PCM (mixers, recorders).
type PayloadSource interface {
	Source
	// FillPayload fills dst (one 20 ms frame) in law pt; false means
	// finished, as for ReadFrame. Called from the pacer: must not block.
	FillPayload(dst []byte, pt PayloadType) bool
}

// TranscodeG711 converts min(len(dst), len(src)) bytes from law `from` to
// law `to` (a copy when they are equal). Bridging PCMA to PCMU costs two
// table lookups per byte, not a full decode and encode pass with buffers.
func TranscodeG711(dst, src []byte, from, to PayloadType) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	switch {
	case from == to:
		copy(dst, src)
	case to == PTPCMA:
		for i, b := range src {
			dst[i] = alawEncTable[uint16(ulawDecTable[b])>>3]
		}
	default:
		for i, b := range src {
			dst[i] = ulawEncTable[uint16(alawDecTable[b])>>2]
		}
	}
}

const (
	// jitterCap bounds the buffer: a peer sending faster than the pacer
	// plays (clock drift, a burst after a stall, audio queued while the
	// caller was on music on hold) cannot grow the delay past 120 ms; the
	// oldest audio is dropped instead.
	jitterCap = 6 * frameSamples
	// jitterPrime: playing starts (and restarts after an underrun) once
	// 40 ms are buffered, so one late packet does not cause a gap in
	// every frame that follows.
	jitterPrime = 2 * frameSamples
	// jitterMaxGap: a timestamp jump up to this size is loss and filled
	// with silence to keep timing; beyond it (or backwards beyond it) the
	// sender restarted its clock (new SSRC, the browser renegotiated) and
	// we resynchronise instead of inserting seconds of silence.
	jitterMaxGap = 3 * frameSamples
)

// JitterStats counts what the jitter buffer had to repair.
type JitterStats struct {
	Underruns uint64 // frames played short: the peer's audio was late or lost
	Dropped   uint64 // bytes discarded because the buffer was full
	Late      uint64 // packets discarded as late or duplicated
	Filled    uint64 // bytes of silence inserted for missing packets
}

// JitterBuffer carries G.711 audio from a packet-driven writer (the agent's
// WebRTC track) to the 20 ms pacer of a Session: about 40-60 ms of
// buffering, placement by RTP timestamp (loss becomes silence, duplicates
// and late packets are dropped) and no allocation. It implements
// PayloadSource, so a PCMU browser bridged to a PCMU caller is a copy.
//
// One writer and one reader may use it concurrently. Put it on a session
// with SetSource; it returns silence while empty and stays on the session
// until Stop.
type JitterBuffer struct {
	mu      sync.Mutex
	buf     [jitterCap]byte // µ-law; converted on the way out when needed
	r, n    int             // read index and buffered bytes
	nextTS  uint32
	haveTS  bool
	primed  bool
	stopped bool
	st      JitterStats
}

// NewJitterBuffer returns an empty, running buffer.
func NewJitterBuffer() *JitterBuffer { return &JitterBuffer{} }

// Write adds one packet's payload (PCMU or PCMA; other types are ignored)
// with its RTP timestamp. The payload is copied, so the caller may reuse it.
func (j *JitterBuffer) Write(pt PayloadType, ts uint32, payload []byte) {
	if pt != PTPCMU && pt != PTPCMA || len(payload) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return
	}
	next := ts + uint32(len(payload))
	if j.haveTS {
		switch d := int32(ts - j.nextTS); {
		case d < -jitterMaxGap || d > jitterMaxGap:
			// Resynchronise: keep what is buffered, continue from here.
		case d < 0:
			if -int(d) >= len(payload) {
				j.st.Late++
				return
			}
			payload = payload[-d:]
		case d > 0:
			j.silence(int(d))
		}
	}
	j.nextTS, j.haveTS = next, true
	if len(payload) > jitterCap {
		payload = payload[len(payload)-jitterCap:]
	}
	j.makeRoom(len(payload))
	w := (j.r + j.n) % jitterCap
	if pt == PTPCMU {
		c := copy(j.buf[w:], payload)
		copy(j.buf[:], payload[c:])
	} else {
		for i, b := range payload {
			j.buf[(w+i)%jitterCap] = ulawEncTable[uint16(alawDecTable[b])>>2]
		}
	}
	j.n += len(payload)
}

// silence appends k bytes of µ-law silence for lost packets; j.mu held.
func (j *JitterBuffer) silence(k int) {
	j.makeRoom(k)
	w := (j.r + j.n) % jitterCap
	for i := range k {
		j.buf[(w+i)%jitterCap] = 0xFF
	}
	j.n += k
	j.st.Filled += uint64(k)
}

// makeRoom drops the oldest bytes so that k more fit; j.mu held.
func (j *JitterBuffer) makeRoom(k int) {
	if over := j.n + k - jitterCap; over > 0 {
		j.r = (j.r + over) % jitterCap
		j.n -= over
		j.st.Dropped += uint64(over)
	}
}

// FillPayload implements PayloadSource.
func (j *JitterBuffer) FillPayload(dst []byte, pt PayloadType) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return false
	}
	k := 0
	if !j.primed && j.n >= jitterPrime {
		j.primed = true
	}
	if j.primed {
		k = min(j.n, len(dst))
		c := copy(dst[:k], j.buf[j.r:])
		copy(dst[c:k], j.buf[:])
		if pt == PTPCMA {
			TranscodeG711(dst[:k], dst[:k], PTPCMU, PTPCMA)
		}
		j.r = (j.r + k) % jitterCap
		j.n -= k
		if k < len(dst) {
			j.st.Underruns++
			j.primed = false
		}
	}
	sil := silenceByte(pt)
	for i := k; i < len(dst); i++ {
		dst[i] = sil
	}
	return true
}

// ReadFrame implements Source, for consumers that want PCM.
func (j *JitterBuffer) ReadFrame(dst []int16) bool {
	var b [frameSamples]byte
	for len(dst) > 0 {
		n := min(len(dst), len(b))
		if !j.FillPayload(b[:n], PTPCMU) {
			return false
		}
		DecodePCMU(dst[:n], b[:n])
		dst = dst[n:]
	}
	return true
}

// Stop empties the buffer and makes it finished: a session playing it
// drops it at its next frame, which leaves another source (music on hold)
// untouched, and writes are ignored. Reset starts it again.
func (j *JitterBuffer) Stop() {
	j.mu.Lock()
	j.r, j.n, j.stopped = 0, 0, true
	j.mu.Unlock()
}

// Reset empties the buffer and makes it running again, for a new bridge
// or after hold, when buffered audio would only be stale.
func (j *JitterBuffer) Reset() {
	j.mu.Lock()
	j.r, j.n, j.haveTS, j.primed, j.stopped = 0, 0, false, false, false
	j.mu.Unlock()
}

// Buffered is the audio currently held, in 8 kHz samples.
func (j *JitterBuffer) Buffered() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// Stats returns a snapshot of the repair counters.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st
}
