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

// Word is one recognised word of a transcription, its times counted from
// the start of the stream.
type Word struct {
	Word       string
	Start, End time.Duration
	// Conf is the engine's confidence in [0,1] (1 when it gives none).
	Conf float64
}

// Phrase is one stretch of speech a transcription finished: what was said
// between two pauses.
type Phrase struct {
	// Text is the words, lower case, separated by single spaces; "" when
	// the engine heard speech but no words (the phrase is then dropped by
	// consumers).
	Text  string
	Words []Word
	// Start and End bound the phrase in the stream (from its first
	// sample); End is the end of speech, so the time from End to the
	// phrase's arrival is the transcript's latency.
	Start, End time.Duration
}

// TranscribeOptions configure one transcription.
type TranscribeOptions struct {
	// SampleRate of the PCM written (SampleRate when 0).
	SampleRate int
	// Vocabulary holds words and phrases the speakers are likely to say
	// (a tenant's product names, from its knowledge base): engines that
	// can bias or extend their language model use them; others ignore
	// them.
	Vocabulary []string
	// Label names the stream in logs ("call 123 caller").
	Label string
}

// Transcriber transcribes free speech (a conversation, not a menu answer).
// Implementations are safe for concurrent use by many calls.
type Transcriber interface {
	Transcribe(ctx context.Context, o TranscribeOptions) (Transcription, error)
}

// Transcription is one audio stream being transcribed, phrase by phrase.
type Transcription interface {
	// Write feeds PCM (any length). It never blocks for long: the caller
	// is a call's media path; when the engine falls behind, audio is
	// dropped and counted rather than queued without bound.
	Write(pcm []int16) error
	// Phrases delivers each finished phrase in order and is closed after
	// Close (or when the engine is lost: Err then says why).
	Phrases() <-chan Phrase
	// Close flushes the phrase in progress, waits for its result (bounded)
	// and releases the stream. Safe to call more than once.
	Close() error
	// Err is why the stream ended early (nil while it runs or after a
	// clean Close).
	Err() error
}
