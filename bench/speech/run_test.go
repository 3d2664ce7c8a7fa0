package speechbench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/bench/speechset"
	"hotline/media"
	"hotline/speech"
)

// energyRecognizer is a stand-in engine: it calls anything louder than
// -40 dBFS speech and ends the utterance after hangMs of quiet, answering
// with a fixed choice. It checks the harness's plumbing (framing, tail,
// latency, classification) without a real recognizer.
type energyRecognizer struct {
	hangMs int
	choice string
	conf   float64
}

func (e energyRecognizer) Start(ctx context.Context, g speech.Grammar) (speech.Stream, error) {
	return &energyStream{rec: e, ev: make(chan speech.Event, 4)}, nil
}

type energyStream struct {
	rec      energyRecognizer
	ev       chan speech.Event
	mu       sync.Mutex
	speaking bool
	quietMs  int
	final    bool
	end      time.Time
}

func (s *energyStream) Write(pcm []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final {
		return nil
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	loud := math.Sqrt(sum/float64(len(pcm))) > 328 // -40 dBFS
	switch {
	case loud && !s.speaking:
		s.speaking = true
		s.ev <- speech.Event{Type: speech.SpeechStarted, At: time.Now()}
	case loud:
		s.quietMs = 0
	case s.speaking:
		s.quietMs += 20
		if s.quietMs == 20 {
			s.end = time.Now()
		}
		if s.quietMs >= s.rec.hangMs {
			s.final = true
			s.ev <- speech.Event{Type: speech.Final, Choice: s.rec.choice, Confidence: s.rec.conf, SpeechEnd: time.Now(), At: time.Now()}
			close(s.ev)
		}
	}
	return nil
}

func (s *energyStream) Events() <-chan speech.Event { return s.ev }

func (s *energyStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.final {
		s.final = true
		s.ev <- speech.Event{Type: speech.Final, NoSpeech: !s.speaking, At: time.Now()}
		close(s.ev)
	}
	return nil
}

// toneSet writes two items: a 1 kHz burst from 0.5 s to 1.2 s (expected
// "cards") and 2 s of silence (OOG).
func toneSet(t *testing.T) (string, []speechset.Item) {
	dir := t.TempDir()
	pcm := make([]int16, 2*speech.SampleRate)
	for i := 4000; i < 9600; i++ {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/speech.SampleRate))
	}
	write := func(name string, pcm []int16) {
		if err := os.WriteFile(filepath.Join(dir, name), media.EncodeWAV(pcm, speech.SampleRate), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tone.wav", pcm)
	write("quiet.wav", make([]int16, 2*speech.SampleRate))
	return dir, []speechset.Item{
		{ID: "tone", File: "tone.wav", Text: "cards", Engine: "flite", Grammar: speechset.GrammarMenu, Expect: "cards", SpeechStartMs: 500, SpeechEndMs: 1200, DurationMs: 2000},
		{ID: "quiet", File: "quiet.wav", Engine: "synthetic", Voice: "hiss", Grammar: speechset.GrammarMenu, Expect: speechset.OOG, DurationMs: 2000},
	}
}

func TestRunEnergyRecognizer(t *testing.T) {
	dir, items := toneSet(t)
	rec := energyRecognizer{hangMs: 400, choice: "cards", conf: 0.8}
	for _, paced := range []bool{false, true} {
		st, err := Run(context.Background(), rec, dir, items, Options{Paced: paced, Concurrency: 2, TailMs: 1000})
		if err != nil {
			t.Fatal(err)
		}
		tone, quiet := st.Results[0], st.Results[1]
		if tone.Err != nil || !tone.Endpointed || tone.Final.Choice != "cards" {
			t.Fatalf("paced=%v: tone result %+v", paced, tone)
		}
		// Paced, the engine needs 400 ms of quiet: latency is that,
		// within a frame or two plus scheduling. Unpaced only the
		// engine's decision time counts, which is nil here.
		if paced && (tone.Latency < 360*time.Millisecond || tone.Latency > 600*time.Millisecond) {
			t.Errorf("paced: latency %v, want about 400 ms", tone.Latency)
		}
		if !paced && (tone.Latency < 0 || tone.Latency > 50*time.Millisecond) {
			t.Errorf("unpaced: latency %v, want about 0", tone.Latency)
		}
		if quiet.Endpointed || !quiet.Final.NoSpeech {
			t.Errorf("paced=%v: quiet item %+v: want closed by the harness with NoSpeech", paced, quiet)
		}
		if quiet.AudioMs != 2000 || tone.AudioMs != 2000 {
			t.Errorf("paced=%v: audio %d / %d ms, want the files' 2000", paced, tone.AudioMs, quiet.AudioMs)
		}
		c := Count(st.Results, Thresholds{Reject: 0.3, Confirm: 0.6})
		if c.InBy[Accepted] != 1 || c.OutBy[Rejected] != 1 {
			t.Errorf("paced=%v: counts %+v", paced, c)
		}
	}
}

func TestClassify(t *testing.T) {
	in := speechset.Item{Grammar: speechset.GrammarMenu, Expect: "agent"}
	oog := speechset.Item{Grammar: speechset.GrammarMenu, Expect: speechset.OOG}
	digits := speechset.Item{Grammar: speechset.GrammarDigits, Expect: "427"}
	th := Thresholds{Reject: 0.3, Confirm: 0.6}
	for _, tc := range []struct {
		it   speechset.Item
		ev   speech.Event
		want Outcome
	}{
		{in, speech.Event{Choice: "agent", Confidence: 0.9}, Accepted},
		{in, speech.Event{Choice: "agent", Confidence: 0.4}, Confirmed},
		{in, speech.Event{Choice: "agent", Confidence: 0.1}, Rejected},
		{in, speech.Event{Choice: "cards", Confidence: 0.9}, AcceptedBad},
		{in, speech.Event{Choice: "cards", Confidence: 0.5}, ConfirmedBad},
		{in, speech.Event{Confidence: 0.9}, Rejected},
		{oog, speech.Event{Choice: "cards", Confidence: 0.7}, AcceptedBad},
		{oog, speech.Event{Choice: "cards", Confidence: 0.5}, ConfirmedBad},
		{oog, speech.Event{NoSpeech: true}, Rejected},
		{digits, speech.Event{Digits: "427", Confidence: 0.8}, Accepted},
		{digits, speech.Event{Digits: "42", Confidence: 0.8}, AcceptedBad},
	} {
		if got := Classify(Result{Item: tc.it, Final: tc.ev}, th); got != tc.want {
			t.Errorf("%+v %+v: got %d, want %d", tc.it, tc.ev, got, tc.want)
		}
	}
}

func TestReportTables(t *testing.T) {
	rs := []Result{
		{Item: speechset.Item{Engine: "flite", Text: "agent", Grammar: speechset.GrammarMenu, Expect: "agent", SpeechEndMs: 900}, Final: speech.Event{Choice: "agent", Confidence: 0.8}, Endpointed: true, Latency: 250 * time.Millisecond},
		{Item: speechset.Item{Engine: "espeak", Text: "hello", Grammar: speechset.GrammarMenu, Expect: speechset.OOG, SpeechEndMs: 700}, Final: speech.Event{Choice: "cards", Confidence: 0.5}, Endpointed: true},
	}
	var b strings.Builder
	th := Thresholds{Reject: 0.3, Confirm: 0.6}
	WriteSummary(&b, rs, th)
	WriteBySNR(&b, rs, th)
	WriteTradeoff(&b, rs, []float64{0, 0.5})
	WriteGrid(&b, rs, []Thresholds{th})
	WritePhrases(&b, rs)
	out := b.String()
	for _, want := range []string{"| flite + festival | 1 | 100.0% | 100.0% |", "| espeak | 0 |", "| agent | menu | agent | 1 | 100.0% |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
