package assist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/call"
	"hotline/media"
	"hotline/speech"
)

// Sides of a transcript: who said a line.
const (
	SideCaller = "caller"
	SideAgent  = "agent"
)

// Line is one phrase of a call's live transcript. Times count from the
// start of the call's transcript (the first answer), so both sides sort
// on one clock.
type Line struct {
	Side    string    `json:"side"`
	Text    string    `json:"text"`
	StartMS int64     `json:"start_ms"`
	EndMS   int64     `json:"end_ms"`
	At      time.Time `json:"at"` // when the phrase ended, wall clock
	// AgentID and Agent (the username) are the agent on the call when the
	// line was said: after a transfer the next agent sees whose it was.
	AgentID string `json:"agent_id,omitempty"`
	Agent   string `json:"agent,omitempty"`
}

// StoredLine is a Line with the call it belongs to, as LineStore keeps it.
type StoredLine struct {
	TenantID, CallID string
	Line
}

// Store keeps what a call's assist produces (PostgreSQL in the server).
type Store interface {
	SaveTranscript(ctx context.Context, lines []StoredLine) error
	// SaveChecklist stores the call's checklist as it stands (every
	// step, replacing what was stored).
	SaveChecklist(ctx context.Context, tenantID, callID string, s *ChecklistState) error
	SaveSummary(ctx context.Context, s Summary) error
	// ProposeAnswer offers an agent's reply to a known question as the
	// intent's standard answer, for a supervisor to review.
	ProposeAnswer(ctx context.Context, p Proposal) error
}

// Proposal is an agent's reply to a caller's known question (an intent
// of the knowledge base), where it lies in the call's recording.
type Proposal struct {
	TenantID, CallID string
	AgentID          string
	Intent           string
	Question         string // the caller's words
	Answer           string // the agent's words, as transcribed
	// StartMS and EndMS bound the reply on the transcript's clock (the
	// first answer, which is also where the call's recording starts).
	StartMS, EndMS int64
}

// Summary is what a call's assist leaves on the call record when it ends.
type Summary struct {
	TenantID, CallID string
	Intent           string
	Checklist        string
	StepsDone        int
	StepsTotal       int
	KeyPhrases       []string
	Text             string
}

// Handler hears what one call's transcript produces. Its methods are
// called from the call's transcript goroutine and, for Checklist (sent in
// order under the call's emit lock), also from an agent's tick
// (Call.Tick): a handler must be safe for use from several goroutines,
// and must not block.
type Handler interface {
	// Line is a phrase just transcribed.
	Line(l Line)
	// Cards are the knowledge articles matching what the caller said
	// recently (text), best first; sent when they change.
	Cards(text string, rs []Result)
	// Checklist is the call's checklist after a change (chosen, a step
	// ticked or unticked).
	Checklist(s *ChecklistState)
	// Unavailable reports that the transcript stopped or never started
	// (no recognizer reachable); the call itself goes on.
	Unavailable(err error)
}

// Tap adds a recorder to a call's media (*media.Session).
type Tap interface {
	AddRecorder(r media.FrameRecorder) (remove func())
}

// LiveConfig configures Live.
type LiveConfig struct {
	// Transcriber turns each side's audio into phrases (a Vosk-protocol
	// client in the server); nil: no transcript (checklists still follow
	// the IVR and the agent's ticks).
	Transcriber speech.Transcriber
	// Store keeps the lines, checklists and summaries; nil: they are only
	// shown.
	Store Store
	// Checklists returns a tenant's checklists; nil: none.
	Checklists func(tenant string) []Checklist
	// Knowledge matches the caller's words to articles; nil: no cards.
	Knowledge *Base
	// MatchWindow is how far back the caller's words are matched: the
	// cards follow what the caller talks about now, not at the start of
	// the call (default 45 s).
	MatchWindow time.Duration
	// Cards is how many articles a Cards call carries (default 5).
	Cards  int
	Logger *slog.Logger
	// OnLatency hears, for each phrase, the time from its end of speech
	// to its line (recognition, transport and the end-of-phrase wait):
	// the server's part of "end of phrase to on screen".
	OnLatency func(time.Duration)
}

// Live transcribes agent calls: both sides, from the media taps, phrase by
// phrase, with knowledge cards matched to the caller's words. One Live
// serves every call of the server; its writer stores lines in batches.
type Live struct {
	cfg    LiveConfig
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	calls  sync.WaitGroup
	writer sync.WaitGroup
	queue  chan record

	dropped atomic.Int64 // lines not stored: the store fell behind

	// closeMu and closed stop new calls and stores once Close began: a
	// late tick or answer at shutdown must not use the closed queue.
	closeMu sync.RWMutex
	closed  bool
	queueOK bool // the queue is open (false once closed)
}

// lineQueue bounds the lines waiting for the store: a database outage
// must not hold the calls' memory without bound.
const lineQueue = 8192

// NewLive starts the line writer; Close stops it.
func NewLive(cfg LiveConfig) *Live {
	if cfg.MatchWindow <= 0 {
		cfg.MatchWindow = 45 * time.Second
	}
	if cfg.Cards <= 0 {
		cfg.Cards = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Live{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, queue: make(chan record, lineQueue), queueOK: true}
	l.writer.Go(l.write)
	return l
}

// Close waits for the calls' transcripts to finish (their calls end
// first), then stores what is queued and stops the writer.
func (l *Live) Close() {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return
	}
	l.closed = true
	l.closeMu.Unlock()
	l.calls.Wait()
	l.closeMu.Lock()
	l.queueOK = false
	close(l.queue)
	l.closeMu.Unlock()
	l.writer.Wait()
	l.cancel()
}

// Dropped is how many lines could not be queued for the store.
func (l *Live) Dropped() int64 { return l.dropped.Load() }

// Call is one call's live assist: its transcript, cards and checklist. It
// runs until the ctx given to Start ends (the call hangs up).
type Call struct {
	l              *Live
	tenant, callID string
	h              Handler
	held           atomic.Bool
	paused         atomic.Bool
	streams        [2]speech.Transcription // caller, agent; set before the tap starts

	// emitMu orders the checklist's snapshots with their stores and
	// sends (the agent's ticks and the transcript's run concurrently), so
	// an older state never lands after a newer one.
	emitMu     sync.Mutex
	mu         sync.Mutex
	agentID    string
	agentName  string
	lines      []Line
	lastCards  string // the top articles last sent, to send only changes
	keyPhrases []string
	track      *tracker
	t0         time.Time       // the answer: the transcript's clock starts here
	offset     time.Duration   // from t0 to the streams' first sample; set before any phrase
	asked      *Proposal       // the caller's known question waiting for the agent's reply
	proposed   map[string]bool // intents already proposed on this call
}

// Meta is what Start needs to know of a call.
type Meta struct {
	TenantID, CallID string
	// Journal is the call's timeline before the answer (the IVR path):
	// it chooses the checklist and ticks what the IVR did.
	Journal []call.Event
	// Answered starts the transcript's clock.
	Answered time.Time
}

var silence [speech.FrameSamples]int16

// Start begins assisting a call: its checklist from the IVR path at once,
// then both directions of tap transcribed, lines to h and the store. The
// recognizer is reached in the background, so Start never waits on the
// network; if none answers, h hears Unavailable.
func (l *Live) Start(ctx context.Context, m Meta, tap Tap, h Handler) *Call {
	if m.Answered.IsZero() {
		m.Answered = time.Now()
	}
	c := &Call{l: l, tenant: m.TenantID, callID: m.CallID, h: h, t0: m.Answered}
	var lists []Checklist
	if l.cfg.Checklists != nil {
		lists = l.cfg.Checklists(m.TenantID)
	}
	c.track = newTracker(lists, m.Journal, m.Answered)
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return c // shutting down: the call is not assisted
	}
	l.calls.Go(func() {
		// Sent from here, not from Start: Start's caller may hold locks
		// the handler takes.
		c.emitMu.Lock()
		if s := c.Checklist(); s != nil {
			l.save(record{tenant: c.tenant, callID: c.callID, checklist: s})
			h.Checklist(s)
		}
		c.emitMu.Unlock()
		c.run(ctx, tap)
		c.finish()
	})
	return c
}

// Checklist returns the call's checklist as it stands (nil: none chosen).
func (c *Call) Checklist() *ChecklistState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.track.snapshot()
}

// Tick records the agent ticking (done) or unticking a step by hand; a
// step decided by hand is no longer changed by its conditions.
func (c *Call) Tick(step string, done bool, agentID string) error {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.mu.Lock()
	ok := c.track.setManual(step, done, agentID, time.Now())
	s := c.track.snapshot()
	c.mu.Unlock()
	if !ok {
		if s == nil {
			return errors.New("this call has no checklist")
		}
		return fmt.Errorf("checklist %s has no step %q", s.Checklist, step)
	}
	c.l.save(record{tenant: c.tenant, callID: c.callID, checklist: s})
	c.h.Checklist(s)
	return nil
}

// SetAgent names the agent now talking; their lines carry it.
func (c *Call) SetAgent(id, name string) {
	c.mu.Lock()
	c.agentID, c.agentName = id, name
	c.mu.Unlock()
}

// SetHeld stops transcribing the agent's side while the caller is on
// hold: what the caller hears then is music, not the agent.
func (c *Call) SetHeld(on bool) { c.held.Store(on) }

// SetPaused stops transcribing both sides while the agent has paused the
// recording for card details (PCI): what is not recorded is not written
// down either.
func (c *Call) SetPaused(on bool) { c.paused.Store(on) }

// Lines returns the transcript so far (for an agent taking over the call
// or a supervisor starting to listen).
func (c *Call) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// WriteFrame implements media.FrameRecorder: left is the caller, right
// what the caller hears (the agent). It runs on the media pacer; the
// streams' Write only copies into their buffers.
func (c *Call) WriteFrame(left, right []int16) {
	if c.paused.Load() {
		left = silence[:len(left)]
		right = silence[:len(right)]
	}
	_ = c.streams[0].Write(left)
	if c.held.Load() {
		right = silence[:len(right)]
	}
	_ = c.streams[1].Write(right)
}

func (c *Call) run(ctx context.Context, tap Tap) {
	if c.l.cfg.Transcriber == nil {
		<-ctx.Done() // checklists and ticks only
		return
	}
	sides := [2]string{SideCaller, SideAgent}
	vocab := []string(nil)
	if kb := c.l.cfg.Knowledge; kb != nil {
		vocab = kb.Vocabulary(c.tenant)
	}
	for i, side := range sides {
		// Not the call's context: at the hang-up Close still sends the end
		// of the stream and waits (bounded) for the last phrase.
		s, err := c.l.cfg.Transcriber.Transcribe(context.WithoutCancel(ctx), speech.TranscribeOptions{
			SampleRate: speech.SampleRate, Vocabulary: vocab, Label: "call " + c.callID + " " + side})
		if err != nil {
			for _, open := range c.streams[:i] {
				_ = open.Close()
			}
			if ctx.Err() == nil {
				c.l.log.Warn("transcript: no recognizer; the call goes on untranscribed", "call", c.callID, "error", err)
				c.h.Unavailable(err)
			}
			<-ctx.Done() // the checklist still takes the agent's ticks
			return
		}
		c.streams[i] = s
	}
	remove := tap.AddRecorder(c)
	// The streams' clocks start here, a dial after the answer: lines are
	// put on the call's clock.
	c.offset = time.Since(c.t0)
	in := [2]<-chan speech.Phrase{c.streams[0].Phrases(), c.streams[1].Phrases()}
	closing := false
	var closed sync.WaitGroup
	stop := func() {
		if closing {
			return
		}
		closing = true
		remove()
		for _, s := range c.streams {
			closed.Go(func() { _ = s.Close() })
		}
	}
	done := ctx.Done()
	for in[0] != nil || in[1] != nil {
		select {
		case <-done:
			done = nil
			stop()
		case p, ok := <-in[0]:
			if !ok {
				in[0] = nil
				c.streamEnded(0, closing || ctx.Err() != nil, stop)
				continue
			}
			c.phrase(SideCaller, p)
		case p, ok := <-in[1]:
			if !ok {
				in[1] = nil
				c.streamEnded(1, closing || ctx.Err() != nil, stop)
				continue
			}
			c.phrase(SideAgent, p)
		}
	}
	stop()
	closed.Wait()
}

// streamEnded handles a side's phrases closing: expected after stop, else
// the recognizer was lost, and the other side is stopped too (a one-sided
// transcript would mislead).
func (c *Call) streamEnded(i int, closing bool, stop func()) {
	if closing {
		return
	}
	err := c.streams[i].Err()
	if err == nil {
		err = errors.New("the recognizer ended the stream")
	}
	c.l.log.Warn("transcript: recognizer lost; the call goes on untranscribed", "call", c.callID, "error", err)
	c.h.Unavailable(err)
	stop()
}

func (c *Call) phrase(side string, p speech.Phrase) {
	text := strings.TrimSpace(p.Text)
	if text == "" {
		return
	}
	now := time.Now()
	start, end := c.offset+p.Start, c.offset+max(p.End, p.Start)
	ln := Line{Side: side, Text: text, StartMS: start.Milliseconds(), EndMS: end.Milliseconds(), At: now}
	if f := c.l.cfg.OnLatency; f != nil {
		f(now.Sub(c.t0.Add(end)))
	}
	c.mu.Lock()
	ln.AgentID, ln.Agent = c.agentID, c.agentName
	if len(c.lines) >= maxLines {
		// A call of hours: the oldest lines are in the store; memory and
		// the per-line matching stay bounded.
		c.lines = append(c.lines[:0], c.lines[maxLines/4:]...)
	}
	c.lines = append(c.lines, ln)
	c.mu.Unlock()
	c.l.save(record{line: &StoredLine{TenantID: c.tenant, CallID: c.callID, Line: ln}})
	c.learn(ln)
	c.h.Line(ln)
	if side == SideCaller {
		c.matchCards(ln)
	}
	c.checkLine(ln)
}

// checkLine chooses the checklist from the caller's intent if the IVR did
// not, and ticks the steps the new line satisfies.
func (c *Call) checkLine(ln Line) {
	kb := c.l.cfg.Knowledge
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.mu.Lock()
	changed := false
	if c.track.cl == nil && ln.Side == SideCaller && kb != nil && len(c.track.lists) > 0 {
		text := c.callerText(ln.EndMS - c.l.cfg.MatchWindow.Milliseconds())
		if intent, _, ok := kb.Intent(c.tenant, text); ok && c.track.chooseByIntent(intent, ln.Text) {
			c.track.recheck(c.lines)
			changed = true
		}
	} else if c.track.line(c.lines) {
		changed = true
	}
	s := c.track.snapshot()
	c.mu.Unlock()
	if changed && s != nil {
		c.l.save(record{tenant: c.tenant, callID: c.callID, checklist: s})
		c.h.Checklist(s)
	}
}

// maxLines bounds the lines a call keeps in memory (a replay after a
// transfer shows the latest ones).
const maxLines = 2000

// replyWindow bounds an agent's reply to a question: it starts within it
// after the question and ends when the caller speaks again (or at it).
const replyWindow = 20 * time.Second

// learn follows question and reply: a caller line with a confident
// intent opens a question; the agent's lines after it form the reply,
// proposed when the caller speaks again or the call ends.
func (c *Call) learn(ln Line) {
	kb := c.l.cfg.Knowledge
	if kb == nil {
		return
	}
	c.mu.Lock()
	q := c.asked
	if q != nil && (ln.Side == SideCaller || ln.StartMS-q.StartMS > replyWindow.Milliseconds()) && q.Answer != "" {
		c.proposeLocked()
		q = nil
	}
	switch {
	case ln.Side == SideAgent && q != nil:
		if q.Answer == "" {
			if ln.StartMS-q.EndMS > replyWindow.Milliseconds() {
				c.asked = nil // nobody answered it
				break
			}
			q.StartMS, q.Answer, q.AgentID = ln.StartMS, ln.Text, ln.AgentID
		} else {
			q.Answer += " " + ln.Text
		}
		q.EndMS = ln.EndMS
	case ln.Side == SideCaller:
		c.asked = nil
		if intent, _, ok := kb.Intent(c.tenant, ln.Text); ok && !c.proposed[intent] {
			c.asked = &Proposal{TenantID: c.tenant, CallID: c.callID, Intent: intent, Question: ln.Text, StartMS: ln.StartMS, EndMS: ln.EndMS}
		}
	}
	c.mu.Unlock()
}

// proposeLocked sends the answered question for review; c.mu is held.
func (c *Call) proposeLocked() {
	q := c.asked
	c.asked = nil
	if q == nil || q.Answer == "" {
		return
	}
	if c.proposed == nil {
		c.proposed = map[string]bool{}
	}
	c.proposed[q.Intent] = true
	c.l.save(record{proposal: q})
}

// callerText joins the caller's lines that ended at or after fromMS;
// c.mu is held.
func (c *Call) callerText(fromMS int64) string {
	var b strings.Builder
	for _, ln := range c.lines {
		if ln.Side == SideCaller && ln.EndMS >= fromMS {
			if b.Len() > 0 {
				b.WriteString(". ")
			}
			b.WriteString(ln.Text)
		}
	}
	return b.String()
}

// finish writes the call's summary: its intent, the checklist as it
// ended, and the key phrases heard.
func (c *Call) finish() {
	c.mu.Lock()
	c.proposeLocked()
	s := c.track.snapshot()
	sum := Summary{TenantID: c.tenant, CallID: c.callID, KeyPhrases: slices.Clone(c.keyPhrases)}
	callerText := c.callerText(0)
	nLines := len(c.lines)
	c.mu.Unlock()
	if s == nil && nLines == 0 {
		return // nothing to summarise
	}
	if kb := c.l.cfg.Knowledge; kb != nil && callerText != "" {
		if intent, _, ok := kb.Intent(c.tenant, callerText); ok {
			sum.Intent = intent
		}
	}
	var b strings.Builder
	if s != nil {
		if s.Intent != "" {
			sum.Intent = s.Intent
		}
		sum.Checklist, sum.StepsDone, sum.StepsTotal = s.Checklist, s.Done(), len(s.Steps)
		fmt.Fprintf(&b, "%s: %d of %d steps done", s.Title, sum.StepsDone, sum.StepsTotal)
		var open []string
		for _, st := range s.Steps {
			if !st.Done {
				open = append(open, strings.ToLower(st.Title))
			}
		}
		if len(open) > 0 {
			fmt.Fprintf(&b, " (not done: %s)", strings.Join(open, ", "))
		}
		b.WriteString(". ")
	} else if sum.Intent != "" {
		fmt.Fprintf(&b, "Intent: %s. ", sum.Intent)
	}
	if len(sum.KeyPhrases) > 0 {
		fmt.Fprintf(&b, "Heard: %s.", strings.Join(sum.KeyPhrases, ", "))
	}
	sum.Text = strings.TrimSpace(b.String())
	c.l.save(record{summary: &sum})
}

// matchCards matches the caller's words of the last MatchWindow and sends
// the cards when the top articles changed.
func (c *Call) matchCards(last Line) {
	kb := c.l.cfg.Knowledge
	if kb == nil {
		return
	}
	c.mu.Lock()
	text := c.callerText(last.EndMS - c.l.cfg.MatchWindow.Milliseconds())
	c.mu.Unlock()
	rs := kb.Match(c.tenant, text, c.l.cfg.Cards)
	if len(rs) > 0 {
		c.mu.Lock()
		for _, p := range rs[0].Phrases {
			if len(c.keyPhrases) < 10 && !slices.Contains(c.keyPhrases, p.Phrase) {
				c.keyPhrases = append(c.keyPhrases, p.Phrase)
			}
		}
		c.mu.Unlock()
	}
	var key strings.Builder
	for _, r := range rs {
		key.WriteString(r.ID)
		key.WriteByte(0)
	}
	c.mu.Lock()
	same := key.String() == c.lastCards
	c.lastCards = key.String()
	c.mu.Unlock()
	if same && len(rs) == 0 {
		return
	}
	// Sent even when the articles are the same: the highlighted words
	// follow the latest text.
	c.h.Cards(text, rs)
}

// record is one thing to store: a transcript line, a call's checklist
// state, or its summary.
type record struct {
	line           *StoredLine
	tenant, callID string
	checklist      *ChecklistState
	summary        *Summary
	proposal       *Proposal
}

func (l *Live) save(r record) {
	if l.cfg.Store == nil {
		return
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if !l.queueOK {
		return
	}
	select {
	case l.queue <- r:
	default:
		if l.dropped.Add(1) == 1 {
			l.log.Warn("assist: the store falls behind; lines and checklists are shown but not stored")
		}
	}
}

// write stores queued lines in batches: one round trip for the lines
// of many calls that arrive together. A failed batch is tried again a few
// times (a database restart), then logged and dropped so the queue never
// stalls the calls.
func (l *Live) write() {
	batch := make([]StoredLine, 0, 256)
	var others []record
	for first := range l.queue {
		batch, others = batch[:0], others[:0]
		r, ok := first, true
		for {
			if r.line != nil {
				batch = append(batch, *r.line)
			} else {
				others = append(others, r)
			}
			if len(batch) == cap(batch) {
				break
			}
			select {
			case r, ok = <-l.queue:
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		// Lines first: a summary names what they hold.
		if len(batch) > 0 {
			l.retry("transcript lines", len(batch), func(ctx context.Context) error { return l.cfg.Store.SaveTranscript(ctx, batch) })
		}
		for _, r := range others {
			switch {
			case r.checklist != nil:
				l.retry("checklist", 1, func(ctx context.Context) error {
					return l.cfg.Store.SaveChecklist(ctx, r.tenant, r.callID, r.checklist)
				})
			case r.summary != nil:
				l.retry("summary", 1, func(ctx context.Context) error { return l.cfg.Store.SaveSummary(ctx, *r.summary) })
			case r.proposal != nil:
				l.retry("answer proposal", 1, func(ctx context.Context) error { return l.cfg.Store.ProposeAnswer(ctx, *r.proposal) })
			}
		}
	}
}

// retry runs a store write a few times (a database restart), then logs
// and drops it so the queue never stalls the calls.
func (l *Live) retry(what string, n int, f func(context.Context) error) {
	var err error
	for try := range 4 {
		ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
		err = f(ctx)
		cancel()
		if err == nil || !transient(err) {
			break
		}
		time.Sleep(time.Duration(250<<try) * time.Millisecond)
	}
	if err == nil {
		return
	}
	l.dropped.Add(int64(n))
	l.log.Error("assist: not stored", "what", what, "n", n, "error", err)
}

// transient tells a store error worth trying again (the database is
// restarting, a connection dropped, a timeout) from one that will fail the
// same way again (a row the table refuses): the single writer must not
// stall every call's lines retrying those.
func transient(err error) bool {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) && len(coded.SQLState()) >= 2 {
		switch coded.SQLState()[:2] {
		case "08", "40", "53", "57", "58": // connection, rollback, resources, shutdown, system
			return true
		}
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		strings.Contains(err.Error(), "connect") || strings.Contains(err.Error(), "database is not open")
}
