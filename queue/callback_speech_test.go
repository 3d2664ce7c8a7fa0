package queue

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hotline/internal/testenv"
	"hotline/media"
	"hotline/speech"
	"hotline/speech/pocketsphinx"
)

// readPCM16 reads a 16-bit mono WAV's samples (sox writes these).
func readPCM16(t testing.TB, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 12; off+8 <= len(b); {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			n = min(n, len(b)-off)
			out := make([]int16, n/2)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(b[off+2*i:]))
			}
			return out
		}
		off += n + n%2
	}
	t.Fatalf("%s: no data chunk", path)
	return nil
}

// telephone sends pcm through G.711 µ-law, as a caller's audio arrives.
func telephone(pcm []int16) []int16 {
	enc := make([]byte, len(pcm))
	media.EncodePCMU(enc, pcm)
	out := make([]int16, len(pcm))
	media.DecodePCMU(out, enc)
	return out
}

// voice renders text with engine ("flite" or "espeak-ng") and voice, as
// 8 kHz telephone audio.
func voice(t testing.TB, engine, v, text string) []int16 {
	t.Helper()
	dir := t.TempDir()
	raw, wav := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "8k.wav")
	var cmd *exec.Cmd
	if engine == "flite" {
		cmd = exec.Command("flite", "-voice", v, "-t", text, "-o", raw)
	} else {
		cmd = exec.Command("espeak-ng", "-v", v, "-w", raw, text)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", engine, text, err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "8000", "-b", "16", "-c", "1", wav).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	return telephone(readPCM16(t, wav))
}

// line is a caller's line: quiet hiss (about -66 dBFS) of d seconds.
func line(seconds float64, rng *rand.Rand) []int16 {
	out := make([]int16, int(seconds*speech.SampleRate))
	for i := range out {
		out[i] = int16(rng.NormFloat64() * 16)
	}
	return out
}

// mix adds the line's hiss under speech.
func withLine(pcm []int16, rng *rand.Rand) []int16 {
	out := make([]int16, 0, len(pcm)+2*speech.SampleRate)
	out = append(out, line(1, rng)...)
	for _, s := range pcm {
		out = append(out, int16(max(min(int(s)+int(rng.NormFloat64()*16), math.MaxInt16), math.MinInt16)))
	}
	return telephone(append(out, line(1, rng)...))
}

// utterances runs audio through a speechTap in 20 ms frames and returns
// the utterances it hands on.
func utterances(audio []int16) [][]int16 {
	tap := newSpeechTap()
	var out [][]int16
	for off := 0; off < len(audio); off += speech.FrameSamples {
		tap.TapPCM(audio[off:min(off+speech.FrameSamples, len(audio))])
		select {
		case u := <-tap.out:
			out = append(out, append([]int16(nil), *u...))
			uttPool.Put(u)
		default:
		}
	}
	return out
}

// countingRecognizer counts streams; each says nothing.
type countingRecognizer struct{ n *int }

func (r countingRecognizer) Start(context.Context, speech.Grammar) (speech.Stream, error) {
	*r.n++
	ch := make(chan speech.Event, 1)
	ch <- speech.Event{Type: speech.Final, NoSpeech: true}
	close(ch)
	return nothingStream{ch}, nil
}

type nothingStream struct{ ch chan speech.Event }

func (s nothingStream) Write([]int16) error         { return nil }
func (s nothingStream) Events() <-chan speech.Event { return s.ch }
func (s nothingStream) Close() error                { return nil }

// The tap hands on only utterances of plausible length: silence, a click,
// talk that runs on and hold music that never pauses reach no recognizer.
func TestCallbackSpeechTapBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tone := func(seconds float64, amp float64) []int16 {
		out := make([]int16, int(seconds*speech.SampleRate))
		for i := range out {
			x := float64(i) / speech.SampleRate
			out[i] = int16(amp * (math.Sin(2*math.Pi*440*x) + 0.5*math.Sin(2*math.Pi*660*x)) * (0.6 + 0.4*math.Sin(2*math.Pi*0.5*x)))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		audio []int16
		want  int
	}{
		{"silence", line(10, rng), 0},
		{"click", withLine(tone(0.1, 8000), rng), 0},
		{"one second", withLine(tone(1, 8000), rng), 1},
		{"run-on", withLine(tone(5, 8000), rng), 0},
		{"two with a pause", withLine(append(append(tone(1, 8000), make([]int16, 8000)...), tone(1, 8000)...), rng), 2},
	} {
		if got := len(utterances(tc.audio)); got != tc.want {
			t.Errorf("%s: %d utterances handed on, want %d", tc.name, got, tc.want)
		}
	}
	// An utterance holds the line before it, for the stream's VAD to warm
	// up on, and the quiet after it.
	us := utterances(withLine(tone(1, 8000), rng))
	if len(us) == 1 {
		if d := float64(len(us[0])) / speech.SampleRate; d < 1.7 || d > 2.0 {
			t.Errorf("a 1 s tone's utterance lasts %.2fs, want 0.4 + 1 + 0.4", d)
		}
	}
	var n int
	if _, ok, _ := recognizeCallback(context.Background(), countingRecognizer{&n}, us[0]); ok || n != 1 {
		t.Errorf("a stream that heard nothing: accepted %v, streams %d", ok, n)
	}
}

func newEngine(t testing.TB) *pocketsphinx.Engine {
	t.Helper()
	testenv.NeedFiles(t, "apt-get install pocketsphinx-en-us", pocketsphinx.DefaultModelDir, pocketsphinx.DefaultDictPath)
	eng, err := pocketsphinx.New(pocketsphinx.Config{PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// detect is what a waiting caller's audio asks: whether any utterance in
// it is a confident callback request, and what was heard.
func detect(t testing.TB, rec speech.Recognizer, audio []int16) (bool, []string) {
	t.Helper()
	var heard []string
	asked := false
	for _, u := range utterances(audio) {
		fin, ok, err := recognizeCallback(context.Background(), rec, u)
		if err != nil {
			t.Fatal(err)
		}
		heard = append(heard, fmt.Sprintf("%q %s %.2f", fin.Text, fin.Choice, fin.Confidence))
		asked = asked || ok
	}
	return asked, heard
}

// Generated callers asking for a callback (flite voices, through G.711
// with a hissing line) are heard; other words, hold music and silence
// never are.
func TestCallbackSpeechDetect(t *testing.T) {
	testenv.NeedTools(t, "apt-get install flite sox espeak-ng: the callers' voices", "flite", "sox", "espeak-ng")
	eng := newEngine(t)
	rng := rand.New(rand.NewPCG(3, 4))

	asks := []string{"call me back", "please call me back", "call back", "callback"}
	flite := []string{"slt", "kal", "awb", "rms"}
	hits, total := 0, 0
	for _, v := range flite {
		for _, text := range asks {
			ok, heard := detect(t, eng, withLine(voice(t, "flite", v, text), rng))
			total++
			if ok {
				hits++
			}
			t.Logf("flite %s %q: asked=%v heard %v", v, text, ok, heard)
		}
	}
	t.Logf("flite: %d/%d requests heard", hits, total)
	if hits*4 < total*3 {
		t.Errorf("flite: %d/%d requests heard, want at least 3/4", hits, total)
	}
	if ok, heard := detect(t, eng, withLine(voice(t, "flite", "slt", "call me back"), rng)); !ok {
		t.Errorf("flite slt \"call me back\" not heard: %v", heard)
	}
	eHits := 0
	for _, text := range asks {
		if ok, _ := detect(t, eng, withLine(voice(t, "espeak-ng", "en-us", text), rng)); ok {
			eHits++
		}
	}
	t.Logf("espeak-ng en-us (reported only): %d/%d requests heard", eHits, len(asks))

	others := []string{
		"hello is anyone there", "what time is it", "I have been waiting for ages", "my card is lost",
		"thank you", "the weather is nice today", "can I speak to an agent", "I want to order a pizza",
		"come back later", "call my mother",
	}
	falses := 0
	for _, v := range flite {
		for _, text := range others {
			if ok, heard := detect(t, eng, withLine(voice(t, "flite", v, text), rng)); ok {
				falses++
				t.Logf("false accept: flite %s %q heard %v", v, text, heard)
			}
		}
	}
	t.Logf("flite: %d/%d other sentences taken for a request", falses, len(flite)*len(others))
	if falses*10 > len(flite)*len(others) {
		t.Errorf("%d/%d other sentences taken for a request, want at most 1 in 10 (the confirmation catches those)", falses, len(flite)*len(others))
	}

	music := telephone(readPCM16(t, "../configs/prompts/moh.wav"))
	for _, tc := range []struct {
		name  string
		audio []int16
	}{
		{"hold music", append(append(line(1, rng), music...), music...)},
		{"silence", telephone(line(30, rng))},
	} {
		ok, heard := detect(t, eng, tc.audio)
		t.Logf("%s (%.0f s): %d utterances decoded %v", tc.name, float64(len(tc.audio))/speech.SampleRate, len(heard), heard)
		if ok {
			t.Errorf("%s taken for a request: %v", tc.name, heard)
		}
	}
}

// BenchmarkCallbackSpeechTap is the cost of listening to one waiting
// caller for 20 ms: the G.711 decode the media session does once a PCM
// tap is set, and the tap's detector. A caller sends 50 frames a second.
func BenchmarkCallbackSpeechTap(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name  string
		audio []int16
	}{
		{"silent_caller", line(10, rng)},
		{"music", readPCM16(b, "../configs/prompts/moh.wav")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			enc := make([]byte, len(tc.audio)/speech.FrameSamples*speech.FrameSamples)
			media.EncodePCMU(enc, tc.audio[:len(enc)])
			frames := len(enc) / speech.FrameSamples
			tap := newSpeechTap()
			var pcm [speech.FrameSamples]int16
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				f := i % frames
				media.DecodePCMU(pcm[:], enc[f*speech.FrameSamples:(f+1)*speech.FrameSamples])
				tap.TapPCM(pcm[:])
				select {
				case u := <-tap.out:
					uttPool.Put(u)
				default:
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*50/1e9*100, "%CPU/caller")
		})
	}
}
