package ivr

import (
	"context"
	"fmt"
	"sync"
	"time"

	"hotline/speech"
)

// transcriberRecognizer lets an ask step listen through the channel's
// ordinary Listen (prompts, barge-in, keys, no-input and max-speech
// timers) with a free-speech transcriber instead of a grammar engine: the
// first phrase with words is the Final. The grammar is ignored.
type transcriberRecognizer struct {
	tr         speech.Transcriber
	label      string
	vocabulary []string
}

// Speech detection for barge-in and the no-input timer: transcriptions
// report finished phrases only, so the start of speech is found from the
// audio's energy. -36 dBFS over 60 ms is well above a phone line's idle
// noise and well below speech.
const (
	speechRMS    = 520
	speechFrames = 3
)

func (t transcriberRecognizer) Start(ctx context.Context, _ speech.Grammar) (speech.Stream, error) {
	tr, err := t.tr.Transcribe(ctx, speech.TranscribeOptions{SampleRate: speech.SampleRate, Label: t.label, Vocabulary: t.vocabulary})
	if err != nil {
		return nil, fmt.Errorf("transcribe: %w", err)
	}
	s := &transcribeStream{tr: tr, events: make(chan speech.Event, 4), talking: make(chan struct{})}
	go s.pump()
	return s, nil
}

type transcribeStream struct {
	tr     speech.Transcription
	events chan speech.Event

	mu      sync.Mutex // Write's state: one feeder, but Close may race it
	loudN   int        // loud frames in a row
	started bool
	talking chan struct{} // closed at the start of speech

	closeOnce sync.Once
}

func (s *transcribeStream) Write(pcm []int16) error {
	s.mu.Lock()
	if !s.started {
		if loud(pcm) {
			s.loudN++
		} else {
			s.loudN = 0
		}
		if s.loudN >= speechFrames {
			s.started = true
			close(s.talking)
		}
	}
	s.mu.Unlock()
	return s.tr.Write(pcm)
}

func (s *transcribeStream) Events() <-chan speech.Event { return s.events }

func (s *transcribeStream) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.tr.Close() })
	return err
}

// pump turns the transcription's phrases into recognizer events: one
// SpeechStarted, then a Final with the first phrase that has words (or
// NoSpeech when the transcription ends without one). Phrases after the
// Final are read and dropped so the engine never waits on us.
func (s *transcribeStream) pump() {
	defer close(s.events)
	phrases := s.tr.Phrases()
	talking := s.talking
	for {
		select {
		case <-talking:
			talking = nil
			s.events <- speech.Event{Type: speech.SpeechStarted, At: time.Now()}
		case ph, ok := <-phrases:
			if !ok {
				s.events <- speech.Event{Type: speech.Final, NoSpeech: true, At: time.Now()}
				return
			}
			if ph.Text == "" {
				continue
			}
			s.events <- speech.Event{Type: speech.Final, Text: ph.Text, Confidence: wordConf(ph.Words), At: time.Now()}
			go func() {
				for range phrases {
				}
			}()
			return
		}
	}
}

func wordConf(ws []speech.Word) float64 {
	if len(ws) == 0 {
		return 1
	}
	var sum float64
	for _, w := range ws {
		sum += w.Conf
	}
	return sum / float64(len(ws))
}

// loud reports whether a frame's RMS reaches speechRMS.
func loud(pcm []int16) bool {
	if len(pcm) == 0 {
		return false
	}
	var sum float64
	for _, v := range pcm {
		f := float64(v)
		sum += f * f
	}
	return sum/float64(len(pcm)) >= speechRMS*speechRMS
}
