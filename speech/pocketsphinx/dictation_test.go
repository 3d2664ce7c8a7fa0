package pocketsphinx

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/testenv"
	"hotline/speech"
)

var (
	testDictOnce sync.Once
	testDict     *Dictation
	testDictErr  error
)

func dictation(t testing.TB) *Dictation {
	t.Helper()
	testenv.NeedFiles(t, "apt-get install pocketsphinx-en-us", DefaultModelDir, DefaultLM)
	testDictOnce.Do(func() {
		testDict, testDictErr = NewDictation(DictationConfig{PoolSize: 2, MaxBacklog: 60 * time.Second})
	})
	if testDictErr != nil {
		t.Fatal(testDictErr)
	}
	return testDict
}

func TestDictationPhrase(t *testing.T) {
	d := dictation(t)
	pcm := telephone(t, fliteVoices[1], "i lost my credit card")
	st, err := d.Open(speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	audio := append(append([]int16{}, pcm...), make([]int16, speech.SampleRate)...)
	var got []speech.Phrase
	for off := 0; off < len(audio); off += 800 {
		got = append(got, st.Write(audio[off:min(off+800, len(audio))])...)
	}
	got = append(got, st.Flush()...)
	t.Logf("%+v", got)
	if len(got) != 1 || !strings.Contains(got[0].Text, "card") {
		t.Fatalf("want one phrase with card, got %+v", got)
	}
	p := got[0]
	// The speech starts after the 300 ms pad and ends before the pad after it.
	speechEnd := time.Duration(len(pcm)-2400) * time.Second / speech.SampleRate
	if p.Start < 200*time.Millisecond || p.Start > 600*time.Millisecond || p.End < speechEnd-300*time.Millisecond || p.End > speechEnd+300*time.Millisecond {
		t.Errorf("phrase %v-%v, speech was 300ms-%v", p.Start, p.End, speechEnd)
	}
	for i, w := range p.Words {
		if w.End <= w.Start || w.Start < p.Start || w.End > p.End || (i > 0 && w.Start < p.Words[i-1].End) || w.Conf < 0 || w.Conf > 1 {
			t.Errorf("word %d %+v out of order in %v-%v", i, w, p.Start, p.End)
		}
	}
}

// Two sentences with a pause make two phrases with stream times; the same
// audio at 16 kHz gives the same words.
func TestDictationTwoPhrases16k(t *testing.T) {
	d := dictation(t)
	a := telephone(t, fliteVoices[1], "i lost my credit card")
	b := telephone(t, fliteVoices[1], "please cancel it")
	audio := append(append(append([]int16{}, a...), make([]int16, 4000)...), b...)
	for _, rate := range []int{8000, 16000} {
		in := audio
		if rate == 16000 {
			in = upsample2(nil, audio)
		}
		tr, err := d.Transcribe(context.Background(), speech.TranscribeOptions{SampleRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(in); off += rate / 50 {
			tr.Write(in[off:min(off+rate/50, len(in))])
		}
		go tr.Close()
		var got []speech.Phrase
		for p := range tr.Phrases() {
			got = append(got, p)
		}
		t.Logf("%d Hz: %+v", rate, got)
		if len(got) != 2 || !strings.Contains(got[0].Text, "card") || got[1].Start < time.Duration(len(a))*time.Second/speech.SampleRate {
			t.Errorf("%d Hz: want two phrases, card then the second sentence after %v: %+v", rate, time.Duration(len(a))*time.Second/speech.SampleRate, got)
		}
	}
}

func TestDecimator(t *testing.T) {
	// A 1 kHz tone survives at half the rate; 6 kHz is filtered out.
	for _, c := range []struct {
		hz      float64
		min, mx float64
	}{{1000, 0.9, 1.1}, {6000, 0, 0.01}} {
		in := tone(16000, c.hz, 16000)
		d := newDecimator()
		var out []int16
		for off := 0; off < len(in); off += 333 {
			out = d.push(out, in[off:min(off+333, len(in))])
		}
		out = d.flush(out)
		if len(out) != len(in)/2 {
			t.Fatalf("%v Hz: %d samples out of %d", c.hz, len(out), len(in))
		}
		r := rms(out[1000:7000]) / rms(in[2000:14000])
		if r < c.min || r > c.mx {
			t.Errorf("%v Hz: gain %.3f, want %v-%v", c.hz, r, c.min, c.mx)
		}
	}
}

func TestSpokenWord(t *testing.T) {
	for in, want := range map[string]string{"<s>": "", "</s>": "", "<sil>": "", "[NOISE]": "", "++UH++": "", "read(2)": "read", "card": "card"} {
		got, ok := spokenWord(in)
		if got != want || ok != (want != "") {
			t.Errorf("spokenWord(%q) = %q %v", in, got, ok)
		}
	}
}

func tone(rate int, hz float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(10000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}
