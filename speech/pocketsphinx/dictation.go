package pocketsphinx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/speech"
	"hotline/speech/grammar"
)

// DefaultLM is the language model of Debian's pocketsphinx-en-us package.
const DefaultLM = "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"

// dictationSearch names the language-model search in each decoder.
const dictationSearch = "dictation"

// DictationConfig configures a Dictation engine. Zero values take the
// defaults.
type DictationConfig struct {
	// ModelDir, DictPath: as in Config.
	ModelDir, DictPath string
	// LMPath is the n-gram language model (DefaultLM), ARPA or binary.
	LMPath string
	// PoolSize bounds the decoders alive at once (default: the number of
	// CPUs). Each holds the language model: ~110 MB with the default one.
	PoolSize int
	// EndSilence ends a phrase (default 300 ms: a transcript line may
	// end at a comma, and every 100 ms here is 100 ms more before the
	// line shows; menus wait 400 ms for a whole answer).
	EndSilence time.Duration
	// NoSpeculation turns off the early decode: by default a phrase is
	// decoded as soon as its silence reaches tailKeep (200 ms), while
	// the rest of EndSilence is waited for, so the result is ready when
	// the phrase is known to have ended (the transcript's "end of phrase
	// to screen" within a second); speech resuming discards that decode,
	// which then cost CPU for nothing.
	NoSpeculation bool
	// NoIncremental turns off decoding phrases as they are spoken
	// (incremental.go): each is then decoded whole when it ends.
	NoIncremental bool
	// NoSecondPass skips the decoder's second search over each phrase
	// (fwdflat): measured (TestIncrementalBench) ~20 % less CPU and
	// ~0.1 s less work at a phrase's end, for 19.4 % WER against 18.1 %.
	NoSecondPass bool
	// MaxHMMPerFrame bounds the HMMs the search keeps active per frame
	// (PocketSphinx -maxhmmpf; default 6000, PocketSphinx's own 30000).
	// Measured one core, no second pass (232 words of flite voices through
	// G.711, and 40 sentences with an insurer's terms): with a vocabulary
	// 30000 RTF 0.53-0.59, WER 20.7 %, terms 38/40; 6000 RTF 0.34-0.38,
	// WER 20.3 %, 38/40; 4000 RTF 0.31-0.34, WER 20.7 %, 38/40; 3000 WER
	// 24.1 %. Without one: 0.38 → 0.26, WER 19.4 → 20.3 %. The CPU is what
	// a line waits for when a busy core decodes slower than speech comes.
	MaxHMMPerFrame int
	// args are extra decoder arguments (for measuring them).
	args []string
	// firstPhraseWhole decodes a stream's first phrase whole rather than
	// with another stream's mean estimate (for measuring the two).
	firstPhraseWhole bool
	// StartSpeech debounces the onset (default 60 ms).
	StartSpeech time.Duration
	// MaxPhrase cuts a phrase that runs on (default 15 s); the next one
	// starts where it was cut. Decode cost and latency grow with length.
	MaxPhrase time.Duration
	// MaxBacklog bounds the audio a Transcription queues while its worker
	// decodes (default 3 s); beyond it audio is dropped and counted.
	MaxBacklog time.Duration
	// DecoderWait bounds a phrase's wait for a free decoder when all are
	// busy (default 3 s); past it the phrase is lost and logged.
	DecoderWait time.Duration
	// VocabularyWeight is the interpolation weight of a stream's
	// vocabulary model against the general one (default 1e-6). It is
	// tiny because the decoder interpolates scores after the language
	// weight (6.5) has scaled them, so it acts like weight^(1/6.5) on
	// probabilities. Measured on 40 flite sentences with an insurer's
	// terms (TestVocabularyBench): none 21/40 terms recognized, 1e-20
	// 29/40, 1e-12 33/40, 1e-6 38/40 with no term put into the control
	// sentences, 0.05 38/40 with one.
	VocabularyWeight float64
	// VocabularyCache is how many vocabulary searches each decoder keeps
	// (default 2). Each is a search network over the whole dictionary:
	// measured ~0.4 s to build and ~58 MB per decoder.
	VocabularyCache int
	Logger          *slog.Logger
	// LogFile receives PocketSphinx's log (default: discarded).
	LogFile string
}

func (c *DictationConfig) defaults() {
	if c.EndSilence <= 0 {
		c.EndSilence = 300 * time.Millisecond
	}
	// What it shares with the grammar engine takes that one's defaults.
	b := Config{ModelDir: c.ModelDir, DictPath: c.DictPath, PoolSize: c.PoolSize, EndSilence: c.EndSilence,
		StartSpeech: c.StartSpeech, MaxBacklog: c.MaxBacklog, DecoderWait: c.DecoderWait, Logger: c.Logger, LogFile: c.LogFile}
	b.defaults()
	c.ModelDir, c.DictPath, c.PoolSize, c.EndSilence = b.ModelDir, b.DictPath, b.PoolSize, b.EndSilence
	c.StartSpeech, c.MaxBacklog, c.DecoderWait, c.Logger, c.LogFile = b.StartSpeech, b.MaxBacklog, b.DecoderWait, b.Logger, b.LogFile
	if c.LMPath == "" {
		c.LMPath = DefaultLM
	}
	if c.MaxPhrase <= 0 {
		c.MaxPhrase = 15 * time.Second
	}
	if c.VocabularyWeight <= 0 || c.VocabularyWeight >= 1 {
		c.VocabularyWeight = 1e-6
	}
	if c.VocabularyCache <= 0 {
		c.VocabularyCache = 2
	}
	if c.MaxHMMPerFrame <= 0 {
		c.MaxHMMPerFrame = 6000
	}
}

// Dictation transcribes free speech with the language model: the VAD of
// the grammar engine cuts the stream into phrases, and each phrase is
// decoded whole (batch CMN over the phrase) by a pooled decoder, so a
// decoder is busy only while it decodes. It implements speech.Transcriber;
// the Vosk server drives DictationStream directly.
type Dictation struct {
	cfg  DictationConfig
	dict *grammar.Dict
	*pool

	vocabMu                sync.Mutex
	vocabDir               string         // vocabulary models; created on first use
	known                  []*vocabulary  // the last VocabularyCache opened, most recent last
	warming                sync.WaitGroup // warmVocabularies runs (startWarm)
	warmMu                 sync.Mutex
	warmRunning, warmAgain bool

	cmnMu sync.Mutex
	cmn   []float32 // the last cepstral mean a stream measured (incremental.go)
}

var (
	_ speech.Transcriber = (*Dictation)(nil)
	_ speech.Vocabulary  = (*Dictation)(nil)
)

// NewDictation checks the model and creates the first decoder.
func NewDictation(cfg DictationConfig) (*Dictation, error) {
	cfg.defaults()
	dict, err := loadModel(cfg.DictPath, cfg.ModelDir+"/mdef", cfg.LMPath)
	if err != nil {
		return nil, err
	}
	args := []string{"hotline",
		"-hmm", cfg.ModelDir,
		"-dict", cfg.DictPath,
		"-logfn", cfg.LogFile,
		"-remove_silence", "no", // boundaries come from our VAD, as for grammars
		"-maxhmmpf", strconv.Itoa(cfg.MaxHMMPerFrame),
	}
	if cfg.NoSecondPass {
		args = append(args, "-fwdflat", "no")
	}
	args = append(args, cfg.args...)
	d := &Dictation{cfg: cfg, dict: dict}
	d.pool = newPool(cfg.PoolSize, func() (*decoder, error) {
		dec, err := newDecoder(args, "", cfg.VocabularyCache)
		if err != nil {
			return nil, err
		}
		if err := dec.setLM(dictationSearch, cfg.LMPath); err != nil {
			dec.free()
			return nil, err
		}
		// A decoder created after streams opened with vocabularies (the
		// pool warming at a worker's start) has their searches before it
		// first goes idle, not at some phrase's onset.
		d.buildKnown(dec)
		return dec, nil
	})
	if err := d.prime(); err != nil {
		return nil, err
	}
	// A worker exists to transcribe: load the other decoders now, not on
	// the first calls (a language model takes seconds to load).
	go d.pool.warm()
	return d, nil
}

// Close frees the idle decoders; borrowed ones are freed when returned.
func (d *Dictation) Close() error {
	d.pool.close()
	d.warming.Wait() // a warm-up holds at most one decoder, and briefly
	d.vocabMu.Lock()
	defer d.vocabMu.Unlock()
	if d.vocabDir != "" {
		// Decoders still decoding have read their models already.
		os.RemoveAll(d.vocabDir)
		d.vocabDir = ""
	}
	return nil
}

// Stats reports the pool's size.
func (d *Dictation) Stats() Stats { return d.pool.stats() }

// ErrSampleRate is returned for sample rates other than 8 and 16 kHz.
var ErrSampleRate = errors.New("pocketsphinx: sample rate must be 8000 or 16000")

// DictationStream segments one audio stream into phrases and decodes
// each when it ends, synchronously in Write. Not safe for concurrent use.
type DictationStream struct {
	d       *Dictation
	label   string
	down    *decimator // 16 kHz input; nil at 8 kHz
	conv    []int16
	vocab   *vocabulary
	missing []string // vocabulary words the dictionary lacks

	vad      *vad
	frame    []int16
	ring     []int16 // the last preroll before speech
	utt      []int16 // audio of the phrase, from preroll before the onset
	uttStart int     // stream sample (8 kHz) of utt[0]
	onset    int     // stream sample where the phrase's speech began
	inSpeech bool
	pos      int // stream samples run through the VAD
	maxUtt   int
	endRun   int // samples of silence that end a phrase

	// spec is the early decode of the phrase in progress, started when
	// its silence reached tailKeep; nil when none runs for it.
	spec chan decoded

	// inc is the decoder decoding the phrase in progress as it arrives;
	// nil when the phrase is decoded whole at its end (see incremental.go).
	inc    *decoder
	incFed int       // samples of utt inc has been given
	incBuf []int16   // 16 kHz audio for inc
	cmn    []float32 // the stream's cepstral mean estimate; nil until its first phrase
	whole  bool      // every phrase decoded whole (DictationConfig.NoIncremental)
	// incremental counts the phrases begun incrementally, preempted those
	// that gave their decoder up to another phrase; for tests.
	incremental, preempted int
}

// Open starts a stream. o.SampleRate is 8000 (or 0) or 16000.
func (d *Dictation) Open(o speech.TranscribeOptions) (*DictationStream, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	s := &DictationStream{d: d, label: o.Label, whole: d.cfg.NoIncremental}
	switch o.SampleRate {
	case 0, speech.SampleRate:
	case 2 * speech.SampleRate:
		s.down = newDecimator()
	default:
		return nil, fmt.Errorf("%w, not %d", ErrSampleRate, o.SampleRate)
	}
	if len(o.Vocabulary) > 0 {
		v, err := d.prepareVocabulary(o.Vocabulary)
		if err != nil {
			return nil, err
		}
		if len(v.missing) > 0 {
			d.cfg.Logger.Info("speech: vocabulary words not in the dictionary, skipped",
				"stream", o.Label, "words", v.missing)
		}
		s.missing = v.missing
		if v.key != "" {
			var isNew bool
			if v, isNew = d.know(v); isNew && !s.whole {
				d.startWarm()
			}
		}
		s.vocab = v
	}
	endFrames := max(int(d.cfg.EndSilence/frameDur), 1)
	s.vad = newVAD(max(int(d.cfg.StartSpeech/frameDur), 1), endFrames)
	s.endRun = endFrames * speech.FrameSamples
	s.frame = make([]int16, 0, speech.FrameSamples)
	s.ring = make([]int16, 0, samples(preroll))
	s.maxUtt = samples(d.cfg.MaxPhrase + preroll)
	return s, nil
}

// MissingVocabulary is the vocabulary words the dictionary lacks: they
// were skipped, and cannot be recognized.
func (s *DictationStream) MissingVocabulary() []string { return s.missing }

// Write runs pcm through the segmenter and returns the phrases it
// finished (usually none; decoding one takes a fifth of its duration).
func (s *DictationStream) Write(pcm []int16) []speech.Phrase {
	if s.down != nil {
		s.conv = s.down.push(s.conv[:0], pcm)
		pcm = s.conv
	}
	return s.write(pcm)
}

// write runs 8 kHz audio through the segmenter.
func (s *DictationStream) write(pcm []int16) []speech.Phrase {
	var out []speech.Phrase
	for len(pcm) > 0 {
		n := min(speech.FrameSamples-len(s.frame), len(pcm))
		s.frame = append(s.frame, pcm[:n]...)
		pcm = pcm[n:]
		if len(s.frame) < speech.FrameSamples {
			break
		}
		if p, ok := s.push(s.frame); ok {
			out = append(out, p)
		}
		s.frame = s.frame[:0]
	}
	return out
}

// Flush decodes the phrase in progress, if any, as if the stream ended.
// The stream can go on after it.
func (s *DictationStream) Flush() []speech.Phrase {
	if s.down != nil {
		s.conv = s.down.flush(s.conv[:0])
		s.down = newDecimator()
		if out := s.write(s.conv); len(out) > 0 {
			// The decimator's tail finished a phrase; the rest follows.
			return append(out, s.Flush()...)
		}
	}
	defer func() {
		s.frame = s.frame[:0]
		s.vad.inSpeech, s.vad.above, s.vad.quiet = false, 0, 0
		s.spec = nil // what it decoded is in the phrase decoded here
	}()
	if !s.inSpeech {
		s.pos += len(s.frame)
		return nil
	}
	s.utt = append(s.utt, s.frame...)
	s.pos += len(s.frame)
	s.inSpeech = false
	// The quiet frames the VAD counted so far are not speech.
	if p, ok := s.phrase(s.utt, s.pos-s.vad.quiet*speech.FrameSamples); ok {
		return []speech.Phrase{p}
	}
	return nil
}

// Close gives back the decoder of a phrase being decoded as it arrives,
// dropping that phrase: for a stream abandoned without Flush.
func (s *DictationStream) Close() {
	if s.inc != nil {
		s.dropIncremental()
	}
	s.spec = nil
}

// push runs one frame through the VAD.
func (s *DictationStream) push(f []int16) (speech.Phrase, bool) {
	s.pos += len(f)
	if !s.inSpeech {
		if len(s.ring)+len(f) > cap(s.ring) {
			drop := len(s.ring) + len(f) - cap(s.ring)
			s.ring = append(s.ring[:0], s.ring[drop:]...)
		}
		s.ring = append(s.ring, f...)
		if s.vad.push(f) == vadStart {
			s.inSpeech = true
			s.utt = append(make([]int16, 0, s.maxUtt), s.ring...)
			s.uttStart = s.pos - len(s.ring)
			s.onset = s.pos - s.vad.startRun*speech.FrameSamples
			s.ring = s.ring[:0]
			s.beginIncremental()
		}
		return speech.Phrase{}, false
	}
	s.utt = append(s.utt, f...)
	s.feedIncremental()
	ev := s.vad.push(f)
	if s.spec != nil && s.vad.quiet == 0 {
		s.spec = nil // speech resumed: the early decode is of a phrase that goes on
	}
	if ev == vadSteady {
		return s.steady()
	}
	if ev == vadEnd {
		s.inSpeech = false
		// The end silence beyond tailKeep only costs decode time; it
		// is the next phrase's lead-in.
		cut := max(s.endRun-samples(tailKeep), 0)
		cut = min(cut, len(s.utt))
		keep := s.utt[len(s.utt)-cut:]
		s.ring = append(s.ring[:0], keep[max(len(keep)-cap(s.ring), 0):]...)
		if spec := s.spec; spec != nil {
			// The early decode had exactly this audio: the phrase up to
			// tailKeep of silence.
			s.spec = nil
			return s.learn(<-spec)
		}
		return s.phrase(s.utt[:len(s.utt)-cut], s.pos-s.endRun)
	}
	if s.inc == nil && !s.d.cfg.NoSpeculation && s.spec == nil && s.vad.quiet*speech.FrameSamples == samples(tailKeep) &&
		s.endRun > samples(tailKeep) {
		utt := append([]int16(nil), s.utt...)
		start, end := s.uttStart, s.pos-samples(tailKeep)
		spec := make(chan decoded, 1)
		s.spec = spec
		go func() { spec <- s.decodePhrase(utt, start, end) }()
	}
	if len(s.utt)+speech.FrameSamples > s.maxUtt {
		// Cut and go on: the VAD stays in speech and the next phrase
		// starts with the next frame.
		s.spec = nil
		p, ok := s.phrase(s.utt, s.pos)
		s.utt = s.utt[:0]
		s.uttStart, s.onset = s.pos, s.pos
		s.beginIncremental()
		return p, ok
	}
	return speech.Phrase{}, false
}

// minSpoken is the speech a phrase needs before a steady sound for it to
// be decoded: less is the sound's own onset.
const minSpoken = 300 * time.Millisecond

// steady ends the phrase in progress at the start of the steady sound the
// VAD found (see vad.steady): dropped when that sound is all it holds,
// else decoded whole up to the sound, which the decoder never hears.
func (s *DictationStream) steady() (speech.Phrase, bool) {
	s.inSpeech = false
	s.spec = nil
	if s.inc != nil {
		// It has been fed the sound already.
		s.dropIncremental()
	}
	s.ring = s.ring[:0]
	speechEnd := s.pos - steadyFrames*speech.FrameSamples
	if speechEnd-s.onset < samples(minSpoken) {
		return speech.Phrase{}, false
	}
	n := min(speechEnd+samples(tailKeep)-s.uttStart, len(s.utt))
	return s.learn(s.decodePhrase(s.utt[:n], s.uttStart, speechEnd))
}

// decoded is a decode's phrase, and the cepstral mean it measured.
type decoded struct {
	p   speech.Phrase
	ok  bool
	cmn []float32
}

// learn keeps the mean a decode measured as the stream's estimate for
// the phrases it decodes as they arrive.
func (s *DictationStream) learn(r decoded) (speech.Phrase, bool) {
	if r.cmn != nil {
		s.cmn = r.cmn
		s.d.shareCMN(r.cmn)
	}
	return r.p, r.ok
}

// phrase finishes the phrase in progress, utt (starting at s.uttStart)
// whose speech ended at the stream sample speechEnd: the end of its
// incremental decode, or else a decode of utt whole. ok is false when it
// holds no words.
func (s *DictationStream) phrase(utt []int16, speechEnd int) (speech.Phrase, bool) {
	if s.inc != nil {
		if p, ok, err := s.endIncremental(speechEnd); err == nil {
			return p, ok
		}
	}
	return s.learn(s.decodePhrase(utt, s.uttStart, speechEnd))
}

// decodePhrase decodes utt, which starts at the stream sample uttStart.
// It reads no field of s that changes while the stream runs, so an early
// decode can run it beside the stream.
func (s *DictationStream) decodePhrase(utt []int16, uttStart, speechEnd int) decoded {
	cfg := &s.d.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DecoderWait)
	defer cancel()
	dec, err := s.d.acquire(ctx)
	if err != nil {
		cfg.Logger.Warn("speech: no decoder for a phrase, phrase lost", "err", err, "stream", s.label,
			"pool", cfg.PoolSize, "phrase_ms", len(utt)*1000/speech.SampleRate)
		return decoded{}
	}
	defer s.d.release(dec)
	r, err := dec.decode(s.search(dec), upsample2(nil, utt))
	if err != nil {
		cfg.Logger.Error("speech: dictation decode failed", "err", err, "stream", s.label)
		return decoded{}
	}
	p, ok := phraseOf(dec, r, uttStart, speechEnd)
	return decoded{p: p, ok: ok, cmn: dec.cmnMean()}
}

// phraseOf is the phrase the decoder's last decode found in audio that
// started at the stream sample uttStart and whose speech ended at
// speechEnd; ok is false when it holds no words.
func phraseOf(dec *decoder, r decodeResult, uttStart, speechEnd int) (speech.Phrase, bool) {
	if r.hyp == "" {
		return speech.Phrase{}, false
	}
	base := time.Duration(uttStart) * time.Second / speech.SampleRate
	p := speech.Phrase{End: time.Duration(speechEnd) * time.Second / speech.SampleRate}
	var text []string
	segs := dec.segments()
	// After an utterance decoded as it arrived, the decoder numbers the
	// next one's frames on from the last (seen with this PocketSphinx);
	// the best path's first segment (<s>) always starts the utterance.
	first := 0
	if len(segs) > 0 {
		first = segs[0].sf
	}
	for _, sg := range segs {
		w, ok := spokenWord(sg.word)
		if !ok {
			continue
		}
		text = append(text, w)
		p.Words = append(p.Words, speech.Word{
			Word:  w,
			Start: base + time.Duration(sg.sf-first)*10*time.Millisecond,
			End:   base + time.Duration(sg.ef-first+1)*10*time.Millisecond,
			Conf:  min(max(sg.conf, 0), 1),
		})
	}
	if len(text) == 0 {
		return speech.Phrase{}, false
	}
	p.Text = strings.Join(text, " ")
	p.Start = p.Words[0].Start
	p.End = max(p.End, p.Words[len(p.Words)-1].End)
	return p, true
}

// search is the decoder's search for this stream: the vocabulary's when
// it has one (built into dec on first use), else the plain model.
func (s *DictationStream) search(dec *decoder) string {
	cfg := &s.d.cfg
	if s.vocab == nil || s.vocab.key == "" {
		return dictationSearch
	}
	if err := dec.useBiasedLM(s.vocab.key, dictationSearch, s.vocab.arpa, cfg.VocabularyWeight); err != nil {
		cfg.Logger.Error("speech: vocabulary model failed, decoding without it", "err", err, "stream", s.label)
		return dictationSearch
	}
	return s.vocab.key
}

// spokenWord drops sentence marks, silence and fillers ([NOISE], ++UH++)
// and strips the pronunciation variant: "read(2)" is "read".
func spokenWord(w string) (string, bool) {
	if w == "" || w == "<s>" || w == "</s>" || w == "<sil>" || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
		return "", false
	}
	if i := strings.IndexByte(w, '('); i > 0 {
		w = w[:i]
	}
	return strings.ToLower(w), true
}

// Transcribe implements speech.Transcriber: a worker goroutine per
// stream runs a DictationStream behind a bounded queue.
func (d *Dictation) Transcribe(ctx context.Context, o speech.TranscribeOptions) (speech.Transcription, error) {
	st, err := d.Open(o)
	if err != nil {
		return nil, err
	}
	rate := o.SampleRate
	if rate == 0 {
		rate = speech.SampleRate
	}
	t := &dictTranscription{
		st:      st,
		log:     d.cfg.Logger,
		phrases: make(chan speech.Phrase, 16),
		done:    make(chan struct{}),
		queue:   speech.NewBacklog(int(d.cfg.MaxBacklog * time.Duration(rate) / time.Second)),
	}
	go t.run(ctx)
	return t, nil
}

// dictTranscription owns the worker goroutine, which runs until Close
// (after decoding what is left) or until ctx ends, and closes phrases.
type dictTranscription struct {
	st      *DictationStream
	log     *slog.Logger
	phrases chan speech.Phrase
	done    chan struct{}
	queue   *speech.Backlog

	mu  sync.Mutex
	err error
}

func (t *dictTranscription) Write(pcm []int16) error {
	if !t.queue.Write(pcm) {
		return ErrStreamClosed
	}
	return nil
}

func (t *dictTranscription) Phrases() <-chan speech.Phrase { return t.phrases }

func (t *dictTranscription) Close() error {
	t.queue.Close()
	<-t.done
	return nil
}

func (t *dictTranscription) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *dictTranscription) run(ctx context.Context) {
	defer close(t.done)
	defer close(t.phrases)
	defer t.st.Close()
	var work []int16
	send := func(ps []speech.Phrase) bool {
		for _, p := range ps {
			select {
			case t.phrases <- p:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-t.queue.Wake():
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			t.mu.Lock()
			t.err = ctx.Err()
			t.mu.Unlock()
			return
		}
		var closing bool
		work, closing = t.queue.Take(work, 0)
		if !send(t.st.Write(work)) {
			continue // ctx is done: the next turn records it
		}
		if closing {
			send(t.st.Flush())
			if n := t.queue.Dropped(); n > 0 {
				t.log.Warn("speech: transcriber fell behind, audio dropped", "stream", t.st.label, "dropped_samples", n)
			}
			return
		}
	}
}
