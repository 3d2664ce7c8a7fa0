package media

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestG711TablesMatchReference(t *testing.T) {
	for v := math.MinInt16; v <= math.MaxInt16; v++ {
		x := int16(v)
		var u, a [1]byte
		EncodePCMU(u[:], []int16{x})
		EncodePCMA(a[:], []int16{x})
		if want := linearToULaw(x); u[0] != want {
			t.Fatalf("PCMU(%d) = %#x, reference %#x", x, u[0], want)
		}
		if want := linearToALaw(x); a[0] != want {
			t.Fatalf("PCMA(%d) = %#x, reference %#x", x, a[0], want)
		}
	}
}

func TestG711RoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		enc  func([]byte, []int16)
		dec  func([]int16, []byte)
	}{{"PCMU", EncodePCMU, DecodePCMU}, {"PCMA", EncodePCMA, DecodePCMA}} {
		t.Run(c.name, func(t *testing.T) {
			// Every code decodes to a value that encodes back to a code
			// with the same value (µ-law has +0 and -0).
			codes := make([]byte, 256)
			for i := range codes {
				codes[i] = byte(i)
			}
			lin := make([]int16, 256)
			c.dec(lin, codes)
			re := make([]byte, 256)
			c.enc(re, lin)
			back := make([]int16, 256)
			c.dec(back, re)
			for i := range lin {
				if back[i] != lin[i] {
					t.Fatalf("code %#x: %d -> %#x -> %d", i, lin[i], re[i], back[i])
				}
			}
			// A speech-level sine survives with G.711's ~38 dB SNR.
			pcm := make([]int16, 8000)
			for i := range pcm {
				pcm[i] = int16(10000 * math.Sin(2*math.Pi*1000*float64(i)/8000+0.3))
			}
			enc := make([]byte, len(pcm))
			dec := make([]int16, len(pcm))
			c.enc(enc, pcm)
			c.dec(dec, enc)
			var sig, noise float64
			for i := range pcm {
				sig += float64(pcm[i]) * float64(pcm[i])
				d := float64(pcm[i]) - float64(dec[i])
				noise += d * d
			}
			if snr := 10 * math.Log10(sig/noise); snr < 33 {
				t.Fatalf("SNR %.1f dB, want >= 33", snr)
			}
		})
	}
}

// tonePower measures the amplitude of freq in x (8 kHz) with one Goertzel
// over the whole signal.
func toneAmplitude(x []int16, freq float64, rate int) float64 {
	coef := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+coef*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - coef*s1*s2
	return 2 * math.Sqrt(p) / float64(len(x))
}

func rms(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(x)))
}

func sine(freq, amp float64, rate int, d float64) []int16 {
	out := make([]int16, int(d*float64(rate)))
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadWAV8k(t *testing.T) {
	src := sine(440, 12000, 8000, 0.5)
	p, err := LoadWAV(writeFile(t, "a.wav", EncodeWAV(src, 8000)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Samples() != len(src) {
		t.Fatalf("samples %d, want %d", p.Samples(), len(src))
	}
	for i := range src {
		if p.pcm[i] != src[i] {
			t.Fatalf("sample %d changed: %d != %d (8 kHz must pass through untouched)", i, p.pcm[i], src[i])
		}
	}
	if d := p.Duration(); d.Milliseconds() != 500 {
		t.Fatalf("duration %v", d)
	}
	for i := range src {
		if p.ulaw[i] != linearToULaw(src[i]) || p.alaw[i] != linearToALaw(src[i]) {
			t.Fatalf("pre-encoded payload wrong at %d", i)
		}
	}
}

func TestLoadWAV16kResamples(t *testing.T) {
	src := sine(1000, 10000, 16000, 1)
	p, err := LoadWAV(writeFile(t, "b.wav", EncodeWAV(src, 16000)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Samples() != 8000 {
		t.Fatalf("samples %d, want 8000", p.Samples())
	}
	mid := p.pcm[1000:7000] // skip the filter's edge transients
	if a := toneAmplitude(mid, 1000, 8000); math.Abs(a-10000) > 100 {
		t.Fatalf("1 kHz amplitude after resampling %.0f, want ~10000", a)
	}
	if r, want := rms(mid), 10000/math.Sqrt2; math.Abs(20*math.Log10(r/want)) > 0.1 {
		t.Fatalf("energy not preserved: rms %.1f, want %.1f", r, want)
	}
	// All of that energy is at 1 kHz: nothing leaked to other frequencies.
	for _, f := range []float64{500, 2000, 3000} {
		if a := toneAmplitude(mid, f, 8000); a > 30 {
			t.Fatalf("spurious %v Hz at amplitude %.0f", f, a)
		}
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	// 6 kHz at 16 kHz folds to 2 kHz under naive decimation. The
	// low-pass must remove it.
	x := sine(6000, 10000, 16000, 1)
	f := make([]float64, len(x))
	for i, v := range x {
		f[i] = float64(v)
	}
	out := toInt16(resample(f, 16000, 8000))
	if a := toneAmplitude(out[1000:7000], 2000, 8000); a > 10000*0.001 { // -60 dB
		t.Fatalf("alias at 2 kHz has amplitude %.1f", a)
	}
	// Odd rates work too: 44.1 kHz -> 8 kHz keeps a 1 kHz tone.
	x = sine(1000, 8000, 44100, 0.5)
	f = make([]float64, len(x))
	for i, v := range x {
		f[i] = float64(v)
	}
	out = toInt16(resample(f, 44100, 8000))
	if len(out) != 4000 {
		t.Fatalf("44.1k: %d samples", len(out))
	}
	if a := toneAmplitude(out[500:3500], 1000, 8000); math.Abs(a-8000) > 100 {
		t.Fatalf("44.1k: amplitude %.0f", a)
	}
}

func TestLoadWAVStereoAndG711(t *testing.T) {
	// Stereo 16-bit: left and right averaged.
	mono := sine(500, 8000, 8000, 0.1)
	b := EncodeWAV(make([]int16, 2*len(mono)), 8000)
	b[22] = 2                 // channels
	b[28], b[29] = 0x00, 0x7D // byte rate 32000
	b[32] = 4                 // block align
	for i, v := range mono {
		// left = v, right = 0 -> mono = v/2
		b[44+4*i], b[45+4*i] = byte(v), byte(uint16(v)>>8)
	}
	p, err := LoadWAV(writeFile(t, "s.wav", b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range mono {
		if d := int(p.pcm[i]) - int(mono[i])/2; d < -1 || d > 1 {
			t.Fatalf("downmix sample %d: %d, want %d", i, p.pcm[i], mono[i]/2)
		}
	}

	// µ-law WAV (format 7).
	u := make([]byte, len(mono))
	EncodePCMU(u, mono)
	w := EncodeWAV(nil, 8000)
	w[20], w[34], w[32] = 7, 8, 1
	w[28], w[29] = 0x40, 0x1F // byte rate 8000
	w = append(w, u...)
	w[40], w[41] = byte(len(u)), byte(len(u)>>8)
	p, err = LoadWAV(writeFile(t, "u.wav", w))
	if err != nil {
		t.Fatal(err)
	}
	if p.Samples() != len(mono) || p.ulaw[10] != u[10] {
		t.Fatalf("µ-law WAV not loaded faithfully")
	}
}

func TestLoadWAVErrors(t *testing.T) {
	good := EncodeWAV(sine(440, 1000, 8000, 0.1), 8000)
	cases := map[string][]byte{
		"empty":     nil,
		"not riff":  []byte("this is not a wave file at all"),
		"not wave":  append([]byte("RIFF\x00\x00\x00\x00AVI "), good[12:]...),
		"no data":   good[:36],
		"short fmt": append(append([]byte{}, good[:16]...), 8, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0),
		"adpcm": func() []byte {
			b := append([]byte{}, good...)
			b[20] = 2
			return b
		}(),
		"zero channels": func() []byte {
			b := append([]byte{}, good...)
			b[22] = 0
			return b
		}(),
		"no samples": func() []byte {
			b := append([]byte{}, good[:44]...)
			b[40], b[41] = 0, 0
			return b
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadWAV(writeFile(t, "x.wav", b))
			if !errors.Is(err, ErrBadWAV) {
				t.Fatalf("err = %v, want ErrBadWAV", err)
			}
		})
	}
	if _, err := LoadWAV(filepath.Join(t.TempDir(), "missing.wav")); err == nil || errors.Is(err, ErrBadWAV) {
		t.Fatalf("missing file: err = %v", err)
	}
	// A truncated data chunk (streaming writer, cut upload) still loads.
	if _, err := LoadWAV(writeFile(t, "t.wav", good[:len(good)-101])); err != nil {
		t.Fatalf("truncated data: %v", err)
	}
}

func TestPlayer(t *testing.T) {
	p := NewPromptPCM(sine(400, 5000, 8000, 0.05)) // 400 samples = 2.5 frames
	pl := NewPlayer(p, false)
	buf := make([]byte, 160)
	for i := range 3 {
		if !pl.fillPayload(buf, PTPCMU) {
			t.Fatalf("frame %d: finished early", i)
		}
	}
	if buf[100] != 0xFF {
		t.Fatalf("last partial frame not padded with µ-law silence")
	}
	select {
	case <-pl.Done():
	default:
		t.Fatal("Done not closed after the last frame")
	}
	if pl.fillPayload(buf, PTPCMU) {
		t.Fatal("frame after end")
	}

	loop := NewPlayer(p, true)
	pcm := make([]int16, 160)
	for range 10 {
		if !loop.ReadFrame(pcm) {
			t.Fatal("looping player finished")
		}
	}
	// 1600 samples in: position 1600 mod 400 = 0, so the last frame
	// covered 1440..1600 = prompt[240..400].
	if pcm[0] != p.pcm[240] || pcm[159] != p.pcm[399] {
		t.Fatal("loop wraps at the wrong place")
	}
	loop.Stop()
	if loop.ReadFrame(pcm) {
		t.Fatal("ReadFrame after Stop")
	}
	<-loop.Done()
}

func TestTone(t *testing.T) {
	src := NewTone([]float64{1000}, 100*time.Millisecond)
	var all []int16
	frame := make([]int16, 160)
	for src.ReadFrame(frame) {
		all = append(all, frame...)
	}
	if len(all) != 800 {
		t.Fatalf("tone produced %d samples, want 800", len(all))
	}
	if a := toneAmplitude(all, 1000, 8000); math.Abs(a-16000) > 200 {
		t.Fatalf("amplitude %.0f", a)
	}
}
