// Package call holds the call object: one inbound (or later outbound) call
// with its media, its timeline and the control surface the IVR, the ACD,
// ARI and the web use (play, collect digits, hang up). None of those reach
// into SIP or RTP directly.
package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/media"
)

// MediaSession is what a call needs from its media leg.
type MediaSession interface {
	SetSource(src media.Source)
	Digits() <-chan media.Digit
	SendDigit(d rune, dur time.Duration) error
	SetInbandDTMF(on bool)
	Stats() media.Stats
}

// Prompts resolves a tenant's prompt names to loaded audio.
type Prompts interface {
	Prompt(name string) (*media.Prompt, bool)
}

// Event is one row of a call's timeline.
type Event struct {
	CallID   string
	TenantID string
	Seq      int
	At       time.Time
	Kind     string
	Step     string
	Data     map[string]string
}

// EventSink receives the timeline (the CDR writer, later the wallboard).
type EventSink interface {
	CallEvent(e Event)
}

// State is a call's signalling state, named as ARI names a channel's.
type State string

const (
	StateDown    State = "Down"    // outbound, nothing sent or heard yet
	StateRing    State = "Ring"    // inbound, not answered
	StateRinging State = "Ringing" // outbound, the far end rings; or inbound after we sent 180
	StateUp      State = "Up"      // answered
)

// Leg is the signalling side of a call (sip sets it). Answer and Ring act
// on an inbound call whose route left answering to its handler (an ARI
// application); on an answered or outbound call Answer is a no-op.
type Leg interface {
	Answer() error
	Ring() error
}

// Info is what is known about a call when it arrives.
type Info struct {
	ID         string
	TenantID   string
	Flow       string
	From       string // caller number (user part of From)
	FromURI    string
	To         string // dialled number
	SIPCallID  string
	SourceAddr string
	Codec      string
	Started    time.Time
	// Outbound is true for calls Hotline placed (originate).
	Outbound bool
	// Agent and Queue: the agent (user id) who placed an outbound call
	// and the queue it was placed for; "" otherwise.
	Agent string
	Queue string
	// Callback: an outbound call placed to return a caller's callback
	// request (its CDR direction is "callback").
	Callback bool
}

// Call is one call in progress.
type Call struct {
	Info

	ctx    context.Context
	cancel context.CancelCauseFunc

	media   MediaSession
	prompts Prompts
	music   *media.Prompt
	sink    EventSink
	now     func() time.Time

	seq      atomic.Int32
	mu       sync.Mutex
	answered time.Time
	pending  []media.Digit // digits read from media but not yet consumed
	lastSrc  string        // how the last consumed digit arrived
	state    State
	leg      Leg
	watchers map[int]func(State)
	nextW    int
	journal  []Event // the timeline's first journalMax events, for Journal
}

// journalMax bounds the timeline a call keeps in memory: an IVR path and a
// queue stint are a few dozen events; a caller looping in a menu for an
// hour must not grow the call.
const journalMax = 96

// journalLate more events are kept past journalMax when they are what an
// agent's context and checklist read late in a long call: queueing,
// lookups and questions asked.
const journalLate = 32

func lateKind(kind string) bool {
	return strings.HasPrefix(kind, "queue") || strings.HasPrefix(kind, "lookup") || kind == "ask" || kind == "step"
}

// Config is what New needs besides the call's Info.
type Config struct {
	Media   MediaSession
	Prompts Prompts
	Music   *media.Prompt
	Events  EventSink
	Now     func() time.Time
	// Leg answers and rings; nil: the call is answered by its owner.
	Leg Leg
	// State is the initial state; "": Ring (an inbound call).
	State State
}

// New creates a call whose lifetime is bounded by parent. The call ends when
// Hangup is called or parent is cancelled; Done and Cause tell when and why.
func New(parent context.Context, info Info, cfg Config) *Call {
	ctx, cancel := context.WithCancelCause(parent)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	st := cfg.State
	if st == "" {
		st = StateRing
	}
	return &Call{
		state:   st,
		leg:     cfg.Leg,
		Info:    info,
		ctx:     ctx,
		cancel:  cancel,
		media:   cfg.Media,
		prompts: cfg.Prompts,
		music:   cfg.Music,
		sink:    cfg.Events,
		now:     now,
	}
}

// Context is cancelled when the call ends, with the Cause as its cause.
func (c *Call) Context() context.Context { return c.ctx }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.ctx.Done() }

// Hangup ends the call with cause. The first cause wins.
func (c *Call) Hangup(cause *Cause) { c.cancel(cause) }

// Cause is why the call ended, or nil while it is up.
func (c *Call) Cause() *Cause {
	if err := context.Cause(c.ctx); err != nil {
		return CauseOf(err)
	}
	return nil
}

// MarkAnswered records the answer time and moves the call to Up.
func (c *Call) MarkAnswered(at time.Time) {
	c.mu.Lock()
	c.answered = at
	c.mu.Unlock()
	c.SetState(StateUp)
}

// State is the call's signalling state.
func (c *Call) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SetState changes the state and tells the watchers (in the caller's
// goroutine: watchers must not block). Setting the current state is a no-op.
func (c *Call) SetState(st State) {
	c.mu.Lock()
	if c.state == st {
		c.mu.Unlock()
		return
	}
	c.state = st
	ws := make([]func(State), 0, len(c.watchers))
	for _, f := range c.watchers {
		ws = append(ws, f)
	}
	c.mu.Unlock()
	for _, f := range ws {
		f(st)
	}
}

// Watch calls f on every state change until the returned func is called.
func (c *Call) Watch(f func(State)) (stop func()) {
	c.mu.Lock()
	if c.watchers == nil {
		c.watchers = make(map[int]func(State))
	}
	id := c.nextW
	c.nextW++
	c.watchers[id] = f
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.watchers, id)
		c.mu.Unlock()
	}
}

// ErrNoLeg is returned by Answer and Ring on a call without signalling
// control (a test call, or one whose owner answers it).
var ErrNoLeg = errors.New("call has no signalling leg")

// Answer answers a ringing inbound call; answering an answered call is a
// no-op. It fails once the call has ended.
func (c *Call) Answer() error {
	if cause := c.Cause(); cause != nil {
		return cause
	}
	if c.State() == StateUp {
		return nil
	}
	if c.leg == nil {
		return ErrNoLeg
	}
	return c.leg.Answer()
}

// Redirector is a Leg that can send the far end elsewhere (a SIP 302
// before answer, a REFER after).
type Redirector interface {
	Redirect(target string) error
}

// Redirect sends the far end to target (a SIP URI); the call then ends
// with CauseRedirected.
func (c *Call) Redirect(target string) error {
	if cause := c.Cause(); cause != nil {
		return cause
	}
	r, ok := c.leg.(Redirector)
	if !ok {
		return ErrNoLeg
	}
	return r.Redirect(target)
}

// Ring tells an unanswered inbound caller that it rings (180).
func (c *Call) Ring() error {
	if cause := c.Cause(); cause != nil {
		return cause
	}
	if c.leg == nil {
		return ErrNoLeg
	}
	return c.leg.Ring()
}

// Answered is when the call was answered (zero if never).
func (c *Call) Answered() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// Media is the call's media leg.
func (c *Call) Media() MediaSession { return c.media }

// Event appends a row to the call's timeline.
func (c *Call) Event(kind, step string, data map[string]string) {
	e := Event{
		CallID:   c.ID,
		TenantID: c.TenantID,
		Seq:      int(c.seq.Add(1)),
		At:       c.now(),
		Kind:     kind,
		Step:     step,
		Data:     data,
	}
	c.mu.Lock()
	if n := len(c.journal); n < journalMax || n < journalMax+journalLate && lateKind(kind) {
		c.journal = append(c.journal, e)
	}
	c.mu.Unlock()
	if c.sink != nil {
		c.sink.CallEvent(e)
	}
}

// Journal returns the call's timeline so far (its first journalMax
// events): the IVR path and choices an agent's caller context and
// checklists read. Events' Data maps are shared: do not change them.
func (c *Call) Journal() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.journal...)
}

// Play plays a prompt to the caller. When interruptible, a key press stops it
// (barge-in) and stays readable with ReadDigit.
func (c *Call) Play(ctx context.Context, name string, interruptible bool) error {
	p, ok := c.prompts.Prompt(name)
	if !ok {
		return fmt.Errorf("play: prompt %q not found for tenant %s", name, c.TenantID)
	}
	return c.playPrompt(ctx, p, false, interruptible)
}

// Music loops hold music until ctx is done; keys pressed meanwhile are kept.
func (c *Call) Music(ctx context.Context, class string) error {
	if c.music == nil {
		// Nothing to play is not a reason to drop a queued caller.
		<-ctx.Done()
		return ctx.Err()
	}
	return c.playPrompt(ctx, c.music, true, false)
}

func (c *Call) playPrompt(ctx context.Context, p *media.Prompt, loop, interruptible bool) error {
	if interruptible && c.hasPending() {
		return nil
	}
	pl := media.NewPlayer(p, loop)
	c.media.SetSource(pl)
	defer func() {
		pl.Stop()
		c.media.SetSource(nil)
	}()
	digits := c.media.Digits()
	for {
		select {
		case <-pl.Done():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return context.Cause(c.ctx)
		case d := <-digits:
			c.keyPressed(d)
			if interruptible {
				return nil
			}
		}
	}
}

// keyPressed queues a digit. It writes no event itself: the IVR records
// the keys it consumes, and leaves out the ones a masked gather collects
// (card numbers, PINs), which a raw key log here would leak.
func (c *Call) keyPressed(d media.Digit) {
	c.mu.Lock()
	c.pending = append(c.pending, d)
	c.mu.Unlock()
}

func (c *Call) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

func (c *Call) popPending() (rune, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return 0, false
	}
	d := c.pending[0]
	c.pending = c.pending[1:]
	c.lastSrc = d.Source
	return d.Key, true
}

// LastDigitSource says how the last digit read arrived: "rfc4733" or
// "inband".
func (c *Call) LastDigitSource() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSrc
}

// ReadDigit waits up to timeout for the next key. ok is false on timeout.
func (c *Call) ReadDigit(ctx context.Context, timeout time.Duration) (rune, bool, error) {
	if k, ok := c.popPending(); ok {
		return k, true, nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-c.media.Digits():
		c.keyPressed(d)
		k, _ := c.popPending()
		return k, true, nil
	case <-t.C:
		return 0, false, nil
	case <-ctx.Done():
		return 0, false, ctx.Err()
	case <-c.ctx.Done():
		return 0, false, context.Cause(c.ctx)
	}
}

// FlushDigits forgets keys pressed so far (before a new menu, so a key meant
// for the last prompt does not answer the next).
func (c *Call) FlushDigits() {
	c.mu.Lock()
	c.pending = c.pending[:0]
	c.mu.Unlock()
	for {
		select {
		case <-c.media.Digits():
		default:
			return
		}
	}
}
