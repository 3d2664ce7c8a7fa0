package ivr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hotline/speech"
)

// Channel is the caller's side of the call as the flow sees it.
type Channel interface {
	// Play plays the named prompt. When interruptible it returns as soon as
	// a key is pressed, or at once if a key is already waiting; the key
	// stays readable with ReadDigit. It returns ErrHangup (or the context's
	// error) when the caller hangs up.
	Play(ctx context.Context, prompt string, interruptible bool) error
	// Music loops hold music of the given class until ctx is done (caller
	// hangup or queue timeout), returning ctx's error. Returning nil earlier
	// means the channel took the call elsewhere.
	Music(ctx context.Context, class string) error
	// ReadDigit waits up to timeout for the next key ('0'-'9', '*', '#');
	// ok=false on timeout. A timeout of 0 only polls for a key already
	// pressed.
	ReadDigit(ctx context.Context, timeout time.Duration) (key rune, ok bool, err error)
	// FlushDigits drops keys pressed but not read yet.
	FlushDigits()
	// PlayAudio plays synthesized 8 kHz PCM, like Play plays a prompt.
	PlayAudio(ctx context.Context, pcm []int16, interruptible bool) error
	// Listen plays the request's prompts while recognizing the caller's
	// speech. Speech or a key stops the prompts (barge-in); a key stays
	// readable with ReadDigit. See ListenRequest and ListenResult.
	Listen(ctx context.Context, req ListenRequest) (ListenResult, error)
}

// ListenRequest asks a Channel to play prompts and listen.
type ListenRequest struct {
	Prompts []string // played in order, then Audio
	Audio   []int16  // synthesized PCM, e.g. a confirmation question
	// Recognizer and Grammar say what to recognize.
	Recognizer speech.Recognizer
	Grammar    speech.Grammar
	// Timeout is how long to wait after the prompts for the caller to
	// start (a key or speech): no input after it.
	Timeout time.Duration
	// MaxSpeech bounds an utterance once started; 0: the channel's
	// default.
	MaxSpeech time.Duration
}

// ListenResult is what the caller did.
type ListenResult struct {
	// Key: a key was pressed (readable with ReadDigit); speech is ignored.
	Key bool
	// Heard: the recognizer's Final event for what the caller said.
	Heard  bool
	Speech speech.Event
	// BargeIn: the caller cut the prompts short.
	BargeIn bool
	// Dropped counts audio frames the recognizer could not take in time.
	Dropped uint64
}

// ErrHangup is returned by a Channel when the caller hung up.
var ErrHangup = errors.New("caller hung up")

// ErrStepLimit is wrapped by Run's error when a call runs more than
// Env.MaxSteps steps.
var ErrStepLimit = errors.New("step limit reached")

// EventSink receives the call's timeline. It is called synchronously from
// Run, so a slow sink delays the caller.
type EventSink interface {
	Event(kind, step string, data map[string]string)
}

// EventFunc adapts a function to EventSink.
type EventFunc func(kind, step string, data map[string]string)

func (f EventFunc) Event(kind, step string, data map[string]string) { f(kind, step, data) }

// Event kinds passed to EventSink. step is always the name of the step
// that produced the event.
const (
	EventStep          = "step"           // entering a step: kind
	EventPrompt        = "prompt"         // prompt about to play: prompt
	EventDigit         = "digit"          // key read: key (not for masked gathers)
	EventMenu          = "menu"           // valid choice: choice, next
	EventMenuInvalid   = "menu_invalid"   // key with no option: key
	EventMenuTimeout   = "menu_timeout"   // no key within timeout
	EventMenuFailure   = "menu_failure"   // retries used up: next ("" = hang up)
	EventGather        = "gather"         // digits stored: var, value (masked as *)
	EventGatherInvalid = "gather_invalid" // too few digits: value
	EventGatherTimeout = "gather_timeout" // no digit at all
	EventGatherFailure = "gather_failure" // retries used up: next
	EventSet           = "set"            // the assigned variables
	EventBranch        = "branch"         // var, value, next
	EventHours         = "hours"          // open (true/false), reason (open/closed/holiday), time (local RFC 3339), next
	EventQueue         = "queue"          // queue, music
	EventQueueTimeout  = "queue_timeout"  // next ("" = hang up); with an ACD: outcome, reason
	EventHangup        = "hangup"         // flow hangs up: cause
	EventFlowEnd       = "flow_end"       // reason, and cause, queue or error
	// Speech at menu and gather steps. text is what the recognizer heard
	// (masked like the digits at a masked gather), confidence in [0,1].
	EventSpeech        = "speech"         // text, confidence, choice ("" out of grammar), barge_in
	EventSpeechNoMatch = "speech_nomatch" // text, confidence, reason: out_of_grammar, low_confidence, not_confirmed, wrong_length
	EventSpeechNoInput = "speech_noinput" // neither speech nor a key within the timeout
	EventSpeechConfirm = "speech_confirm" // choice, answer: asked, yes, no (no also for silence)
	EventSay           = "say"            // text spoken; spoken=false without a synthesizer
	// A stasis step: the call enters the ARI application (app, args joined
	// with ",") and leaves it (app, status SUCCESS or FAILED, next — "" when
	// the call ended or hangs up —, label when the application gave one,
	// hangup=true when the call ended in the application, error when the
	// hand-over failed). A label naming no step of the flow adds
	// stasis_label (app, label, next) and the flow goes on at next.
	EventStasis      = "stasis"
	EventStasisEnd   = "stasis_end"
	EventStasisLabel = "stasis_label"
)

// Env is what a call brings to a flow.
type Env struct {
	Now      func() time.Time  // nil: time.Now; injected for tests
	Location *time.Location    // tenant time zone; nil: UTC
	Holidays []string          // tenant holidays, YYYY-MM-DD in Location
	Vars     map[string]string // initial variables (caller, dnis, ...); not modified
	Events   EventSink         // nil: no timeline
	MaxSteps int               // 0: DefaultMaxSteps
	// ACD is what queue steps hand the caller to; nil keeps the caller on
	// hold music until they hang up or the step times out.
	ACD ACD
	// Recognizer lets callers speak at menu and gather steps; nil: keypad
	// only.
	Recognizer speech.Recognizer
	// Synthesizer speaks say steps, confirmation questions and help; nil:
	// say steps are skipped (with an event) and low-confidence answers are
	// not confirmed but rejected.
	Synthesizer speech.Synthesizer
	// Stasis runs stasis steps' ARI applications; nil: every stasis step
	// fails over (STASISSTATUS=FAILED), as when the application is not
	// connected.
	Stasis Stasis
	// Surveys are asked after an agent hangs up on the caller (survey.go);
	// nil: none.
	Surveys *Surveys
	// HTTPClient makes lookup steps' requests; nil: a client that follows
	// redirects on the same host only. Each request is bounded by the
	// step's timeout and the call's context either way.
	HTTPClient *http.Client
	// Transcriber hears ask steps' free-speech questions; nil: ask steps
	// hand every caller to their queue step.
	Transcriber speech.Transcriber
	// Intents match ask steps' questions to the knowledge base's intents
	// and Answers give an intent's standard answer (ask.go); nil: the
	// caller goes to the queue step.
	Intents IntentMatcher
	Answers AnswerSource
	// AskLog records ask steps' outcomes (containment reports); nil: none.
	AskLog AskLog
	// Tenant names the tenant for Intents and Answers; "": ${tenant}.
	Tenant string
}

// ACD is the call distributor as a queue step sees it: the caller waits in it until
// an agent's conversation ends, the ACD sends them back to the flow, or
// they hang up (then Wait returns ErrHangup or the context's error).
type ACD interface {
	Wait(ctx context.Context, req QueueRequest) (QueueResult, error)
}

// QueueRequest is a queue step asking the ACD to take the caller.
type QueueRequest struct {
	Step    string // the queue step's name
	Queue   string
	Music   string
	Timeout time.Duration // the step's bound on the whole wait; 0: none
	// TimeoutStep is where the flow continues when the wait times out; the
	// ACD may name another step.
	TimeoutStep string
	// Region is the flow variable region when the caller joins the queue
	// (set for every call from the caller's number; a set step may change
	// it): queues with prefer_region offer the caller to its agents first.
	Region string
}

// QueueOutcome says how a caller left the ACD.
type QueueOutcome string

const (
	QueueAnswered QueueOutcome = "answered" // an agent talked to the caller; the flow ends
	QueueExit     QueueOutcome = "exit"     // max wait: continue at Step ("" = the step's timeout_step)
	QueueRejected QueueOutcome = "rejected" // refused or sent away (full, no agents): like a timeout
)

// QueueResult is how a caller left the ACD.
type QueueResult struct {
	Outcome QueueOutcome
	Step    string // QueueExit: the step to continue at, "" for the flow's choice
	Reason  string // the ACD's reason (max-wait, timeout, queue-full, no-agents...)
	// QueueAnswered: the queue the caller was answered from, the agent who
	// had them last, and whether that agent ended the conversation (not
	// the caller, a transfer or a failure): then a survey may follow.
	Queue       string
	Agent       string
	AgentHungUp bool
}

// EndReason says how a flow ended.
type EndReason string

const (
	EndHangup       EndReason = "hangup"        // a hangup step (or a failure without target); see Cause
	EndQueue        EndReason = "queue"         // the caller reached Queue and stayed there
	EndCallerHangup EndReason = "caller_hangup" // the caller hung up before a queue or hangup
	EndError        EndReason = "error"         // Run returned an error
)

// Result describes the end of a flow. Run never hangs up the channel
// itself; the caller acts on Reason.
type Result struct {
	Reason       EndReason
	Cause        string // EndHangup: the hangup cause
	Queue        string // EndQueue: the queue name
	CallerHungUp bool   // the caller was gone when the flow ended
	AgentHungUp  bool   // EndQueue: the agent ended the conversation (a survey may have followed)
	Step         string // last step run
	Steps        int    // steps run, the loop guard's count
	Vars         map[string]string
}

// Run executes the flow for one call until it hangs up, reaches a queue
// (for now: holds with music there until the caller hangs up or the queue
// timeout), or the caller hangs up. A caller hangup is a normal end, not an
// error. Errors are channel failures and the step limit.
func (f *Flow) Run(ctx context.Context, ch Channel, env Env) (Result, error) {
	r := &runner{flow: f, ctx: ctx, ch: ch, env: env, vars: maps.Clone(env.Vars), secret: map[string]bool{}}
	if r.vars == nil {
		r.vars = map[string]string{}
	}
	res, err := r.run()
	res.Steps, res.Vars = r.steps, r.vars
	data := map[string]string{"reason": string(res.Reason)}
	if res.Cause != "" {
		data["cause"] = res.Cause
	}
	if res.CallerHungUp {
		// The call ended under the flow; its context says why (the caller's
		// BYE, an RTP or ACK timeout, shutdown), which the timeline keeps.
		if c := context.Cause(r.ctx); c != nil {
			data["cause"] = c.Error()
		}
	}
	if res.Queue != "" {
		data["queue"] = res.Queue
	}
	if err != nil {
		data["error"] = err.Error()
	}
	r.emit(EventFlowEnd, res.Step, data)
	return res, err
}

type runner struct {
	flow  *Flow
	ctx   context.Context
	ch    Channel
	env   Env
	vars  map[string]string
	steps int
	// secret names the variables whose values stay out of the timeline:
	// masked gathers' (PINs) and those set from them.
	secret map[string]bool
	// pending is a key read while checking for barge-in between prompts,
	// owed to the next reader.
	pending    rune
	hasPending bool
}

func (r *runner) run() (Result, error) {
	limit := r.env.MaxSteps
	if limit <= 0 {
		limit = DefaultMaxSteps
	}
	name := r.flow.Start
	for {
		if r.ctx.Err() != nil {
			return Result{Reason: EndCallerHangup, CallerHungUp: true, Step: name}, nil
		}
		if r.steps >= limit {
			return Result{Reason: EndError, Step: name},
				fmt.Errorf("flow %s: %w: %d steps run, next was %s", r.flow.File, ErrStepLimit, r.steps, name)
		}
		s := r.flow.Steps[name]
		if s == nil {
			return Result{Reason: EndError, Step: name}, fmt.Errorf("flow %s: no step %q", r.flow.File, name)
		}
		r.steps++
		r.emit(EventStep, name, map[string]string{"kind": string(s.Kind)})
		next, end, err := r.exec(s)
		if err != nil {
			if r.hungUp(err) {
				return Result{Reason: EndCallerHangup, CallerHungUp: true, Step: name}, nil
			}
			return Result{Reason: EndError, Step: name}, fmt.Errorf("flow %s: step %s: %w", r.flow.File, name, err)
		}
		if end != nil {
			end.Step = name
			return *end, nil
		}
		name = next
	}
}

func (r *runner) hungUp(err error) bool {
	return errors.Is(err, ErrHangup) || errors.Is(err, context.Canceled) || r.ctx.Err() != nil
}

func (r *runner) emit(kind, step string, data map[string]string) {
	if r.env.Events == nil {
		return
	}
	if data == nil {
		data = map[string]string{}
	}
	if len(r.secret) > 0 && redactedEvents[kind] {
		for k, v := range data {
			data[k] = r.redact(v)
		}
	}
	r.env.Events.Event(kind, step, data)
}

// redactedEvents are the events whose data may carry a variable's value
// through a ${var} template or a branch.
var redactedEvents = map[string]bool{EventSet: true, EventSay: true, EventStasis: true, EventBranch: true, EventAsk: true}

// exec runs one step: it returns the next step, or a non-nil end.
func (r *runner) exec(s *Step) (string, *Result, error) {
	switch s.Kind {
	case KindPlay:
		return s.Next, nil, r.playPrompts(s.Name, s.Play.Prompts, s.Play.Interruptible)
	case KindMenu:
		return r.menu(s)
	case KindGather:
		return r.gather(s)
	case KindSet:
		data := map[string]string{}
		for _, a := range s.Set {
			v := expand(a.Value, r.vars)
			r.vars[a.Var] = v
			data[a.Var] = v
			r.markSecret(a.Var, r.isSecret(v))
		}
		r.emit(EventSet, s.Name, data)
		return s.Next, nil, nil
	case KindBranch:
		b := s.Branch
		v := r.vars[b.Var]
		next, ok := b.Cases[v]
		if !ok {
			next = b.Default
		}
		r.emit(EventBranch, s.Name, map[string]string{"var": b.Var, "value": v, "next": next})
		return next, nil, nil
	case KindHours:
		return r.hours(s), nil, nil
	case KindGoto:
		return s.Goto, nil, nil
	case KindHangup:
		return "", r.hangup(s.Name, s.Hangup.Cause), nil
	case KindQueue:
		return r.queue(s)
	case KindSay:
		return s.Next, nil, r.say(s)
	case KindStasis:
		return r.stasis(s)
	case KindLookup:
		return r.lookup(s)
	case KindAsk:
		return r.ask(s)
	}
	return "", nil, fmt.Errorf("unknown step kind %q", s.Kind)
}

func (r *runner) hangup(step, cause string) *Result {
	r.emit(EventHangup, step, map[string]string{"cause": cause})
	return &Result{Reason: EndHangup, Cause: cause}
}

// orHangup continues with target, or hangs up normally when the flow gave
// none (the default for menu/gather failure and queue timeout).
func (r *runner) orHangup(step, target string) (string, *Result, error) {
	if target != "" {
		return target, nil, nil
	}
	return "", r.hangup(step, CauseNormal), nil
}

func (r *runner) readDigit(timeout time.Duration) (rune, bool, error) {
	if r.hasPending {
		r.hasPending = false
		return r.pending, true, nil
	}
	return r.ch.ReadDigit(r.ctx, timeout)
}

func (r *runner) flush() {
	r.hasPending = false
	r.ch.FlushDigits()
}

// playPrompts plays prompts in order. Interruptible prompts stop at the
// first key, which is left for the next read; keys pressed during
// non-interruptible prompts are discarded so they cannot pick a menu option
// the caller has not heard yet.
func (r *runner) playPrompts(step string, prompts []string, interruptible bool) error {
	for _, p := range prompts {
		if interruptible {
			if !r.hasPending {
				key, ok, err := r.ch.ReadDigit(r.ctx, 0)
				if err != nil {
					return fmt.Errorf("read digit: %w", err)
				}
				r.pending, r.hasPending = key, ok
			}
			if r.hasPending {
				return nil
			}
		}
		r.emit(EventPrompt, step, map[string]string{"prompt": p})
		if err := r.ch.Play(r.ctx, p, interruptible); err != nil {
			return fmt.Errorf("play %s: %w", p, err)
		}
	}
	if !interruptible {
		r.flush()
	}
	return nil
}

func (r *runner) menu(s *Step) (string, *Result, error) {
	m := s.Menu
	g := menuGrammar(m)
	listen := r.listens(m.Speech, g)
	for attempt := 1; ; attempt++ {
		a, err := r.menuAnswer(s, g, listen)
		if err != nil {
			return "", nil, err
		}
		switch a.kind {
		case answerKey:
			r.emit(EventDigit, s.Name, map[string]string{"key": string(a.key)})
			if next, found := m.Options[string(a.key)]; found {
				r.emit(EventMenu, s.Name, map[string]string{"choice": string(a.key), "next": next})
				return next, nil, nil
			}
			r.emit(EventMenuInvalid, s.Name, map[string]string{"key": string(a.key)})
			r.flush()
			err = r.playPrompts(s.Name, m.Invalid, false)
		case answerSpeech:
			next := m.Options[a.choice]
			r.emit(EventMenu, s.Name, map[string]string{"choice": a.choice, "next": next, "input": "speech"})
			return next, nil, nil
		case answerNoMatch:
			r.flush()
			err = r.playPrompts(s.Name, m.Invalid, false)
		default:
			r.emit(EventMenuTimeout, s.Name, nil)
			err = r.playPrompts(s.Name, m.NoInput, false)
		}
		if err != nil {
			return "", nil, err
		}
		if attempt >= m.Retries {
			r.emit(EventMenuFailure, s.Name, map[string]string{"next": m.Failure})
			return r.orHangup(s.Name, m.Failure)
		}
		if listen {
			if err := r.help(s.Name, m.Speech, attempt, menuHelp(m)); err != nil {
				return "", nil, err
			}
		}
	}
}

// menuAnswer plays the menu's prompts and waits for one answer: a key
// (also while listening, so the keypad always works), a spoken choice, a
// failed recognition, or nothing.
func (r *runner) menuAnswer(s *Step, g speech.Grammar, listen bool) (answer, error) {
	m := s.Menu
	if !listen || r.hasPending {
		if err := r.playPrompts(s.Name, m.Prompts, true); err != nil {
			return answer{}, err
		}
		return r.keyAnswer(m.Timeout)
	}
	res, err := r.listen(s.Name, m.Prompts, nil, g, m.Timeout)
	switch {
	case err != nil:
		return answer{}, err
	case res.Key:
		return r.keyAnswer(m.Timeout)
	case !res.Heard || res.Speech.NoSpeech:
		r.emit(EventSpeechNoInput, s.Name, nil)
		return answer{kind: answerNone}, nil
	}
	ev := res.Speech
	r.emit(EventSpeech, s.Name, speechData(res, ev.Text, ev.Choice))
	if ev.Choice == "" || m.Options[ev.Choice] == "" {
		r.noMatch(s.Name, ev, ev.Text, "out_of_grammar")
		return answer{kind: answerNoMatch}, nil
	}
	said := ev.Text
	if said == "" {
		said = m.Phrases[ev.Choice][0]
	}
	ok, err := r.accept(s.Name, m.Speech, ev, ev.Text, ev.Choice, said, m.Timeout)
	if err != nil || !ok {
		return answer{kind: answerNoMatch}, err
	}
	return answer{kind: answerSpeech, choice: ev.Choice}, nil
}

func (r *runner) keyAnswer(timeout time.Duration) (answer, error) {
	key, ok, err := r.readDigit(timeout)
	if err != nil {
		return answer{}, fmt.Errorf("read digit: %w", err)
	}
	if !ok {
		return answer{kind: answerNone}, nil
	}
	return answer{kind: answerKey, key: key}, nil
}

func (r *runner) gather(s *Step) (string, *Result, error) {
	g := s.Gather
	grammar := gatherGrammar(g)
	listen := r.listens(g.Speech, grammar)
	for attempt := 1; ; attempt++ {
		var err error
		value, spoken, failed := "", false, false
		if listen && !r.hasPending {
			value, spoken, failed, err = r.gatherSpeech(s, grammar)
			if err != nil {
				return "", nil, err
			}
		} else if err := r.playPrompts(s.Name, g.Prompts, true); err != nil {
			return "", nil, err
		}
		if spoken {
			r.flush()
			r.store(g, value)
			r.emit(EventGather, s.Name, map[string]string{"var": g.Into, "value": r.mask(g, value), "input": "speech"})
			return s.Next, nil, nil
		}
		if !failed {
			done, err := r.gatherKeys(s)
			if err != nil {
				return "", nil, err
			}
			if done {
				return s.Next, nil, nil
			}
		}
		if attempt >= g.Retries {
			r.emit(EventGatherFailure, s.Name, map[string]string{"next": g.Failure})
			return r.orHangup(s.Name, g.Failure)
		}
		if listen {
			if err := r.help(s.Name, g.Speech, attempt, gatherHelp(g)); err != nil {
				return "", nil, err
			}
		}
	}
}

// gatherSpeech listens for spoken digits. spoken: value holds accepted
// digits; failed: this attempt failed (and its prompt was played); neither:
// a key was pressed and the keypad takes over.
func (r *runner) gatherSpeech(s *Step, grammar speech.Grammar) (value string, spoken, failed bool, err error) {
	g := s.Gather
	res, err := r.listen(s.Name, g.Prompts, nil, grammar, g.Timeout)
	switch {
	case err != nil:
		return "", false, false, err
	case res.Key:
		return "", false, false, nil
	case !res.Heard || res.Speech.NoSpeech:
		r.emit(EventSpeechNoInput, s.Name, nil)
		r.emit(EventGatherTimeout, s.Name, nil)
		return "", false, true, r.playPrompts(s.Name, g.NoInput, false)
	}
	ev := res.Speech
	text := ev.Text
	if g.Mask {
		text = strings.Repeat("*", len(ev.Digits))
	}
	r.emit(EventSpeech, s.Name, speechData(res, text, r.mask(g, ev.Digits)))
	n := len(ev.Digits)
	switch {
	case n == 0:
		r.noMatch(s.Name, ev, text, "out_of_grammar")
	case n < g.MinDigits || n > g.MaxDigits:
		r.noMatch(s.Name, ev, text, "wrong_length")
	default:
		// Reading a PIN back aloud would defeat the mask: a masked gather
		// never confirms, it rejects what it would have asked about.
		said := spaced(ev.Digits)
		if g.Mask {
			said = ""
		}
		ok, err := r.accept(s.Name, g.Speech, ev, text, r.mask(g, ev.Digits), said, g.Timeout)
		if err != nil {
			return "", false, false, err
		}
		if ok {
			return ev.Digits, true, false, nil
		}
	}
	r.flush()
	return "", false, true, r.playPrompts(s.Name, g.Invalid, false)
}

// gatherKeys collects typed digits; done reports the variable was set.
func (r *runner) gatherKeys(s *Step) (bool, error) {
	g := s.Gather
	var digits strings.Builder
	terminated := false
	timeout := g.Timeout
	for digits.Len() < g.MaxDigits {
		key, ok, err := r.readDigit(timeout)
		if err != nil {
			return false, fmt.Errorf("read digit: %w", err)
		}
		if !ok {
			break
		}
		if !g.Mask {
			r.emit(EventDigit, s.Name, map[string]string{"key": string(key)})
		}
		if g.Terminator != "" && string(key) == g.Terminator {
			terminated = true
			break
		}
		digits.WriteRune(key)
		timeout = g.InterDigitTimeout
	}
	value := digits.String()
	switch {
	case len(value) >= g.MinDigits:
		// A terminator typed after the last allowed digit must not
		// reach the next menu.
		r.flush()
		r.store(g, value)
		r.emit(EventGather, s.Name, map[string]string{"var": g.Into, "value": r.mask(g, value)})
		return true, nil
	case value == "" && !terminated:
		r.emit(EventGatherTimeout, s.Name, nil)
		return false, r.playPrompts(s.Name, g.NoInput, false)
	default:
		r.emit(EventGatherInvalid, s.Name, map[string]string{"value": r.mask(g, value)})
		r.flush()
		return false, r.playPrompts(s.Name, g.Invalid, false)
	}
}

// store sets a gather's variable; a masked gather's value is secret from
// then on, wherever the flow copies it.
func (r *runner) store(g *Gather, v string) {
	r.vars[g.Into] = v
	r.markSecret(g.Into, g.Mask)
}

func (r *runner) markSecret(name string, secret bool) {
	if secret {
		r.secret[name] = true
	} else {
		delete(r.secret, name)
	}
}

func (r *runner) mask(g *Gather, v string) string {
	if g.Mask {
		return strings.Repeat("*", len(v))
	}
	return v
}

func (r *runner) hours(s *Step) string {
	now := time.Now
	if r.env.Now != nil {
		now = r.env.Now
	}
	h := s.Hours
	t := now()
	open, reason := h.IsOpen(t, r.env.Location, r.env.Holidays)
	next := h.ClosedStep
	if open {
		next = h.OpenStep
	}
	loc := h.Location
	if loc == nil {
		loc = r.env.Location
	}
	if loc == nil {
		loc = time.UTC
	}
	r.emit(EventHours, s.Name, map[string]string{
		"open": strconv.FormatBool(open), "reason": reason,
		"time": t.In(loc).Format(time.RFC3339), "next": next,
	})
	return next
}

func (r *runner) queue(s *Step) (string, *Result, error) {
	q := s.Queue
	r.emit(EventQueue, s.Name, map[string]string{"queue": q.Name, "music": q.Music})
	if r.env.ACD != nil {
		return r.acdQueue(s)
	}
	qctx := r.ctx
	if q.Timeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(r.ctx, q.Timeout)
		defer cancel()
	}
	err := r.ch.Music(qctx, q.Music)
	inQueue := &Result{Reason: EndQueue, Queue: q.Name}
	switch {
	case errors.Is(err, ErrHangup) || r.ctx.Err() != nil:
		inQueue.CallerHungUp = true
		return "", inQueue, nil
	case q.Timeout > 0 && qctx.Err() != nil:
		r.emit(EventQueueTimeout, s.Name, map[string]string{"next": q.TimeoutStep})
		return r.orHangup(s.Name, q.TimeoutStep)
	case err == nil:
		return "", inQueue, nil
	}
	return "", nil, fmt.Errorf("music %s: %w", q.Music, err)
}

// acdQueue hands the caller to the ACD. The step's timeout is the ACD's
// too, so one clock decides whether an offer ringing at that moment wins.
func (r *runner) acdQueue(s *Step) (string, *Result, error) {
	q := s.Queue
	res, err := r.env.ACD.Wait(r.ctx, QueueRequest{
		Step: s.Name, Queue: q.Name, Music: q.Music, Timeout: q.Timeout, TimeoutStep: q.TimeoutStep,
		Region: r.vars["region"],
	})
	inQueue := &Result{Reason: EndQueue, Queue: q.Name}
	if err != nil {
		if r.hungUp(err) {
			inQueue.CallerHungUp = true
			return "", inQueue, nil
		}
		return "", nil, fmt.Errorf("queue %s: %w", q.Name, err)
	}
	switch res.Outcome {
	case QueueAnswered:
		if err := r.surveyAfterAgent(s, res); err != nil {
			return "", nil, fmt.Errorf("survey: %w", err)
		}
		inQueue.CallerHungUp = r.ctx.Err() != nil
		inQueue.AgentHungUp = res.AgentHungUp
		return "", inQueue, nil
	case QueueExit, QueueRejected:
		next := res.Step
		if next == "" {
			next = q.TimeoutStep
		}
		r.emit(EventQueueTimeout, s.Name, map[string]string{"next": next, "outcome": string(res.Outcome), "reason": res.Reason})
		return r.orHangup(s.Name, next)
	}
	return "", nil, fmt.Errorf("queue %s: unknown outcome %q", q.Name, res.Outcome)
}
