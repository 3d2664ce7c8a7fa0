package call

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hotline/media"
	"hotline/speech"
)

// tapMedia is fakeMedia that can tap: the test plays the caller's audio
// into the installed tap.
type tapMedia struct {
	*fakeMedia
	mu  sync.Mutex
	tap media.PCMTap
}

func (m *tapMedia) SetPCMTap(t media.PCMTap) {
	m.mu.Lock()
	m.tap = t
	m.mu.Unlock()
}

// talk feeds frames of audio through the tap, as the RTP receive goroutine
// would, one every 20 ms of wall time divided by 10 (tests stay fast).
func (m *tapMedia) talk(frames int) {
	frame := make([]int16, speech.FrameSamples)
	for range frames {
		m.mu.Lock()
		t := m.tap
		m.mu.Unlock()
		if t != nil {
			t.TapPCM(frame)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pace plays every source it is given to its end, as the pacer would.
func (m *tapMedia) pace(t *testing.T) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		frame := make([]int16, 160)
		for {
			select {
			case s := <-m.src:
				for s != nil && s.ReadFrame(frame) {
				}
			case <-stop:
				return
			}
		}
	}()
}

// scriptedRecognizer hears what it is told: after startAt frames the
// caller starts talking, after finalAt frames it decides on final (0: it
// never does by itself).
type scriptedRecognizer struct {
	startAt, finalAt int
	final            speech.Event
	startErr         error

	mu      sync.Mutex
	streams []*scriptedStream
}

func (r *scriptedRecognizer) Start(_ context.Context, g speech.Grammar) (speech.Stream, error) {
	if r.startErr != nil {
		return nil, r.startErr
	}
	s := &scriptedStream{r: r, grammar: g, events: make(chan speech.Event, 4)}
	r.mu.Lock()
	r.streams = append(r.streams, s)
	r.mu.Unlock()
	return s, nil
}

func (r *scriptedRecognizer) stream(t *testing.T) *scriptedStream {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.streams) != 1 {
		t.Fatalf("%d streams started, want 1", len(r.streams))
	}
	return r.streams[0]
}

type scriptedStream struct {
	r       *scriptedRecognizer
	grammar speech.Grammar

	mu        sync.Mutex
	frames    int
	finalSent bool
	closed    bool
	events    chan speech.Event
}

func (s *scriptedStream) Write(pcm []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("write after close")
	}
	s.frames++
	switch {
	case s.frames == s.r.startAt:
		s.events <- speech.Event{Type: speech.SpeechStarted, At: time.Now()}
	case s.frames == s.r.finalAt && !s.finalSent:
		s.finalSent = true
		ev := s.r.final
		ev.Type = speech.Final
		s.events <- ev
		close(s.events)
	}
	return nil
}

func (s *scriptedStream) Events() <-chan speech.Event { return s.events }

func (s *scriptedStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("closed twice")
	}
	s.closed = true
	if !s.finalSent {
		s.finalSent = true
		s.events <- speech.Event{Type: speech.Final, NoSpeech: true}
		close(s.events)
	}
	return nil
}

func newListenCall(t *testing.T) (*Call, *tapMedia, *sink) {
	m := &tapMedia{fakeMedia: newFakeMedia()}
	m.src = make(chan media.Source, 64)
	ev := &sink{}
	long := media.NewPromptPCM(make([]int16, 8000*60))
	short := media.NewPromptPCM(make([]int16, 160))
	c := New(context.Background(), Info{ID: "c1", TenantID: "demo"}, Config{
		Media: m, Prompts: lib{"long": long, "short": short}, Events: ev,
	})
	return c, m, ev
}

var lostCard = speech.Grammar{Choices: []speech.Choice{{Name: "lost_card", Phrases: []string{"lost card"}}}}

func listenAsync(c *Call, opts ListenOptions) <-chan struct {
	res ListenResult
	err error
} {
	out := make(chan struct {
		res ListenResult
		err error
	}, 1)
	go func() {
		res, err := c.PlayAndListen(context.Background(), opts)
		out <- struct {
			res ListenResult
			err error
		}{res, err}
	}()
	return out
}

func TestListenSpeechBargesIn(t *testing.T) {
	c, m, _ := newListenCall(t)
	rec := &scriptedRecognizer{startAt: 5, finalAt: 20,
		final: speech.Event{Text: "lost card", Choice: "lost_card", Confidence: 0.9}}
	done := listenAsync(c, ListenOptions{Prompts: []string{"long"}, Recognizer: rec, Grammar: lostCard, NoInput: time.Second})
	// The prompt is on before the caller talks.
	if s := <-m.src; s == nil {
		t.Fatal("no prompt was played")
	}
	go m.talk(40)
	var got struct {
		res ListenResult
		err error
	}
	select {
	case got = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("PlayAndListen did not return on the Final")
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	r := got.res
	if r.Key || !r.Heard || r.Speech.Choice != "lost_card" || r.Speech.Confidence != 0.9 || !r.BargeIn {
		t.Fatalf("result %+v", r)
	}
	// Speech stopped the 60 s prompt (barge-in).
	if s := <-m.src; s != nil {
		t.Fatalf("source after speech = %v, want nil", s)
	}
	st := rec.stream(t)
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.closed || len(st.grammar.Choices) != 1 {
		t.Errorf("stream closed=%v grammar=%+v", st.closed, st.grammar)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tap != nil {
		t.Error("the tap is still installed after the turn")
	}
}

func TestListenKeyBargesIn(t *testing.T) {
	c, m, _ := newListenCall(t)
	rec := &scriptedRecognizer{} // hears nothing
	done := listenAsync(c, ListenOptions{Prompts: []string{"long"}, Recognizer: rec, Grammar: lostCard, NoInput: time.Second})
	<-m.src
	go m.talk(10) // audio flows while the caller presses
	time.Sleep(10 * time.Millisecond)
	m.digits <- media.Digit{Key: '0', Source: "rfc4733"}
	var got struct {
		res ListenResult
		err error
	}
	select {
	case got = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a key did not end the turn")
	}
	if got.err != nil || !got.res.Key || got.res.Heard || !got.res.BargeIn {
		t.Fatalf("result %+v, %v", got.res, got.err)
	}
	if k, ok, err := c.ReadDigit(context.Background(), time.Millisecond); k != '0' || !ok || err != nil {
		t.Fatalf("ReadDigit = %q %v %v: the key must stay readable", k, ok, err)
	}
	if !rec.stream(t).closed {
		t.Error("stream not closed")
	}
}

func TestListenNoInput(t *testing.T) {
	c, m, _ := newListenCall(t)
	m.pace(t)
	rec := &scriptedRecognizer{}
	start := time.Now()
	res, err := c.PlayAndListen(context.Background(), ListenOptions{
		Prompts: []string{"short"}, Recognizer: rec, Grammar: lostCard, NoInput: 100 * time.Millisecond,
	})
	if err != nil || res.Key || res.Heard {
		t.Fatalf("result %+v, %v; want no input", res, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("returned after %v, before the no-input timeout", d)
	}
}

func TestListenMaxSpeechClosesStream(t *testing.T) {
	c, m, _ := newListenCall(t)
	// The caller starts and never stops; the engine decides at Close.
	rec := &scriptedRecognizer{startAt: 2}
	m.pace(t)
	done := listenAsync(c, ListenOptions{Prompts: []string{"short"}, Recognizer: rec, Grammar: lostCard,
		NoInput: time.Second, MaxSpeech: 100 * time.Millisecond})
	go m.talk(200)
	select {
	case got := <-done:
		if got.err != nil || !got.res.Heard || !got.res.Speech.NoSpeech {
			t.Fatalf("result %+v, %v", got.res, got.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an endless utterance was not cut at MaxSpeech")
	}
}

func TestListenRecognizerDownIsKeysOnly(t *testing.T) {
	c, m, ev := newListenCall(t)
	rec := &scriptedRecognizer{startErr: errors.New("no decoder free")}
	m.digits <- media.Digit{Key: '2', Source: "inband"}
	res, err := c.PlayAndListen(context.Background(), ListenOptions{
		Prompts: []string{"long"}, Recognizer: rec, Grammar: lostCard, NoInput: time.Second,
	})
	if err != nil || !res.Key {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(ev.events) != 1 || ev.events[0].Kind != "speech_error" {
		t.Fatalf("events %+v, want one speech_error", ev.events)
	}
}

func TestListenHangupEndsTurn(t *testing.T) {
	c, m, _ := newListenCall(t)
	rec := &scriptedRecognizer{}
	done := listenAsync(c, ListenOptions{Prompts: []string{"long"}, Recognizer: rec, Grammar: lostCard, NoInput: time.Second})
	<-m.src
	c.Hangup(CauseCallerHangup)
	select {
	case got := <-done:
		if got.err == nil {
			t.Fatal("no error after hang-up")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up did not end the turn")
	}
}

func TestPlayAudio(t *testing.T) {
	c, m, _ := newListenCall(t)
	m.pace(t) // returns once the pacer has read the audio to its end
	if err := c.PlayAudio(context.Background(), make([]int16, 320), false); err != nil {
		t.Fatal(err)
	}
}
