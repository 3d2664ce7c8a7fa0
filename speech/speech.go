// Package speech holds speech recognition and synthesis behind small
// interfaces. The embedded engines (PocketSphinx grammars for menus,
// espeak-ng for text) run offline on the server's CPU; external engines plug
// in behind the same interfaces.
//
// Audio in and out is 8 kHz 16-bit linear PCM (telephone audio after G.711
// decoding), in 20 ms frames of 160 samples when streaming.
package speech

import (
	"context"
	"time"
)

// SampleRate is the rate of every PCM buffer crossing these interfaces.
const SampleRate = 8000

// FrameSamples is one 20 ms frame at SampleRate.
const FrameSamples = 160

// Choice is one answer a menu accepts: its name (the menu option's key,
// e.g. "1") and the phrases that say it ("lost card", "my card is lost").
type Choice struct {
	Name    string
	Phrases []string
}

// Grammar is what a prompt accepts: a set of choices, spoken digits, or
// both.
type Grammar struct {
	Choices []Choice
	// Digits accepts spoken digit strings ("four two seven", "oh") of
	// MinDigits to MaxDigits digits (0: no bound).
	Digits               bool
	MinDigits, MaxDigits int
}

// EventType tells what an Event reports.
type EventType uint8

const (
	// SpeechStarted: the caller started talking (for barge-in).
	SpeechStarted EventType = iota + 1
	// Partial: a hypothesis so far; may change.
	Partial
	// Final: end of speech was detected (or the stream was closed) and
	// this is the decision. No events follow it.
	Final
)

// Event is what a Stream reports.
type Event struct {
	Type EventType
	// Text is the recognized words, lower case ("lost card", "4 2 7").
	Text string
	// Choice is the Grammar choice the text matched; "" when none did
	// (out of grammar, or nothing heard).
	Choice string
	// Digits are the spoken digits when the grammar accepts digits.
	Digits string
	// Confidence is in [0,1]; comparable across utterances of one engine,
	// so flows can set thresholds.
	Confidence float64
	// NoSpeech is set on a Final when nothing was said.
	NoSpeech bool
	// SpeechEnd is when end of speech was detected (zero if the stream was
	// closed first); Final.At - SpeechEnd is the decision latency.
	SpeechEnd time.Time
	At        time.Time
}

// Recognizer starts recognitions. Implementations are safe for concurrent
// use by many calls.
type Recognizer interface {
	// Start begins recognizing against g. The stream must be closed.
	Start(ctx context.Context, g Grammar) (Stream, error)
}

// Stream is one utterance being recognized.
type Stream interface {
	// Write feeds PCM (any length, normally one frame). It must not block
	// for long: the caller is the call's media path.
	Write(pcm []int16) error
	// Events delivers SpeechStarted, Partial and one Final event, then is
	// closed.
	Events() <-chan Event
	// Close ends the stream (a Final follows if none was sent) and
	// releases the engine's resources.
	Close() error
}

// Synthesizer renders text to speech.
type Synthesizer interface {
	// Synthesize returns text spoken at SampleRate.
	Synthesize(ctx context.Context, text string) ([]int16, error)
}

// Vocabulary reports words an engine cannot say or recognize, so
// `hotline flow check` can name them with file and line.
type Vocabulary interface {
	// Missing returns the words of phrase that the engine's dictionary
	// lacks and cannot spell out.
	Missing(phrase string) []string
}
