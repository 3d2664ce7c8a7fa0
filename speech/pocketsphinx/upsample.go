package pocketsphinx

import "math"

// The acoustic model is wideband (16 kHz features, filter bank up to
// 6.8 kHz), so telephone audio is upsampled 2x before decoding; the 8 kHz
// front end of this PocketSphinx version does far worse on these models.
// Interpolation is a windowed-sinc half-band FIR: zero-stuff, then
// low-pass at 4 kHz. The even output samples are the input itself (the
// half-band kernel is 1 at 0 and 0 at even offsets), so only the odd ones
// are computed: halfTaps multiplies per input sample.

const halfTaps = 16 // taps per side for the odd phase; ~60 dB stop band

// upKernel[i] weights x[n-halfTaps+1+i] for the sample halfway between
// x[n] and x[n+1].
var upKernel = func() [2 * halfTaps]float64 {
	var k [2 * halfTaps]float64
	const beta = 6.0
	i0 := bessel0(beta)
	var sum float64
	for i := range k {
		// distance in input samples from the tap to the new instant
		d := float64(i-halfTaps+1) - 0.5
		r := d / (halfTaps + 0.5)
		w := bessel0(beta*math.Sqrt(1-r*r)) / i0
		// half-band: cutoff at the input Nyquist (4 kHz), slightly
		// inside it (0.95) so the transition band falls above 3.8 kHz.
		const fc = 0.95 * 0.5
		x := 2 * fc * d
		k[i] = 2 * fc * math.Sin(math.Pi*x) / (math.Pi * x) * w
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// upsample2 writes 2*len(in) samples to dst (grown as needed) and returns it.
func upsample2(dst []int16, in []int16) []int16 {
	return upsampleSpan(dst[:0], in, 0, len(in))
}

// upsampleSpan appends to dst the 16 kHz samples of in[from:to], reading
// the samples around the span as the filter's context (zeros past either
// end of in). A phrase decoded as it arrives is upsampled in spans that
// stop halfTaps short of the audio received, so its samples equal those
// of upsample2 over the whole phrase.
func upsampleSpan(dst []int16, in []int16, from, to int) []int16 {
	n := len(in)
	for i := from; i < to; i++ {
		var acc float64
		for j, w := range upKernel {
			idx := i - halfTaps + 1 + j
			if idx >= 0 && idx < n {
				acc += w * float64(in[idx])
			}
		}
		dst = append(dst, in[i], clamp16(acc))
	}
	return dst
}

func clamp16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 30; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
	}
	return sum
}
