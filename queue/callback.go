package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/speech"
	"hotline/store"
)

// Callbacks keep a caller's place in line after they hang up. The caller
// presses the queue's callback key while waiting, confirms the number (or
// keys another) and hangs up; their ACD call stays in line with no caller
// leg (acd.CallbackConverted). When its turn comes the chosen agent is
// offered "Callback to <number>" first; only when they accept is the
// number dialled (CallbackDialer), and the answered call is handed to the
// Connector like a caller's. A failed try frees the agent and puts the
// callback back at the front of its priority, held for the retry gap.

// CallbackOptions are a queue's callback settings.
type CallbackOptions struct {
	Key         rune          // the DTMF key that asks for a callback
	Retries     int           // tries after the first
	RetryGap    time.Duration // least time between two tries
	RingTimeout time.Duration // how long the caller's phone rings per try
	Expiry      time.Duration // a callback not reached by then is dropped; 0: never
	Trunk       string        // the outbound trunk ("": the tenant's first)
	// Speech: saying "call me back" while waiting asks too (needs the
	// setup's Recognizer; callback_speech.go).
	Speech bool
}

// CallbackDial is one try to reach a caller.
type CallbackDial struct {
	TenantID    string
	CallbackID  string
	Number      string
	CalledFrom  string // the number the caller originally dialled: caller ID
	Queue       string
	Agent       AgentID
	Trunk       string
	RingTimeout time.Duration
}

// CallbackDialer places a callback's call and returns it at once; the
// runtime waits for it to be answered or to end.
type CallbackDialer interface {
	DialCallback(ctx context.Context, d CallbackDial) (*call.Call, error)
}

// CallbackStore records callbacks; *store.Store implements it.
type CallbackStore interface {
	CreateCallback(ctx context.Context, cb store.Callback) error
	SaveCallbackAttempt(ctx context.Context, a store.CallbackAttempt, nextTry time.Time) error
	FinishCallback(ctx context.Context, id uuid.UUID, disposition string, at time.Time) (bool, error)
}

// CallbackSetup turns callbacks on for a runtime.
type CallbackSetup struct {
	Queues map[string]CallbackOptions
	Dialer CallbackDialer
	Store  CallbackStore      // nil: not recorded
	Synth  speech.Synthesizer // speaks the dialogue; nil: silent (keys still work)
	// Recognizer hears "call me back" in queues with Speech on; nil: keys only.
	Recognizer speech.Recognizer
}

// callbacks is the runtime's callback state. setup is read by callers'
// goroutines; alias and the timers are the owner's.
type callbacks struct {
	setup atomic.Pointer[CallbackSetup]
	wg    sync.WaitGroup // dial and record goroutines
	alias map[string]acd.CallID
}

// cbState is a waiter that became a callback.
type cbState struct {
	id         uuid.UUID
	number     string
	calledFrom string
	opts       CallbackOptions
	attempts   int
	callID     string // the outbound call of the current try
	retry      *time.Timer
	expire     *time.Timer
	over       bool
	// expired: the expiry came during a try; the try ends as it would,
	// and then the callback is over instead of retried.
	expired bool
}

// EnableCallbacks turns callbacks on; call it before calls arrive.
func (r *Runtime) EnableCallbacks(s CallbackSetup) { r.cb.setup.Store(&s) }

// CallbacksWait waits for the runtime's callback goroutines (after Run).
func (r *Runtime) CallbacksWait() { r.cb.wg.Wait() }

func (r *Runtime) callbackOpts(queue string) (CallbackOptions, *CallbackSetup, bool) {
	s := r.cb.setup.Load()
	if s == nil || s.Dialer == nil {
		return CallbackOptions{}, nil, false
	}
	o, ok := s.Queues[queue]
	return o, s, ok
}

// cbGo runs fn on a goroutine the runtime waits for.
func (r *Runtime) cbGo(fn func()) {
	r.cb.wg.Add(1)
	go func() {
		defer r.cb.wg.Done()
		fn()
	}()
}

// callbackKey waits for the callback key on c while the caller waits: it
// polls, since hold music keeps keys for later rather than reporting
// them. It returns when the key is pressed (true) or ctx ends.
func callbackKey(ctx context.Context, c *call.Call, key rune, pressed chan<- struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k, ok, err := c.ReadDigit(ctx, 0)
		if err != nil {
			return
		}
		if ok && k == key {
			select {
			case pressed <- struct{}{}:
			case <-ctx.Done():
			}
			return
		}
	}
}

// offerCallback runs the dialogue with a caller who pressed the key and,
// when they confirm, turns their wait into a callback and hangs up.
// spoken: they asked by voice (the callback_speech event is already on
// the timeline). true: the caller is gone (the wait is over); false: they
// keep waiting.
func (r *Runtime) offerCallback(ctx context.Context, w *waiter, e Entry, spoken bool) bool {
	o, s, ok := r.callbackOpts(e.Queue)
	if !ok {
		return false
	}
	if !spoken {
		e.Call.Event("callback_key", e.Step, map[string]string{"queue": e.Queue})
	}
	number, ok, answered := r.dialogueUnlessAnswered(ctx, w, e.Call, s.Synth)
	if answered || !ok {
		return false
	}
	id := uuid.New()
	if s.Store != nil {
		cb := store.Callback{ID: id, TenantID: r.cfg.TenantID, CallID: callUUID(w.id), Queue: e.Queue, Number: number, RequestedAt: time.Now()}
		if err := s.Store.CreateCallback(ctx, cb); err != nil {
			r.log.Error("callback not recorded; the caller keeps waiting", "call", e.Call.ID, "error", err)
			return false
		}
	}
	// Not the caller's ctx: once submitted, convert runs even if they
	// hang up now, and the row must say what it did.
	err := r.do(context.WithoutCancel(ctx), func(now time.Time) error { return r.convert(now, w, id, number, e.Call.To, o) })
	if err != nil {
		// Answered meanwhile, or sent on by the ACD: the wait goes on.
		if s.Store != nil {
			_, _ = s.Store.FinishCallback(context.WithoutCancel(ctx), id, store.DispositionCancelled, time.Now())
		}
		return false
	}
	e.Call.Event("callback_requested", e.Step, map[string]string{"queue": e.Queue, "callback": id.String()})
	say(ctx, e.Call, s.Synth, "Thank you. We will call you back. Goodbye.", r.log)
	e.Call.Hangup(call.CauseFlowHangup)
	return true
}

// dialogueUnlessAnswered runs the callback dialogue, which an agent
// answering the still-waiting caller cuts short: the caller is connected
// rather than left in prompts with the agent hearing silence. The answer
// is put back for Wait's loop, which is not reading while this runs.
func (r *Runtime) dialogueUnlessAnswered(ctx context.Context, w *waiter, c *call.Call, synth speech.Synthesizer) (number string, ok, answered bool) {
	dctx, cancel := context.WithCancel(ctx)
	var f final
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case f = <-w.final:
			answered = true
			cancel()
		case <-dctx.Done():
		}
	}()
	number, ok = callbackDialogue(dctx, c, synth, r.log)
	cancel()
	<-watched
	if answered {
		select {
		case w.final <- f: // buffered, and just emptied
		default:
			r.log.Warn("callback dialogue: a second final arrived; the first is dropped", "call", w.id)
		}
	}
	return number, ok, answered
}

// convert (owner) turns w into a callback that keeps its place.
func (r *Runtime) convert(now time.Time, w *waiter, id uuid.UUID, number, calledFrom string, o CallbackOptions) error {
	if r.calls[w.id] != w || w.answeredBy != "" || w.cb != nil {
		return fmt.Errorf("queue: callback for %s: %w", w.id, ErrUnknownCall)
	}
	if err := r.handle(acd.CallbackConverted{Call: w.id}); err != nil {
		return err
	}
	w.cb = &cbState{id: id, number: number, calledFrom: calledFrom, opts: o}
	r.closeEntry(now, w, store.OutcomeCallback)
	r.logRow(now, w.id, w.entry.Queue, "", "callback", map[string]string{"callback": id.String(), "wait_ms": ms(w.entry.Wait)})
	r.armExpiry(w, o.Expiry)
	return nil
}

// armExpiry ends the callback after d unless it is over by then. A try in
// progress is never cut: the customer may be talking to the agent.
func (r *Runtime) armExpiry(w *waiter, d time.Duration) {
	if w.cb.opts.Expiry <= 0 {
		return
	}
	w.cb.expire = time.AfterFunc(max(d, 0), func() {
		r.submit(func(now time.Time) {
			if w.cb.over {
				return
			}
			if w.answeredBy != "" {
				w.cb.expired = true
				return
			}
			r.cbFinish(now, w, store.DispositionExpired, true)
		})
	})
}

// callbackApply (owner) carries out a core action about a callback; false
// leaves it to the caller's handling.
func (r *Runtime) callbackApply(now time.Time, w *waiter, a acd.Action) bool {
	switch a.Kind {
	case acd.Offer:
		r.logRow(now, a.Call, a.Queue, a.Agent, "offer", map[string]string{"callback": w.cb.id.String()})
		ag := r.agents[a.Agent]
		info := OfferInfo{
			CallID: string(a.Call), Caller: "Callback to " + w.cb.number, Path: w.path, Queue: a.Queue,
			Wait: now.Sub(w.entered), Region: w.region,
		}
		if ag == nil || ag.ep == nil {
			r.follow = append(r.follow, acd.OfferRejected{Call: a.Call, Agent: a.Agent, Reason: "unreachable"})
			return true
		}
		if err := ag.ep.Offer(r.ctx, info); err != nil {
			r.follow = append(r.follow, acd.OfferRejected{Call: a.Call, Agent: a.Agent, Reason: "unreachable"})
		}
		return true
	case acd.Overflow:
		r.logRow(now, a.Call, w.entry.Queue, "", "overflow", map[string]string{"to": a.Queue, "reason": a.Reason})
		w.entry.Queue = a.Queue
		return true
	case acd.ExitToStep, acd.Rejected:
		// Nobody to send on: the callback is over.
		r.cbFinish(now, w, store.DispositionExpired, false)
		return true
	case acd.Announce:
		return true
	}
	return false
}

// callbackAnswer (owner) is the agent accepting a callback's offer: the
// caller is dialled now, with the agent held for the call.
func (r *Runtime) callbackAnswer(now time.Time, w *waiter, agent AgentID) error {
	if err := r.handle(acd.OfferAnswered{Call: w.id, Agent: agent}); err != nil {
		return err
	}
	s := r.cb.setup.Load()
	w.answeredBy = agent
	talk, end := context.WithCancel(r.ctx)
	w.endTalk = end
	w.cb.attempts++
	cb := *w.cb
	r.logRow(now, w.id, w.entry.Queue, agent, "callback_dial", map[string]string{"attempt": fmt.Sprint(cb.attempts), "number": cb.number})
	queue := w.entry.Queue
	r.cbGo(func() { r.runCallback(talk, w, cb, agent, queue, s) })
	return nil
}

// runCallback (its own goroutine) is one try: dial, and on answer the
// conversation with the agent.
func (r *Runtime) runCallback(ctx context.Context, w *waiter, cb cbState, agent AgentID, queue string, s *CallbackSetup) {
	started := time.Now()
	attempt := store.CallbackAttempt{CallbackID: cb.id, Attempt: cb.attempts, AgentID: string(agent), StartedAt: started}
	record := func(next time.Time) {
		if s.Store == nil {
			return
		}
		if err := s.Store.SaveCallbackAttempt(context.WithoutCancel(ctx), attempt, next); err != nil {
			r.log.Warn("callback attempt not recorded", "callback", cb.id, "error", err)
		}
	}
	record(time.Time{})
	c, err := s.Dialer.DialCallback(ctx, CallbackDial{
		TenantID: r.cfg.TenantID, CallbackID: cb.id.String(), Number: cb.number, CalledFrom: cb.calledFrom,
		Queue: queue, Agent: agent, Trunk: cb.opts.Trunk, RingTimeout: cb.opts.RingTimeout,
	})
	result := "failed"
	if err == nil {
		attempt.CallID = callUUID(acd.CallID(c.ID))
		r.submit(func(time.Time) {
			if r.cb.alias == nil {
				r.cb.alias = map[string]acd.CallID{}
			}
			r.cb.alias[c.ID] = w.id
		})
		result = waitAnswered(ctx, c)
	} else {
		r.log.Warn("callback dial failed", "callback", cb.id, "error", err)
	}
	attempt.Result = result
	if result != "answered" {
		if c != nil {
			c.Hangup(call.CauseNormal)
		}
		attempt.EndedAt = time.Now()
		// An agent hanging up while it rings costs a try, not the callback;
		// a shutdown leaves it open for the next run.
		retry := cb.attempts <= cb.opts.Retries && r.ctx.Err() == nil
		var next time.Time
		if retry {
			next = time.Now().Add(cb.opts.RetryGap)
		}
		record(next)
		r.submit(func(now time.Time) { r.cbTryFailed(now, w, result, retry) })
		return
	}
	record(time.Time{})
	c.Event("callback_connect", "", map[string]string{"agent": string(agent), "queue": queue, "callback": cb.id.String()})
	start := time.Now()
	err = r.cfg.Connector.Connect(ctx, c, agent)
	var rq *Requeue
	if hung := (*AgentHangup)(nil); errors.As(err, &hung) {
		err = nil // the agent ended the conversation: the callback is done
	}
	if err != nil && !errors.As(err, &rq) && ctx.Err() == nil {
		// The agent's side never came up (their page went away): the
		// caller has heard nobody, so this try failed.
		r.log.Warn("connecting callback to agent failed", "callback", cb.id, "agent", agent, "error", err)
		c.Hangup(call.CauseNormal)
		attempt.EndedAt, attempt.Result = time.Now(), "failed"
		retry := cb.attempts <= cb.opts.Retries
		var next time.Time
		if retry {
			next = time.Now().Add(cb.opts.RetryGap)
		}
		record(next)
		r.submit(func(now time.Time) { r.cbTryFailed(now, w, "failed", retry) })
		return
	}
	talked := time.Since(start)
	c.Hangup(call.CauseNormal)
	attempt.EndedAt = time.Now()
	record(time.Time{})
	if s.Store != nil {
		// Written here too, not only by the owner's cbFinish: a shutdown
		// now would refuse the submit below, and the next start would call
		// back a customer who has been served (FinishCallback is once only).
		if _, err := s.Store.FinishCallback(context.WithoutCancel(ctx), cb.id, store.DispositionCompleted, attempt.EndedAt); err != nil {
			r.log.Warn("callback disposition not recorded", "callback", cb.id, "error", err)
		}
	}
	r.submit(func(now time.Time) {
		delete(r.cb.alias, c.ID)
		if r.calls[w.id] != w {
			return
		}
		w.endTalk()
		delete(r.calls, w.id)
		if err := r.handle(acd.CallEnded{Call: w.id, Lost: rq != nil && rq.Lost}); err != nil {
			r.log.Warn("callback end", "call", w.id, "error", err)
		}
		r.logRow(now, w.id, queue, agent, "complete_callback", map[string]string{"talk_ms": ms(talked)})
		r.cbFinish(now, w, store.DispositionCompleted, false)
	})
}

// waitAnswered waits for an outbound call to be answered: "answered", or
// why it was not (busy, no-answer, failed).
func waitAnswered(ctx context.Context, c *call.Call) string {
	up := make(chan struct{}, 1)
	stop := c.Watch(func(st call.State) {
		if st == call.StateUp {
			select {
			case up <- struct{}{}:
			default:
			}
		}
	})
	defer stop()
	if c.State() == call.StateUp {
		return "answered"
	}
	select {
	case <-up:
		return "answered"
	case <-c.Done():
		if c.State() == call.StateUp || !c.Answered().IsZero() {
			return "failed" // answered and gone at once
		}
		switch cause := c.Cause(); {
		case cause == nil:
			return "failed"
		case cause.Name == call.CauseBusy.Name || cause.SIPCode == 486 || cause.SIPCode == 600:
			return store.DispositionBusy
		case cause.Name == call.CauseNoAnswer.Name || cause.Name == call.CauseNoUserResponse.Name || cause.SIPCode == 480 || cause.SIPCode == 408:
			return store.DispositionNoAnswer
		}
		return "failed"
	case <-ctx.Done():
		c.Hangup(call.CauseNormal)
		return "failed"
	}
}

// cbTryFailed (owner): the agent is free; the callback retries after the
// gap from the front of its priority, or is over.
func (r *Runtime) cbTryFailed(now time.Time, w *waiter, result string, retry bool) {
	for k, v := range r.cb.alias {
		if v == w.id {
			delete(r.cb.alias, k)
		}
	}
	if r.calls[w.id] != w || w.cb.over {
		return
	}
	agent := w.answeredBy
	w.answeredBy, w.endTalk = "", nil
	if w.cb.expired {
		result, retry = store.DispositionExpired, false
	}
	r.logRow(now, w.id, w.entry.Queue, agent, "callback_failed", map[string]string{"result": result, "attempt": fmt.Sprint(w.cb.attempts)})
	if !retry {
		// Out of the core too: the agent who accepted is free at once.
		r.cbFinish(now, w, result, true)
		return
	}
	if err := r.handle(acd.CallbackRequeue{Call: w.id}); err != nil {
		r.log.Warn("callback requeue", "call", w.id, "error", err)
		r.cbFinish(now, w, result, false)
		return
	}
	w.cb.retry = time.AfterFunc(w.cb.opts.RetryGap, func() {
		r.submit(func(time.Time) {
			if r.calls[w.id] == w && !w.cb.over && r.eng.Held(w.id) {
				if err := r.handle(acd.CallbackReady{Call: w.id}); err != nil {
					r.log.Warn("callback ready", "call", w.id, "error", err)
				}
			}
		})
	})
}

// cbFinish (owner) ends a callback with its final disposition. remove
// takes it out of the ACD first (expired or cancelled while waiting).
func (r *Runtime) cbFinish(now time.Time, w *waiter, disposition string, remove bool) {
	if w.cb == nil || w.cb.over {
		return
	}
	w.cb.over = true
	if w.cb.retry != nil {
		w.cb.retry.Stop()
	}
	if w.cb.expire != nil {
		w.cb.expire.Stop()
	}
	if remove && r.calls[w.id] == w {
		if w.endTalk != nil {
			w.endTalk() // a try in progress ends; its goroutine finds the callback over
		}
		if err := r.handle(acd.CallbackRemoved{Call: w.id}); err != nil {
			r.log.Warn("callback remove", "call", w.id, "error", err)
		}
	}
	if r.calls[w.id] == w {
		if w.answeredBy == "" || remove {
			delete(r.calls, w.id)
		}
	}
	r.logRow(now, w.id, w.entry.Queue, "", "callback_"+disposition, nil)
	if s := r.cb.setup.Load(); s != nil && s.Store != nil {
		id := w.cb.id
		r.cbGo(func() {
			if _, err := s.Store.FinishCallback(context.Background(), id, disposition, now); err != nil {
				r.log.Warn("callback disposition not recorded", "callback", id, "error", err)
			}
		})
	}
}

// cbShutdown (owner, at shutdown) stops a callback's timers and any try;
// its row stays open, so the next start puts it back in line.
func (r *Runtime) cbShutdown(w *waiter) {
	if w.cb.retry != nil {
		w.cb.retry.Stop()
	}
	if w.cb.expire != nil {
		w.cb.expire.Stop()
	}
	if w.endTalk != nil {
		w.endTalk()
	}
}

// CancelCallback cancels a waiting callback by its id (the REST API);
// ErrUnknownCall when the runtime holds no such callback.
func (r *Runtime) CancelCallback(ctx context.Context, id uuid.UUID) error {
	return r.do(ctx, func(now time.Time) error {
		for _, w := range r.calls {
			if w.cb != nil && w.cb.id == id && !w.cb.over {
				if w.answeredBy != "" {
					return fmt.Errorf("queue: callback %s: an agent is calling now", id)
				}
				r.cbFinish(now, w, store.DispositionCancelled, true)
				return nil
			}
		}
		return fmt.Errorf("queue: callback %s: %w", id, ErrUnknownCall)
	})
}

// callbackAlias maps the outbound call of a callback try (the id the
// agent's desk knows) to the callback's ACD call.
func (r *Runtime) callbackAlias(id acd.CallID) acd.CallID {
	if a, ok := r.cb.alias[string(id)]; ok {
		return a
	}
	return id
}

// RestoreCallback puts a callback recorded before a restart back in line
// (at the end of its queue, in the order restored). Its caller is gone, so
// it has no waiter goroutine.
func (r *Runtime) RestoreCallback(ctx context.Context, cb store.Callback, caller, calledFrom, path string) error {
	o, _, ok := r.callbackOpts(cb.Queue)
	if !ok {
		return fmt.Errorf("queue: restore callback %s: queue %q takes no callbacks", cb.ID, cb.Queue)
	}
	return r.do(ctx, func(now time.Time) error {
		id := acd.CallID(cb.CallID.String())
		if _, dup := r.calls[id]; dup {
			return fmt.Errorf("queue: restore callback %s: %w", cb.ID, acd.ErrDuplicateCall)
		}
		w := &waiter{
			id: id, ctx: r.ctx, caller: caller, path: path, entered: cb.RequestedAt,
			sig: make(chan signal, 4), final: make(chan final, 1),
			cb: &cbState{id: cb.ID, number: cb.Number, calledFrom: calledFrom, opts: o, attempts: cb.Attempts},
		}
		w.entry = store.QueueEntry{TenantID: r.cfg.TenantID, Queue: cb.Queue}
		r.calls[id] = w
		if err := r.handle(acd.CallEnqueued{Call: id, Queue: cb.Queue}); err != nil {
			delete(r.calls, id)
			return err
		}
		if r.calls[id] != w {
			return fmt.Errorf("queue: restore callback %s: refused by the queue", cb.ID)
		}
		if err := r.handle(acd.CallbackConverted{Call: id}); err != nil {
			return err
		}
		// The expiry counts from the request, as before the restart.
		r.armExpiry(w, cb.RequestedAt.Add(o.Expiry).Sub(now))
		return nil
	})
}

// callbackDialogue asks the caller to confirm the number to call back,
// or to key another ending with #. Withheld numbers must key one.
func callbackDialogue(ctx context.Context, c *call.Call, synth speech.Synthesizer, log *slog.Logger) (string, bool) {
	c.FlushDigits()
	number := dialable(c.From)
	for tries := 0; tries < 3; tries++ {
		if number == "" {
			say(ctx, c, synth, "Please key the number we should call you back at, then press the hash key.", log)
			n, ok := readNumber(ctx, c)
			if ctx.Err() != nil {
				return "", false
			}
			if !ok {
				continue
			}
			number = n
		}
		say(ctx, c, synth, "We will call you back at "+spell(number)+". Press 1 to confirm, or 2 to enter another number.", log)
		k, ok, err := c.ReadDigit(ctx, 8*time.Second)
		if err != nil {
			return "", false
		}
		switch {
		case ok && k == '1':
			return number, true
		case ok && k == '2':
			number = ""
		}
	}
	return "", false
}

// readNumber collects keys up to # (3-20 digits).
func readNumber(ctx context.Context, c *call.Call) (string, bool) {
	var b strings.Builder
	for b.Len() <= 20 {
		k, ok, err := c.ReadDigit(ctx, 8*time.Second)
		if err != nil || !ok {
			return "", false
		}
		switch {
		case k == '#':
			return b.String(), b.Len() >= 3
		case k >= '0' && k <= '9':
			b.WriteRune(k)
		}
	}
	return "", false
}

// dialable keeps a caller number worth calling back: digits with an
// optional leading +, at least 3 digits; "" for withheld or odd ones.
func dialable(n string) string {
	d := strings.TrimPrefix(n, "+")
	if len(d) < 3 || len(d) > 20 {
		return ""
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return n
}

// spell reads a number digit by digit.
func spell(n string) string {
	var parts []string
	for _, r := range n {
		if r == '+' {
			parts = append(parts, "plus")
			continue
		}
		parts = append(parts, string(r))
	}
	return strings.Join(parts, " ")
}

func say(ctx context.Context, c *call.Call, synth speech.Synthesizer, text string, log *slog.Logger) {
	c.Event("say", "callback", map[string]string{"text": text})
	if synth == nil {
		return
	}
	pcm, err := synth.Synthesize(ctx, text)
	if err != nil {
		log.Warn("callback prompt not synthesized", "error", err)
		return
	}
	_ = c.PlayAudio(ctx, pcm, false)
}
