package pocketsphinx

import (
	"math"
	"math/rand/v2"
	"testing"

	"hotline/speech"
	"hotline/speech/speechtest"
)

func TestZZVadNoise(t *testing.T) {
	var talk []int16
	for _, s := range speechtest.CallSentences[:3] {
		talk = append(append(talk, telephone(t, fliteVoices[1], s)...), make([]int16, 8000)...)
	}
	var sum float64
	n := 0
	for _, v := range talk {
		if v != 0 {
			sum += float64(v) * float64(v)
			n++
		}
	}
	rmsv := math.Sqrt(sum / float64(n))
	for _, snr := range []float64{0, 20, 10} {
		x := make([]int16, len(talk))
		rng := rand.New(rand.NewPCG(1, 2))
		amp := 0.0
		if snr > 0 {
			amp = rmsv / math.Pow(10, snr/20)
		}
		for i, v := range talk {
			x[i] = clamp16(float64(v) + amp*rng.NormFloat64())
		}
		v := newVAD(3, 15)
		for f := 0; f+160 <= len(x); f += 160 {
			ev := v.push(x[f : f+160])
			if ev != vadNone || f%(160*25) == 0 {
				t.Logf("snr %v t=%.2f db=%.1f noise=%.1f ev=%d in=%v quiet=%d", snr, float64(f)/8000, frameDB(x[f:f+160]), v.noise, ev, v.inSpeech, v.quiet)
			}
		}
	}
	_ = speech.FrameSamples
}
