// Package pocketsphinx is the embedded grammar recognizer: CMU PocketSphinx
// (the Debian 0.8/5prealpha library, through cgo) with a JSGF grammar per
// prompt built by speech/grammar.
//
// How an utterance is handled (docs/speech.md has the measurements):
//
//   - Audio from the call is voice-activity detected at 8 kHz in Go
//     (vad.go); the decoder is not involved until the caller stops talking.
//   - The utterance (with 250 ms before the onset) is upsampled to 16 kHz
//     and decoded whole, in one cgo call, with batch cepstral mean
//     normalisation over the utterance itself. Per-chunk decoding on a
//     fresh decoder takes the CMN estimate from the model's defaults, far
//     from telephone audio, and gets most first answers wrong; decoding the
//     whole utterance needs no per-call decoder and no edited model copy.
//   - The same audio is decoded a second time by a phone loop (allphone
//     search); the grammar path's score per frame minus the phone loop's
//     is the confidence measure: speech the grammar explains almost as well
//     as free phones is in grammar.
//   - Decoders (~30 MB each) are pooled: created lazily up to PoolSize and
//     borrowed only for the decode itself (tens of milliseconds), not for
//     the whole time a caller sits at a prompt.
package pocketsphinx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"hotline/speech"
	"hotline/speech/grammar"
)

// Default paths of Debian's pocketsphinx-en-us package.
const (
	DefaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"
	DefaultDictPath = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
	DefaultPhoneLM  = "/usr/share/pocketsphinx/model/en-us/en-us-phone.lm.bin"
)

// Config configures an Engine. Zero values take the defaults.
type Config struct {
	// ModelDir is the acoustic model directory (DefaultModelDir), read
	// as is, never modified. Its feat.params decides the front end (this
	// library version lets it override the command line); Debian's says
	// -cmn batch, which whole-utterance decoding makes exact.
	ModelDir string
	// DictPath is the pronunciation dictionary (DefaultDictPath).
	DictPath string
	// PhoneLM is the phone language model for the confidence test
	// (DefaultPhoneLM). "none" disables the test: confidence then comes
	// from the grammar path's score alone, which separates worse.
	PhoneLM string
	// PoolSize bounds the decoders alive at once (default: the number of
	// CPUs, since a decode is CPU bound and more decoders than cores only
	// queue). Streams wait for a free decoder at end of speech.
	PoolSize int
	// GrammarCache is how many compiled grammars each decoder keeps
	// (default 32): switching to a cached one is free, compiling costs a
	// few milliseconds.
	GrammarCache int
	// EndSilence is the silence after speech that ends the utterance
	// (default 400 ms: on the benchmark set, 700 ms and 400 ms score the
	// same and 400 ms decides 300 ms sooner; 200 ms cuts callers off,
	// docs/benchmarks.md "Speech").
	EndSilence time.Duration
	// StartSpeech is how long the level must stay above the speech
	// threshold before SpeechStarted (default 60 ms): shorter clicks and
	// pops do not barge in.
	StartSpeech time.Duration
	// MaxUtterance ends an utterance that runs on (default 10 s): the
	// grammar is for short answers and the decoder's cost grows with it.
	MaxUtterance time.Duration
	// MaxBacklog bounds the audio Write queues when the stream's worker
	// falls behind (default 3 s); beyond it frames are dropped, since the
	// writer is the call's media path and must never block.
	MaxBacklog time.Duration
	// ConfidenceCenter and ConfidenceScale map the score difference
	// (grammar minus phone loop, decoder units per 10 ms frame) to [0,1]
	// with a logistic: 0.5 at the center, scale units per e-fold. The
	// defaults (3, 2) were set on generated speech; see docs/speech.md.
	ConfidenceCenter, ConfidenceScale float64
	// PartialEvery sends a Partial hypothesis every this much speech (0,
	// the default: none), decoded on the audio so far when a decoder is
	// idle at that moment, never waiting for one. Off by default because
	// it costs accuracy: a decoder that decoded a partial utterance carries
	// its normalisation into the next decode (measured: "four two seven"
	// heard as 5 2 7 with 700 ms partials on a two-decoder pool).
	PartialEvery time.Duration
	// DecoderWait bounds how long an utterance waits for a free decoder
	// when all PoolSize are busy (default 3 s); past it the Final carries
	// no result and the wait is logged.
	DecoderWait time.Duration
	// Logger receives decode failures (default: discarded).
	Logger *slog.Logger
	// LogFile receives PocketSphinx's log (default: discarded). Note the
	// library's logger is process-wide: the last engine created wins.
	LogFile string
}

func (c *Config) defaults() {
	if c.ModelDir == "" {
		c.ModelDir = DefaultModelDir
	}
	if c.DictPath == "" {
		c.DictPath = DefaultDictPath
	}
	if c.PhoneLM == "" {
		c.PhoneLM = DefaultPhoneLM
	}
	if c.PoolSize <= 0 {
		c.PoolSize = runtime.NumCPU()
	}
	if c.GrammarCache <= 0 {
		c.GrammarCache = 32
	}
	if c.EndSilence <= 0 {
		c.EndSilence = 400 * time.Millisecond
	}
	if c.StartSpeech <= 0 {
		c.StartSpeech = 60 * time.Millisecond
	}
	if c.MaxUtterance <= 0 {
		c.MaxUtterance = 10 * time.Second
	}
	if c.MaxBacklog <= 0 {
		c.MaxBacklog = 3 * time.Second
	}
	if c.ConfidenceScale <= 0 {
		c.ConfidenceCenter, c.ConfidenceScale = 3, 2
	}
	if c.DecoderWait <= 0 {
		c.DecoderWait = 3 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LogFile == "" {
		c.LogFile = os.DevNull
	}
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("pocketsphinx: engine closed")

// Engine is a pool of decoders sharing one model. It implements
// speech.Recognizer and speech.Vocabulary; safe for concurrent use.
type Engine struct {
	cfg  Config
	dict *grammar.Dict
	args []string
	*pool
}

var (
	_ speech.Recognizer = (*Engine)(nil)
	_ speech.Vocabulary = (*Engine)(nil)
)

// New checks the model, loads the dictionary's word list and creates the
// first decoder (so a broken installation fails here, at startup, not on
// the first caller).
func New(cfg Config) (*Engine, error) {
	cfg.defaults()
	dict, err := loadModel(cfg.DictPath, cfg.ModelDir+"/mdef")
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:  cfg,
		dict: dict,
		args: []string{"hotline",
			"-hmm", cfg.ModelDir,
			"-dict", cfg.DictPath,
			"-logfn", cfg.LogFile,
			// Context-independent phones for the phone loop: the
			// triphone loop is ~100x slower (9 s for a 1.7 s utterance
			// here) for no better separation.
			"-allphone_ci", "yes",
			// The boundaries come from our VAD; the decoder's own would
			// cut the 250 ms lead-in the CMN estimate benefits from.
			"-remove_silence", "no",
		},
	}
	e.pool = newPool(cfg.PoolSize, func() (*decoder, error) {
		return newDecoder(e.args, e.phoneLM(), e.cfg.GrammarCache)
	})
	if err := e.prime(); err != nil {
		return nil, err
	}
	return e, nil
}

// loadModel checks that the model files exist and loads the dictionary's
// word list.
func loadModel(dictPath string, files ...string) (*grammar.Dict, error) {
	for _, p := range append(files, dictPath) {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("pocketsphinx: model: %w (install pocketsphinx-en-us, see scripts/deps.sh)", err)
		}
	}
	dict, err := grammar.LoadDict(dictPath)
	if err != nil {
		return nil, fmt.Errorf("pocketsphinx: %w", err)
	}
	return dict, nil
}

func (e *Engine) phoneLM() string {
	if e.cfg.PhoneLM == "none" {
		return ""
	}
	return e.cfg.PhoneLM
}

// Close frees the idle decoders; borrowed ones are freed when returned.
// Streams waiting for a decoder end with a Final without a result.
func (e *Engine) Close() error {
	e.pool.close()
	return nil
}

// Stats reports the pool's size.
func (e *Engine) Stats() Stats { return e.pool.stats() }

// Missing implements speech.Vocabulary: the words of phrase that the
// dictionary lacks after normalisation (see grammar.Normalize).
func (e *Engine) Missing(phrase string) []string {
	_, missing := grammar.Normalize(phrase, e.dict)
	return missing
}

// Compile checks and compiles g without starting a stream (for flow
// checks and to fail early).
func (e *Engine) Compile(g speech.Grammar) (*grammar.Compiled, error) {
	c, err := grammar.Compile(g, e.dict)
	if err != nil {
		return nil, fmt.Errorf("pocketsphinx: %w", err)
	}
	return c, nil
}

// Start implements speech.Recognizer.
func (e *Engine) Start(ctx context.Context, g speech.Grammar) (speech.Stream, error) {
	if e.isClosed() {
		return nil, ErrClosed
	}
	c, err := e.Compile(g)
	if err != nil {
		return nil, err
	}
	return newStream(ctx, e, c), nil
}
