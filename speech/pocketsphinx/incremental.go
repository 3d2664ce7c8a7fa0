package pocketsphinx

import (
	"errors"
	"slices"
	"time"

	"hotline/speech"
)

// Incremental decoding: a phrase is decoded while it is spoken, so that
// when its end silence is heard only the decoder's last passes remain
// (the second search over the phrase and the best path), not the whole
// decode. Cepstral mean normalisation cannot then wait for the phrase's
// own mean; the decoder subtracts an estimate instead, the stream's own:
// the mean measured on its previous phrases (first from a whole-phrase
// decode, then updated by each incremental one). A stream's first phrase
// uses the estimate the engine last learned from any stream (telephone
// lines through the same codec look alike), before any the built-in
// telephoneCMN with the default model; with another model and no
// estimate yet, it is decoded whole.
//
// Measured (TestIncrementalBench, 232 words of flite voices): the work
// left at a phrase's end falls from p50 0.7-1.0 s to ~0.15 s (~25 ms
// without the second pass), for 18.1-18.5 % WER against 17.7 %.
//
// The decoder is held from the onset to the end of the phrase, so a
// phrase is decoded this way only when one is idle at its onset, and
// gives it up as soon as another phrase waits for one; else it is
// decoded whole at its end, as before (with the early decode).

// beginIncremental starts decoding the phrase just begun, if a decoder is
// idle and the stream has a mean estimate.
func (s *DictationStream) beginIncremental() {
	if s.whole || s.inc != nil {
		return
	}
	cmn := s.cmn
	if cmn == nil {
		if cmn = s.d.sharedCMN(); cmn == nil {
			return
		}
	}
	dec := s.d.tryIdle()
	if dec == nil {
		return
	}
	if len(cmn) != dec.cepLen() {
		s.d.release(dec)
		return
	}
	if v := s.vocab; v != nil && v.key != "" && !dec.has(v.key) {
		// Building the search here (~0.4 s, seconds on a loaded machine)
		// would hold the stream's audio back while the phrase is spoken,
		// and a client with a bounded backlog drops it. The phrase is
		// decoded whole at its end instead, and the search is built
		// into idle decoders beside the stream.
		s.d.release(dec)
		s.vocab, _ = s.d.know(v) // known again if others pushed it out
		s.d.startWarm()
		return
	}
	if err := dec.uttBegin(s.search(dec), cmn); err != nil {
		s.d.cfg.Logger.Error("speech: incremental decode failed to start", "err", err, "stream", s.label)
		s.d.release(dec)
		return
	}
	s.inc, s.incFed = dec, 0
	s.incremental++
	s.feedIncremental()
}

// feedIncremental gives the decoder the phrase's audio received so far,
// but for the last halfTaps samples, which the upsampler needs the next
// samples for.
func (s *DictationStream) feedIncremental() {
	if s.inc == nil {
		return
	}
	if s.d.contended() {
		// Another phrase has ended and waited (giveWayAfter) for a
		// decoder while this one holds one to go faster: it gets it, and
		// this phrase, its audio all in utt, is decoded whole at its end.
		// Else a long phrase (or a line that never goes quiet) could hold
		// a decoder for MaxPhrase and lose the others' phrases past
		// DecoderWait.
		s.preempted++
		s.dropIncremental()
		return
	}
	s.feedTo(len(s.utt) - halfTaps)
}

func (s *DictationStream) feedTo(end int) {
	if end <= s.incFed {
		return
	}
	s.incBuf = upsampleSpan(s.incBuf[:0], s.utt, s.incFed, end)
	s.incFed = end
	if err := s.inc.uttFeed(s.incBuf); err != nil {
		// The phrase's audio is all in utt: it is decoded whole at its end.
		s.d.cfg.Logger.Error("speech: incremental decode failed, decoding the phrase whole", "err", err, "stream", s.label)
		s.dropIncremental()
	}
}

// dropIncremental ends the incremental decode without its result and
// gives the decoder back.
func (s *DictationStream) dropIncremental() {
	s.inc.uttEnd(nil)
	s.d.release(s.inc)
	s.inc = nil
}

// endIncremental feeds the rest of the phrase, ends the decode and gives
// the decoder back; an error leaves the phrase to be decoded whole.
func (s *DictationStream) endIncremental(speechEnd int) (speech.Phrase, bool, error) {
	s.feedTo(len(s.utt))
	dec := s.inc
	if dec == nil {
		return speech.Phrase{}, false, errors.New("pocketsphinx: incremental decode dropped")
	}
	s.inc = nil
	defer s.d.release(dec)
	if s.cmn == nil {
		s.cmn = make([]float32, dec.cepLen())
	}
	r, err := dec.uttEnd(s.cmn)
	if err != nil {
		s.d.cfg.Logger.Error("speech: incremental decode failed, decoding the phrase whole", "err", err, "stream", s.label)
		return speech.Phrase{}, false, err
	}
	s.d.shareCMN(s.cmn)
	p, ok := phraseOf(dec, r, s.uttStart, speechEnd)
	return p, ok, nil
}

// warmVocabularies builds the known vocabularies' searches (the last
// VocabularyCache streams opened with) into the idle decoders that lack
// them, beside the streams: a phrase decoded as it arrives needs its
// search at its onset, and building one there (~0.4 s, seconds on a busy
// machine) would hold the stream's audio back as long. It runs when a
// vocabulary is first opened (a server prepares its tenants' at start,
// vosk.Prepare) and when an onset finds a decoder without its search;
// decoders created later build the known ones as they are created. It
// takes one decoder at a time and gives it back, so a phrase starting
// meanwhile finds the others idle.
func (d *Dictation) warmVocabularies() {
	start := time.Now()
	built := 0
	for range d.cfg.PoolSize {
		dec := d.tryIdle()
		if dec == nil {
			break
		}
		built += d.buildKnown(dec)
		d.release(dec)
	}
	d.cfg.Logger.Info("speech: vocabulary prepared", "vocabularies", len(d.knownVocabularies()), "searches_built", built,
		"ms", time.Since(start).Milliseconds())
}

// buildKnown builds into dec the known vocabularies' searches it lacks and
// returns how many it built.
func (d *Dictation) buildKnown(dec *decoder) (built int) {
	for _, v := range d.knownVocabularies() {
		if dec.has(v.key) {
			continue
		}
		if err := dec.useBiasedLM(v.key, dictationSearch, v.arpa, d.cfg.VocabularyWeight); err != nil {
			d.cfg.Logger.Error("speech: vocabulary model failed", "err", err, "vocabulary", v.key)
			continue
		}
		built++
	}
	return built
}

// startWarm runs warmVocabularies beside the caller; asked while one
// runs, it runs once more after it (for a vocabulary known meanwhile).
func (d *Dictation) startWarm() {
	d.warmMu.Lock()
	defer d.warmMu.Unlock()
	if d.warmRunning {
		d.warmAgain = true
		return
	}
	d.warmRunning = true
	d.warming.Go(func() {
		for {
			d.warmVocabularies()
			d.warmMu.Lock()
			again := d.warmAgain && !d.isClosed()
			d.warmAgain = false
			if !again {
				d.warmRunning = false
				d.warmMu.Unlock()
				return
			}
			d.warmMu.Unlock()
		}
	})
}

// telephoneCMN is the cepstral mean of G.711 speech upsampled for the
// default model, measured on flite voices (TestIncrementalBench prints
// it). The model's own initial estimate (feat.params -cmninit) is of
// wideband speech and far from it (the empty band above 4 kHz), so an
// engine starts from this one until its streams have measured their own.
var telephoneCMN = []float32{44.4, 26.8, -23.6, 54.7, -20.5, 14.6, 5.1, -15.9, 0.6, -14.0, 13.1, 0.2, 4.2}

// sharedCMN is the engine's mean estimate for a stream's first phrase: the
// last one a stream reported, else telephoneCMN with the default model.
func (d *Dictation) sharedCMN() []float32 {
	if d.cfg.firstPhraseWhole {
		return nil
	}
	d.cmnMu.Lock()
	defer d.cmnMu.Unlock()
	if d.cmn == nil && d.cfg.ModelDir == DefaultModelDir {
		return slices.Clone(telephoneCMN)
	}
	return slices.Clone(d.cmn)
}

func (d *Dictation) shareCMN(cmn []float32) {
	d.cmnMu.Lock()
	defer d.cmnMu.Unlock()
	d.cmn = append(d.cmn[:0], cmn...)
}
