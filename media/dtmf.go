package media

import (
	"math"
	"time"
)

// In-band DTMF detection with the Goertzel algorithm, after the structure of
// spandsp's detector: short blocks (102 samples at 8 kHz, 12.75 ms) so a
// 40 ms tone spans at least two whole blocks, and a press is confirmed when
// two consecutive blocks agree. Each block must pass:
//   - a minimum level for both tones,
//   - twist: the high-group tone may be up to 4 dB above or 8 dB below the
//     low-group one (lines attenuate high frequencies),
//   - relative peak: the winning tone of each group is 8 dB above the others
//     of its group (speech and chords excite several),
//   - purity: the two tones carry most of the block's energy (speech and
//     music spread theirs over many harmonics).

var dtmfRowFreqs = [4]float64{697, 770, 852, 941}
var dtmfColFreqs = [4]float64{1209, 1336, 1477, 1633}

var dtmfKeys = [4][4]rune{
	{'1', '2', '3', 'A'},
	{'4', '5', '6', 'B'},
	{'7', '8', '9', 'C'},
	{'*', '0', '#', 'D'},
}

const (
	dtmfBlockAt8k     = 102
	dtmfNormalTwist   = 6.3  // 8 dB, power ratio
	dtmfReverseTwist  = 2.5  // 4 dB
	dtmfRelativePeak  = 6.3  // 8 dB
	dtmfPurity        = 0.55 // share of block energy in the two tones
	dtmfMinAmplitude  = 400  // per tone, 16-bit scale: about -35 dBm0
	dtmfConfirmBlocks = 2
	dtmfReleaseBlocks = 2
)

// DTMFDetector finds DTMF key presses in linear PCM. It is not safe for
// concurrent use; each stream needs its own. It keeps no buffers: frames of
// any length are folded into the running Goertzel state sample by sample.
type DTMFDetector struct {
	block    int
	blockDur time.Duration
	coef     [8]float64
	s1, s2   [8]float64
	energy   float64
	n        int
	minPower float64 // Goertzel |X|^2 threshold per tone

	last     rune // per-block result of the previous block
	lastRun  int  // consecutive blocks with result == last
	down     rune // key currently reported as pressed, 0 if none
	downRun  int  // blocks the current key has been seen, for Duration
	released int  // consecutive blocks not showing down
}

// NewDTMFDetector returns a detector for audio at sampleRate Hz.
func NewDTMFDetector(sampleRate int) *DTMFDetector {
	d := &DTMFDetector{}
	d.init(sampleRate)
	return d
}

// init exists so a Session can embed a detector by value.
func (d *DTMFDetector) init(sampleRate int) {
	if sampleRate <= 0 {
		sampleRate = 8000
	}
	*d = DTMFDetector{block: max(1, (dtmfBlockAt8k*sampleRate+4000)/8000)}
	d.blockDur = time.Duration(d.block) * time.Second / time.Duration(sampleRate)
	for i, f := range dtmfRowFreqs {
		d.coef[i] = 2 * math.Cos(2*math.Pi*f/float64(sampleRate))
	}
	for i, f := range dtmfColFreqs {
		d.coef[4+i] = 2 * math.Cos(2*math.Pi*f/float64(sampleRate))
	}
	a := dtmfMinAmplitude * float64(d.block) / 2
	d.minPower = a * a
}

// Reset forgets all state, e.g. after a gap in the audio.
func (d *DTMFDetector) Reset() {
	*d = DTMFDetector{block: d.block, blockDur: d.blockDur, coef: d.coef, minPower: d.minPower}
}

// Process consumes a frame and reports a key once per press, as soon as the
// press is confirmed (about 25 ms into the tone).
func (d *DTMFDetector) Process(frame []int16) (key rune, ok bool) {
	for len(frame) > 0 {
		c := min(len(frame), d.block-d.n)
		d.goertzel(frame[:c])
		frame = frame[c:]
		d.n += c
		if d.n == d.block {
			if k, hit := d.endBlock(); hit && !ok {
				key, ok = k, true
			}
		}
	}
	return key, ok
}

// pressDuration is how long the reported key has been seen so far.
func (d *DTMFDetector) pressDuration() time.Duration {
	return time.Duration(d.downRun) * d.blockDur
}

// goertzel runs the eight filters four at a time: each filter is a serial
// dependency chain, so interleaving four keeps the FPU busy while fitting
// the state in registers.
func (d *DTMFDetector) goertzel(x []int16) {
	for g := 0; g < 8; g += 4 {
		c0, c1, c2, c3 := d.coef[g], d.coef[g+1], d.coef[g+2], d.coef[g+3]
		a1, a2 := d.s1[g], d.s2[g]
		b1, b2 := d.s1[g+1], d.s2[g+1]
		e1, e2 := d.s1[g+2], d.s2[g+2]
		f1, f2 := d.s1[g+3], d.s2[g+3]
		for _, s := range x {
			v := float64(s)
			a1, a2 = v+c0*a1-a2, a1
			b1, b2 = v+c1*b1-b2, b1
			e1, e2 = v+c2*e1-e2, e1
			f1, f2 = v+c3*f1-f2, f1
		}
		d.s1[g], d.s2[g] = a1, a2
		d.s1[g+1], d.s2[g+1] = b1, b2
		d.s1[g+2], d.s2[g+2] = e1, e2
		d.s1[g+3], d.s2[g+3] = f1, f2
	}
	var e float64
	for _, s := range x {
		v := float64(s)
		e += v * v
	}
	d.energy += e
}

func (d *DTMFDetector) endBlock() (rune, bool) {
	var p [8]float64
	for i := range p {
		s1, s2 := d.s1[i], d.s2[i]
		p[i] = s1*s1 + s2*s2 - d.coef[i]*s1*s2
	}
	energy := d.energy
	d.s1, d.s2, d.energy, d.n = [8]float64{}, [8]float64{}, 0, 0

	key := classify(&p, energy, d.minPower, d.block)
	if key == d.last {
		d.lastRun++
	} else {
		d.last, d.lastRun = key, 1
	}
	if d.down != 0 {
		if key == d.down {
			d.downRun++
			d.released = 0
			return 0, false
		}
		d.released++
		if d.released < dtmfReleaseBlocks {
			// A single bad block (a dropped packet, a click) inside a
			// press must not split it into two presses.
			return 0, false
		}
		d.down, d.downRun = 0, 0
	}
	if key != 0 && d.lastRun >= dtmfConfirmBlocks {
		d.down, d.downRun, d.released = key, d.lastRun, 0
		return key, true
	}
	return 0, false
}

func classify(p *[8]float64, energy, minPower float64, n int) rune {
	r, c := 0, 4
	for i := 1; i < 4; i++ {
		if p[i] > p[r] {
			r = i
		}
		if p[4+i] > p[c] {
			c = 4 + i
		}
	}
	row, col := p[r], p[c]
	if row < minPower || col < minPower {
		return 0
	}
	if row > col*dtmfNormalTwist || col > row*dtmfReverseTwist {
		return 0
	}
	for i := range 4 {
		if i != r && p[i]*dtmfRelativePeak > row {
			return 0
		}
		if 4+i != c && p[4+i]*dtmfRelativePeak > col {
			return 0
		}
	}
	// |X|^2 of a sine of amplitude A over n samples is (A n / 2)^2 while its
	// energy is A^2 n / 2, so the tone energy is |X|^2 * 2 / n.
	if (row+col)*2/float64(n) < dtmfPurity*energy {
		return 0
	}
	return dtmfKeys[r][c-4]
}

// dtmfEvent maps a key to its RFC 4733 event code.
func dtmfEvent(k rune) (uint8, bool) {
	switch {
	case k >= '0' && k <= '9':
		return uint8(k - '0'), true
	case k == '*':
		return 10, true
	case k == '#':
		return 11, true
	case k >= 'A' && k <= 'D':
		return uint8(12 + k - 'A'), true
	case k >= 'a' && k <= 'd':
		return uint8(12 + k - 'a'), true
	}
	return 0, false
}

const dtmfEventKeys = "0123456789*#ABCD"

func dtmfKey(ev uint8) (rune, bool) {
	if int(ev) < len(dtmfEventKeys) {
		return rune(dtmfEventKeys[ev]), true
	}
	return 0, false
}
