package pocketsphinx

import "math"

// vad is an energy detector on the 8 kHz frames, ahead of the decoder.
//
// Why not the decoder's own VAD (ps_get_in_speech): it only runs while
// audio is pushed through the decoder, which would pin a 30 MB decoder to
// every caller sitting at a prompt in silence; and whole-utterance decoding
// (see stream.go) needs the boundaries before the decoder sees the audio.
// Telephone audio makes energy workable: the line is quiet between words
// (G.711 silence, comfort noise, a little hiss), speech sits 20-40 dB above.
//
// The noise floor adapts: it drops at once to a quieter frame and creeps up
// slowly through frames that are not speech, so a noisy line raises the
// threshold within a second or two while speech itself (which starts
// abruptly) does not.
type vad struct {
	noise     float64 // noise floor estimate, dBFS
	warm      int     // frames seen during warm-up
	warmSum   float64
	above     int // consecutive frames above the start threshold
	inSpeech  bool
	quiet     int // consecutive frames below the stop threshold, in speech
	startRun  int // frames above threshold to declare speech (debounce)
	endFrames int // quiet frames that end speech

	// A steady sound (a hum, a tone, a fan starting after the warm-up)
	// rises above the floor like speech, but then never falls back: the
	// floor only learns while there is no speech, so such a line would
	// stay "in speech" for good, each MaxPhrase of hum decoded into
	// words and a decoder held all along. Speech is never steady: its
	// level swings by tens of dB several times a second. So while in
	// speech the level's range is kept per block of steadyBlock frames,
	// and a second of blocks within vadSteadyDB is noise, not speech.
	blkMin, blkMax float64
	blkN           int
	mins, maxs     [steadyBlocks]float64
	blocks         int // blocks completed since the onset
}

const (
	vadFloorDB     = -90.0 // digital silence
	vadInitNoise   = -65.0
	vadStartMargin = 12.0  // dB above the noise floor to start speech
	vadStopMargin  = 7.0   // hysteresis: dB above the floor that still counts as speech
	vadMinStartDB  = -48.0 // speech never starts below this level
	vadMinStopDB   = -54.0
	// vadWarmup frames (200 ms) at the start of a stream only measure the
	// line: a fixed initial guess would take loud hiss for speech, and
	// nobody answers a prompt within its first 200 ms.
	vadWarmup = 10
	// steadyBlock frames (200 ms) × steadyBlocks: a second of sound whose
	// level stays within vadSteadyDB is steady. Speech's syllables swing
	// it by 15-30 dB at 4-5 per second.
	steadyBlock  = 10
	steadyBlocks = 5
	vadSteadyDB  = 6.0
)

func newVAD(startFrames, endFrames int) *vad {
	return &vad{noise: vadInitNoise, startRun: startFrames, endFrames: endFrames}
}

// frameDB is the frame's power in dB relative to a full-scale square wave.
func frameDB(f []int16) float64 {
	var sum float64
	for _, s := range f {
		v := float64(s)
		sum += v * v
	}
	p := sum / float64(len(f)) / (32768.0 * 32768.0)
	if p <= 1e-9 {
		return vadFloorDB
	}
	return max(10*math.Log10(p), vadFloorDB)
}

// vadEvent is what one frame changed.
type vadEvent uint8

const (
	vadNone vadEvent = iota
	vadStart
	vadEnd
	// vadSteady ends what began as speech but is a steady sound: the
	// last steadyFrames frames were not speech, and the floor is now at
	// their level.
	vadSteady
)

// steadyFrames is the length of the steady stretch vadSteady reports.
const steadyFrames = steadyBlock * steadyBlocks

// push classifies one 20 ms frame.
func (v *vad) push(f []int16) vadEvent {
	db := frameDB(f)
	if v.warm < vadWarmup {
		v.warm++
		v.warmSum += db
		v.noise = v.warmSum / float64(v.warm)
		return vadNone
	}
	start := max(v.noise+vadStartMargin, vadMinStartDB)
	stop := max(v.noise+vadStopMargin, vadMinStopDB)
	if !v.inSpeech {
		if db >= start {
			v.above++
			if v.above >= v.startRun {
				v.inSpeech, v.quiet = true, 0
				v.blkN, v.blocks = 0, 0
				return vadStart
			}
			return vadNone
		}
		v.above = 0
		if db < v.noise {
			v.noise = db
		} else {
			// ~0.4 dB per frame at most: 20 dB of new hiss is learned in
			// about a second.
			v.noise += min(0.05*(db-v.noise), 0.4)
		}
		v.noise = max(v.noise, vadFloorDB)
		return vadNone
	}
	if db < stop {
		v.quiet++
		if v.quiet >= v.endFrames {
			v.inSpeech, v.above = false, 0
			return vadEnd
		}
	} else {
		v.quiet = 0
	}
	if v.steady(db) {
		v.inSpeech, v.above = false, 0
		return vadSteady
	}
	return vadNone
}

// steady adds a frame's level to the current block and reports whether
// the last steadyBlocks blocks held a steady sound; if so the floor moves
// to its level, so it neither goes on as speech nor starts again.
func (v *vad) steady(db float64) bool {
	if v.blkN == 0 {
		v.blkMin, v.blkMax = db, db
	}
	v.blkMin, v.blkMax = min(v.blkMin, db), max(v.blkMax, db)
	if v.blkN++; v.blkN < steadyBlock {
		return false
	}
	v.blkN = 0
	i := v.blocks % steadyBlocks
	v.mins[i], v.maxs[i] = v.blkMin, v.blkMax
	if v.blocks++; v.blocks < steadyBlocks {
		return false
	}
	lo, hi := v.mins[0], v.maxs[0]
	for i := 1; i < steadyBlocks; i++ {
		lo, hi = min(lo, v.mins[i]), max(hi, v.maxs[i])
	}
	if hi-lo >= vadSteadyDB {
		return false
	}
	// At its top, so the sound's frames sit below the start margin above
	// it whatever their small swings.
	v.noise = hi
	return true
}
