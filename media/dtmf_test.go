package media

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// dtmfTone synthesises key k for d at 8 kHz, each tone at amp, with the
// high tone scaled by twistDB.
func dtmfTone(k rune, d time.Duration, amp, twistDB float64) []int16 {
	var fr, fc float64
	for r := range 4 {
		for c := range 4 {
			if dtmfKeys[r][c] == k {
				fr, fc = dtmfRowFreqs[r], dtmfColFreqs[c]
			}
		}
	}
	n := int(d.Seconds() * 8000)
	out := make([]int16, n)
	ac := amp * math.Pow(10, twistDB/20)
	for i := range out {
		t := float64(i) / 8000
		out[i] = int16(amp*math.Sin(2*math.Pi*fr*t) + ac*math.Sin(2*math.Pi*fc*t+1))
	}
	return out
}

// detectAll feeds x to a fresh detector in 20 ms frames.
func detectAll(x []int16) []rune {
	d := NewDTMFDetector(8000)
	var keys []rune
	for len(x) > 0 {
		n := min(160, len(x))
		if k, ok := d.Process(x[:n]); ok {
			keys = append(keys, k)
		}
		x = x[n:]
	}
	return keys
}

func TestDTMFDetectorAllKeys(t *testing.T) {
	const keys = "123A456B789C*0#D"
	var sig []int16
	for _, k := range keys {
		sig = append(sig, dtmfTone(k, 60*time.Millisecond, 6000, 0)...)
		sig = append(sig, make([]int16, 400)...) // 50 ms pause
	}
	if got := string(detectAll(sig)); got != keys {
		t.Fatalf("detected %q, want %q", got, keys)
	}
}

func TestDTMFDetectorLevelsAndTwist(t *testing.T) {
	for _, c := range []struct {
		name  string
		amp   float64
		twist float64
		want  bool
	}{
		{"loud", 14000, 0, true},
		{"quiet -30dBm0", 700, 0, true},
		{"too quiet", 150, 0, false},
		{"high tone 3 dB up", 5000, 3, true},
		{"high tone 6 dB down", 5000, -6, true},
		{"high tone 12 dB down", 5000, -12, false},
		{"high tone 8 dB up", 5000, 8, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := detectAll(dtmfTone('9', 80*time.Millisecond, c.amp, c.twist))
			if (len(got) == 1 && got[0] == '9') != c.want {
				t.Fatalf("got %q, want detection=%v", string(got), c.want)
			}
		})
	}
}

func TestDTMFDetectorDuration(t *testing.T) {
	// Long press: one report. 40 ms: reported. 15 ms: rejected.
	if got := detectAll(dtmfTone('5', time.Second, 6000, 0)); string(got) != "5" {
		t.Fatalf("long press: %q", string(got))
	}
	if got := detectAll(append(make([]int16, 37), dtmfTone('5', 40*time.Millisecond, 6000, 0)...)); string(got) != "5" {
		t.Fatalf("40 ms press: %q", string(got))
	}
	if got := detectAll(dtmfTone('5', 15*time.Millisecond, 6000, 0)); len(got) != 0 {
		t.Fatalf("15 ms blip detected: %q", string(got))
	}
	// A 10 ms dropout inside a press does not split it.
	x := dtmfTone('3', 200*time.Millisecond, 6000, 0)
	clear(x[800:880])
	if got := detectAll(x); string(got) != "3" {
		t.Fatalf("press with dropout: %q", string(got))
	}
}

func TestDTMFDetectorRejectsNoiseAndSpeech(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// White noise at several levels.
	noise := make([]int16, 8000*5)
	for i := range noise {
		noise[i] = int16(r.NormFloat64() * 3000)
	}
	if got := detectAll(noise); len(got) != 0 {
		t.Fatalf("noise detected as %q", string(got))
	}
	// Speech-like: a glottal pulse train (rich harmonics, 90-250 Hz pitch
	// gliding) through moving formants, syllables of 150 ms.
	speech := make([]int16, 8000*10)
	var phase float64
	for i := range speech {
		tm := float64(i) / 8000
		f0 := 150 + 60*math.Sin(2*math.Pi*0.7*tm) + 30*math.Sin(2*math.Pi*3.1*tm)
		phase += f0 / 8000
		var v float64
		for h := 1; float64(h)*f0 < 3600; h++ {
			f := float64(h) * f0
			// Formant envelope around F1/F2, moving per syllable.
			f1 := 500 + 300*math.Sin(2*math.Pi*1.3*tm)
			f2 := 1500 + 600*math.Sin(2*math.Pi*0.9*tm+1)
			g := math.Exp(-math.Pow((f-f1)/150, 2)) + 0.7*math.Exp(-math.Pow((f-f2)/200, 2)) + 0.05
			v += g * math.Sin(2*math.Pi*float64(h)*phase)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*tm/0.3)
		speech[i] = int16(2500 * v * env)
	}
	if got := detectAll(speech); len(got) != 0 {
		t.Fatalf("speech-like signal detected as %q", string(got))
	}
	// Music: a chord with harmonics, notes near DTMF frequencies.
	music := make([]int16, 8000*3)
	for i := range music {
		tm := float64(i) / 8000
		var v float64
		for _, f := range []float64{220, 277.2, 329.6, 440} { // A major
			for h := 1; h <= 6; h++ {
				v += math.Sin(2*math.Pi*f*float64(h)*tm) / float64(h)
			}
		}
		music[i] = int16(2000 * v)
	}
	if got := detectAll(music); len(got) != 0 {
		t.Fatalf("music detected as %q", string(got))
	}
	// A single tone (only one group) is not a key.
	if got := detectAll(sine(941, 8000, 8000, 0.5)); len(got) != 0 {
		t.Fatalf("single tone detected as %q", string(got))
	}
	// DTMF in moderate noise is still found.
	x := dtmfTone('#', 100*time.Millisecond, 6000, 0)
	for i := range x {
		x[i] += int16(r.NormFloat64() * 600)
	}
	if got := detectAll(x); string(got) != "#" {
		t.Fatalf("DTMF in noise: %q", string(got))
	}
}

func TestDTMFDetector16k(t *testing.T) {
	x := make([]int16, 16000/10)
	for i := range x {
		tm := float64(i) / 16000
		x[i] = int16(6000*math.Sin(2*math.Pi*852*tm) + 6000*math.Sin(2*math.Pi*1477*tm))
	}
	d := NewDTMFDetector(16000)
	var got []rune
	for i := 0; i < len(x); i += 320 {
		if k, ok := d.Process(x[i:min(i+320, len(x))]); ok {
			got = append(got, k)
		}
	}
	if string(got) != "9" {
		t.Fatalf("16 kHz: %q", string(got))
	}
}
