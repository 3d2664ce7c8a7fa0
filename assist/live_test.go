package assist

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"hotline/media"
	"hotline/speech"
)

// scriptedTranscriber stands in for a recognizer in these tests of the
// plumbing (the real one is tested in speech/vosk and test/): each stream
// says its side's next scripted text when a burst of sound ends, with the
// burst's times.
type scriptedTranscriber struct {
	mu      sync.Mutex
	scripts map[string][]string // by label suffix: "caller", "agent"
	heard   map[string]int      // loud frames written, by side
	fail    error
}

func (s *scriptedTranscriber) Transcribe(_ context.Context, o speech.TranscribeOptions) (speech.Transcription, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	side := SideCaller
	if len(o.Label) >= 5 && o.Label[len(o.Label)-5:] == SideAgent {
		side = SideAgent
	}
	return &scripted{t: s, side: side, out: make(chan speech.Phrase, 16)}, nil
}

type scripted struct {
	t         *scriptedTranscriber
	side      string
	out       chan speech.Phrase
	n         int // samples written
	loudFrom  int // -1: not in a burst
	inBurst   bool
	closeOnce sync.Once
}

func (s *scripted) Write(pcm []int16) error {
	loud := slices.ContainsFunc(pcm, func(v int16) bool { return v > 1000 || v < -1000 })
	if loud {
		s.t.mu.Lock()
		s.t.heard[s.side]++
		s.t.mu.Unlock()
	}
	switch {
	case loud && !s.inBurst:
		s.inBurst, s.loudFrom = true, s.n
	case !loud && s.inBurst:
		s.inBurst = false
		s.t.mu.Lock()
		var text string
		if l := s.t.scripts[s.side]; len(l) > 0 {
			text, s.t.scripts[s.side] = l[0], l[1:]
		}
		s.t.mu.Unlock()
		ms := func(n int) time.Duration { return time.Duration(n) * time.Second / speech.SampleRate }
		s.out <- speech.Phrase{Text: text, Start: ms(s.loudFrom), End: ms(s.n)}
	}
	s.n += len(pcm)
	return nil
}

func (s *scripted) Phrases() <-chan speech.Phrase { return s.out }
func (s *scripted) Close() error                  { s.closeOnce.Do(func() { close(s.out) }); return nil }
func (s *scripted) Err() error                    { return nil }

// tapped is a call's media as the transcript sees it: one recorder,
// frames pushed by the test as the pacer would.
type tapped struct {
	mu  sync.Mutex
	r   media.FrameRecorder
	set chan struct{}
}

func (t *tapped) AddRecorder(r media.FrameRecorder) func() {
	t.mu.Lock()
	t.r = r
	t.mu.Unlock()
	close(t.set)
	return func() {
		t.mu.Lock()
		t.r = nil
		t.mu.Unlock()
	}
}

// frames pushes n frames: the caller loud or not, the agent loud or not.
func (t *tapped) frames(n int, callerLoud, agentLoud bool) {
	var loud, quiet [160]int16
	for i := range loud {
		loud[i] = 8000
	}
	pick := func(on bool) []int16 {
		if on {
			return loud[:]
		}
		return quiet[:]
	}
	for range n {
		t.mu.Lock()
		if t.r != nil {
			t.r.WriteFrame(pick(callerLoud), pick(agentLoud))
		}
		t.mu.Unlock()
	}
}

type recordedHandler struct {
	mu    sync.Mutex
	lines []Line
	cards [][]Result
	unav  []error
	got   chan struct{}

	checklists []*ChecklistState
	cl         chan struct{}
}

func (h *recordedHandler) Line(l Line) {
	h.mu.Lock()
	h.lines = append(h.lines, l)
	h.mu.Unlock()
	h.got <- struct{}{}
}
func (h *recordedHandler) Cards(_ string, rs []Result) {
	h.mu.Lock()
	h.cards = append(h.cards, rs)
	h.mu.Unlock()
}
func (h *recordedHandler) Checklist(s *ChecklistState) {
	h.mu.Lock()
	h.checklists = append(h.checklists, s)
	h.mu.Unlock()
	select {
	case h.cl <- struct{}{}:
	default:
	}
}

func (h *recordedHandler) Unavailable(err error) {
	h.mu.Lock()
	h.unav = append(h.unav, err)
	h.mu.Unlock()
	h.got <- struct{}{}
}

type memLines struct {
	mu         sync.Mutex
	lines      []StoredLine
	checklists []*ChecklistState
	summaries  []Summary
	proposals  []Proposal
	fail       int // fail this many calls first
}

func (m *memLines) SaveChecklist(_ context.Context, _, _ string, s *ChecklistState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checklists = append(m.checklists, s)
	return nil
}

func (m *memLines) ProposeAnswer(_ context.Context, p Proposal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.proposals = append(m.proposals, p)
	return nil
}

func (m *memLines) SaveSummary(_ context.Context, s Summary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.summaries = append(m.summaries, s)
	return nil
}

func (m *memLines) SaveTranscript(_ context.Context, ls []StoredLine) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		return errors.New("failed to connect to the database: connection refused")
	}
	m.lines = append(m.lines, ls...)
	return nil
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestLiveTranscript: both sides' phrases become lines on one clock, with
// the agent's name; the caller's words bring up the lost-card article; the
// agent's side is not transcribed on hold (music); the store gets every
// line even after a failed write; Lines replays them for a transfer.
func TestLiveTranscript(t *testing.T) {
	tr := &scriptedTranscriber{heard: map[string]int{}, scripts: map[string][]string{
		SideCaller: {"i lost my credit card"},
		SideAgent:  {"let me block it for you", "anything else"},
	}}
	st := &memLines{fail: 1}
	live := NewLive(LiveConfig{Transcriber: tr, Store: st, Knowledge: demoBase(t)})
	ctx, hangup := context.WithCancel(context.Background())
	tap := &tapped{set: make(chan struct{})}
	h := &recordedHandler{got: make(chan struct{}, 8)}
	c := live.Start(ctx, Meta{TenantID: "demo", CallID: "call-1"}, tap, h)
	c.SetAgent("u-1", "alice")
	wait(t, tap.set, "the tap")

	tap.frames(50, true, false) // the caller speaks for 1 s
	tap.frames(10, false, false)
	wait(t, h.got, "the caller's line")
	tap.frames(25, false, true) // the agent answers
	tap.frames(5, false, false)
	wait(t, h.got, "the agent's line")
	c.SetHeld(true)
	tap.frames(100, false, true) // hold music: not the agent
	tap.frames(5, false, false)
	c.SetHeld(false)

	h.mu.Lock()
	lines := slices.Clone(h.lines)
	cards := slices.Clone(h.cards)
	h.mu.Unlock()
	if len(lines) != 2 {
		t.Fatalf("lines: %+v", lines)
	}
	caller, agent := lines[0], lines[1]
	// The streams start a moment after the answer (their dial): lines are
	// on the answer's clock, so they are shifted by that moment.
	off := caller.StartMS
	if caller.Side != SideCaller || caller.Text != "i lost my credit card" || off < 0 || off > 500 || caller.EndMS != off+1000 {
		t.Errorf("caller line: %+v", caller)
	}
	if agent.Side != SideAgent || agent.Agent != "alice" || agent.AgentID != "u-1" || agent.StartMS != off+1200 || agent.EndMS != off+1700 {
		t.Errorf("agent line: %+v", agent)
	}
	if len(cards) != 1 || len(cards[0]) == 0 || cards[0][0].ID != "block-card" {
		t.Errorf("cards after the caller's line: %+v", cards)
	}
	tr.mu.Lock()
	if tr.heard[SideAgent] != 25 {
		t.Errorf("agent side heard %d loud frames, want 25 (none while held)", tr.heard[SideAgent])
	}
	tr.mu.Unlock()
	if got := c.Lines(); len(got) != 2 || got[0].Text != caller.Text {
		t.Errorf("replay: %+v", got)
	}

	hangup()
	live.Close()
	if len(st.lines) != 2 || st.lines[0].CallID != "call-1" || st.lines[0].TenantID != "demo" {
		t.Errorf("stored: %+v", st.lines)
	}
	// The agent's reply to the caller's known question is proposed as
	// the intent's answer, where it lies in the recording.
	if len(st.proposals) != 1 {
		t.Fatalf("proposals: %+v", st.proposals)
	}
	if p := st.proposals[0]; p.Intent != "lost_card" || p.Question != "i lost my credit card" || p.Answer != "let me block it for you" ||
		p.StartMS != off+1200 || p.EndMS != off+1700 || p.AgentID != "u-1" || p.CallID != "call-1" {
		t.Errorf("proposal: %+v", p)
	}
}

// TestLiveNoRecognizer: without a reachable recognizer the handler hears
// it once and the call's media is never tapped.
func TestLiveNoRecognizer(t *testing.T) {
	tr := &scriptedTranscriber{fail: errors.New("dial ws://127.0.0.1:1/: connection refused")}
	live := NewLive(LiveConfig{Transcriber: tr})
	defer live.Close()
	ctx, hangup := context.WithCancel(context.Background())
	defer hangup()
	tap := &tapped{set: make(chan struct{})}
	h := &recordedHandler{got: make(chan struct{}, 8)}
	live.Start(ctx, Meta{TenantID: "demo", CallID: "call-2"}, tap, h)
	wait(t, h.got, "unavailable")
	select {
	case <-tap.set:
		t.Error("the media was tapped without a recognizer")
	default:
	}
}
