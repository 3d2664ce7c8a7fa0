package acd

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Error is the kind of failure wrapped by Handle's error; test it with
// errors.Is. The kinds are constants so that no package state exists.
// An event that fails changes nothing.
type Error string

func (e Error) Error() string { return string(e) }

const (
	ErrUnknownQueue  Error = "unknown queue"
	ErrUnknownCall   Error = "unknown call"
	ErrUnknownAgent  Error = "unknown agent"
	ErrDuplicateCall Error = "call already in the ACD"
	ErrLoggedIn      Error = "agent already logged in"
	ErrNotLoggedIn   Error = "agent not logged in"
	ErrNoOffer       Error = "no such offer"
	ErrBadState      Error = "not allowed in this state"
	ErrInvalid       Error = "invalid event"
)

// Engine is one tenant's ACD. It is not safe for concurrent use: its owner
// serialises events into it.
type Engine struct {
	miss   MissPolicy
	loc    *time.Location
	queues map[string]*queue
	qlist  []*queue // configuration order, for deterministic walks
	agents map[AgentID]*agent
	calls  map[CallID]*call
	skills map[string]int32

	timers   timerHeap
	timerSeq uint64
	now      int64 // Unix ns of the latest event; time never goes back
	dayEnd   int64 // next local midnight: counters reset there
	rnd      uint64

	nextOrder int64 // place-in-line keys for new calls, orderGap apart
	front     int64 // lowest key handed out; requeued calls go below it
	agentSeq  int64
	callSeq   int64

	out        []Action
	pendCalls  []pendingCall // became offerable during this step
	pendAgents []*agent      // became available during this step
	pendEmpty  []*queue      // may have to send callers away
	annDue     []pendingCall
	annQueues  []*queue
	scratch    []*member
	freeCalls  []*call
	freeGroups []*group
}

type pendingCall struct {
	c   *call
	gen uint64
}

// orderGap spaces the keys of calls appended to a line, so a caller entered
// at a position gets a key between two neighbours; 20 bisections of one gap
// are possible before neighbours tie (then the later arrival goes behind).
const orderGap = 1 << 20

type queue struct {
	name     string
	strategy Strategy
	weight   int64
	base     []req // the queue's own requirements
	widen    []widenRule

	ringTimeout, wrapUp, maxWait int64
	sl, shortAbandon, announce   int64
	slFormula                    SLVariant
	handleTime                   int64
	maxLen                       int
	joinEmpty, leaveEmpty        EmptyRule
	overflow                     *queue
	exitStep                     string
	preferRegion                 bool
	regionWait                   int64
	// regionIn counts the logged-in members by region (skill id), for
	// PreferRegion: a region nobody here serves is not waited for.
	regionIn map[int32]int

	idle    list[*member] // available members, in strategy order
	line    list[*call]   // every call in the queue: priority, then place
	groups  []*group      // offerable calls by identical requirements
	nextPos int64         // round-robin order of joining
	rrLast  int64         // position of the last member offered a call
	members int
	counts  [numStates]int
	st      counters
	ht      handleTimes

	emptyMark, annMark bool
	annLeft            int
}

type widenRule struct {
	after int64
	skill int32 // -1: every skill
	min   int32
}

type req struct {
	skill int32
	min   int32
}

// group holds a queue's offerable calls that need exactly the same skills,
// in line order. A free agent then checks each group's requirements once
// and looks at its head, instead of checking every waiting call.
type group struct {
	reqs  []req
	calls list[*call]
}

type counters struct {
	answerWait                  int64 // total time in the queue of the calls answered, for ASA
	answered, answeredInSL      int
	abandoned, abandonedInSL    int
	shortAbandoned, missed      int
	overflowed, exited, refused int
}

// handleTimes keeps the most recent handle times (talk + wrap-up) for the
// estimated wait: recent rather than all-day, so the estimate follows the
// day's mix of calls.
type handleTimes struct {
	buf [32]int64
	n   int
	i   int
	sum int64
}

func (h *handleTimes) add(d int64) {
	if h.n == len(h.buf) {
		h.sum -= h.buf[h.i]
	} else {
		h.n++
	}
	h.buf[h.i] = d
	h.sum += d
	h.i = (h.i + 1) % len(h.buf)
}

type agent struct {
	id      AgentID
	seq     int64
	state   State
	reason  string
	since   int64
	until   int64 // end of wrap-up or back-off; 0 otherwise
	levels  []uint8
	regions []int32 // skill ids of the agent's regions
	members []*member
	gen     uint64 // bumped on every state change; stales the agent's timers

	lastEnd    int64 // end of work on the last call, or login
	callsToday int
	misses     int
	call       *call // ringing or connected
	consultFor *call // the call this agent is being consulted about
	reserved   bool  // on a call outside the queues (AgentReserved)

	pending       State // StateBreak or StateOffline after the call; StateAvailable: none
	pendingReason string

	answeredAt, endedAt, talk int64
	workQueue                 *queue // queue of the current or last call, for wrap-up
	pendMark                  bool
}

type member struct {
	a       *agent
	q       *queue
	penalty int64
	pos     int64
	score   int64
	node    node[*member]
}

type callState uint8

const (
	callWaiting callState = iota + 1
	callRinging
	callConnected
	callHeld // a callback between tries: keeps its place, offered nothing (acd/callback.go)
)

type call struct {
	id    CallID
	seq   int64
	q     *queue
	state callState
	prio  int64
	order int64
	own   []req // the call's own requirements
	base  []req // queue's and own, merged
	reqs  []req // base after widening (and the region's requirement)
	stage int   // widening steps applied

	region    int32 // the region's skill id + 1; 0: none
	regionReq bool  // the queue prefers the region's agents for now

	enqueued, entered       int64
	hasDeadline             bool
	exitStep                string
	maxWaitDue, deadlineDue bool

	ringing []*agent
	agent   *agent
	consult *agent // the agent consulted about the call, if any
	g       *group
	line    node[*call]
	gnode   node[*call]
	gen     uint64 // bumped whenever the call leaves a queue
	life    uint64 // bumped when the call leaves the ACD
	annMark bool
}

// New builds an engine for one tenant.
func New(cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		miss:      cfg.Miss,
		loc:       cfg.Location,
		queues:    make(map[string]*queue, len(cfg.Queues)),
		agents:    make(map[AgentID]*agent),
		calls:     make(map[CallID]*call),
		skills:    make(map[string]int32),
		rnd:       0x9e3779b97f4a7c15,
		nextOrder: orderGap,
	}
	if e.loc == nil {
		e.loc = time.UTC
	}
	if e.miss.NotReadyAfter == 0 {
		e.miss.NotReadyAfter = 1
	}
	for _, qc := range cfg.Queues {
		q := &queue{
			name:         qc.Name,
			strategy:     qc.Strategy,
			weight:       int64(qc.Weight),
			ringTimeout:  int64(qc.RingTimeout),
			wrapUp:       int64(qc.WrapUp),
			maxWait:      int64(qc.MaxWait),
			sl:           int64(qc.ServiceLevel),
			slFormula:    qc.SL,
			shortAbandon: int64(qc.ShortAbandon),
			announce:     int64(qc.AnnouncePeriod),
			handleTime:   int64(qc.HandleTime),
			maxLen:       qc.MaxLen,
			joinEmpty:    qc.JoinEmpty,
			leaveEmpty:   qc.LeaveEmpty,
			exitStep:     qc.ExitStep,
			preferRegion: qc.PreferRegion,
			regionWait:   int64(qc.RegionWait),
			rrLast:       -1,
		}
		if q.preferRegion {
			q.regionIn = map[int32]int{}
			if q.regionWait == 0 {
				q.regionWait = int64(defaultRegionWait)
			}
		}
		if q.strategy == "" {
			q.strategy = LongestIdle
		}
		if q.ringTimeout == 0 {
			q.ringTimeout = int64(defaultRingTimeout)
		}
		if q.sl == 0 {
			q.sl = int64(defaultServiceLevel)
		}
		q.base = e.internReqs(nil, qc.Skills)
		for _, w := range qc.Widen {
			r := widenRule{after: int64(w.After), skill: -1, min: int32(w.Min)}
			if w.Skill != "" {
				r.skill = e.intern(w.Skill)
			}
			q.widen = append(q.widen, r)
		}
		e.queues[q.name] = q
		e.qlist = append(e.qlist, q)
	}
	for i, qc := range cfg.Queues {
		if qc.Overflow != "" {
			e.qlist[i].overflow = e.queues[qc.Overflow]
		}
	}
	return e, nil
}

// regionSkill is the pseudo-skill an agent of region has (level 1) and a
// call from it requires while its queue prefers the region; the NUL keeps
// it apart from configured skill names.
func regionSkill(region string) string { return "\x00region:" + region }

func (e *Engine) intern(skill string) int32 {
	id, ok := e.skills[skill]
	if !ok {
		id = int32(len(e.skills))
		e.skills[skill] = id
	}
	return id
}

// internReqs appends reqs to dst as a canonical list: sorted by skill, so
// equal requirement sets compare equal element by element.
func (e *Engine) internReqs(dst []req, reqs []SkillReq) []req {
	for _, r := range reqs {
		dst = append(dst, req{skill: e.intern(r.Skill), min: int32(r.Min)})
	}
	slices.SortFunc(dst, func(a, b req) int { return cmp.Compare(a.skill, b.skill) })
	return dst
}

// Handle applies one event at time now and appends the resulting actions to
// dst. Timers due by now run first, so actions may be returned together with
// an error about the event itself; carry them out either way.
func (e *Engine) Handle(dst []Action, now time.Time, ev Event) ([]Action, error) {
	e.out = dst
	e.advance(now.UnixNano())
	var err error
	switch ev := ev.(type) {
	case Tick:
	case CallEnqueued:
		err = e.enqueue(ev)
	case CallAbandoned:
		err = e.abandon(ev)
	case OfferAnswered:
		err = e.answer(ev)
	case OfferRejected:
		err = e.offerEnded(ev.Call, ev.Agent, true, "reject")
	case OfferTimeout:
		err = e.offerEnded(ev.Call, ev.Agent, false, "offer timeout")
	case CallEnded:
		err = e.callEnded(ev.Call, ev.Lost)
	case ChangePriority:
		err = e.changePriority(ev)
	case AgentLogin:
		err = e.login(ev)
	case AgentLogout:
		err = e.logout(ev)
	case SetState:
		err = e.setStateEvent(ev)
	case WrapUpDone:
		err = e.wrapUpDone(ev)
	case ConsultStarted:
		err = e.consultStarted(ev)
	case ConsultEnded:
		err = e.consultEnded(ev)
	case CallHandedOver:
		err = e.handOver(ev)
	case AgentReserved:
		err = e.reserve(ev)
	case AgentReleased:
		err = e.release(ev)
	case CallbackConverted, CallbackRequeue, CallbackReady, CallbackRemoved:
		err = e.callback(ev)
	case nil:
		err = fmt.Errorf("acd: %w: nil event", ErrInvalid)
	default:
		err = fmt.Errorf("acd: %w: unknown event type %T", ErrInvalid, ev)
	}
	e.settle()
	out := e.out
	e.out = nil // do not keep the caller's buffer alive
	return out, err
}

// NextDeadline is when the engine next has something to do on its own; the
// owner should call Handle with Tick then. It may be early (a cancelled
// timer), never late.
func (e *Engine) NextDeadline() (time.Time, bool) {
	if len(e.timers) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, e.timers[0].at), true
}

func (e *Engine) emit(a Action) { e.out = append(e.out, a) }

func (e *Engine) advance(now int64) {
	if now > e.now {
		e.now = now
	}
	if e.now >= e.dayEnd {
		if e.dayEnd != 0 {
			e.rollover()
		}
		t := time.Unix(0, e.now).In(e.loc)
		y, m, d := t.Date()
		e.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, e.loc).UnixNano()
	}
	for len(e.timers) > 0 && e.timers[0].at <= e.now {
		e.fire(e.timers.pop())
		e.settle()
	}
	e.flushAnnouncements()
}

// rollover starts a new day: calls-today counts and queue counters reset,
// and fewest-calls queues re-sort their idle agents, whose keys hold counts.
func (e *Engine) rollover() {
	for _, a := range e.agents {
		a.callsToday = 0
	}
	for _, q := range e.qlist {
		q.st = counters{}
		if q.strategy != FewestCalls {
			continue
		}
		e.scratch = e.scratch[:0]
		for n := q.idle.first(); n != nil; n = n.next[0] {
			e.scratch = append(e.scratch, n.val)
		}
		for _, m := range e.scratch {
			q.idle.remove(&m.node)
			m.node.key = m.idleKey()
			q.idle.insert(&m.node)
		}
	}
	clear(e.scratch)
	e.scratch = e.scratch[:0]
}

func (e *Engine) after(d int64, kind timerKind, gen uint64, a *agent, c *call) {
	e.timerSeq++
	e.timers.push(timer{at: e.now + d, seq: e.timerSeq, kind: kind, gen: gen, a: a, c: c})
}

func (e *Engine) at(at int64, kind timerKind, gen uint64, c *call) {
	e.timerSeq++
	e.timers.push(timer{at: at, seq: e.timerSeq, kind: kind, gen: gen, c: c})
}

func (e *Engine) fire(t timer) {
	switch t.kind {
	case tRing:
		a := t.a
		if a.gen == t.gen && a.state == StateRinging {
			e.emit(Action{Kind: CancelOffer, Call: a.call.id, Agent: a.id, Reason: ReasonRingTimeout})
			e.missed(a, false)
		}
	case tAgent:
		a := t.a
		if a.gen != t.gen {
			return
		}
		switch a.state {
		case StateWrapUp:
			e.finishWork(a, ReasonWrapUpExpired)
		case StateMissed:
			a.until = 0
			e.setState(a, StateAvailable, ReasonBackoffElapsed)
		}
	case tWiden:
		if c := t.c; c.gen == t.gen {
			e.widenCall(c)
		}
	case tQueueWait:
		if c := t.c; c.gen == t.gen {
			if c.state == callRinging {
				c.maxWaitDue = true
			} else {
				e.queueTimeout(c)
			}
		}
	case tDeadline:
		if c := t.c; c.life == t.gen && c.q != nil {
			if c.state == callRinging {
				c.deadlineDue = true
			} else {
				e.exit(c, c.exitStep, ReasonTimeout)
			}
		}
	case tAnnounce:
		if c := t.c; c.gen == t.gen {
			e.annDue = append(e.annDue, pendingCall{c, c.gen})
			e.after(c.q.announce, tAnnounce, c.gen, nil, c)
		}
	}
}

// flushAnnouncements computes the positions of every call due an
// announcement with one walk per queue, so a burst of announcements costs
// one pass over the line rather than one per caller.
func (e *Engine) flushAnnouncements() {
	if len(e.annDue) == 0 {
		return
	}
	for _, p := range e.annDue {
		c := p.c
		if c.gen != p.gen || c.state != callWaiting || c.annMark {
			continue
		}
		c.annMark = true
		q := c.q
		q.annLeft++
		if !q.annMark {
			q.annMark = true
			e.annQueues = append(e.annQueues, q)
		}
	}
	for _, q := range e.annQueues {
		pos := 0
		for n := q.line.first(); n != nil && q.annLeft > 0; n = n.next[0] {
			pos++
			if c := n.val; c.annMark {
				c.annMark = false
				q.annLeft--
				e.emit(Action{Kind: Announce, Call: c.id, Queue: q.name, Position: pos, EWT: q.ewt(pos)})
			}
		}
		q.annMark = false
	}
	clear(e.annDue)
	e.annDue = e.annDue[:0]
	clear(e.annQueues)
	e.annQueues = e.annQueues[:0]
}

// settle restores "no idle agent is eligible for an offerable call" after a
// step: callers of emptied queues leave, calls that became offerable look
// for an agent, and agents that became free look for a call.
func (e *Engine) settle() {
	for _, q := range e.pendEmpty {
		q.emptyMark = false
		if q.empty(q.leaveEmpty) {
			e.ejectAll(q)
		}
	}
	clear(e.pendEmpty)
	e.pendEmpty = e.pendEmpty[:0]

	if len(e.pendCalls) > 1 {
		slices.SortFunc(e.pendCalls, func(x, y pendingCall) int { return compareCalls(x.c, y.c) })
	}
	for _, p := range e.pendCalls {
		if p.c.gen == p.gen && p.c.q != nil {
			e.offerCall(p.c)
		}
	}
	clear(e.pendCalls)
	e.pendCalls = e.pendCalls[:0]

	free := 0
	for _, a := range e.pendAgents {
		if a.state == StateAvailable {
			free++
		}
	}
	for _, a := range e.pendAgents {
		a.pendMark = false
		for a.state == StateAvailable {
			c, m := e.bestCallFor(a)
			if c == nil {
				break
			}
			if free == 1 {
				// Everything else is settled, so this agent is the only
				// idle one eligible for c: no need to ask the strategy.
				e.offer(c, a, m)
				continue
			}
			// Several agents became free together (ring_all released them,
			// say): let c's queue strategy choose among them.
			before := len(e.out)
			e.offerCall(c)
			if len(e.out) == before {
				panic("acd: settle made no progress")
			}
		}
	}
	clear(e.pendAgents)
	e.pendAgents = e.pendAgents[:0]
}

// compareCalls orders calls for agents: heavier queue, higher priority,
// then place in line.
func compareCalls(x, y *call) int {
	if c := cmp.Compare(y.q.weight, x.q.weight); c != 0 {
		return c
	}
	if c := cmp.Compare(y.prio, x.prio); c != 0 {
		return c
	}
	if c := cmp.Compare(x.order, y.order); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

func (e *Engine) pendCall(c *call) {
	e.pendCalls = append(e.pendCalls, pendingCall{c, c.gen})
}

func (e *Engine) pendAgent(a *agent) {
	if !a.pendMark {
		a.pendMark = true
		e.pendAgents = append(e.pendAgents, a)
	}
}

// empty says whether q has no agents under rule.
func (q *queue) empty(rule EmptyRule) bool {
	switch rule {
	case EmptyNoneLoggedIn:
		return q.members-q.counts[StateOffline] == 0
	case EmptyNoneReady:
		return q.counts[StateAvailable]+q.counts[StateRinging]+q.counts[StateOnCall]+q.counts[StateWrapUp] == 0
	}
	return false
}

// ewt estimates the wait of the caller at pos: the calls ahead are served
// at the rate the staffed agents finish calls of the recent average handle
// time. Negative when unknown (nobody staffed, no handle time yet).
func (q *queue) ewt(pos int) time.Duration {
	staffed := q.counts[StateAvailable] + q.counts[StateRinging] + q.counts[StateOnCall] + q.counts[StateWrapUp]
	aht := q.aht()
	if staffed == 0 || aht <= 0 {
		return -1
	}
	return time.Duration(int64(pos) * aht / int64(staffed))
}

func (q *queue) aht() int64 {
	if q.ht.n == 0 {
		return q.handleTime
	}
	return q.ht.sum / int64(q.ht.n)
}
