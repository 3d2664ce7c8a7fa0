package media

import "math"

// Resampling happens once per prompt at load time, so it favours quality over
// speed: a Kaiser-windowed sinc low-pass evaluated as a polyphase filter.
// Naive decimation (keeping every n-th sample) folds everything above 4 kHz
// back into the telephone band, which is audible on music on hold.

const (
	// Cut-off as a fraction of the lower Nyquist frequency: 0.92 of 4 kHz
	// keeps the whole 300-3400 Hz telephone band flat and leaves a
	// transition band up to 4 kHz.
	resampleCutoff = 0.92
	// Zero crossings of the sinc on each side. 16 with the Kaiser window
	// below gives roughly 70-80 dB of stop-band rejection.
	resampleZeroCrossings = 16
	resampleKaiserBeta    = 8.0
	// When the rate ratio needs more phases than this (odd rates such as
	// 8001 Hz) the fractional position is rounded to the nearest phase; the
	// timing error is below 1/1024 of a sample.
	resampleMaxPhases = 1024
)

// resample converts x (one channel, any scale) from inRate to outRate.
func resample(x []float64, inRate, outRate int) []float64 {
	if inRate == outRate || len(x) == 0 {
		out := make([]float64, len(x))
		copy(out, x)
		return out
	}
	g := gcd(inRate, outRate)
	up, down := outRate/g, inRate/g // output n sits at input time n*down/up

	fc := resampleCutoff * 0.5 * float64(min(inRate, outRate)) / float64(inRate) // cycles per input sample
	half := float64(resampleZeroCrossings) / (2 * fc)                            // kernel half-width in input samples
	k := int(math.Ceil(half))
	phases := min(up, resampleMaxPhases)

	taps := 2 * k
	bank := make([]float64, (phases+1)*taps)
	for p := 0; p <= phases; p++ {
		frac := float64(p) / float64(phases)
		row := bank[p*taps : (p+1)*taps]
		var sum float64
		for j := range taps {
			d := float64(j - k + 1) // input offset relative to floor(t)
			xx := frac - d          // distance from the tap to the output instant
			if math.Abs(xx) >= half {
				continue
			}
			row[j] = WindowedSinc(xx, fc, xx/half, resampleKaiserBeta)
			sum += row[j]
		}
		// Unity DC gain per phase, otherwise the small ripple of the
		// truncated kernel becomes a modulation at the phase rate.
		if sum != 0 {
			for j := range row {
				row[j] /= sum
			}
		}
	}

	outLen := int(int64(len(x)) * int64(up) / int64(down))
	out := make([]float64, outLen)
	for n := range out {
		num := int64(n) * int64(down)
		i := int(num / int64(up))
		rem := num % int64(up)
		p := int((rem*int64(phases) + int64(up)/2) / int64(up))
		row := bank[p*taps : (p+1)*taps]
		var acc float64
		start := i - k + 1
		for j, w := range row {
			idx := start + j
			if idx < 0 || idx >= len(x) {
				continue
			}
			acc += w * x[idx]
		}
		out[n] = acc
	}
	return out
}

// WindowedSinc is one tap of a Kaiser-windowed sinc low-pass: the ideal
// low-pass impulse response for a cut-off of fc cycles per sample at
// distance x samples, weighted by the Kaiser window (shape beta) at r, the
// position in the window from -1 to 1. Filter designers here and in the
// WebRTC leg's streaming resampler share it.
func WindowedSinc(x, fc, r, beta float64) float64 {
	return 2 * fc * sinc(2*fc*x) * besselI0(beta*math.Sqrt(1-r*r)) / besselI0(beta)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	px := math.Pi * x
	return math.Sin(px) / px
}

// besselI0 is the zeroth-order modified Bessel function (power series),
// needed for the Kaiser window.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 64; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func toInt16(x []float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		v = math.Round(v)
		switch {
		case v > math.MaxInt16:
			v = math.MaxInt16
		case v < math.MinInt16:
			v = math.MinInt16
		}
		out[i] = int16(v)
	}
	return out
}
