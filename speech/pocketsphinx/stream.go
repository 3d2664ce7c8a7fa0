package pocketsphinx

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"hotline/speech"
	"hotline/speech/grammar"
)

const (
	frameDur = 20 * time.Millisecond
	// preroll is kept before the detected onset: the VAD fires some tens
	// of milliseconds into the first word, and weak onsets (f, s, h) are
	// below its threshold; the silence also gives the decoder's CMN and
	// the grammar's leading silence something to work with.
	preroll = 250 * time.Millisecond
	// tailKeep is the silence kept after the last speech frame; the rest
	// of EndSilence is cut before decoding (it only costs decode time).
	tailKeep = 200 * time.Millisecond
)

// ErrStreamClosed is returned by Write after Close.
var ErrStreamClosed = errors.New("pocketsphinx: stream closed")

func samples(d time.Duration) int { return int(d * speech.SampleRate / time.Second) }

// stream is one utterance. Write hands audio to the worker goroutine,
// which the stream owns: it runs from newStream until it sends the Final,
// and Close waits for it.
type stream struct {
	e      *Engine
	g      *grammar.Compiled
	ctx    context.Context
	events chan speech.Event
	done   chan struct{}   // closed when the worker has exited
	queue  *speech.Backlog // written, not yet taken; MaxBacklog at most

	mu       sync.Mutex
	finished bool // the worker sent the Final
}

func newStream(ctx context.Context, e *Engine, g *grammar.Compiled) *stream {
	s := &stream{
		e:      e,
		g:      g,
		ctx:    ctx,
		events: make(chan speech.Event, 4), // SpeechStarted + Final fit: the worker never blocks on a slow reader
		done:   make(chan struct{}),
		queue:  speech.NewBacklog(samples(e.cfg.MaxBacklog)),
	}
	go s.run()
	return s
}

// Write implements speech.Stream. It copies pcm into the queue and
// returns; audio beyond MaxBacklog is dropped.
func (s *stream) Write(pcm []int16) error {
	s.mu.Lock()
	finished := s.finished
	s.mu.Unlock()
	if finished {
		// The IVR may still be feeding audio in the instant before it
		// reads the Final; that audio is simply not needed.
		if s.queue.Closed() {
			return ErrStreamClosed
		}
		return nil
	}
	if !s.queue.Write(pcm) {
		return ErrStreamClosed
	}
	return nil
}

// Events implements speech.Stream.
func (s *stream) Events() <-chan speech.Event { return s.events }

// Close implements speech.Stream: the worker finishes the utterance
// (decoding what was said so far, if anything) and sends the Final; Close
// returns when it has.
func (s *stream) Close() error {
	s.queue.Close()
	<-s.done
	return nil
}

// utterance is the worker's state.
type utterance struct {
	vad      *vad
	frame    []int16 // the frame being filled (writes need not be 160 samples)
	ring     []int16 // the last preroll of audio before speech
	utt      []int16 // audio from preroll before the onset; nil before speech
	maxUtt   int
	tailCut  int
	lead     int // samples of utt before the onset frames
	inSpeech bool
	partial  int // samples of speech since the last Partial
}

func (s *stream) run() {
	defer close(s.done)
	defer close(s.events)
	cfg := &s.e.cfg
	endFrames := max(int(cfg.EndSilence/frameDur), 1)
	u := &utterance{
		vad:     newVAD(max(int(cfg.StartSpeech/frameDur), 1), endFrames),
		frame:   make([]int16, 0, speech.FrameSamples),
		ring:    make([]int16, 0, samples(preroll)),
		maxUtt:  samples(cfg.MaxUtterance + preroll),
		tailCut: max(endFrames*speech.FrameSamples-samples(tailKeep), 0),
	}
	work := make([]int16, 0, samples(cfg.MaxBacklog))
	for {
		ctxDone := false
		select {
		case <-s.queue.Wake():
		case <-s.ctx.Done():
			ctxDone = true
		}
		var closing bool
		work, closing = s.queue.Take(work, 0)
		if fin, ok := s.feed(u, work); ok {
			s.finish(fin)
			return
		}
		if closing || ctxDone {
			fin := speech.Event{Type: speech.Final, NoSpeech: !u.inSpeech}
			if u.inSpeech {
				fin = s.decode(u.utt, len(u.utt)-u.lead, time.Time{})
			}
			s.finish(fin)
			return
		}
	}
}

// feed runs samples through the VAD; ok when the utterance is complete
// and fin is its Final.
func (s *stream) feed(u *utterance, pcm []int16) (fin speech.Event, ok bool) {
	for len(pcm) > 0 {
		n := min(speech.FrameSamples-len(u.frame), len(pcm))
		u.frame = append(u.frame, pcm[:n]...)
		pcm = pcm[n:]
		if len(u.frame) < speech.FrameSamples {
			break
		}
		f := u.frame
		u.frame = u.frame[:0]
		if !u.inSpeech {
			if len(u.ring)+len(f) > cap(u.ring) {
				drop := len(u.ring) + len(f) - cap(u.ring)
				u.ring = append(u.ring[:0], u.ring[drop:]...)
			}
			u.ring = append(u.ring, f...)
			if u.vad.push(f) == vadStart {
				u.inSpeech = true
				u.utt = make([]int16, 0, u.maxUtt)
				u.utt = append(u.utt, u.ring...)
				// The onset frames are in the ring too; they are speech.
				u.lead = max(len(u.ring)-u.vad.startRun*speech.FrameSamples, 0)
				s.send(speech.Event{Type: speech.SpeechStarted, At: time.Now()})
			}
			continue
		}
		u.utt = append(u.utt, f...)
		if every := s.e.cfg.PartialEvery; every > 0 {
			if u.partial += len(f); u.partial >= samples(every) {
				u.partial = 0
				s.sendPartial(u.utt)
			}
		}
		ev := u.vad.push(f)
		if ev == vadSteady {
			// A hum or a tone, not an answer: nothing was said.
			return speech.Event{NoSpeech: true}, true
		}
		if ev == vadEnd {
			end := time.Now()
			utt := u.utt[:len(u.utt)-min(u.tailCut, len(u.utt))]
			return s.decode(utt, len(utt)-u.lead-samples(tailKeep), end), true
		}
		if len(u.utt)+speech.FrameSamples > u.maxUtt {
			return s.decode(u.utt, len(u.utt)-u.lead, time.Now()), true
		}
	}
	return speech.Event{}, false
}

func (s *stream) send(ev speech.Event) {
	// Never blocks: the channel holds every event a stream sends.
	s.events <- ev
}

// sendPartial decodes the utterance so far, if a decoder is idle now, and
// sends what it heard. It leaves room in the events channel for the Final,
// dropping the partial when a slow reader has not taken the last ones.
func (s *stream) sendPartial(utt []int16) {
	if len(s.events) >= cap(s.events)-1 {
		return
	}
	d := s.e.tryIdle()
	if d == nil {
		return
	}
	defer s.e.release(d)
	if err := d.useGrammar(s.g.Key, s.g.JSGF); err != nil {
		return
	}
	r, err := d.decode(s.g.Key, upsample2(nil, utt))
	if err != nil || r.hyp == "" {
		return
	}
	res := s.g.Interpret(r.hyp)
	s.send(speech.Event{Type: speech.Partial, Text: res.Text, Choice: res.Choice, Digits: res.Digits, At: time.Now()})
}

func (s *stream) finish(fin speech.Event) {
	fin.Type = speech.Final
	fin.At = time.Now()
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
	if dropped := s.queue.Dropped(); dropped > 0 {
		s.e.cfg.Logger.Warn("speech: recognizer fell behind, audio dropped",
			"dropped_ms", dropped*1000/speech.SampleRate, "grammar", s.g.Key)
	}
	s.send(fin)
}

// decode recognizes one utterance (8 kHz) against the stream's grammar.
// speechLen is the samples of utt the VAD took for speech (without the
// lead-in and the kept tail), for the confidence measure.
func (s *stream) decode(utt []int16, speechLen int, speechEnd time.Time) speech.Event {
	fin := speech.Event{Type: speech.Final, SpeechEnd: speechEnd}
	cfg := &s.e.cfg
	// The wait for a decoder is bounded by DecoderWait, not by the
	// stream's context: a hang-up cancels the context, and Close still
	// wants the Final promptly rather than an error.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), cfg.DecoderWait)
	defer cancel()
	d, err := s.e.acquire(ctx)
	if err != nil {
		cfg.Logger.Warn("speech: no decoder for the utterance", "err", err, "pool", cfg.PoolSize)
		return fin
	}
	defer s.e.release(d)
	res, conf, err := recognize(d, s.g, utt, speechLen, cfg)
	if err != nil {
		cfg.Logger.Error("speech: decode failed", "err", err, "grammar", s.g.Key)
		return fin
	}
	fin.Text, fin.Choice, fin.Digits, fin.Confidence = res.Text, res.Choice, res.Digits, conf
	return fin
}

// recognize decodes utt (8 kHz) with the grammar and scores the result.
//
// Confidence: the grammar search finds the best path through the
// grammar's phrases; the phone-loop search finds the best path through
// any phone sequence, which bounds how well anything could explain the
// audio. Their difference per 10 ms frame, diff = (grammar - phones) /
// frames in the decoder's scaled log units, is high when the grammar
// explains the audio about as well as free phones (grammar paths carry a
// bonus over the phone loop's language model) and low when the grammar
// had to force ill-fitting words onto it. diff goes through a logistic:
// confidence = 1 / (1 + exp(-(diff - center) / scale)). No path through
// the grammar at all is confidence 0.
//
// The difference is divided by the frames of speech (speechLen samples,
// as the VAD saw them) rather than by all the frames decoded: the lead-in
// and tail silence score the same in both searches and would otherwise
// dilute a one-word answer's evidence by half against a long phrase's.
func recognize(d *decoder, g *grammar.Compiled, utt []int16, speechLen int, cfg *Config) (grammar.Result, float64, error) {
	if err := d.useGrammar(g.Key, g.JSGF); err != nil {
		return grammar.Result{}, 0, err
	}
	up := upsample2(nil, utt)
	r, err := d.decode(g.Key, up)
	if err != nil || r.hyp == "" || r.frames == 0 {
		return grammar.Result{}, 0, err
	}
	res := g.Interpret(r.hyp)
	// 10 ms feature frames of speech; at least 100 ms so a click cannot
	// divide by almost nothing.
	speechFrames := max(speechLen*100/speech.SampleRate, 10, 0)
	speechFrames = min(speechFrames, r.frames)
	var x float64
	if d.hasPhones {
		p, err := d.decode(allphoneSearch, up)
		if err != nil {
			return res, 0, err
		}
		x = float64(int64(r.score)-int64(p.score)) / float64(speechFrames)
	} else {
		// Without the phone loop the grammar path's own score per frame
		// is the only evidence; it depends on the speaker and the line
		// far more, so this fallback separates worse. In-grammar speech
		// scored -10 to -21 per frame in the tests, out of grammar -24 to
		// -46; shift it to the same center as the difference.
		x = float64(r.score)/float64(r.frames) + 22 + cfg.ConfidenceCenter
	}
	return res, logistic((x - cfg.ConfidenceCenter) / cfg.ConfidenceScale), nil
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
