package pocketsphinx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"hotline/speech"
)

// addNoise mixes white noise at db dBFS (RMS) into a copy of pcm: line
// hiss, or a caller in a car.
func addNoise(pcm []int16, db float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	amp := 32768 * math.Pow(10, db/20)
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = clamp16(float64(v) + r.NormFloat64()*amp)
	}
	return out
}

// speechBounds is where the TTS audio is actually non-silent (20 ms
// frames), the ground truth for the detectors.
func speechBounds(pcm []int16) (first, last int) {
	first, last = -1, -1
	for f := 0; (f+1)*speech.FrameSamples <= len(pcm); f++ {
		if frameDB(pcm[f*speech.FrameSamples:(f+1)*speech.FrameSamples]) > -50 {
			if first < 0 {
				first = f
			}
			last = f
		}
	}
	return first, last
}

func TestVADOnNoisyLine(t *testing.T) {
	for _, noise := range []float64{-200, -60, -45, -35} {
		clean := telephone(t, fliteVoices[0], "my card is lost")
		pcm := append(addNoise(make([]int16, speech.SampleRate), noise, 1), addNoise(clean, noise, 2)...)
		pcm = append(pcm, addNoise(make([]int16, speech.SampleRate), noise, 3)...)
		first, last := speechBounds(append(make([]int16, speech.SampleRate), clean...))
		v := newVAD(3, 35)
		start, end := -1, -1
		for f := 0; (f+1)*speech.FrameSamples <= len(pcm); f++ {
			switch v.push(pcm[f*speech.FrameSamples : (f+1)*speech.FrameSamples]) {
			case vadStart:
				if start < 0 {
					start = f
				}
			case vadEnd:
				if end < 0 {
					end = f
				}
			}
		}
		t.Logf("noise %4.0f dBFS: speech frames %d-%d, VAD start %d (+%d ms) end %d (+%d ms after last speech frame)",
			noise, first, last, start, (start-first)*20, end, (end-last)*20)
		if start < first || start > first+10 {
			t.Errorf("noise %.0f dBFS: speech start at frame %d, speech begins at %d", noise, start, first)
		}
		if end < last || end > last+50 {
			t.Errorf("noise %.0f dBFS: speech end at frame %d, speech ends at %d", noise, end, last)
		}
	}
}

// TestCompareDecoderVAD measures the decoder's own VAD (ps_get_in_speech)
// on the same audio, to compare with TestVADOnNoisyLine. Run with
// HOTLINE_SPEECH_CALIBRATE=1.
func TestCompareDecoderVAD(t *testing.T) {
	if os.Getenv("HOTLINE_SPEECH_CALIBRATE") == "" {
		t.Skip("set HOTLINE_SPEECH_CALIBRATE=1")
	}
	e := engine(t)
	args := append([]string{}, e.args...)
	for i := range args {
		if args[i] == "-remove_silence" {
			args[i+1] = "yes"
		}
	}
	d, err := newDecoder(args, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer d.free()
	c, _ := e.Compile(menu)
	if err := d.useGrammar(c.Key, c.JSGF); err != nil {
		t.Fatal(err)
	}
	for _, noise := range []float64{-200, -60, -45, -35} {
		clean := telephone(t, fliteVoices[0], "my card is lost")
		pcm := append(addNoise(make([]int16, speech.SampleRate), noise, 1), addNoise(clean, noise, 2)...)
		pcm = append(pcm, addNoise(make([]int16, 2*speech.SampleRate), noise, 3)...)
		first, last := speechBounds(append(make([]int16, speech.SampleRate), clean...))
		if err := d.liveStart(c.Key); err != nil {
			t.Fatal(err)
		}
		start, end := -1, -1
		prev := false
		var up []int16
		for f := 0; (f+1)*speech.FrameSamples <= len(pcm); f++ {
			up = upsample2(up, pcm[f*speech.FrameSamples:(f+1)*speech.FrameSamples])
			in, err := d.liveProcess(up)
			if err != nil {
				t.Fatal(err)
			}
			if in && !prev && start < 0 {
				start = f
			}
			if !in && prev && end < 0 {
				end = f
			}
			prev = in
		}
		d.liveEnd()
		t.Logf("ps_get_in_speech, noise %4.0f dBFS: speech frames %d-%d, start %d (+%d ms) end %d (+%d ms)",
			noise, first, last, start, (start-first)*20, end, (end-last)*20)
	}
}

// A steady sound that starts after the warm-up ends within a little more
// than a second and does not start again; speech over a quiet line after
// it starts as usual, and speech on a hissing line is never steady.
func TestVADSteadySound(t *testing.T) {
	for _, hz := range []float64{440, 1000} {
		v := newVAD(3, 15)
		hum := tone(speech.SampleRate, hz, 5*speech.SampleRate)
		pcm := append(make([]int16, 4000), hum...)
		var events []string
		for f := 0; (f+1)*speech.FrameSamples <= len(pcm); f++ {
			switch v.push(pcm[f*speech.FrameSamples : (f+1)*speech.FrameSamples]) {
			case vadStart:
				events = append(events, fmt.Sprintf("start@%d", f))
			case vadEnd:
				events = append(events, fmt.Sprintf("end@%d", f))
			case vadSteady:
				events = append(events, fmt.Sprintf("steady@%d", f))
			}
		}
		want := []string{"start@27", fmt.Sprintf("steady@%d", 27+steadyFrames)}
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Errorf("%v Hz: events %v, want %v", hz, events, want)
		}
	}
	clean := telephone(t, fliteVoices[1], "somebody took it at the train station")
	for _, noise := range []float64{-200, -45, -35} {
		v := newVAD(3, 15)
		pcm := append(addNoise(make([]int16, speech.SampleRate), noise, 1), addNoise(clean, noise, 2)...)
		for f := 0; (f+1)*speech.FrameSamples <= len(pcm); f++ {
			if v.push(pcm[f*speech.FrameSamples:(f+1)*speech.FrameSamples]) == vadSteady {
				t.Errorf("noise %.0f dBFS: speech taken for a steady sound at frame %d", noise, f)
			}
		}
	}
}
