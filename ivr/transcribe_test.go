package ivr

import (
	"context"
	"sync"
	"testing"
	"time"

	"hotline/speech"
)

// fakeTranscription finishes a phrase when told to.
type fakeTranscription struct {
	phrases chan speech.Phrase
	once    sync.Once
	written int
}

func (f *fakeTranscription) Write(pcm []int16) error       { f.written += len(pcm); return nil }
func (f *fakeTranscription) Phrases() <-chan speech.Phrase { return f.phrases }
func (f *fakeTranscription) Close() error {
	f.once.Do(func() { close(f.phrases) })
	return nil
}
func (f *fakeTranscription) Err() error { return nil }

type oneTranscriber struct{ tr *fakeTranscription }

func (o oneTranscriber) Transcribe(context.Context, speech.TranscribeOptions) (speech.Transcription, error) {
	return o.tr, nil
}

func frame(level int16) []int16 {
	f := make([]int16, speech.FrameSamples)
	for i := range f {
		if i%2 == 0 {
			f[i] = level
		} else {
			f[i] = -level
		}
	}
	return f
}

func nextEvent(t *testing.T, ch <-chan speech.Event) (speech.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(2 * time.Second):
		t.Fatal("no event")
	}
	return speech.Event{}, false
}

// Loud audio starts speech, the first phrase with words is the Final,
// and the events channel closes after it.
func TestTranscriberRecognizer(t *testing.T) {
	tr := &fakeTranscription{phrases: make(chan speech.Phrase, 4)}
	st, err := transcriberRecognizer{tr: oneTranscriber{tr}}.Start(context.Background(), speech.Grammar{})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_ = st.Write(frame(100)) // line noise
	}
	_ = st.Write(frame(3000))
	_ = st.Write(frame(3000))
	select {
	case ev := <-st.Events():
		t.Fatalf("speech started after two loud frames: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
	_ = st.Write(frame(3000))
	if ev, _ := nextEvent(t, st.Events()); ev.Type != speech.SpeechStarted {
		t.Fatalf("event %+v, want SpeechStarted", ev)
	}
	tr.phrases <- speech.Phrase{Text: ""}
	tr.phrases <- speech.Phrase{Text: "what is my balance", Words: []speech.Word{{Conf: 1}, {Conf: 0.5}}}
	tr.phrases <- speech.Phrase{Text: "and more"}
	ev, _ := nextEvent(t, st.Events())
	if ev.Type != speech.Final || ev.Text != "what is my balance" || ev.Confidence != 0.75 || ev.NoSpeech {
		t.Fatalf("final %+v", ev)
	}
	if _, ok := nextEvent(t, st.Events()); ok {
		t.Fatal("events after the Final")
	}
	if err := st.Close(); err != nil || tr.written != 13*speech.FrameSamples {
		t.Errorf("close %v, written %d", err, tr.written)
	}
}

func TestTranscriberRecognizerNothingSaid(t *testing.T) {
	tr := &fakeTranscription{phrases: make(chan speech.Phrase, 4)}
	st, _ := transcriberRecognizer{tr: oneTranscriber{tr}}.Start(context.Background(), speech.Grammar{})
	_ = st.Close()
	ev, _ := nextEvent(t, st.Events())
	if ev.Type != speech.Final || !ev.NoSpeech {
		t.Fatalf("final %+v", ev)
	}
}
