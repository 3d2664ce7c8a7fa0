package acd

import (
	"fmt"
	"slices"
	"sort"
)

func (e *Engine) login(ev AgentLogin) error {
	if ev.Agent == "" {
		return fmt.Errorf("acd: login: %w: empty agent id", ErrInvalid)
	}
	a := e.agents[ev.Agent]
	if a != nil && a.state != StateOffline {
		return fmt.Errorf("acd: login %s: %w", ev.Agent, ErrLoggedIn)
	}
	names := make([]string, 0, len(ev.Skills))
	for name, lvl := range ev.Skills {
		if name == "" || lvl < 1 || lvl > maxSkillLevel {
			return fmt.Errorf("acd: login %s: %w: skill %q level %d (want a name and 1-%d)", ev.Agent, ErrInvalid, name, lvl, maxSkillLevel)
		}
		names = append(names, name)
	}
	for _, r := range ev.Regions {
		if r == "" {
			return fmt.Errorf("acd: login %s: %w: empty region", ev.Agent, ErrInvalid)
		}
	}
	for i, ms := range ev.Queues {
		if e.queues[ms.Queue] == nil {
			return fmt.Errorf("acd: login %s: %w %q", ev.Agent, ErrUnknownQueue, ms.Queue)
		}
		if ms.Penalty < 0 {
			return fmt.Errorf("acd: login %s: %w: negative penalty in queue %q", ev.Agent, ErrInvalid, ms.Queue)
		}
		for _, o := range ev.Queues[:i] {
			if o.Queue == ms.Queue {
				return fmt.Errorf("acd: login %s: %w: queue %q twice", ev.Agent, ErrInvalid, ms.Queue)
			}
		}
	}

	if a == nil {
		e.agentSeq++
		a = &agent{id: ev.Agent, seq: e.agentSeq, state: StateOffline, pending: StateAvailable}
		e.agents[a.id] = a
	}
	for _, m := range a.members {
		m.q.members--
		m.q.counts[StateOffline]--
	}
	// Interning in name order keeps skill numbers independent of map order.
	sort.Strings(names)
	a.levels = a.levels[:0]
	for _, name := range names {
		id := int(e.intern(name))
		for len(a.levels) <= id {
			a.levels = append(a.levels, 0)
		}
		a.levels[id] = uint8(ev.Skills[name])
	}
	a.regions = a.regions[:0]
	for _, r := range ev.Regions {
		id := e.intern(regionSkill(r))
		if slices.Contains(a.regions, id) {
			continue
		}
		for int(id) >= len(a.levels) {
			a.levels = append(a.levels, 0)
		}
		a.levels[id] = 1
		a.regions = append(a.regions, id)
	}
	a.members = make([]*member, 0, len(ev.Queues))
	for _, ms := range ev.Queues {
		q := e.queues[ms.Queue]
		m := &member{a: a, q: q, penalty: int64(ms.Penalty), pos: q.nextPos}
		q.nextPos++
		for _, r := range q.base {
			m.score += int64(a.level(r.skill))
		}
		newNode(e, &m.node, m)
		q.members++
		q.counts[StateOffline]++
		a.members = append(a.members, m)
	}
	a.lastEnd = e.now
	a.misses = 0
	a.pending, a.pendingReason = StateAvailable, ""
	if ev.Available {
		e.setState(a, StateAvailable, ReasonLogin)
	} else {
		e.setState(a, StateBreak, ReasonLogin)
	}
	return nil
}

func (e *Engine) loggedIn(id AgentID, what string) (*agent, error) {
	a := e.agents[id]
	if a == nil {
		return nil, fmt.Errorf("acd: %s %s: %w", what, id, ErrUnknownAgent)
	}
	if a.state == StateOffline {
		return nil, fmt.Errorf("acd: %s %s: %w", what, id, ErrNotLoggedIn)
	}
	return a, nil
}

func (e *Engine) logout(ev AgentLogout) error {
	a, err := e.loggedIn(ev.Agent, "logout")
	if err != nil {
		return err
	}
	switch a.state {
	case StateOnCall:
		a.pending, a.pendingReason = StateOffline, ReasonLogout
		return nil
	case StateRinging:
		e.withdraw(a)
	case StateWrapUp:
		e.recordHandle(a)
	}
	e.goOffline(a)
	return nil
}

func (e *Engine) goOffline(a *agent) {
	a.pending, a.pendingReason = StateAvailable, ""
	a.until = 0
	a.workQueue = nil
	e.setState(a, StateOffline, ReasonLogout)
}

func (e *Engine) setStateEvent(ev SetState) error {
	a, err := e.loggedIn(ev.Agent, "set state")
	if err != nil {
		return err
	}
	reason := ev.Reason
	switch ev.State {
	case StateAvailable:
		if reason == "" {
			reason = ReasonReady
		}
		switch a.state {
		case StateAvailable, StateRinging:
		case StateOnCall:
			a.pending, a.pendingReason = StateAvailable, ""
		case StateWrapUp:
			a.pending, a.pendingReason = StateAvailable, ""
			e.finishWork(a, reason)
		case StateBreak, StateMissed:
			a.misses = 0
			a.until = 0
			e.setState(a, StateAvailable, reason)
		}
	case StateBreak:
		if reason == "" {
			reason = ReasonBreak
		}
		switch a.state {
		case StateOnCall:
			a.pending, a.pendingReason = StateBreak, reason
		case StateWrapUp:
			a.pending, a.pendingReason = StateBreak, reason
			e.finishWork(a, reason)
		case StateRinging:
			e.withdraw(a)
			e.setState(a, StateBreak, reason)
		default:
			a.until = 0
			e.setState(a, StateBreak, reason)
		}
	default:
		return fmt.Errorf("acd: set state %s: %w: agents ask for available or break, not %s", ev.Agent, ErrInvalid, ev.State)
	}
	return nil
}

func (e *Engine) wrapUpDone(ev WrapUpDone) error {
	a, err := e.loggedIn(ev.Agent, "wrap-up done")
	if err != nil {
		return err
	}
	if a.state != StateWrapUp {
		return fmt.Errorf("acd: wrap-up done %s: %w: agent is %s", ev.Agent, ErrBadState, a.state)
	}
	e.finishWork(a, ReasonWrapUpDone)
	return nil
}

// finishWork ends the agent's work on a call (wrap-up, or the call itself
// when there is none) and moves them to what they asked for meanwhile.
func (e *Engine) finishWork(a *agent, reason string) {
	e.recordHandle(a)
	a.until = 0
	a.lastEnd = e.now
	to := StateAvailable
	switch a.pending {
	case StateBreak:
		to, reason = StateBreak, a.pendingReason
	case StateOffline:
		e.goOffline(a)
		return
	}
	a.pending, a.pendingReason = StateAvailable, ""
	e.setState(a, to, reason)
}

func (e *Engine) recordHandle(a *agent) {
	if q := a.workQueue; q != nil {
		q.ht.add(a.talk + e.now - a.endedAt)
		a.workQueue = nil
	}
}

// withdraw takes back the offer ringing on a because a is going away.
func (e *Engine) withdraw(a *agent) {
	e.emit(Action{Kind: CancelOffer, Call: a.call.id, Agent: a.id, Reason: ReasonAgentUnavailable})
	e.detach(a.call, a)
}

// missed handles an offer that rang out or was rejected: the call goes back
// to the front of its priority, the agent backs off or is set not ready.
func (e *Engine) missed(a *agent, rejected bool) {
	c := a.call
	c.q.st.missed++
	e.detach(c, a)
	if rejected {
		if d := int64(e.miss.RejectBackoff); d > 0 {
			a.until = e.now + d
			e.setState(a, StateMissed, ReasonRejected)
			e.after(d, tAgent, a.gen, a, nil)
		} else {
			e.setState(a, StateAvailable, ReasonRejected)
		}
		return
	}
	a.misses++
	switch d := int64(e.miss.Backoff); {
	case a.misses >= e.miss.NotReadyAfter:
		e.setState(a, StateMissed, ReasonNotReady)
	case d > 0:
		a.until = e.now + d
		e.setState(a, StateMissed, ReasonNoAnswer)
		e.after(d, tAgent, a.gen, a, nil)
	default:
		e.setState(a, StateAvailable, ReasonNoAnswer)
	}
}

// setState is the one place agent states change: it keeps the idle lists
// and per-queue counts in step, queues the follow-up decisions and reports
// the change.
func (e *Engine) setState(a *agent, to State, reason string) {
	from := a.state
	if from == to {
		if reason != a.reason {
			a.reason, a.since = reason, e.now
			e.emit(Action{Kind: AgentStateChanged, Agent: a.id, From: from, To: to, Reason: reason})
		}
		return
	}
	if from == StateAvailable {
		for _, m := range a.members {
			m.q.idle.remove(&m.node)
		}
	}
	for _, m := range a.members {
		q := m.q
		q.counts[from]--
		q.counts[to]++
		if q.regionIn != nil && (from == StateOffline) != (to == StateOffline) {
			d := 1
			if to == StateOffline {
				d = -1
			}
			for _, r := range a.regions {
				q.regionIn[r] += d
			}
		}
		if q.leaveEmpty != EmptyIgnore && !q.emptyMark && q.line.n > 0 && q.empty(q.leaveEmpty) {
			q.emptyMark = true
			e.pendEmpty = append(e.pendEmpty, q)
		}
	}
	a.state, a.reason, a.since = to, reason, e.now
	a.gen++
	if to == StateAvailable {
		for _, m := range a.members {
			m.node.key = m.idleKey()
			m.q.idle.insert(&m.node)
		}
		e.pendAgent(a)
	}
	e.emit(Action{Kind: AgentStateChanged, Agent: a.id, From: from, To: to, Reason: reason})
}

// idleKey orders the queue's idle agents by its strategy; the agent's
// sequence number (or the queue position, unique per queue) ends every key.
func (m *member) idleKey() key {
	a := m.a
	switch m.q.strategy {
	case FewestCalls:
		return key{m.penalty, int64(a.callsToday), a.lastEnd, a.seq}
	case RoundRobin:
		return key{m.penalty, m.pos}
	case RingAll:
		return key{a.seq}
	case SkillsWeighted:
		return key{m.penalty, -m.score, a.lastEnd, a.seq}
	}
	return key{m.penalty, a.lastEnd, a.seq}
}

func (a *agent) level(skill int32) int32 {
	if int(skill) < len(a.levels) {
		return int32(a.levels[skill])
	}
	return 0
}

func (a *agent) eligible(reqs []req) bool {
	for _, r := range reqs {
		if int(r.skill) >= len(a.levels) || int32(a.levels[r.skill]) < r.min {
			return false
		}
	}
	return true
}

func (a *agent) memberOf(q *queue) *member {
	for _, m := range a.members {
		if m.q == q {
			return m
		}
	}
	return nil
}
