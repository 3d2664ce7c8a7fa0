package media

import (
	"errors"
	"math"
	"testing"
	"time"
)

// goertzelAmp is the amplitude of freq in x (8 kHz), by one Goertzel
// filter over the whole slice.
func goertzelAmp(x []int16, freq float64) float64 {
	coef := 2 * math.Cos(2*math.Pi*freq/sampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+coef*s1-s2, s1
	}
	return 2 * math.Sqrt(s1*s1+s2*s2-coef*s1*s2) / float64(len(x))
}

func frameRMS(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(x)))
}

// readTone reads n frames (fewer if the source ends) and returns the
// samples and the number of frames read.
func readTone(t *testing.T, src Source, n int) ([]int16, int) {
	t.Helper()
	out := make([]int16, 0, n*frameSamples)
	var f [frameSamples]int16
	for i := range n {
		if !src.ReadFrame(f[:]) {
			return out, i
		}
		out = append(out, f[:]...)
	}
	return out, n
}

func mustTone(t *testing.T, spec string) *ToneSpec {
	t.Helper()
	ts, err := ParseTone(spec)
	if err != nil {
		t.Fatalf("ParseTone(%q): %v", spec, err)
	}
	return ts
}

func TestParseTone(t *testing.T) {
	ts := mustTone(t, "!950/330, !1400/330,440+480/2000,0/4000,425*25,M69+M81/100")
	want := []TonePart{
		{Freq1: 950, Duration: 330 * time.Millisecond, Once: true},
		{Freq1: 1400, Duration: 330 * time.Millisecond, Once: true},
		{Freq1: 440, Freq2: 480, Duration: 2 * time.Second},
		{Freq1: 0, Duration: 4 * time.Second},
		{Freq1: 425, Freq2: 25, Modulate: true},
		{Freq1: 440, Freq2: 880, Duration: 100 * time.Millisecond},
	}
	if len(ts.Parts) != len(want) {
		t.Fatalf("parts = %+v", ts.Parts)
	}
	for i := range want {
		if ts.Parts[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, ts.Parts[i], want[i])
		}
	}
	if ts.Repeat != 2 {
		t.Errorf("Repeat = %d, want 2 (first part without !)", ts.Repeat)
	}
	if ts.Finite() {
		t.Error("a list with repeating parts is not finite")
	}
	if got, want := ts.String(), "!950/330,!1400/330,440+480/2000,0/4000,425*25,440+880/100"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	// "|" separates when present, as in Asterisk.
	if ts := mustTone(t, "440/100|0/100"); len(ts.Parts) != 2 {
		t.Errorf("| separator: %+v", ts.Parts)
	}
	if ts := mustTone(t, "!950/330,!1400/330,!1800/330"); !ts.Finite() || ts.Repeat != -1 {
		t.Errorf("all-! list: finite %v repeat %d", ts.Finite(), ts.Repeat)
	}
	// All "!" but the last part lasts forever: not finite.
	if ts := mustTone(t, "!950/330,!0"); ts.Finite() {
		t.Error("a forever part makes the tone infinite")
	}
}

func TestParseToneErrors(t *testing.T) {
	for _, s := range []string{
		"", "  ", "ring", "440+", "+440", "440/", "440/x", "440/-5", "-440", "440+480+500",
		"440,,480", "440,", "!", "M128", "M69+440", "440+M69", "M", "440*", "99999",
		"440/99999999999", "4 40", "440 +480", "0x10",
	} {
		if ts, err := ParseTone(s); err == nil {
			t.Errorf("ParseTone(%q) = %+v, want an error", s, ts)
		} else if !errors.Is(err, ErrBadTone) {
			t.Errorf("ParseTone(%q) error %v does not wrap ErrBadTone", s, err)
		}
	}
}

func TestMIDITable(t *testing.T) {
	// Values from Asterisk's midi_tohz table.
	for n, hz := range map[int]int{0: 8, 1: 8, 2: 9, 21: 27, 45: 110, 57: 220, 60: 261, 69: 440, 81: 880, 100: 2637, 120: 8372, 126: 11839, 127: 12543} {
		if got := midiHz(n); got != hz {
			t.Errorf("midiHz(%d) = %d, want %d", n, got, hz)
		}
	}
}

func TestNamedTones(t *testing.T) {
	for _, zone := range []string{"us", "uk", "fr", "de", "it", "nl", "au", "jp", "cn"} {
		if !ToneZoneKnown(zone) {
			t.Errorf("zone %s unknown", zone)
		}
		for _, name := range []string{"ring", "busy", "congestion", "dial", "callwaiting", "info", "record", "stutter"} {
			s, ok := NamedTone(zone, name)
			if !ok {
				t.Errorf("%s/%s missing", zone, name)
				continue
			}
			if _, err := ParseTone(s); err != nil {
				t.Errorf("%s/%s: %v", zone, name, err)
			}
		}
	}
	// Every entry parses.
	for zone, tones := range toneZones {
		for name, s := range tones {
			if _, err := ParseTone(s); err != nil {
				t.Errorf("%s/%s: %v", zone, name, err)
			}
		}
	}
	if s, ok := NamedTone("UK", "Busy"); !ok || s != "400/375,0/375" {
		t.Errorf("NamedTone(UK, Busy) = %q, %v", s, ok)
	}
	if _, ok := NamedTone("xx", "busy"); ok {
		t.Error("unknown zone found")
	}
	if _, ok := NamedTone("us", "nope"); ok {
		t.Error("unknown tone found")
	}
}

func TestToneFrequencies(t *testing.T) {
	// US ringback: 440+480 Hz for 2 s then 4 s of silence.
	src := NewToneSource(mustTone(t, "440+480/2000,0/4000"), 0)
	x, n := readTone(t, src, 100) // the 2 s on
	if n != 100 {
		t.Fatalf("read %d frames", n)
	}
	for _, f := range []float64{440, 480} {
		if a := goertzelAmp(x, f); math.Abs(a-ToneAmplitude) > 0.02*ToneAmplitude {
			t.Errorf("%.0f Hz amplitude %.0f, want about %d", f, a, ToneAmplitude)
		}
	}
	for _, f := range []float64{350, 400, 620, 1000} {
		if a := goertzelAmp(x, f); a > 0.02*ToneAmplitude {
			t.Errorf("%.0f Hz present: %.0f", f, a)
		}
	}
	off, _ := readTone(t, src, 200) // the 4 s off
	if r := frameRMS(off); r != 0 {
		t.Errorf("silence part has RMS %.1f", r)
	}
	// And it repeats.
	again, _ := readTone(t, src, 50)
	if a := goertzelAmp(again, 440); math.Abs(a-ToneAmplitude) > 0.03*ToneAmplitude {
		t.Errorf("second ring 440 Hz amplitude %.0f", a)
	}

	// UK busy: 400 Hz only.
	src = NewToneSource(mustTone(t, "400/375,0/375"), 0)
	x, _ = readTone(t, src, 18) // 360 ms, inside the first on part
	if a := goertzelAmp(x, 400); math.Abs(a-ToneAmplitude) > 0.03*ToneAmplitude {
		t.Errorf("uk busy 400 Hz amplitude %.0f", a)
	}
}

func TestToneCadence(t *testing.T) {
	// US busy: 500 ms on, 500 ms off = 25 frames each.
	src := NewToneSource(mustTone(t, "480+620/500,0/500"), 0)
	var f [frameSamples]int16
	for i := range 200 { // 4 s
		if !src.ReadFrame(f[:]) {
			t.Fatalf("ended at frame %d", i)
		}
		on := frameRMS(f[:]) > 1000
		if want := i%50 < 25; on != want {
			t.Fatalf("frame %d (%d ms): on=%v, want %v", i, i*20, on, want)
		}
	}
	select {
	case <-src.Done():
		t.Fatal("a repeating tone finished")
	default:
	}

	// Cadences that do not fall on frame edges are sample exact: UK
	// congestion 400/400,0/350,400/225,0/525 (1.5 s period).
	src = NewToneSource(mustTone(t, "400/400,0/350,400/225,0/525"), 0)
	x, _ := readTone(t, src, 150) // 3 s
	edges := []struct{ from, to int }{{0, 400}, {750, 975}, {1500, 1900}, {2250, 2475}}
	for ms := 0; ms < 3000; ms++ {
		want := false
		for _, e := range edges {
			if ms >= e.from && ms < e.to {
				want = true
			}
		}
		seg := x[ms*8 : ms*8+8]
		var peak int16
		for _, v := range seg {
			peak = max(peak, v, -v)
		}
		if on := peak > 0; on != want {
			t.Fatalf("ms %d: on=%v want %v (peak %d)", ms, on, want, peak)
		}
	}
}

func TestToneOnceEnds(t *testing.T) {
	// France "info": three 330 ms tones, once. 990 ms = 49.5 frames.
	src := NewToneSource(mustTone(t, "!950/330,!1400/330,!1800/330"), 0)
	x, n := readTone(t, src, 100)
	if n != 50 {
		t.Fatalf("played %d frames, want 50", n)
	}
	select {
	case <-src.Done():
	default:
		t.Fatal("Done not closed after the last frame")
	}
	for i, f := range []float64{950, 1400, 1800} {
		seg := x[i*2640 : (i+1)*2640]
		if a := goertzelAmp(seg, f); math.Abs(a-ToneAmplitude) > 0.03*ToneAmplitude {
			t.Errorf("segment %d: %.0f Hz amplitude %.0f", i, f, a)
		}
	}
	if r := frameRMS(x[7920:]); r != 0 {
		t.Errorf("padding after the end has RMS %.1f", r)
	}
	var f [frameSamples]int16
	if src.ReadFrame(f[:]) {
		t.Error("ReadFrame true after the end")
	}

	// "!" parts play once, then the list repeats from the first part
	// without "!".
	src = NewToneSource(mustTone(t, "!1000/100,500/100,0/100"), 0)
	x, _ = readTone(t, src, 100) // 2 s
	if a := goertzelAmp(x[:800], 1000); a < 0.9*ToneAmplitude {
		t.Errorf("first part 1000 Hz amplitude %.0f", a)
	}
	if a := goertzelAmp(x[800:], 1000); a > 0.02*ToneAmplitude {
		t.Errorf("1000 Hz repeated: %.0f", a)
	}
	if a := goertzelAmp(x[1600:2400], 0); a != 0 {
		t.Errorf("silence part: %.0f", a)
	}
	if a := goertzelAmp(x[2400:3200], 500); a < 0.9*ToneAmplitude {
		t.Errorf("repeated 500 Hz part amplitude %.0f", a)
	}
}

func TestToneDurationAndStop(t *testing.T) {
	src := NewToneSource(mustTone(t, "425"), time.Second)
	if _, n := readTone(t, src, 100); n != 50 {
		t.Fatalf("1 s tone played %d frames", n)
	}
	<-src.Done()

	src = NewToneSource(mustTone(t, "425"), 30*time.Millisecond)
	x, n := readTone(t, src, 10)
	if n != 2 || frameRMS(x[240:]) != 0 || frameRMS(x[:240]) == 0 {
		t.Fatalf("30 ms tone: %d frames", n)
	}

	src = NewToneSource(mustTone(t, "425"), 0)
	if _, n := readTone(t, src, 10); n != 10 {
		t.Fatal("continuous tone ended")
	}
	src.Stop()
	<-src.Done()
	var f [frameSamples]int16
	if src.ReadFrame(f[:]) {
		t.Error("ReadFrame true after Stop")
	}
	src.Stop() // idempotent

	src = NewToneSource(nil, 0)
	if src.ReadFrame(f[:]) {
		t.Error("nil spec played")
	}
	<-src.Done()
}

func TestTonePhaseContinuous(t *testing.T) {
	// A continuous tone must be a clean sine across frame edges, however
	// long it plays: the sample-to-sample step never exceeds what the
	// frequency allows, and the amplitude does not drift.
	const f = 1400.0
	src := NewToneSource(mustTone(t, "1400"), 0)
	maxStep := ToneAmplitude*2*math.Sin(math.Pi*f/sampleRate) + 2
	var fr [frameSamples]int16
	prev := int16(0)
	for i := range 30000 { // 10 minutes
		src.ReadFrame(fr[:])
		for _, v := range fr {
			if d := math.Abs(float64(v) - float64(prev)); d > maxStep {
				t.Fatalf("frame %d: step %.0f > %.0f", i, d, maxStep)
			}
			prev = v
		}
	}
	x, _ := readTone(t, src, 50)
	if a := goertzelAmp(x, f); math.Abs(a-ToneAmplitude) > 0.01*ToneAmplitude {
		t.Errorf("amplitude after 10 min %.0f, want %d", a, ToneAmplitude)
	}
	// A frequency that continues into the next part keeps its phase (UK
	// stutter: 350+440 then 440 alone): after the edge the signal is the
	// same 440 Hz sine that started at sample 0.
	src = NewToneSource(mustTone(t, "350+440/750,440/750"), 0)
	x, _ = readTone(t, src, 75)
	w1, w2 := 2*math.Pi*350/sampleRate, 2*math.Pi*440/sampleRate
	for i := 5000; i < 7000; i++ {
		want := ToneAmplitude * math.Sin(w2*float64(i+1))
		if i < 6000 {
			want += ToneAmplitude * math.Sin(w1*float64(i+1))
		}
		if d := math.Abs(float64(x[i]) - want); d > 2 {
			t.Fatalf("sample %d = %d, want %.0f", i, x[i], want)
		}
	}
}

func TestToneModulated(t *testing.T) {
	// India's dial tone 400*25: a 400 Hz carrier with 25 Hz sidebands.
	src := NewToneSource(mustTone(t, "400*25"), 0)
	x, _ := readTone(t, src, 200) // 4 s: 100 periods of 25 Hz
	carrier := goertzelAmp(x, 400)
	side := goertzelAmp(x, 425)
	if carrier < 0.4*ToneAmplitude || side < 0.15*ToneAmplitude {
		t.Errorf("carrier %.0f, sideband %.0f", carrier, side)
	}
	if a := goertzelAmp(x, 25); a > 0.02*ToneAmplitude {
		t.Errorf("modulating frequency itself audible: %.0f", a)
	}
	// Asterisk gives silence for a modulated part without carrier.
	src = NewToneSource(mustTone(t, "0*25"), 0)
	if x, _ := readTone(t, src, 10); frameRMS(x) != 0 {
		t.Error("0*25 not silent")
	}
}

func TestToneNoAllocs(t *testing.T) {
	src := NewToneSource(mustTone(t, "400/375,0/375,425*25/400,!950/10"), 0)
	var f [frameSamples]int16
	if n := testing.AllocsPerRun(500, func() { src.ReadFrame(f[:]) }); n != 0 {
		t.Errorf("%.1f allocations per frame", n)
	}
}
