package webrtc

import (
	"sync/atomic"

	"hotline/media"
)

// Tap lets a supervisor monitor an agent's call through the agent's leg:
// it sees the caller's audio on its way to the agent and the agent's audio
// from the browser, and may add audio to what the agent hears (whisper,
// barge). Both methods run on media paths and must not block or keep the
// slices they are given.
type Tap interface {
	// FromCaller gets each caller payload (PCMU or PCMA, one packet) bound
	// for the agent. It may write up to len(mix) samples of 8 kHz PCM to
	// add to it and returns how many it wrote (0: none).
	FromCaller(pt media.PayloadType, ts uint32, payload []byte, mix []int16) int
	// FromAgent gets the agent's µ-law audio with its 8 kHz timestamp.
	FromAgent(ts uint32, ulaw []byte)
}

type tapRef struct{ t Tap }

// SetTap installs t on the leg (nil removes it).
func (l *Leg) SetTap(t Tap) {
	if t == nil {
		l.tap.Store(nil)
		return
	}
	l.tap.Store(&tapRef{t})
}

// OnAudio sets a function that receives this leg's browser audio (µ-law,
// 8 kHz timestamps) besides, or, for a leg attached to nothing, instead
// of the jitter buffer: a supervisor's leg feeds the monitor with it. It
// runs on the leg's track goroutine and must not block.
func (l *Leg) OnAudio(f func(ts uint32, ulaw []byte)) {
	if f == nil {
		l.onAudio.Store(nil)
		return
	}
	l.onAudio.Store(&f)
}

// ReadFrame reads 20 ms of the browser's audio from the leg's jitter
// buffer, like the session it is attached to does: a barging supervisor's
// mix reads it in the session's place.
func (l *Leg) ReadFrame(dst []int16) bool { return l.jb.ReadFrame(dst) }

// Send sends one packet of µ-law audio to this leg's browser, with ts on
// the 8 kHz clock of its source; a monitor uses it for the supervisor.
func (l *Leg) Send(ts uint32, ulaw []byte) {
	l.send(fromTap, media.PTPCMU, ts, false, ulaw)
}

// mixTapLocked adds what the tap returns to the caller's payload; the
// result is µ-law in l.mixOut. Runs under fwdMu, so the buffers are ours.
func (l *Leg) mixTapLocked(t Tap, pt media.PayloadType, ts uint32, payload []byte) (media.PayloadType, []byte) {
	n := min(len(payload), len(l.mixPCM))
	k := t.FromCaller(pt, ts, payload[:n], l.mixAdd[:n])
	if k <= 0 {
		return pt, payload
	}
	pcm := l.mixPCM[:n]
	if pt == media.PTPCMA {
		media.DecodePCMA(pcm, payload[:n])
	} else {
		media.DecodePCMU(pcm, payload[:n])
	}
	media.Mix(pcm, l.mixAdd[:min(k, n)])
	media.EncodePCMU(l.mixOut[:n], pcm)
	return media.PTPCMU, l.mixOut[:n]
}

// maxTapSamples bounds one mixed packet: 80 ms of 8 kHz audio (callers
// send 20 ms; longer packets are mixed in their first 80 ms).
const maxTapSamples = 640

// tapState is the leg's monitoring hooks, apart from the rest of Leg.
type tapState struct {
	tap     atomic.Pointer[tapRef]
	onAudio atomic.Pointer[func(ts uint32, ulaw []byte)]
	mixPCM  [maxTapSamples]int16
	mixAdd  [maxTapSamples]int16
	mixOut  [maxTapSamples]byte
}
