package webrtc

import (
	"math"

	"hotline/media"
)

// Rate conversion between the telephone side (8 kHz) and Opus (48 kHz), a
// factor of 6 each way, on the packet path: streaming (filter state
// carries across packets, so frame edges do not click), preallocated, no
// allocation per packet.
//
// media/resample.go converts a whole prompt at once into new slices, which
// fits load time and not a 50-packets-a-second path; the filter here is
// designed once per leg from the same Kaiser-windowed sinc
// (media.WindowedSinc).
//
// One low-pass serves both directions. Upsampling by 6 needs it to remove
// the images of the 0-4 kHz band (the first one mirrors 3.4 kHz to
// 4.6 kHz); decimating by 6 needs it to keep everything above 4 kHz from
// folding back into the telephone band (Opus from a browser may carry up
// to 20 kHz). Cut-off 3.95 kHz, 240 taps at 48 kHz, Kaiser beta 7.5:
// about 75 dB of stop-band rejection from roughly 4.45 kHz, and flat to
// beyond 3.4 kHz. Its delay is 2.5 ms each way.

const (
	rateFactor     = 6                           // 48000 / 8000
	filterPerPhase = 40                          // taps per polyphase branch
	filterTaps     = rateFactor * filterPerPhase // 240 at 48 kHz
	filterCutoffHz = 3950.0
	filterBeta     = 7.5
)

// lowPass returns the filter, normalised to unity gain at DC.
func lowPass() [filterTaps]float32 {
	var h [filterTaps]float32
	fc := filterCutoffHz / opusRate // cycles per 48 kHz sample
	mid := float64(filterTaps-1) / 2
	var (
		sum  float64
		vals [filterTaps]float64
	)
	for i := range vals {
		x := float64(i) - mid
		vals[i] = media.WindowedSinc(x, fc, x/(mid+1), filterBeta)
		sum += vals[i]
	}
	for i, v := range vals {
		h[i] = float32(v / sum)
	}
	return h
}

// upsampler converts 8 kHz frames of up to maxIn samples to 48 kHz.
type upsampler struct {
	// phase[p] is branch p of the filter, reversed so the inner loop is
	// a forward dot product, and scaled by 6: the zeros stuffed between
	// input samples would otherwise cost that much level.
	phase [rateFactor][filterPerPhase]float32
	// x holds the last filterPerPhase-1 inputs, then the new frame.
	x []float32
}

func newUpsampler(h *[filterTaps]float32, maxIn int) *upsampler {
	u := &upsampler{x: make([]float32, filterPerPhase-1+maxIn)}
	for p := range rateFactor {
		for k := range filterPerPhase {
			u.phase[p][filterPerPhase-1-k] = rateFactor * h[p+rateFactor*k]
		}
	}
	return u
}

// process writes 6*len(in) samples to out; len(in) must not exceed the
// maxIn given to newUpsampler.
func (u *upsampler) process(out, in []int16) {
	const hist = filterPerPhase - 1
	x := u.x[:hist+len(in)]
	for i, v := range in {
		x[hist+i] = float32(v)
	}
	for m := range in {
		win := x[m : m+filterPerPhase]
		o := out[m*rateFactor : m*rateFactor+rateFactor]
		for p := range rateFactor {
			// A plain loop over the fixed-size branch: with 40 taps a
			// dot() call per output sample measured slower.
			var acc float32
			for k, c := range &u.phase[p] {
				acc += c * win[k]
			}
			o[p] = clip16(acc)
		}
	}
	copy(x[:hist], x[len(in):])
}

// downsampler converts 48 kHz frames of up to maxIn samples (a multiple of
// 6) to 8 kHz.
type downsampler struct {
	h [filterTaps]float32 // reversed
	// x holds the last filterTaps-1 inputs, then the new frame.
	x []float32
}

func newDownsampler(h *[filterTaps]float32, maxIn int) *downsampler {
	d := &downsampler{x: make([]float32, filterTaps-1+maxIn)}
	for i := range filterTaps {
		d.h[filterTaps-1-i] = h[i]
	}
	return d
}

// process writes len(in)/6 samples to out.
func (d *downsampler) process(out, in []int16) {
	const hist = filterTaps - 1
	x := d.x[:hist+len(in)]
	for i, v := range in {
		x[hist+i] = float32(v)
	}
	for m := range len(in) / rateFactor {
		// Output m sits at input m*6: only every sixth filter output is
		// computed, which is the whole point of decimating in one step.
		out[m] = clip16(dot(d.h[:], x[m*rateFactor:m*rateFactor+filterTaps]))
	}
	copy(x[:hist], x[len(in):])
}

// dot is the filter's inner product; len(h) is a multiple of 4 and
// len(x) >= len(h). Four partial sums let the CPU overlap the additions
// instead of waiting on one chain (about twice as fast as a plain loop).
func dot(h, x []float32) float32 {
	x = x[:len(h)]
	var a0, a1, a2, a3 float32
	for k := 0; k+3 < len(h); k += 4 {
		a0 += h[k] * x[k]
		a1 += h[k+1] * x[k+1]
		a2 += h[k+2] * x[k+2]
		a3 += h[k+3] * x[k+3]
	}
	return (a0 + a1) + (a2 + a3)
}

func clip16(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v < 0:
		return int16(v - 0.5)
	}
	return int16(v + 0.5)
}
