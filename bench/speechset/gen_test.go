package speechset

import (
	"math"
	"testing"

	"hotline/speech"
)

func sine(freq float64, n int, amp float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/speech.SampleRate)
	}
	return x
}

// The channel filter is what makes the set sound like a phone line: it
// must pass the speech band and cut mains hum and rumble.
func TestHighPass(t *testing.T) {
	for _, tc := range []struct {
		freq       float64
		minDB, max float64
	}{
		{50, -60, -30},
		{150, -20, -8},
		{1000, -0.5, 0.5},
		{3000, -0.5, 0.5},
	} {
		x := sine(tc.freq, speech.SampleRate, 0.5)
		highPass(x, 300)
		// Skip the first 0.1 s: the filter's transient.
		gain := 20 * math.Log10(rms(x[800:])/rms(sine(tc.freq, speech.SampleRate, 0.5)[800:]))
		if gain < tc.minDB || gain > tc.max {
			t.Errorf("%g Hz: gain %.1f dB, want %g..%g", tc.freq, gain, tc.minDB, tc.max)
		}
	}
}

func TestActiveBounds(t *testing.T) {
	x := make([]float64, 8000)
	copy(x[2000:], sine(500, 3000, 0.3))
	lo, hi := activeBounds(x)
	// Bounds are in 10 ms blocks; the block the sine ends in counts.
	if lo != 2000 || hi < 5000 || hi > 5080 {
		t.Errorf("bounds %d-%d, want 2000-5000 within a block", lo, hi)
	}
}

// Items are seeded by name: the same name gives the same noise, and the
// SNR variants of one utterance share level and silences.
func TestSeeded(t *testing.T) {
	a, b := seeded("x_clean").Float64(), seeded("x_clean").Float64()
	if a != b {
		t.Error("same name, different streams")
	}
	if seeded("x_clean").Float64() == seeded("x_10dB").Float64() {
		t.Error("different names, same stream")
	}
}

func TestGrammarsCoverUtterances(t *testing.T) {
	for _, u := range utterances() {
		g, ok := Grammar(u.grammar)
		if !ok {
			t.Fatalf("%q: no grammar %q", u.text, u.grammar)
		}
		if u.expect == OOG || g.Digits {
			continue
		}
		found := false
		for _, c := range g.Choices {
			for _, p := range c.Phrases {
				if p == u.text && c.Name == u.expect {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%q: not a phrase of choice %q", u.text, u.expect)
		}
	}
}
