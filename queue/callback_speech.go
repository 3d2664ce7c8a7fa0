package queue

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"

	"hotline/call"
	"hotline/media"
	"hotline/speech"
)

// "Call me back" said while waiting. Thousands of callers sit in queues,
// so nothing expensive may run per waiter: the caller's received audio
// goes through a cheap energy detector on the RTP receive goroutine
// (speechTap), which holds 400 ms of audio and nothing else. Only when an
// utterance of plausible length ends is it handed to the recognizer, whole
// (so batch CMN is computed on it), through a stream that borrows a pooled
// decoder for the decode alone. Long talk, music or noise that never
// pauses is never decoded. A confident match starts the same dialogue as
// the callback key, whose "press 1 to confirm" guards against the
// recognizer's weak rejection.

// callbackChoice is the grammar's choice for a callback request.
const callbackChoice = "callback"

// callbackGrammar accepts the request and, as a rejection path, other
// things callers say while waiting: speech that is not a request is then
// more often matched to one of those than forced onto "call me back".
var callbackGrammar = speech.Grammar{Choices: []speech.Choice{
	{Name: callbackChoice, Phrases: []string{"call me back", "callback", "call back", "please call me back", "call me back please"}},
	{Name: "other", Phrases: []string{
		"hello", "yes", "no", "okay", "thank you", "agent", "operator", "representative",
		"what", "hold on", "one moment", "how long", "come on", "hurry up",
	}},
}}

// Detection bounds.
const (
	// CallbackSpeechConfidence is the least confidence that starts the
	// dialogue; the confirmation step catches what slips through.
	CallbackSpeechConfidence = 0.5

	tapFrame       = speech.FrameSamples
	tapPreroll     = 20 // frames kept before the onset (400 ms): the stream's VAD warms up on them
	tapStartFrames = 3  // frames above the start threshold that begin speech (60 ms)
	tapEndFrames   = 20 // quiet frames that end it (400 ms)
	tapMinSpeech   = 20 // shortest plausible request (400 ms of speech)
	// tapMaxSpeech is the longest (2.2 s; "please call me back" takes
	// about 1.4 s). With the preroll and the quiet tail the utterance is
	// 3 s: what a stream takes in one go without dropping audio.
	tapMaxSpeech = 110

	tapWarmup      = 10 // frames that only measure the line
	tapInitNoise   = -65.0
	tapFloorDB     = -90.0
	tapStartMargin = 12.0
	tapStopMargin  = 7.0
	tapMinStartDB  = -48.0
	tapMinStopDB   = -54.0
)

// uttCap is an utterance buffer's size in samples.
const uttCap = (tapPreroll + tapMaxSpeech + tapEndFrames) * tapFrame

// uttPool recycles utterance buffers: the tap takes one at an onset
// (without allocating, on the receive goroutine) and the recognizer's side
// puts it back.
var uttPool = sync.Pool{New: func() any { b := make([]int16, 0, uttCap); return &b }}

// speechTap is a media.PCMTap that finds utterances in a waiting caller's
// audio. TapPCM runs on the receive goroutine only; utterances leave
// through out, which holds one: while one is being recognized, the next
// is dropped.
type speechTap struct {
	out chan *[]int16

	frame [tapFrame]int16
	n     int // samples in frame

	ring [tapPreroll * tapFrame]int16 // circular: the audio before an onset
	head int                          // next write position in ring
	full bool

	noise    float64
	warm     int
	warmSum  float64
	above    int
	quiet    int
	inSpeech bool
	spoken   int // frames of the current utterance from the onset on
	tooLong  bool
	utt      *[]int16
}

func newSpeechTap() *speechTap {
	return &speechTap{out: make(chan *[]int16, 1), noise: tapInitNoise}
}

// TapPCM implements media.PCMTap; it never blocks.
func (t *speechTap) TapPCM(pcm []int16) {
	for len(pcm) > 0 {
		k := copy(t.frame[t.n:], pcm)
		t.n += k
		pcm = pcm[k:]
		if t.n == tapFrame {
			t.n = 0
			t.push(t.frame[:])
		}
	}
}

// push classifies one 20 ms frame and collects the utterance.
func (t *speechTap) push(f []int16) {
	db := levelDB(f)
	if !t.inSpeech {
		t.keep(f)
		if t.warm < tapWarmup {
			t.warm++
			t.warmSum += db
			t.noise = t.warmSum / float64(t.warm)
			return
		}
		if db >= max(t.noise+tapStartMargin, tapMinStartDB) {
			if t.above++; t.above >= tapStartFrames {
				t.onset()
			}
			return
		}
		t.above = 0
		if db < t.noise {
			t.noise = db
		} else {
			// Creeps up through louder non-speech (new hiss) at 0.4 dB a
			// frame at most, so speech's abrupt start stays above it.
			t.noise += min(0.05*(db-t.noise), 0.4)
		}
		t.noise = max(t.noise, tapFloorDB)
		return
	}
	t.spoken++
	if !t.tooLong {
		if len(*t.utt)+tapFrame > cap(*t.utt) {
			t.tooLong = true
		} else {
			*t.utt = append(*t.utt, f...)
		}
	}
	if db < max(t.noise+tapStopMargin, tapMinStopDB) {
		t.quiet++
	} else {
		t.quiet = 0
	}
	if t.quiet >= tapEndFrames {
		t.end()
	}
}

// keep puts a frame in the preroll ring.
func (t *speechTap) keep(f []int16) {
	copy(t.ring[t.head:], f)
	t.head += tapFrame
	if t.head == len(t.ring) {
		t.head, t.full = 0, true
	}
}

// onset starts an utterance with the ring's audio (which holds the onset
// frames themselves).
func (t *speechTap) onset() {
	t.inSpeech, t.quiet, t.tooLong = true, 0, false
	t.spoken = t.above
	t.utt = uttPool.Get().(*[]int16)
	u := (*t.utt)[:0]
	if t.full {
		u = append(u, t.ring[t.head:]...)
	}
	u = append(u, t.ring[:t.head]...)
	*t.utt = u
	t.head, t.full = 0, false
}

// end closes the utterance: a plausible one is handed on, anything else
// goes back to the pool unheard.
func (t *speechTap) end() {
	speechFrames := t.spoken - t.quiet
	u := t.utt
	t.inSpeech, t.above, t.utt = false, 0, nil
	if t.tooLong || speechFrames < tapMinSpeech || speechFrames > tapMaxSpeech {
		uttPool.Put(u)
		return
	}
	select {
	case t.out <- u:
	default:
		uttPool.Put(u) // the last one is still being recognized
	}
}

// levelDB is a frame's power in dB relative to full scale.
func levelDB(f []int16) float64 {
	var sum int64
	for _, s := range f {
		v := int64(s)
		sum += v * v
	}
	p := float64(sum) / float64(len(f)) / (32768.0 * 32768.0)
	if p <= 1e-9 {
		return tapFloorDB
	}
	return max(10*math.Log10(p), tapFloorDB)
}

// recognizeCallback decodes one utterance with the callback grammar; ok
// when it is a confident request.
func recognizeCallback(ctx context.Context, rec speech.Recognizer, utt []int16) (speech.Event, bool, error) {
	st, err := rec.Start(ctx, callbackGrammar)
	if err != nil {
		return speech.Event{}, false, err
	}
	for off := 0; off < len(utt); off += tapFrame {
		if err := st.Write(utt[off:min(off+tapFrame, len(utt))]); err != nil {
			break
		}
	}
	_ = st.Close()
	var fin speech.Event
	for ev := range st.Events() {
		if ev.Type == speech.Final {
			fin = ev
		}
	}
	ok := !fin.NoSpeech && fin.Choice == callbackChoice && fin.Confidence >= CallbackSpeechConfidence
	return fin, ok, nil
}

// callbackSaid listens to c's caller until they ask for a callback by
// voice (said is signalled) or ctx ends. The tap is removed on return.
func callbackSaid(ctx context.Context, c *call.Call, tapper call.PCMTapper, rec speech.Recognizer, step string, log *slog.Logger, said chan<- struct{}) {
	tap := newSpeechTap()
	tapper.SetPCMTap(tap)
	defer tapper.SetPCMTap(nil)
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-tap.out:
			fin, ok, err := recognizeCallback(ctx, rec, *u)
			uttPool.Put(u)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("callback by speech: recognizer failed", "call", c.ID, "error", err)
				}
				continue
			}
			if fin.NoSpeech {
				continue
			}
			c.Event("callback_speech", step, map[string]string{
				"text": fin.Text, "choice": fin.Choice,
				"confidence": strconv.FormatFloat(fin.Confidence, 'f', 2, 64), "accepted": strconv.FormatBool(ok),
			})
			if ok {
				select {
				case said <- struct{}{}:
				case <-ctx.Done():
				}
				return
			}
		}
	}
}

// watchCallback starts the watches for a callback request from a waiting
// caller whose queue takes callbacks: the key, and speech when the queue
// listens for it and the call's media can hand over its audio. The
// returned channel fires once: true when the request was spoken. stop
// ends the watches and waits for them.
func (r *Runtime) watchCallback(ctx context.Context, e Entry) (asked <-chan bool, stop func()) {
	o, s, ok := r.callbackOpts(e.Queue)
	if !ok || e.Call.Media() == nil {
		return nil, func() {}
	}
	out := make(chan bool, 1)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	pressed, said := make(chan struct{}), make(chan struct{})
	wg.Go(func() { callbackKey(wctx, e.Call, o.Key, pressed) })
	if tapper, ok := e.Call.Media().(call.PCMTapper); ok && o.Speech && s.Recognizer != nil {
		wg.Go(func() { callbackSaid(wctx, e.Call, tapper, s.Recognizer, e.Step, r.log, said) })
	}
	wg.Go(func() {
		select {
		case <-pressed:
			out <- false
		case <-said:
			out <- true
		case <-wctx.Done():
		}
	})
	return out, func() { cancel(); wg.Wait() }
}

var _ media.PCMTap = (*speechTap)(nil)
