package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/ivr"
	"hotline/store"
)

// Outcome says how a caller left the ACD.
type Outcome string

const (
	Answered Outcome = "answered" // talked to Result.Agent; the conversation is over
	Exit     Outcome = "exit"     // max wait: continue the flow at Result.Step ("" = the flow's choice)
	Rejected Outcome = "rejected" // refused or sent away: queue-full, no-agents, shutdown
)

// Result is how a caller's wait ended.
type Result struct {
	Outcome Outcome
	Step    string
	Reason  string
	Queue   string        // the last queue the caller was in
	Agent   AgentID       // Answered
	Wait    time.Duration // from entering the ACD to the answer or leaving
	// AgentHungUp: Answered, and the agent (Agent: the last one, after a
	// transfer) ended the conversation with the caller still on the line.
	AgentHungUp bool
}

// Entry is a caller joining a queue.
type Entry struct {
	Call    *call.Call // identity, caller number and timeline; handed to the Connector
	Channel Channel    // what the caller hears; nil: Call
	Queue   string
	Music   string // hold music class, unless the queue sets its own
	Step    string // the flow step, for the timeline
	Path    string // the IVR path so far, shown with offers

	Priority int
	Skills   []acd.SkillReq
	MaxWait  time.Duration // bound on the whole wait, across overflows; 0: none
	ExitStep string        // where MaxWait sends the caller ("" = the flow's choice)
	// Region is the caller's region: shown with offers, and queues with
	// prefer_region offer the caller to the region's agents first.
	Region string
}

type sigKind uint8

const (
	sigAnnounce sigKind = iota + 1
	sigOffered
)

type signal struct {
	kind     sigKind
	position int
	ewt      time.Duration
}

// final ends a wait: a result, or a connection to an agent.
type final struct {
	res   Result
	agent AgentID
	talk  context.Context
}

// waiter is a queued caller as the owner holds it. Fields other than the
// channels are the owner's.
type waiter struct {
	id      acd.CallID
	c       *call.Call
	ctx     context.Context // the caller's
	caller  string
	path    string
	region  string
	step    string
	entered time.Time
	entry   store.QueueEntry

	sig   chan signal // announcements and offers; dropped when full
	final chan final  // exactly one value, ever

	answeredBy AgentID
	consultee  AgentID // an agent reserved for a consultation about the call
	endTalk    context.CancelFunc
	moveTo     *Requeue // a transfer asked for during the conversation

	cb *cbState // the caller hung up for a callback (callback.go)

	// The entry's own routing, kept for going back into line.
	prio     int
	skills   []acd.SkillReq
	exitStep string
}

func (w *waiter) signal(s signal) {
	select {
	case w.sig <- s:
	default: // a caller still busy with the last one loses nothing worth blocking the owner
	}
}

func (w *waiter) openEntry(now time.Time, queue string) {
	w.entry = store.QueueEntry{
		ID: uuid.New(), TenantID: w.entry.TenantID, CallID: callUUID(w.id), Queue: queue, EnteredAt: now,
	}
}

// Wait puts the caller in the queue and holds them there, with music and
// announcements, until an agent's conversation with them ends, the ACD
// sends them back to the flow, or they hang up (ctx ends: the error is
// ctx's cause). It runs on the caller's goroutine.
func (r *Runtime) Wait(ctx context.Context, e Entry) (Result, error) {
	ch := e.Channel
	if ch == nil {
		ch = e.Call
	}
	music := e.Music
	if m := r.cfg.Music[e.Queue]; m != "" {
		music = m
	}
	w := &waiter{
		id: acd.CallID(e.Call.ID), c: e.Call, ctx: ctx, caller: e.Call.From, path: e.Path, step: e.Step, region: e.Region,
		sig: make(chan signal, 4), final: make(chan final, 1),
		prio: e.Priority, skills: e.Skills, exitStep: e.ExitStep,
	}
	err := r.do(ctx, func(now time.Time) error { return r.enqueue(now, w, e) })
	if err != nil {
		if ctx.Err() != nil {
			// The enqueue may still run after we stop waiting for it.
			r.submit(func(now time.Time) { r.abandon(now, w) })
			return Result{}, context.Cause(ctx)
		}
		return Result{}, err
	}

	a := audio{ch: ch, music: music, parent: ctx}
	a.start(nil)
	defer a.stop()
	cbAsk, stopAsk := r.watchCallback(ctx, e)
	defer func() { stopAsk() }()
	for {
		select {
		case spoken := <-cbAsk:
			a.stop()
			// The dialogue reads the keys itself: no watch may take them.
			stopAsk()
			if r.offerCallback(ctx, w, e, spoken) {
				return Result{}, context.Cause(e.Call.Context())
			}
			cbAsk, stopAsk = r.watchCallback(ctx, e)
			a.start(nil)
		case <-ctx.Done():
			a.stop()
			r.submit(func(now time.Time) { r.abandon(now, w) })
			return Result{}, context.Cause(ctx)
		case s := <-w.sig:
			switch s.kind {
			case sigAnnounce:
				prompts := announcement(s.position, s.ewt, r.cfg.HasPrompt)
				if len(prompts) == 0 {
					continue
				}
				data := map[string]string{"position": strconv.Itoa(s.position), "queue": e.Queue}
				if s.ewt >= 0 {
					data["ewt_s"] = strconv.Itoa(int(s.ewt.Seconds()))
				}
				e.Call.Event("announce", e.Step, data)
				a.stop()
				a.start(prompts)
			case sigOffered:
				// An offer ringing means an answer may come any moment:
				// the announcement gives way, the music stays.
				if a.announcing() {
					a.stop()
					a.start(nil)
				}
			}
		case f := <-w.final:
			a.stop()
			stopAsk()
			if f.agent == "" || !r.talk(ctx, w, e, &f) {
				return f.res, nil
			}
			// Back in line (transfer or agent lost): music again.
			a.start(nil)
			cbAsk, stopAsk = r.watchCallback(ctx, e)
		case err := <-a.done:
			a.finished()
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				// Hold music failing is no reason to drop the caller; they
				// wait in silence for the agent.
				r.log.Warn("hold music stopped", "call", e.Call.ID, "error", err)
			}
		}
	}
}

// talk runs the conversation with the agent who answered, then starts
// their wrap-up. true: the caller is back in line and keeps waiting.
// An AgentHangup from the Connector is noted in f.res.
func (r *Runtime) talk(ctx context.Context, w *waiter, e Entry, f *final) bool {
	e.Call.Event("queue_connect", e.Step, map[string]string{"queue": f.res.Queue, "agent": string(f.agent)})
	start := time.Now()
	err := r.cfg.Connector.Connect(f.talk, e.Call, f.agent)
	var rq *Requeue
	if errors.As(err, &rq) {
		err = nil
	}
	var hung *AgentHangup
	if errors.As(err, &hung) {
		err = nil
		f.res.Agent, f.res.AgentHungUp = hung.Agent, ctx.Err() == nil
	}
	if err != nil && ctx.Err() == nil {
		r.log.Warn("connecting caller to agent failed", "call", e.Call.ID, "agent", f.agent, "error", err)
	}
	callerLeft := ctx.Err() != nil
	talked := time.Since(start)
	back := make(chan bool, 1)
	if !r.submit(func(now time.Time) { back <- r.ended(now, w, callerLeft, talked, rq) }) {
		return false
	}
	select {
	case b := <-back:
		return b
	case <-r.done:
		select {
		case b := <-back:
			return b
		default:
			return false
		}
	}
}

func (r *Runtime) enqueue(now time.Time, w *waiter, e Entry) error {
	if _, dup := r.calls[w.id]; dup {
		return fmt.Errorf("queue: call %s: %w", w.id, acd.ErrDuplicateCall)
	}
	if w.ctx.Err() != nil {
		return context.Cause(w.ctx)
	}
	if !slices.Contains(r.eng.Queues(), e.Queue) {
		return fmt.Errorf("queue: call %s: %w %q", w.id, acd.ErrUnknownQueue, e.Queue)
	}
	w.entered = now
	w.entry.TenantID = r.cfg.TenantID
	w.openEntry(now, e.Queue)
	r.calls[w.id] = w
	// Recorded before the core decides, so the log reads enter, then what
	// became of the call (an offer, or a refusal in the same step).
	r.saveEntry(w)
	r.logRow(now, w.id, e.Queue, "", "enter", enterData(w, nil))
	err := r.handle(acd.CallEnqueued{
		Call: w.id, Queue: e.Queue, Priority: e.Priority, Skills: e.Skills,
		MaxWait: e.MaxWait, ExitStep: e.ExitStep, Region: e.Region,
	})
	if err != nil {
		delete(r.calls, w.id)
		r.closeEntry(now, w, store.OutcomeRejected)
		r.logRow(now, w.id, e.Queue, "", "rejected", map[string]string{"reason": err.Error()})
		return err
	}
	return nil
}

// enterData is an "enter" queue_log row's data: the caller, their IVR
// path and region (when known), and extra.
func enterData(w *waiter, extra map[string]string) map[string]string {
	d := map[string]string{"caller": w.caller, "path": w.path}
	if w.region != "" {
		d["region"] = w.region
	}
	maps.Copy(d, extra)
	return d
}

// abandon is the caller hanging up while the owner still holds them.
func (r *Runtime) abandon(now time.Time, w *waiter) {
	if r.calls[w.id] != w {
		return // already sent back to the flow
	}
	if w.answeredBy != "" {
		// Answered, but the caller left before the conversation began.
		if ag := r.agents[w.answeredBy]; ag != nil && ag.ep != nil {
			ag.ep.Cancel(string(w.id))
		}
		r.ended(now, w, true, 0, nil)
		return
	}
	if err := r.handle(acd.CallAbandoned{Call: w.id}); err != nil {
		r.log.Warn("abandon", "call", w.id, "error", err)
	}
	r.closeEntry(now, w, store.OutcomeAbandoned)
	r.logRow(now, w.id, w.entry.Queue, "", "abandon", map[string]string{"wait_ms": ms(w.entry.Wait)})
	delete(r.calls, w.id)
}

// ended is the conversation over: the agent goes to wrap-up (missed when
// lost), and the caller leaves or, on rq or a transfer, goes back in line.
func (r *Runtime) ended(now time.Time, w *waiter, callerLeft bool, talked time.Duration, rq *Requeue) bool {
	if r.calls[w.id] != w {
		return false
	}
	w.endTalk()
	if w.moveTo != nil {
		rq = w.moveTo
	}
	if callerLeft {
		rq = nil
	}
	if rq == nil {
		delete(r.calls, w.id)
	}
	if err := r.handle(acd.CallEnded{Call: w.id, Lost: rq != nil && rq.Lost}); err != nil {
		r.log.Warn("call end", "call", w.id, "error", err)
	}
	if rq != nil {
		r.requeue(now, w, *rq, talked)
		return true
	}
	event := "complete_agent"
	if callerLeft {
		event = "complete_caller"
	}
	r.logRow(now, w.id, w.entry.Queue, w.answeredBy, event, map[string]string{"talk_ms": ms(talked)})
	return false
}

// audio is the waiting caller's sound: announcement prompts, then hold
// music, on a goroutine the caller's own goroutine starts and joins.
type audio struct {
	ch     Channel
	music  string
	parent context.Context

	cancel  context.CancelFunc
	done    chan error
	prompts chan struct{} // closed when the announcement's prompts are over
}

func (a *audio) start(prompts []string) {
	ctx, cancel := context.WithCancel(a.parent)
	done := make(chan error, 1)
	over := make(chan struct{})
	go func() {
		for _, p := range prompts {
			if err := a.ch.Play(ctx, p, false); err != nil && ctx.Err() != nil {
				close(over)
				done <- err
				return
			}
		}
		close(over)
		done <- a.ch.Music(ctx, a.music)
	}()
	a.cancel, a.done, a.prompts = cancel, done, over
}

func (a *audio) announcing() bool {
	if a.prompts == nil {
		return false
	}
	select {
	case <-a.prompts:
		return false
	default:
		return true
	}
}

// stop cancels the sound and waits for its goroutine.
func (a *audio) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	<-a.done
	a.finished()
}

// finished forgets a goroutine that has returned (its value taken).
func (a *audio) finished() {
	if a.cancel != nil {
		a.cancel()
	}
	a.cancel, a.done, a.prompts = nil, nil, nil
}

// announcement spells position and estimated wait in prompts: "you are
// number" N "in line", "your estimated wait is about" M "minutes". A part
// whose prompts the tenant lacks is left out.
func announcement(position int, ewt time.Duration, has func(string) bool) []string {
	if has == nil {
		has = func(string) bool { return true }
	}
	all := func(ps []string) bool {
		for _, p := range ps {
			if !has(p) {
				return false
			}
		}
		return true
	}
	var out []string
	if n := number(position); n != nil {
		part := append(append([]string{"you_are_number"}, n...), "in_line")
		if all(part) {
			out = append(out, part...)
		}
	}
	if ewt >= 0 {
		mins := int((ewt + time.Minute - 1) / time.Minute)
		mins = max(mins, 1)
		if n := number(mins); n != nil {
			unit := "minutes"
			if mins == 1 {
				unit = "minute"
			}
			part := append(append([]string{"estimated_wait"}, n...), unit)
			if all(part) {
				out = append(out, part...)
			}
		}
	}
	return out
}

// number spells 1-99 with the prompts n0-n20 and n30, n40 ... n90.
func number(n int) []string {
	switch {
	case n < 1 || n > 99:
		return nil
	case n <= 20:
		return []string{"n" + strconv.Itoa(n)}
	case n%10 == 0:
		return []string{"n" + strconv.Itoa(n)}
	case n < 30:
		return []string{"n20", "n" + strconv.Itoa(n%10)}
	}
	return []string{"n" + strconv.Itoa(n/10*10), "n" + strconv.Itoa(n%10)}
}

// Flow returns the ACD as c's flow sees it. path reports the IVR path so
// far (it may be nil).
func (r *Runtime) Flow(c *call.Call, path func() string) ivr.ACD {
	return flowACD{r: r, c: c, path: path}
}

type flowACD struct {
	r    *Runtime
	c    *call.Call
	path func() string
}

func (f flowACD) Wait(ctx context.Context, req ivr.QueueRequest) (ivr.QueueResult, error) {
	e := Entry{Call: f.c, Queue: req.Queue, Music: req.Music, Step: req.Step, MaxWait: req.Timeout, ExitStep: req.TimeoutStep, Region: req.Region}
	if f.path != nil {
		e.Path = f.path()
	}
	res, err := f.r.Wait(ctx, e)
	if err != nil {
		return ivr.QueueResult{}, err
	}
	out := ivr.QueueResult{Step: res.Step, Reason: res.Reason}
	out.Queue, out.Agent, out.AgentHungUp = res.Queue, string(res.Agent), res.AgentHungUp
	switch res.Outcome {
	case Answered:
		out.Outcome = ivr.QueueAnswered
	case Exit:
		out.Outcome = ivr.QueueExit
	default:
		out.Outcome = ivr.QueueRejected
	}
	return out, nil
}
