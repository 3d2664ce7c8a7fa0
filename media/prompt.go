package media

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

const (
	sampleRate     = 8000
	frameSamples   = 160 // 20 ms at 8 kHz; also the RTP timestamp step
	frameDuration  = 20 * time.Millisecond
	samplesPerMsec = sampleRate / 1000
)

// Source gives 20 ms frames of 8 kHz linear PCM. ReadFrame fills dst and
// returns false when the source is finished (dst is then ignored).
// ReadFrame is called from a pacer goroutine shared with other calls: it
// must not block.
type Source interface {
	ReadFrame(dst []int16) bool
}

// Prompt is audio loaded once and shared read-only by every call that plays
// it. It keeps the PCM plus both G.711 encodings so that playing a prompt
// costs a copy per packet instead of an encode per packet per call.
type Prompt struct {
	pcm  []int16
	ulaw []byte
	alaw []byte
}

// NewPromptPCM makes a Prompt from 8 kHz mono samples (copied).
func NewPromptPCM(samples []int16) *Prompt {
	return newPrompt(append([]int16(nil), samples...))
}

func newPrompt(pcm []int16) *Prompt {
	p := &Prompt{pcm: pcm, ulaw: make([]byte, len(pcm)), alaw: make([]byte, len(pcm))}
	EncodePCMU(p.ulaw, pcm)
	EncodePCMA(p.alaw, pcm)
	return p
}

// Duration is the playing time of the prompt.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(len(p.pcm)) * time.Second / sampleRate
}

// Samples returns the number of 8 kHz samples in the prompt.
func (p *Prompt) Samples() int { return len(p.pcm) }

func (p *Prompt) encoded(pt PayloadType) []byte {
	if pt == PTPCMA {
		return p.alaw
	}
	return p.ulaw
}

// Player plays a Prompt once or in a loop. It implements Source, and a
// Session recognises it and copies the prompt's pre-encoded bytes instead of
// calling ReadFrame and encoding. A Player is a single playback: give each
// call its own (they are cheap; the Prompt is what is shared).
type Player struct {
	prompt  *Prompt
	loop    bool
	pos     atomic.Int64 // samples handed out so far
	stopped atomic.Bool
	paused  atomic.Bool
	done    chan struct{}
	once    sync.Once
}

// Pause holds the playback where it is (the session sends silence) until
// Resume. ARI's playback control uses it.
func (pl *Player) Pause() { pl.paused.Store(true) }

// Resume continues a paused playback.
func (pl *Player) Resume() { pl.paused.Store(false) }

// Restart goes back to the beginning.
func (pl *Player) Restart() { pl.pos.Store(0) }

// Skip moves the position by d (negative: back), clamped to the prompt.
func (pl *Player) Skip(d time.Duration) {
	delta := int64(d / (time.Second / 8000))
	n := int64(len(pl.prompt.pcm))
	for {
		old := pl.pos.Load()
		v := min(max(old+delta, 0), n)
		if pl.pos.CompareAndSwap(old, v) {
			return
		}
	}
}

// NewPlayer returns a Player for p. With loop it restarts seamlessly at the
// end (music on hold) until Stop.
func NewPlayer(p *Prompt, loop bool) *Player {
	return &Player{prompt: p, loop: loop, done: make(chan struct{})}
}

// Done is closed when playback finished (the last frame was handed to the
// session) or Stop was called.
func (pl *Player) Done() <-chan struct{} { return pl.done }

// Stop ends playback; the session sends nothing from the next frame on.
func (pl *Player) Stop() {
	pl.stopped.Store(true)
	pl.finish()
}

func (pl *Player) finish() { pl.once.Do(func() { close(pl.done) }) }

// ReadFrame implements Source.
func (pl *Player) ReadFrame(dst []int16) bool {
	return fillFrom(pl, pl.prompt.pcm, dst, 0)
}

// fillPayload is the session's fast path: it copies len(dst) pre-encoded
// bytes for pt.
func (pl *Player) fillPayload(dst []byte, pt PayloadType) bool {
	return fillFrom(pl, pl.prompt.encoded(pt), dst, silenceByte(pt))
}

// fillFrom copies the next len(dst) items of src, padding the last frame
// with silence or wrapping around when looping. Claiming the position with
// an atomic add keeps it race free even if a Player is misused by two
// sessions (each then gets different frames).
func fillFrom[T int16 | byte](pl *Player, src []T, dst []T, silence T) bool {
	n := len(src)
	if pl.stopped.Load() || n == 0 {
		pl.finish()
		return false
	}
	if pl.paused.Load() {
		for i := range dst {
			dst[i] = silence
		}
		return true
	}
	want := int64(len(dst))
	start := pl.pos.Add(want) - want
	if !pl.loop {
		if start >= int64(n) {
			pl.finish()
			return false
		}
		c := copy(dst, src[start:])
		for i := c; i < len(dst); i++ {
			dst[i] = silence
		}
		if start+want >= int64(n) {
			pl.finish()
		}
		return true
	}
	off := int(start % int64(n))
	for filled := 0; filled < len(dst); off = 0 {
		filled += copy(dst[filled:], src[off:])
	}
	return true
}

// NewTone returns a Source playing the sum of freqs (Hz) for dur; dur <= 0
// plays until replaced. Each frequency gets an equal share of about -6 dBFS.
func NewTone(freqs []float64, dur time.Duration) Source {
	return NewCadence(freqs, dur, 0, dur)
}

// NewCadence plays freqs for on, silence for off, repeating, for total
// (total <= 0: forever). Ringback in North America is
// NewCadence([]float64{440, 480}, 2*time.Second, 4*time.Second, 0).
func NewCadence(freqs []float64, on, off, total time.Duration) Source {
	t := &tone{
		osc:   make([]oscillator, len(freqs)),
		on:    int64(on) * sampleRate / int64(time.Second),
		off:   int64(off) * sampleRate / int64(time.Second),
		total: int64(total) * sampleRate / int64(time.Second),
	}
	if len(freqs) > 0 {
		amp := 16000 / float64(len(freqs))
		for i, f := range freqs {
			w := 2 * math.Pi * f / sampleRate
			t.osc[i] = oscillator{re: amp, cos: math.Cos(w), sin: math.Sin(w), amp: amp}
		}
	}
	return t
}

// oscillator rotates a phasor instead of calling math.Sin per sample.
type oscillator struct {
	re, im, cos, sin, amp float64
}

type tone struct {
	osc            []oscillator
	on, off, total int64 // in samples; on <= 0 means continuous
	pos            int64
}

func (t *tone) ReadFrame(dst []int16) bool {
	if t.total > 0 && t.pos >= t.total {
		return false
	}
	for i := range dst {
		p := t.pos + int64(i)
		active := t.total <= 0 || p < t.total
		if active && t.on > 0 && t.off > 0 {
			active = p%(t.on+t.off) < t.on
		}
		var v float64
		for k := range t.osc {
			o := &t.osc[k]
			o.re, o.im = o.re*o.cos-o.im*o.sin, o.im*o.cos+o.re*o.sin
			if active {
				v += o.im
			}
		}
		dst[i] = int16(math.Round(v))
	}
	t.pos += int64(len(dst))
	// Renormalise once per frame: rounding errors would otherwise slowly
	// change the amplitude over a long ringback.
	for k := range t.osc {
		o := &t.osc[k]
		if m := math.Hypot(o.re, o.im); m > 0 {
			o.re, o.im = o.re*o.amp/m, o.im*o.amp/m
		}
	}
	return true
}
