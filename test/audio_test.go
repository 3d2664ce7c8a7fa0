package e2e

// Audio helpers written independently of the server's media package, so the
// end-to-end tests do not share its bugs: WAV files, G.711, DTMF tones,
// energy envelopes and their normalised cross-correlation.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"
)

const sampleRate = 8000

// readWAV loads a 16-bit PCM WAV file as mono samples (the first channel)
// and returns them with the file's sample rate.
func readWAV(path string) ([]int16, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%s: not a RIFF/WAVE file", path)
	}
	var (
		rate, channels, bits int
		pcm                  []byte
		haveFmt              bool
	)
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(binary.LittleEndian.Uint32(data[off+4:]))
		body := data[off+8 : min(len(data), off+8+size)]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, fmt.Errorf("%s: short fmt chunk", path)
			}
			format := binary.LittleEndian.Uint16(body)
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
			if format != 1 && format != 0xFFFE {
				return nil, 0, fmt.Errorf("%s: WAV format %d is not PCM", path, format)
			}
			haveFmt = true
		case "data":
			pcm = body
		}
		off += 8 + size + size&1
	}
	if !haveFmt || pcm == nil {
		return nil, 0, fmt.Errorf("%s: missing fmt or data chunk", path)
	}
	if bits != 16 || channels < 1 {
		return nil, 0, fmt.Errorf("%s: want 16-bit PCM, got %d-bit with %d channels", path, bits, channels)
	}
	frame := 2 * channels
	out := make([]int16, len(pcm)/frame)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(pcm[i*frame:]))
	}
	return out, rate, nil
}

// writeWAV writes 16-bit mono PCM.
func writeWAV(path string, samples []int16, rate int) error {
	b := make([]byte, 44+2*len(samples))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(samples)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(samples)))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return os.WriteFile(path, b, 0o644)
}

func samplesDuration(n, rate int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(rate)
}

// wavDuration is the playing time of a WAV file.
func wavDuration(path string) (time.Duration, error) {
	s, rate, err := readWAV(path)
	if err != nil {
		return 0, err
	}
	return samplesDuration(len(s), rate), nil
}

// ---- G.711 (ITU-T G.711, the classic Sun reference formulation) ----

func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > clip {
		v = clip
	}
	v += bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

func ulawDecode(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 7
	mant := int(u & 0x0F)
	v := ((mant << 3) + 0x84) << exp
	v -= 0x84
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// ---- tones ----

// dtmfFreqs are the (row, column) frequencies of a key.
var dtmfFreqs = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477},
}

// dtmfTones renders keys as tones of length on separated by gaps of off,
// each tone at amplitude amp (16-bit scale) per frequency.
func dtmfTones(keys string, on, off time.Duration, amp float64) []int16 {
	nOn := int(on.Seconds() * sampleRate)
	nOff := int(off.Seconds() * sampleRate)
	var out []int16
	for _, k := range keys {
		f, ok := dtmfFreqs[k]
		if !ok {
			panic(fmt.Sprintf("dtmfTones: %q is not a key", k))
		}
		for i := range nOn {
			t := float64(i) / sampleRate
			v := amp*math.Sin(2*math.Pi*f[0]*t) + amp*math.Sin(2*math.Pi*f[1]*t)
			out = append(out, int16(v))
		}
		out = append(out, make([]int16, nOff)...)
	}
	return out
}

// ---- envelopes ----

// envelope is the RMS of each frame of frameLen samples.
func envelope(s []int16, frameLen int) []float64 {
	n := len(s) / frameLen
	out := make([]float64, n)
	for i := range n {
		var e float64
		for _, v := range s[i*frameLen : (i+1)*frameLen] {
			e += float64(v) * float64(v)
		}
		out[i] = math.Sqrt(e / float64(frameLen))
	}
	return out
}

// ncc is the normalised cross-correlation (Pearson) of two equal-length
// series: 1 for the same shape whatever the gain.
func ncc(a, b []float64) float64 {
	n := min(len(a), len(b))
	if n == 0 {
		return 0
	}
	var ma, mb float64
	for i := range n {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(n)
	mb /= float64(n)
	var num, da, db float64
	for i := range n {
		x, y := a[i]-ma, b[i]-mb
		num += x * y
		da += x * x
		db += y * y
	}
	if da == 0 || db == 0 {
		return 0
	}
	return num / math.Sqrt(da*db)
}

// bestAlignment slides ref over rec (lags 0..maxLag frames) and returns the
// lag with the highest NCC over the whole of ref. rec must extend past
// lag+len(ref); shorter overlaps are not considered.
func bestAlignment(ref, rec []float64, maxLag int) (lag int, score float64) {
	score = math.Inf(-1)
	lag = -1
	for l := 0; l <= maxLag && l+len(ref) <= len(rec); l++ {
		if c := ncc(ref, rec[l:l+len(ref)]); c > score {
			lag, score = l, c
		}
	}
	return lag, score
}

// activeFrames counts frames louder than thresh.
func activeFrames(env []float64, thresh float64) int {
	n := 0
	for _, v := range env {
		if v > thresh {
			n++
		}
	}
	return n
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func dB(ratio float64) float64 { return 20 * math.Log10(ratio) }

// audioMatch is how well a recording contains a reference sound.
type audioMatch struct {
	Lag         time.Duration // where in the recording the reference starts
	NCC         float64       // envelope correlation at that lag
	RefActive   time.Duration // time the reference is louder than its threshold
	RecActive   time.Duration // same, in the aligned window of the recording
	LevelDiffDB float64       // recording level minus reference level (aligned window)
}

func (m audioMatch) String() string {
	return fmt.Sprintf("lag=%v ncc=%.3f active ref=%v rec=%v level %+.1f dB", m.Lag, m.NCC, m.RefActive, m.RecActive, m.LevelDiffDB)
}

const envFrame = 80 // 10 ms at 8 kHz

// matchAudio finds ref in rec (both 8 kHz), looking at start offsets up to
// maxLag.
func matchAudio(ref, rec []int16, maxLag time.Duration) audioMatch {
	re := envelope(ref, envFrame)
	ce := envelope(rec, envFrame)
	lag, score := bestAlignment(re, ce, int(maxLag/(10*time.Millisecond)))
	m := audioMatch{Lag: time.Duration(lag) * 10 * time.Millisecond, NCC: score}
	if lag < 0 {
		return m
	}
	win := ce[lag : lag+len(re)]
	thresh := 0.1 * maxOf(re)
	m.RefActive = time.Duration(activeFrames(re, thresh)) * 10 * time.Millisecond
	// The recording's threshold follows its own level, so a gain change on
	// the way (G.711, normalisation) does not move the count.
	m.RecActive = time.Duration(activeFrames(win, 0.1*maxOf(win))) * 10 * time.Millisecond
	if a, b := meanOf(re), meanOf(win); a > 0 && b > 0 {
		m.LevelDiffDB = dB(b / a)
	}
	return m
}
