package acd

import (
	"fmt"
	"slices"
)

func (e *Engine) enqueue(ev CallEnqueued) error {
	if ev.Call == "" {
		return fmt.Errorf("acd: enqueue: %w: empty call id", ErrInvalid)
	}
	q := e.queues[ev.Queue]
	if q == nil {
		return fmt.Errorf("acd: enqueue %s: %w %q", ev.Call, ErrUnknownQueue, ev.Queue)
	}
	if _, dup := e.calls[ev.Call]; dup {
		return fmt.Errorf("acd: enqueue %s: %w", ev.Call, ErrDuplicateCall)
	}
	if err := checkReqs(ev.Skills); err != nil {
		return fmt.Errorf("acd: enqueue %s: %w: %w", ev.Call, ErrInvalid, err)
	}
	if ev.Position < 0 || ev.MaxWait < 0 {
		return fmt.Errorf("acd: enqueue %s: %w: negative position or max wait", ev.Call, ErrInvalid)
	}
	if q.maxLen > 0 && q.line.n >= q.maxLen {
		q.st.refused++
		e.emit(Action{Kind: Rejected, Call: ev.Call, Queue: q.name, Reason: ReasonQueueFull})
		return nil
	}
	if q.empty(q.joinEmpty) || q.empty(q.leaveEmpty) {
		q.st.refused++
		e.emit(Action{Kind: Rejected, Call: ev.Call, Queue: q.name, Reason: ReasonNoAgents})
		return nil
	}
	c := e.newCall(ev.Call)
	c.prio = int64(ev.Priority)
	c.own = e.internReqs(c.own[:0], ev.Skills)
	if ev.Region != "" {
		// Looked up, not interned: a region no agent ever had cannot be
		// preferred, and callers' regions do not grow the skill table.
		if id, ok := e.skills[regionSkill(ev.Region)]; ok {
			c.region = id + 1
		}
	}
	c.enqueued = e.now
	if ev.MaxWait > 0 {
		c.hasDeadline, c.exitStep = true, ev.ExitStep
		e.at(e.now+int64(ev.MaxWait), tDeadline, c.life, c)
	}
	e.calls[c.id] = c
	c.order = e.placeFor(q, c.prio, ev.Position)
	e.enterQueue(c, q)
	return nil
}

func (e *Engine) newCall(id CallID) *call {
	var c *call
	if n := len(e.freeCalls); n > 0 {
		c = e.freeCalls[n-1]
		e.freeCalls[n-1] = nil
		e.freeCalls = e.freeCalls[:n-1]
	} else {
		c = &call{}
		newNode(e, &c.line, c)
		newNode(e, &c.gnode, c)
	}
	e.callSeq++
	c.id, c.seq = id, e.callSeq
	return c
}

// freeCall forgets a call that left the ACD and keeps its memory for the
// next one; the generation bumps make its pending timers harmless.
func (e *Engine) freeCall(c *call) {
	delete(e.calls, c.id)
	c.life++
	c.gen++
	clear(c.ringing)
	*c = call{
		own: c.own[:0], base: c.base[:0], reqs: c.reqs[:0], ringing: c.ringing[:0],
		line: c.line, gnode: c.gnode, gen: c.gen, life: c.life,
	}
	e.freeCalls = append(e.freeCalls, c)
}

func (e *Engine) newOrder() int64 {
	k := e.nextOrder
	e.nextOrder += orderGap
	return k
}

// frontOrder is a key ahead of every key handed out so far: the front of any
// priority band in any queue.
func (e *Engine) frontOrder() int64 {
	e.front -= orderGap
	return e.front
}

// placeFor finds the order key that puts a new call of priority prio at
// position pos (1-based, 0: the end) of q's line, never ahead of a higher
// priority nor behind a lower one.
func (e *Engine) placeFor(q *queue, prio int64, pos int) int64 {
	if pos <= 0 {
		return e.newOrder()
	}
	var lo, hi int64
	haveLo, haveHi := false, false
	idx := 0
	for n := q.line.first(); n != nil; n = n.next[0] {
		c := n.val
		if c.prio < prio {
			break
		}
		if c.prio == prio {
			if idx >= pos-1 {
				hi, haveHi = c.order, true
				break
			}
			lo, haveLo = c.order, true
		}
		idx++
	}
	switch {
	case !haveHi:
		return e.newOrder()
	case !haveLo:
		k := hi - orderGap
		if k < e.front {
			e.front = k
		}
		return k
	case hi-lo >= 2:
		return lo + (hi-lo)/2
	}
	return lo // the gap is used up: ties break by arrival, just behind lo
}

// enterQueue puts a call (new, or overflowing with its order key) in q.
func (e *Engine) enterQueue(c *call, q *queue) {
	c.q, c.entered, c.state = q, e.now, callWaiting
	c.stage, c.maxWaitDue = 0, false
	c.base = mergeReqs(c.base[:0], q.base, c.own)
	c.regionReq = q.preferRegion && c.region != 0 && q.regionIn[c.region-1] > 0
	c.line.key = key{-c.prio, c.order, c.seq}
	q.line.insert(&c.line)
	e.applyWiden(c)
	e.groupAdd(c)
	if q.maxWait > 0 {
		e.after(q.maxWait, tQueueWait, c.gen, nil, c)
	}
	if q.announce > 0 {
		e.after(q.announce, tAnnounce, c.gen, nil, c)
	}
	e.pendCall(c)
}

func (e *Engine) leaveQueue(c *call) {
	c.q.line.remove(&c.line)
	if c.g != nil {
		e.groupRemove(c)
	}
	c.gen++
	c.q = nil
	c.maxWaitDue = false
}

// requeue puts a call whose offers all ended unanswered back at the front
// of its priority: the caller was next in line and the miss was not theirs.
func (e *Engine) requeue(c *call) {
	q := c.q
	c.state = callWaiting
	q.line.remove(&c.line)
	if c.g != nil {
		e.groupRemove(c)
	}
	c.order = e.frontOrder()
	c.line.key = key{-c.prio, c.order, c.seq}
	q.line.insert(&c.line)
	e.groupAdd(c)
	switch {
	case c.deadlineDue:
		e.exit(c, c.exitStep, ReasonTimeout)
	case c.maxWaitDue:
		e.queueTimeout(c)
	default:
		e.pendCall(c)
	}
}

// detach ends a's offer of c; the call is requeued when nobody rings any
// more.
func (e *Engine) detach(c *call, a *agent) {
	if i := slices.Index(c.ringing, a); i >= 0 {
		c.ringing = slices.Delete(c.ringing, i, i+1)
	}
	a.call = nil
	if len(c.ringing) == 0 && c.state == callRinging {
		e.requeue(c)
	}
}

func mergeReqs(dst, a, b []req) []req {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].skill < b[j].skill):
			dst = append(dst, a[i])
			i++
		case i == len(a) || b[j].skill < a[i].skill:
			dst = append(dst, b[j])
			j++
		default:
			dst = append(dst, req{a[i].skill, max(a[i].min, b[j].min)})
			i++
			j++
		}
	}
	return dst
}

func widenReqs(dst, base []req, rules []widenRule) []req {
	for _, r := range base {
		lvl := r.min
		for _, w := range rules {
			if w.skill < 0 || w.skill == r.skill {
				lvl = min(lvl, w.min)
			}
		}
		if lvl > 0 {
			dst = append(dst, req{r.skill, lvl})
		}
	}
	return dst
}

// applyWiden applies the widening steps due by now and sets the timer for
// the next one.
func (e *Engine) applyWiden(c *call) {
	q := c.q
	for c.stage < len(q.widen) && c.entered+q.widen[c.stage].after <= e.now {
		c.stage++
	}
	c.reqs = widenReqs(c.reqs[:0], c.base, q.widen[:c.stage])
	next := int64(-1)
	if c.stage < len(q.widen) {
		next = c.entered + q.widen[c.stage].after
	}
	if c.regionReq {
		if due := c.entered + q.regionWait; due > e.now {
			c.reqs = insertReq(c.reqs, req{skill: c.region - 1, min: 1})
			if next < 0 || due < next {
				next = due
			}
		} else {
			c.regionReq = false
		}
	}
	if next >= 0 {
		e.at(next, tWiden, c.gen, c)
	}
}

// insertReq adds r to a canonical (skill-sorted) list that lacks its skill.
func insertReq(reqs []req, r req) []req {
	i, _ := slices.BinarySearchFunc(reqs, r.skill, func(x req, s int32) int { return int(x.skill - s) })
	return slices.Insert(reqs, i, r)
}

func (e *Engine) widenCall(c *call) {
	grouped := c.g != nil
	if grouped {
		e.groupRemove(c)
	}
	e.applyWiden(c)
	if grouped {
		e.groupAdd(c)
	}
	e.pendCall(c)
}

func (e *Engine) groupAdd(c *call) {
	q := c.q
	var g *group
	for _, x := range q.groups {
		if slices.Equal(x.reqs, c.reqs) {
			g = x
			break
		}
	}
	if g == nil {
		if n := len(e.freeGroups); n > 0 {
			g = e.freeGroups[n-1]
			e.freeGroups[n-1] = nil
			e.freeGroups = e.freeGroups[:n-1]
		} else {
			g = &group{}
		}
		g.reqs = append(g.reqs[:0], c.reqs...)
		q.groups = append(q.groups, g)
	}
	c.gnode.key = c.line.key
	g.calls.insert(&c.gnode)
	c.g = g
}

func (e *Engine) groupRemove(c *call) {
	g := c.g
	g.calls.remove(&c.gnode)
	c.g = nil
	if g.calls.n > 0 {
		return
	}
	gs := c.q.groups
	i := slices.Index(gs, g)
	gs[i] = gs[len(gs)-1]
	gs[len(gs)-1] = nil
	c.q.groups = gs[:len(gs)-1]
	e.freeGroups = append(e.freeGroups, g)
}

// queueTimeout moves a call that waited the queue's max wait on: to the
// overflow queue when it takes the caller, else out to the exit step.
func (e *Engine) queueTimeout(c *call) {
	q := c.q
	if to := q.overflow; to != nil && to.accepts() {
		e.emit(Action{Kind: Overflow, Call: c.id, Queue: to.name, Reason: ReasonMaxWait})
		q.st.overflowed++
		e.leaveQueue(c)
		e.enterQueue(c, to)
		return
	}
	e.exit(c, q.exitStep, ReasonMaxWait)
}

// accepts says whether a caller may join q now. A caller is not let in
// only to be sent away at the next agent change, so the leave rule counts.
func (q *queue) accepts() bool {
	return !(q.maxLen > 0 && q.line.n >= q.maxLen) && !q.empty(q.joinEmpty) && !q.empty(q.leaveEmpty)
}

func (e *Engine) exit(c *call, step, reason string) {
	q := c.q
	e.emit(Action{Kind: ExitToStep, Call: c.id, Queue: q.name, Step: step, Reason: reason})
	q.st.exited++
	e.leaveQueue(c)
	e.freeCall(c)
}

// ejectAll sends every waiting caller away from a queue left without agents.
func (e *Engine) ejectAll(q *queue) {
	for n := q.line.first(); n != nil; {
		next := n.next[0]
		if c := n.val; c.state == callWaiting {
			e.emit(Action{Kind: Rejected, Call: c.id, Queue: q.name, Reason: ReasonNoAgents})
			q.st.refused++
			e.leaveQueue(c)
			e.freeCall(c)
		}
		n = next
	}
}

func (e *Engine) abandon(ev CallAbandoned) error {
	c := e.calls[ev.Call]
	if c == nil {
		return fmt.Errorf("acd: abandon %s: %w", ev.Call, ErrUnknownCall)
	}
	switch c.state {
	case callConnected:
		return e.callEnded(ev.Call, false)
	case callRinging:
		for _, a := range c.ringing {
			e.emit(Action{Kind: CancelOffer, Call: c.id, Agent: a.id, Reason: ReasonCallerAbandoned})
			a.call = nil
			e.setState(a, StateAvailable, ReasonCallerAbandoned)
		}
	}
	q := c.q
	wait := e.now - c.entered
	q.st.abandoned++
	if wait <= q.sl {
		q.st.abandonedInSL++
	}
	if wait < q.shortAbandon {
		q.st.shortAbandoned++
	}
	e.leaveQueue(c)
	e.freeCall(c)
	return nil
}

func (e *Engine) offerOf(callID CallID, agentID AgentID, what string) (*call, *agent, error) {
	c := e.calls[callID]
	if c == nil {
		return nil, nil, fmt.Errorf("acd: %s %s: %w", what, callID, ErrUnknownCall)
	}
	a := e.agents[agentID]
	if a == nil {
		return nil, nil, fmt.Errorf("acd: %s %s by %s: %w", what, callID, agentID, ErrUnknownAgent)
	}
	if a.state != StateRinging || a.call != c {
		return nil, nil, fmt.Errorf("acd: %s %s by %s: %w", what, callID, agentID, ErrNoOffer)
	}
	return c, a, nil
}

func (e *Engine) answer(ev OfferAnswered) error {
	c, a, err := e.offerOf(ev.Call, ev.Agent, "answer")
	if err != nil {
		return err
	}
	q := c.q
	for _, o := range c.ringing {
		if o != a {
			e.emit(Action{Kind: CancelOffer, Call: c.id, Agent: o.id, Reason: ReasonAnsweredElsewhere})
			o.call = nil
			e.setState(o, StateAvailable, ReasonAnsweredElsewhere)
		}
	}
	clear(c.ringing)
	c.ringing = c.ringing[:0]
	q.st.answered++
	q.st.answerWait += e.now - c.entered
	if e.now-c.entered <= q.sl {
		q.st.answeredInSL++
	}
	e.leaveQueue(c)
	c.state, c.agent = callConnected, a
	a.misses = 0
	a.callsToday++
	a.answeredAt = e.now
	a.workQueue = q
	e.setState(a, StateOnCall, ReasonAnswered)
	return nil
}

func (e *Engine) offerEnded(callID CallID, agentID AgentID, rejected bool, what string) error {
	_, a, err := e.offerOf(callID, agentID, what)
	if err != nil {
		return err
	}
	e.missed(a, rejected)
	return nil
}

func (e *Engine) callEnded(id CallID, lost bool) error {
	c := e.calls[id]
	if c == nil {
		return fmt.Errorf("acd: call ended %s: %w", id, ErrUnknownCall)
	}
	if c.state != callConnected {
		return fmt.Errorf("acd: call ended %s: %w: the call was not answered", id, ErrBadState)
	}
	if t := c.consult; t != nil {
		// The caller left mid-consultation: the consulted agent is free.
		e.releaseConsult(t)
	}
	a := c.agent
	e.freeCall(c)
	e.agentLeaves(a, lost)
	return nil
}

// agentLeaves ends a's part in the call they were talking on: wrap-up,
// or missed when their phone died, or offline when they asked for it.
func (e *Engine) agentLeaves(a *agent, lost bool) {
	a.call = nil
	a.talk = e.now - a.answeredAt
	a.endedAt = e.now
	if a.pending == StateOffline {
		e.recordHandle(a)
		a.lastEnd = e.now
		e.goOffline(a)
		return
	}
	if lost {
		e.recordHandle(a)
		a.until, a.lastEnd = 0, e.now
		e.setState(a, StateMissed, ReasonAgentLost)
		return
	}
	if w := a.workQueue.wrapUp; w > 0 {
		a.until = e.now + w
		e.setState(a, StateWrapUp, ReasonCallEnded)
		e.after(w, tAgent, a.gen, a, nil)
		return
	}
	e.finishWork(a, ReasonCallEnded)
}

func (e *Engine) changePriority(ev ChangePriority) error {
	c := e.calls[ev.Call]
	if c == nil {
		return fmt.Errorf("acd: change priority %s: %w", ev.Call, ErrUnknownCall)
	}
	if c.q == nil {
		return fmt.Errorf("acd: change priority %s: %w: the call was answered", ev.Call, ErrBadState)
	}
	p := int64(ev.Priority)
	if p == c.prio {
		return nil
	}
	grouped := c.g != nil
	if grouped {
		e.groupRemove(c)
	}
	c.q.line.remove(&c.line)
	c.prio = p
	c.line.key = key{-c.prio, c.order, c.seq}
	c.q.line.insert(&c.line)
	if grouped {
		e.groupAdd(c)
	}
	return nil
}

// offerCall offers c to the idle agents its queue's strategy picks.
func (e *Engine) offerCall(c *call) {
	q := c.q
	if q.strategy == RingAll {
		for n := q.idle.first(); n != nil; {
			next := n.next[0] // offering removes n from the list
			if m := n.val; m.a.eligible(c.reqs) {
				e.offer(c, m.a, m)
			}
			n = next
		}
		return
	}
	if c.state != callWaiting {
		return
	}
	var m *member
	if q.strategy == RoundRobin {
		m = q.rrPick(c.reqs)
	} else {
		for n := q.idle.first(); n != nil; n = n.next[0] {
			if n.val.a.eligible(c.reqs) {
				m = n.val
				break
			}
		}
	}
	if m != nil {
		e.offer(c, m.a, m)
	}
}

// rrPick takes, in the lowest penalty with an eligible agent, the first
// eligible agent after the last one offered a call, wrapping around.
func (q *queue) rrPick(reqs []req) *member {
	for n := q.idle.first(); n != nil; {
		tier := n.key[0]
		for x := q.idle.seek(key{tier, q.rrLast + 1}); x != nil && x.key[0] == tier; x = x.next[0] {
			if x.val.a.eligible(reqs) {
				return x.val
			}
		}
		for x := n; x != nil && x.key[0] == tier && x.key[1] <= q.rrLast; x = x.next[0] {
			if x.val.a.eligible(reqs) {
				return x.val
			}
		}
		n = q.idle.seek(key{tier + 1})
	}
	return nil
}

func (e *Engine) offer(c *call, a *agent, m *member) {
	q := c.q
	if c.state == callWaiting {
		c.state = callRinging
		if q.strategy != RingAll {
			// Ringing calls leave their group (only offerable calls are
			// grouped); ring_all calls stay so that free agents join in.
			e.groupRemove(c)
		}
	}
	c.ringing = append(c.ringing, a)
	a.call = c
	if q.strategy == RoundRobin {
		q.rrLast = m.pos
	}
	e.emit(Action{Kind: Offer, Call: c.id, Agent: a.id, Queue: q.name})
	e.setState(a, StateRinging, ReasonOffer)
	e.after(q.ringTimeout, tRing, a.gen, a, nil)
}

// bestCallFor finds the call a free agent should get: heaviest queue, the
// agent's lowest penalty, highest priority, then place in line, among the
// heads of the groups whose requirements the agent meets.
func (e *Engine) bestCallFor(a *agent) (*call, *member) {
	var best *call
	var bm *member
	for _, m := range a.members {
		for _, g := range m.q.groups {
			c := g.calls.first().val
			if best != nil && !better(m, c, bm, best) {
				continue
			}
			if a.eligible(g.reqs) {
				best, bm = c, m
			}
		}
	}
	return best, bm
}

func better(m *member, c *call, bm *member, b *call) bool {
	if m.q.weight != bm.q.weight {
		return m.q.weight > bm.q.weight
	}
	if m.penalty != bm.penalty {
		return m.penalty < bm.penalty
	}
	return compareCalls(c, b) < 0
}
