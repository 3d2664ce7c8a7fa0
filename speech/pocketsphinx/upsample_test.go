package pocketsphinx

import (
	"math"
	"testing"
)

// A tone in the telephone band comes out at the same level and frequency;
// the image a zero-stuffing upsampler would create at 8000-f Hz is gone.
func TestUpsample2(t *testing.T) {
	const n = 8000
	for _, f := range []float64{300, 1000, 3400} {
		in := make([]int16, n)
		for i := range in {
			in[i] = int16(8000 * math.Sin(2*math.Pi*f*float64(i)/8000))
		}
		out := upsample2(nil, in)
		if len(out) != 2*n {
			t.Fatalf("len %d", len(out))
		}
		body := out[2000 : 2*n-2000] // away from the edges' missing taps
		level := func(freq float64) float64 {
			var re, im float64
			for i, v := range body {
				ph := 2 * math.Pi * freq * float64(i) / 16000
				re += float64(v) * math.Cos(ph)
				im += float64(v) * math.Sin(ph)
			}
			return 2 * math.Hypot(re, im) / float64(len(body))
		}
		pass, image := level(f), level(8000-f)
		if math.Abs(pass-8000) > 8000*0.02 {
			t.Errorf("%v Hz: level %.0f, want 8000", f, pass)
		}
		if db := 20 * math.Log10(image/pass); db > -40 {
			t.Errorf("%v Hz: image at %v Hz only %.1f dB down", f, 8000-f, db)
		}
	}
}

// Grammars with odd characters and every digits form compile in the real
// decoder, not just in the JSGF text test.
func TestGrammarsCompileInDecoder(t *testing.T) {
	e := engine(t)
	d, err := e.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer e.release(d)
	grams := []struct {
		phrases []string
		digits  bool
		lo, hi  int
	}{
		{[]string{`lost; card <now> | please`, `my card's "gone" (stolen)`, "card #2 & 24%"}, false, 0, 0},
		{nil, true, 0, 0},
		{nil, true, 4, 4},
		{nil, true, 2, 6},
		{[]string{"go back"}, true, 8, 0},
	}
	for i, gr := range grams {
		g := menu
		g.Choices = nil
		if gr.phrases != nil {
			g.Choices = append(g.Choices, menu.Choices[0])
			g.Choices[0].Phrases = gr.phrases
		}
		g.Digits, g.MinDigits, g.MaxDigits = gr.digits, gr.lo, gr.hi
		c, err := e.Compile(g)
		if err != nil {
			t.Errorf("grammar %d: %v", i, err)
			continue
		}
		if err := d.useGrammar(c.Key, c.JSGF); err != nil {
			t.Errorf("grammar %d: %v\n%s", i, err, c.JSGF)
		}
	}
}
