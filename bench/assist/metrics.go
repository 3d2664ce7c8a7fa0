package assistbench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"hotline/assist"
	"hotline/media"
	"hotline/speech"
	"hotline/speech/speechtest"
)

// words normalizes a script or a transcript for scoring: lower case,
// letters, digits and apostrophes, hyphens as spaces.
func words(s string) []string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '\'':
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// hasTerm tells whether the term's words occur in hyp, in order and
// adjacent ("no claims bonus" heard as such, not "no" ... "bonus").
func hasTerm(hyp []string, term string) bool {
	t := words(term)
	for i := 0; i+len(t) <= len(hyp); i++ {
		if slices.Equal(hyp[i:i+len(t)], t) {
			return true
		}
	}
	return false
}

// tally counts a rate.
type tally struct{ n, of int }

func (t *tally) add(ok bool) {
	t.of++
	if ok {
		t.n++
	}
}

func (t tally) String() string {
	if t.of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%% (%d/%d)", 100*float64(t.n)/float64(t.of), t.n, t.of)
}

// werTally sums word errors over reference words.
type werTally struct{ errs, words int }

func (w *werTally) add(ref, hyp []string) {
	w.errs += speechtest.WordErrors(ref, hyp)
	w.words += len(ref)
}

func (w werTally) String() string {
	if w.words == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(w.errs)/float64(w.words))
}

func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// Conversations run through assist.Live, the code a real call runs. Live
// reads each side's phrases from its own channel, and the checklist's
// exchanges need the lines in spoken order, so the replay transcriber
// decodes each side whole (with the vocabulary Live asks for) and then
// hands the phrases of both sides to Live one at a time in time order.

// sideDecoder decodes one side's audio with the options Live gives.
type sideDecoder func(o speech.TranscribeOptions) ([]speech.Phrase, error)

type replayCall struct {
	sides [2]sideDecoder // caller, agent

	mu      sync.Mutex
	streams [2]*replayStream
	decErr  error
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{} // every phrase was taken by Live
	seqDone chan struct{}
}

func newReplay(caller, agent sideDecoder) *replayCall {
	return &replayCall{sides: [2]sideDecoder{caller, agent}, stop: make(chan struct{}), done: make(chan struct{}), seqDone: make(chan struct{})}
}

type replayStream struct {
	r       *replayCall
	phrases []speech.Phrase
	ch      chan speech.Phrase
	once    sync.Once
}

func (r *replayCall) Transcribe(_ context.Context, o speech.TranscribeOptions) (speech.Transcription, error) {
	i := 0
	if strings.HasSuffix(o.Label, " "+assist.SideAgent) {
		i = 1
	}
	ps, err := r.sides[i](o)
	if err != nil {
		return nil, err
	}
	s := &replayStream{r: r, phrases: ps, ch: make(chan speech.Phrase)}
	r.mu.Lock()
	r.streams[i] = s
	r.mu.Unlock()
	return s, nil
}

// AddRecorder implements assist.Tap: Live has opened both streams, so the
// phrases can flow.
func (r *replayCall) AddRecorder(media.FrameRecorder) func() {
	go r.sequence()
	return func() {}
}

func (r *replayCall) sequence() {
	defer close(r.seqDone)
	type item struct {
		side int
		p    speech.Phrase
	}
	var all []item
	for i, s := range r.streams {
		for _, p := range s.phrases {
			all = append(all, item{i, p})
		}
	}
	slices.SortStableFunc(all, func(x, y item) int { return int(x.p.End - y.p.End) })
	for _, it := range all {
		select {
		case r.streams[it.side].ch <- it.p:
		case <-r.stop:
			return
		}
	}
	close(r.done)
}

func (s *replayStream) Write([]int16) error           { return nil }
func (s *replayStream) Phrases() <-chan speech.Phrase { return s.ch }
func (s *replayStream) Err() error                    { return nil }
func (s *replayStream) Close() error {
	s.r.stopped.Do(func() { close(s.r.stop) })
	<-s.r.seqDone
	s.once.Do(func() { close(s.ch) })
	return nil
}

// recorder is the Handler: it keeps the first cards the agent saw.
type recorder struct {
	mu        sync.Mutex
	firstCard string
	lines     []assist.Line
}

func (h *recorder) Line(l assist.Line) {
	h.mu.Lock()
	h.lines = append(h.lines, l)
	h.mu.Unlock()
}

func (h *recorder) Cards(_ string, rs []assist.Result) {
	h.mu.Lock()
	if h.firstCard == "" && len(rs) > 0 {
		h.firstCard = rs[0].ID
	}
	h.mu.Unlock()
}
func (h *recorder) Checklist(*assist.ChecklistState) {}
func (h *recorder) Unavailable(error)                {}

// convResult is what Live made of one conversation.
type convResult struct {
	checklist, intent, firstCard string
	ticked                       []string
}

// runLive plays one conversation through a fresh Live.
func runLive(kb *assist.Base, lists []assist.Checklist, tenant, id string, caller, agent sideDecoder) (convResult, error) {
	r := newReplay(caller, agent)
	live := assist.NewLive(assist.LiveConfig{
		Transcriber: r,
		Checklists:  func(string) []assist.Checklist { return lists },
		Knowledge:   kb,
	})
	ctx, cancel := context.WithCancel(context.Background())
	h := &recorder{}
	call := live.Start(ctx, assist.Meta{TenantID: tenant, CallID: id, Answered: time.Now()}, r, h)
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		cancel()
		live.Close()
		return convResult{}, fmt.Errorf("%s: the conversation did not finish", id)
	}
	cancel()
	live.Close()
	var res convResult
	res.firstCard = h.firstCard
	var said []string
	for _, l := range call.Lines() {
		if l.Side == assist.SideCaller {
			said = append(said, l.Text)
		}
	}
	if in, _, ok := kb.Intent(tenant, strings.Join(said, ". ")); ok {
		res.intent = in
	}
	if s := call.Checklist(); s != nil {
		res.checklist = s.Checklist
		if s.Intent != "" {
			res.intent = s.Intent
		}
		for _, st := range s.Steps {
			if st.Done {
				res.ticked = append(res.ticked, st.ID)
			}
		}
	}
	return res, nil
}
