package pocketsphinx

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotline/speech"
	"hotline/speech/speechtest"
)

// feedFrames writes pcm in 20 ms frames, as the media taps do, and
// returns the phrases with the stream's last ones.
func feedFrames(st *DictationStream, pcm []int16) []speech.Phrase {
	var out []speech.Phrase
	for off := 0; off < len(pcm); off += speech.FrameSamples {
		out = append(out, st.Write(pcm[off:min(off+speech.FrameSamples, len(pcm))])...)
	}
	return append(out, st.Flush()...)
}

// Phrases decoded as they arrive are the phrases decoded whole: the same
// boundaries and stream times, and words as good.
func TestIncrementalMatchesWhole(t *testing.T) {
	d := dictation(t)
	var talk []int16
	var ref []string
	for _, s := range speechtest.CallSentences[:4] {
		talk = append(append(talk, telephone(t, fliteVoices[1], s)...), make([]int16, 4000)...)
		ref = append(ref, strings.Fields(s)...)
	}
	whole, err := d.Open(speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	whole.whole = true
	want := feedFrames(whole, talk)
	inc, err := d.Open(speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := feedFrames(inc, talk)
	inc.Close()
	if inc.incremental < 3 {
		t.Errorf("%d of %d phrases were decoded as they arrived", inc.incremental, len(got))
	}
	if len(got) != len(want) {
		t.Fatalf("incremental: %d phrases %+v, whole: %d %+v", len(got), got, len(want), want)
	}
	texts := func(ps []speech.Phrase) []string {
		var w []string
		for _, p := range ps {
			w = append(w, strings.Fields(p.Text)...)
		}
		return w
	}
	eWhole, eInc := speechtest.WordErrors(ref, texts(want)), speechtest.WordErrors(ref, texts(got))
	t.Logf("word errors: whole %d, incremental %d of %d", eWhole, eInc, len(ref))
	if eInc > eWhole+2 {
		t.Errorf("incremental decoding made %d word errors, whole %d:\n%+v\n%+v", eInc, eWhole, got, want)
	}
	near := func(a, b time.Duration) bool { return (a - b).Abs() <= 60*time.Millisecond }
	for i := range got {
		if !near(got[i].Start, want[i].Start) || !near(got[i].End, want[i].End) {
			t.Errorf("phrase %d: %v-%v incremental, %v-%v whole", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
		for j, w := range got[i].Words {
			if w.Start < got[i].Start || w.End > got[i].End || w.End <= w.Start {
				t.Errorf("phrase %d word %d %+v outside %v-%v", i, j, w, got[i].Start, got[i].End)
			}
		}
	}
}

// A stream dropped in the middle of a phrase gives its decoder back.
func TestIncrementalCloseMidPhrase(t *testing.T) {
	d := dictation(t)
	pcm := telephone(t, fliteVoices[2], "i would like to cancel my subscription")
	st, err := d.Open(speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(pcm)/2; off += speech.FrameSamples {
		st.Write(pcm[off : off+speech.FrameSamples])
	}
	if st.inc == nil {
		t.Fatal("no decoder holds the phrase in progress")
	}
	busy := d.Stats()
	st.Close()
	if after := d.Stats(); after.Idle != busy.Idle+1 {
		t.Errorf("idle decoders %d before Close, %d after", busy.Idle, after.Idle)
	}
	// The decoder decodes the next stream's phrase as if nothing happened.
	st2, _ := d.Open(speech.TranscribeOptions{})
	ps := feedFrames(st2, pcm)
	if len(ps) != 1 || !strings.Contains(ps[0].Text, "cancel") {
		t.Errorf("after a dropped stream: %+v", ps)
	}
}

// A phrase decoded as it arrives gives its decoder up to a phrase that
// has ended and waits for one, and is then decoded whole at its end: the
// waiting phrase is not lost, and neither is the one that gave way.
func TestIncrementalGivesWay(t *testing.T) {
	d := dictation(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Leave one decoder to the streams.
	held, err := d.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := d.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.release(other)
	defer d.release(held)

	long := telephone(t, fliteVoices[2], "i would like to cancel my subscription")
	short := append(telephone(t, fliteVoices[1], "i lost my credit card"), make([]int16, 4000)...)
	a, _ := d.Open(speech.TranscribeOptions{Label: "a"})
	b, _ := d.Open(speech.TranscribeOptions{Label: "b"})
	defer a.Close()
	defer b.Close()
	half := len(long) / 2 / speech.FrameSamples * speech.FrameSamples
	for off := 0; off < half; off += speech.FrameSamples {
		a.Write(long[off : off+speech.FrameSamples])
	}
	if a.inc == nil {
		t.Fatal("a: no decoder holds the phrase in progress")
	}
	bDone := make(chan []speech.Phrase, 1)
	go func() { bDone <- feedFrames(b, short) }()
	// b's phrase ends and waits; a's next frame gives way.
	for !d.contended() {
		select {
		case ps := <-bDone:
			t.Fatalf("b finished without waiting for a decoder: %+v", ps)
		case <-time.After(5 * time.Millisecond):
		}
	}
	a.Write(long[half : half+speech.FrameSamples])
	if a.inc != nil || a.preempted != 1 {
		t.Fatalf("a kept its decoder (preempted %d) while b waited", a.preempted)
	}
	var got []speech.Phrase
	select {
	case got = <-bDone:
	case <-time.After(30 * time.Second):
		t.Fatal("b's phrase never decoded")
	}
	if len(got) != 1 || !strings.Contains(got[0].Text, "card") {
		t.Errorf("b: %+v", got)
	}
	rest := feedFrames(a, append(long[half+speech.FrameSamples:], make([]int16, 4000)...))
	if len(rest) != 1 || !strings.Contains(rest[0].Text, "cancel") {
		t.Errorf("a, decoded whole after giving way: %+v", rest)
	}
}

// A hum that starts after the line was measured (a fan, a tone) is not a
// phrase: it yields no words and holds no decoder, and speech after it is
// transcribed.
func TestDictationHum(t *testing.T) {
	d := dictation(t)
	st, _ := d.Open(speech.TranscribeOptions{})
	defer st.Close()
	hum := tone(speech.SampleRate, 1000, 10*speech.SampleRate)
	for i := range hum {
		hum[i] /= 4
	}
	pcm := append(make([]int16, 4000), hum...)
	pcm = append(pcm, make([]int16, 4000)...)
	pcm = append(pcm, telephone(t, fliteVoices[1], "i lost my credit card")...)
	var got []speech.Phrase
	for off := 0; off < len(pcm); off += speech.FrameSamples {
		got = append(got, st.Write(pcm[off:min(off+speech.FrameSamples, len(pcm))])...)
		if off == 4000+3*speech.SampleRate && (st.inSpeech || st.inc != nil) {
			t.Errorf("3 s into the hum: in a phrase %v, holding a decoder %v", st.inSpeech, st.inc != nil)
		}
	}
	got = append(got, st.Flush()...)
	if len(got) != 1 || !strings.Contains(got[0].Text, "card") {
		t.Errorf("want only the spoken phrase, got %+v", got)
	}
}
