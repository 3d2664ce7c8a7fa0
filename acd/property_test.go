package acd

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The property test drives an engine with random, seeded event sequences
// and checks every batch of actions against a mirror of the world built
// only from those actions (what the wiring would know), against the
// engine's own views, and against brute-force oracles computed before each
// event. ACD_SEEDS sets the number of seeds, ACD_SEED runs one seed.

func propSkills() []string { return []string{"en", "fr", "cards", "loans"} }

func propRegions() []string { return []string{"west", "east", "GB"} }

func TestProperties(t *testing.T) {
	seeds, steps := 300, 400
	if testing.Short() || raceEnabled {
		seeds = 120
	}
	if s := os.Getenv("ACD_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	first := uint64(1)
	if s := os.Getenv("ACD_SEED"); s != "" {
		n, _ := strconv.ParseUint(s, 10, 64)
		first, seeds = n, 1
	}
	var events, offers, oracles int
	kinds := map[string]int{}
	for seed := first; seed < first+uint64(seeds); seed++ {
		p := newProp(t, seed)
		p.run(steps)
		if t.Failed() {
			return
		}
		events += p.events
		offers += p.offers
		oracles += p.oracles
		for k, n := range p.kinds {
			kinds[k] += n
		}
	}
	t.Logf("%d seeds, %d events, %d offers, %d oracle checks; actions and reasons: %v", seeds, events, offers, oracles, kinds)
}

type prop struct {
	t    *testing.T
	seed uint64
	r    *rand.Rand
	cfg  Config
	qcfg map[string]QueueConfig
	e    *Engine
	now  time.Time

	ids     []AgentID
	skills  map[AgentID]map[string]int
	regions map[AgentID][]string
	queues  map[AgentID][]Membership

	// The mirror, from actions only.
	state     map[AgentID]State
	offerOf   map[AgentID]CallID
	ringers   map[CallID][]AgentID
	inQueue   map[CallID]string
	entered   map[CallID]time.Time
	deadline  map[CallID]time.Time
	connected map[CallID]AgentID
	consulted map[CallID]AgentID // the agent consulted about a connected call
	lastEnd   map[AgentID]time.Time
	answered  map[AgentID]int

	day                     int // calls-today counts reset when it changes
	nextCall                int
	events, offers, oracles int
	kinds                   map[string]int
	history                 []string
}

func newProp(t *testing.T, seed uint64) *prop {
	p := &prop{
		t: t, seed: seed, r: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		qcfg: map[string]QueueConfig{}, now: t0, day: t0.YearDay(),
		skills: map[AgentID]map[string]int{}, queues: map[AgentID][]Membership{}, regions: map[AgentID][]string{},
		state: map[AgentID]State{}, offerOf: map[AgentID]CallID{}, ringers: map[CallID][]AgentID{},
		inQueue: map[CallID]string{}, entered: map[CallID]time.Time{}, deadline: map[CallID]time.Time{},
		connected: map[CallID]AgentID{}, consulted: map[CallID]AgentID{}, lastEnd: map[AgentID]time.Time{}, answered: map[AgentID]int{},
		kinds: map[string]int{},
	}
	r := p.r
	strategies := []Strategy{LongestIdle, FewestCalls, RoundRobin, RingAll, SkillsWeighted}
	n := len(strategies) + r.IntN(2)
	for i := range n {
		q := QueueConfig{
			Name:        "q" + strconv.Itoa(i),
			Strategy:    strategies[i%len(strategies)],
			Weight:      r.IntN(3),
			WrapUp:      []time.Duration{0, 5 * sec, 15 * sec}[r.IntN(3)],
			RingTimeout: []time.Duration{5 * sec, 10 * sec, 20 * sec}[r.IntN(3)],
		}
		if r.IntN(2) == 0 {
			q.Skills = []SkillReq{{propSkills()[r.IntN(len(propSkills()))], 10 + r.IntN(50)}}
			if r.IntN(2) == 0 {
				q.Widen = append(q.Widen, Widen{After: time.Duration(10+r.IntN(30)) * sec, Skill: q.Skills[0].Skill, Min: r.IntN(10)})
			}
		}
		if r.IntN(3) == 0 {
			q.Widen = append(q.Widen, Widen{After: time.Duration(45+r.IntN(30)) * sec, Min: r.IntN(5)})
		}
		if r.IntN(10) < 3 {
			q.MaxLen = 3 + r.IntN(6)
		}
		q.JoinEmpty = EmptyRule(max(0, r.IntN(5)-2))
		q.LeaveEmpty = EmptyRule(max(0, r.IntN(6)-3))
		if r.IntN(10) < 4 {
			q.MaxWait = time.Duration(30+r.IntN(90)) * sec
			if o := r.IntN(n); o != i && r.IntN(2) == 0 {
				q.Overflow = "q" + strconv.Itoa(o)
			} else if r.IntN(2) == 0 {
				q.ExitStep = "out_" + q.Name
			}
		}
		if r.IntN(2) == 0 {
			q.AnnouncePeriod = time.Duration(15+r.IntN(30)) * sec
		}
		if r.IntN(2) == 0 {
			q.HandleTime = time.Minute
		}
		if r.IntN(3) == 0 {
			q.PreferRegion = true
			q.RegionWait = []time.Duration{0, 10 * sec, 40 * sec}[r.IntN(3)]
		}
		p.cfg.Queues = append(p.cfg.Queues, q)
		p.qcfg[q.Name] = q
	}
	p.cfg.Miss = MissPolicy{
		NotReadyAfter: r.IntN(4),
		Backoff:       []time.Duration{0, 5 * sec}[r.IntN(2)],
		RejectBackoff: []time.Duration{0, 3 * sec}[r.IntN(2)],
	}
	for i := range 6 + r.IntN(5) {
		id := AgentID("a" + strconv.Itoa(i))
		p.ids = append(p.ids, id)
		p.state[id] = StateOffline
		sk := map[string]int{}
		for _, s := range propSkills() {
			if r.IntN(10) < 6 {
				sk[s] = 1 + r.IntN(100)
			}
		}
		p.skills[id] = sk
		for _, reg := range propRegions() {
			if r.IntN(3) == 0 {
				p.regions[id] = append(p.regions[id], reg)
			}
		}
		var ms []Membership
		for _, q := range p.cfg.Queues {
			if r.IntN(2) == 0 {
				pen := 0
				if r.IntN(10) < 3 {
					pen = 1 + r.IntN(2)
				}
				ms = append(ms, Membership{Queue: q.Name, Penalty: pen})
			}
		}
		if len(ms) == 0 {
			ms = append(ms, Membership{Queue: p.cfg.Queues[r.IntN(n)].Name})
		}
		p.queues[id] = ms
	}
	e, err := New(p.cfg)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if seed%2 == 1 { // cross midnight, where counts and counters reset
		p.now = time.Date(2026, 3, 2, 23, 40, 0, 0, time.UTC)
		p.day = p.now.YearDay()
	}
	p.e = e
	return p
}

func (p *prop) fail(format string, args ...any) {
	p.t.Helper()
	h := p.history
	if len(h) > 40 {
		h = h[len(h)-40:]
	}
	p.t.Fatalf("seed %d (rerun with ACD_SEED=%d), %v in:\n%s\nconfig: %+v\n%s", p.seed, p.seed,
		p.now.Sub(t0), strings.Join(h, "\n"), p.cfg, fmt.Sprintf(format, args...))
}

func (p *prop) run(steps int) {
	for range steps {
		d := time.Duration(p.r.IntN(5000)) * time.Millisecond
		if p.r.IntN(20) == 0 {
			d = time.Duration(30+p.r.IntN(60)) * sec
		}
		p.now = p.now.Add(d)
		p.handle(Tick{}, true)
		for range 1 + p.r.IntN(2) {
			if ev, valid := p.randomEvent(); ev != nil {
				p.handle(ev, valid)
			}
		}
		if p.t.Failed() {
			return
		}
	}
}

func pick[T any](r *rand.Rand, xs []T) (T, bool) {
	var zero T
	if len(xs) == 0 {
		return zero, false
	}
	return xs[r.IntN(len(xs))], true
}

func (p *prop) agentsIn(states ...State) []AgentID {
	var out []AgentID
	for _, id := range p.ids {
		if slices.Contains(states, p.state[id]) {
			out = append(out, id)
		}
	}
	return out
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// randomEvent draws an event that is valid in the mirror's world, or now
// and then one that is not (valid = false).
func (p *prop) randomEvent() (Event, bool) {
	r := p.r
	switch k := r.IntN(100); {
	case k < 25:
		p.nextCall++
		q := p.cfg.Queues[r.IntN(len(p.cfg.Queues))]
		ev := CallEnqueued{Call: CallID("c" + strconv.Itoa(p.nextCall)), Queue: q.Name}
		if r.IntN(10) < 3 {
			ev.Priority = 1 + r.IntN(3)
		}
		if r.IntN(5) == 0 {
			ev.Skills = []SkillReq{{propSkills()[r.IntN(len(propSkills()))], 1 + r.IntN(50)}}
		}
		if r.IntN(7) == 0 {
			ev.Position = 1 + r.IntN(5)
		}
		if r.IntN(7) == 0 {
			ev.MaxWait = time.Duration(20+r.IntN(80)) * sec
			ev.ExitStep = "timeout"
		}
		if k := r.IntN(len(propRegions()) + 2); k < len(propRegions()) {
			ev.Region = propRegions()[k]
		} else if k == len(propRegions()) {
			ev.Region = "FR" // nobody's region
		}
		return ev, true
	case k < 45:
		if a, ok := pick(r, p.agentsIn(StateRinging)); ok {
			return OfferAnswered{Call: p.offerOf[a], Agent: a}, true
		}
	case k < 50:
		if a, ok := pick(r, p.agentsIn(StateRinging)); ok {
			return OfferRejected{Call: p.offerOf[a], Agent: a, Reason: "declined"}, true
		}
	case k < 55:
		if a, ok := pick(r, p.agentsIn(StateRinging)); ok {
			return OfferTimeout{Call: p.offerOf[a], Agent: a}, true
		}
	case k < 68:
		if c, ok := pick(r, sortedKeys(p.connected)); ok {
			return CallEnded{Call: c}, true
		}
	case k < 72:
		if a, ok := pick(r, p.agentsIn(StateWrapUp)); ok {
			return WrapUpDone{Agent: a}, true
		}
	case k < 80:
		if a, ok := pick(r, p.agentsIn(StateBreak, StateMissed, StateWrapUp, StateOnCall, StateAvailable)); ok {
			return SetState{Agent: a, State: StateAvailable}, true
		}
	case k < 85:
		if a, ok := pick(r, p.agentsIn(StateAvailable, StateRinging, StateOnCall, StateWrapUp, StateMissed, StateBreak)); ok {
			return SetState{Agent: a, State: StateBreak, Reason: []string{"lunch", "training"}[r.IntN(2)]}, true
		}
	case k < 91:
		if a, ok := pick(r, p.agentsIn(StateOffline)); ok {
			return AgentLogin{Agent: a, Skills: p.skills[a], Queues: p.queues[a], Available: r.IntN(4) > 0, Regions: p.regions[a]}, true
		}
	case k < 93:
		if a, ok := pick(r, p.agentsIn(StateAvailable, StateRinging, StateOnCall, StateWrapUp, StateMissed, StateBreak)); ok {
			return AgentLogout{Agent: a}, true
		}
	case k < 96:
		if c, ok := pick(r, sortedKeys(p.inQueue)); ok {
			return CallAbandoned{Call: c}, true
		}
	case k < 97:
		if c, ok := pick(r, sortedKeys(p.inQueue)); ok {
			return ChangePriority{Call: c, Priority: r.IntN(4)}, true
		}
	case k < 98:
		// Attended transfers: start a consultation, or end one either way.
		if c, ok := pick(r, sortedKeys(p.consulted)); ok {
			if r.IntN(2) == 0 {
				return ConsultEnded{Target: p.consulted[c]}, true
			}
			return CallHandedOver{Call: c, Target: p.consulted[c]}, true
		}
		var free []CallID
		for _, c := range sortedKeys(p.connected) {
			if _, busy := p.consulted[c]; !busy {
				free = append(free, c)
			}
		}
		c, ok1 := pick(r, free)
		a, ok2 := pick(r, p.agentsIn(StateAvailable))
		if ok1 && ok2 {
			return ConsultStarted{Call: c, Target: a}, true
		}
	default:
		bad := []Event{
			OfferAnswered{Call: "nope", Agent: p.ids[0]},
			CallEnded{Call: "nope"},
			WrapUpDone{Agent: "ghost"},
			SetState{Agent: p.ids[0], State: StateRinging},
		}
		if c, ok := pick(r, sortedKeys(p.inQueue)); ok {
			bad = append(bad, CallEnqueued{Call: c, Queue: p.inQueue[c]}, CallEnded{Call: c})
		}
		if a, ok := pick(r, p.agentsIn(StateAvailable, StateBreak)); ok {
			bad = append(bad, AgentLogin{Agent: a, Queues: p.queues[a]}, WrapUpDone{Agent: a},
				ConsultEnded{Target: a})
			if c, ok := pick(r, sortedKeys(p.inQueue)); ok {
				bad = append(bad, ConsultStarted{Call: c, Target: a})
			}
		}
		if c, ok := pick(r, sortedKeys(p.connected)); ok {
			bad = append(bad, ConsultStarted{Call: c, Target: p.connected[c]})
			if a, ok := pick(r, p.agentsIn(StateBreak, StateWrapUp, StateRinging)); ok {
				bad = append(bad, ConsultStarted{Call: c, Target: a}, CallHandedOver{Call: c, Target: a})
			}
		}
		ev, _ := pick(r, bad)
		return ev, false
	}
	return nil, false
}

// oracle is what a brute-force look at the engine before an event
// predicts for it.
type oracle struct {
	kind  string // "enqueue", "agent" or ""
	call  CallID
	agent AgentID
	want  []string // agents (enqueue) or one call (agent); empty: no offer
	any   bool     // ring_all: want is a set
}

func (p *prop) handle(ev Event, valid bool) {
	p.t.Helper()
	p.events++
	if d := p.now.YearDay(); d != p.day {
		p.day = d
		clear(p.answered)
	}
	o := p.predict(ev)
	ringingBefore := map[CallID]string{}
	for c, as := range p.ringers {
		if len(as) > 0 {
			ringingBefore[c] = p.inQueue[c]
		}
	}
	acts, err := p.e.Handle(nil, p.now, ev)
	p.history = append(p.history, fmt.Sprintf("%v %T%+v -> %v (err %v)", p.now.Sub(t0), ev, ev, strs(acts), err))
	if valid && err != nil {
		p.fail("unexpected error %v", err)
	}
	if !valid {
		if err == nil {
			p.fail("invalid event accepted")
		}
		if len(acts) != 0 {
			p.fail("failed event produced actions %v", acts)
		}
		p.checkMirror()
		return
	}
	// The wiring's own reports end offers before the engine's actions.
	switch ev := ev.(type) {
	case OfferRejected:
		p.dropOffer(ev.Call, ev.Agent)
	case OfferTimeout:
		p.dropOffer(ev.Call, ev.Agent)
	case CallEnqueued:
		p.inQueue[ev.Call] = ev.Queue
		p.entered[ev.Call] = p.now
		if ev.MaxWait > 0 {
			p.deadline[ev.Call] = p.now.Add(ev.MaxWait)
		}
	}
	requeued := map[CallID]bool{}
	overflowed := map[CallID]bool{}
	for _, a := range acts {
		p.apply(a, ev, requeued, overflowed)
	}
	switch ev := ev.(type) {
	case OfferAnswered:
		if rs := p.ringers[ev.Call]; len(rs) != 1 || rs[0] != ev.Agent {
			p.fail("answered %s still rings on %v", ev.Call, rs)
		}
		delete(p.ringers, ev.Call)
		delete(p.offerOf, ev.Agent)
		delete(p.inQueue, ev.Call)
		p.connected[ev.Call] = ev.Agent
		p.answered[ev.Agent]++
	case CallEnded:
		delete(p.connected, ev.Call)
		delete(p.consulted, ev.Call)
	case ConsultStarted:
		p.consulted[ev.Call] = ev.Target
	case ConsultEnded:
		for c, a := range p.consulted {
			if a == ev.Target {
				delete(p.consulted, c)
			}
		}
	case CallHandedOver:
		delete(p.consulted, ev.Call)
		p.connected[ev.Call] = ev.Target
		p.answered[ev.Target]++
	case CallAbandoned:
		if _, ok := p.connected[ev.Call]; ok {
			delete(p.connected, ev.Call)
			delete(p.consulted, ev.Call)
		} else {
			if len(p.ringers[ev.Call]) != 0 {
				p.fail("abandoned %s still rings on %v", ev.Call, p.ringers[ev.Call])
			}
			delete(p.inQueue, ev.Call)
		}
	}
	p.checkMirror()
	p.checkOracle(o, acts)
	p.checkRequeued(ringingBefore, requeued, overflowed)
	p.checkTiming()
}

func (p *prop) dropOffer(c CallID, a AgentID) {
	rs := p.ringers[c]
	i := slices.Index(rs, a)
	if i < 0 || p.offerOf[a] != c {
		p.fail("offer %s to %s ended but was not outstanding", c, a)
	}
	p.ringers[c] = slices.Delete(rs, i, i+1)
	delete(p.offerOf, a)
}

func (p *prop) apply(a Action, ev Event, requeued, overflowed map[CallID]bool) {
	p.kinds[a.Kind.String()+":"+a.Reason]++
	switch a.Kind {
	case Offer:
		p.offers++
		if p.state[a.Agent] != StateAvailable {
			p.fail("offer %s to %s, who is %s", a.Call, a.Agent, p.state[a.Agent])
		}
		if c, ok := p.offerOf[a.Agent]; ok {
			p.fail("offer %s to %s, who already has %s", a.Call, a.Agent, c)
		}
		if q, ok := p.inQueue[a.Call]; !ok || q != a.Queue {
			p.fail("offer of %s from %s, mirror has it in %q", a.Call, a.Queue, q)
		}
		if len(p.ringers[a.Call]) > 0 && p.qcfg[a.Queue].Strategy != RingAll {
			p.fail("offer %s to %s while it rings on %v", a.Call, a.Agent, p.ringers[a.Call])
		}
		p.ringers[a.Call] = append(p.ringers[a.Call], a.Agent)
		p.offerOf[a.Agent] = a.Call
	case CancelOffer:
		p.dropOffer(a.Call, a.Agent)
		if len(p.ringers[a.Call]) == 0 && a.Reason != ReasonCallerAbandoned {
			requeued[a.Call] = true
		}
	case AgentStateChanged:
		if p.state[a.Agent] != a.From {
			p.fail("agent %s reported %s -> %s, mirror has %s", a.Agent, a.From, a.To, p.state[a.Agent])
		}
		if a.To == StateRinging && p.offerOf[a.Agent] == "" {
			p.fail("agent %s ringing without an offer", a.Agent)
		}
		if a.From == StateRinging && a.To != StateOnCall {
			if c, ok := p.offerOf[a.Agent]; ok {
				p.fail("agent %s stopped ringing (%s) with offer %s outstanding", a.Agent, a.To, c)
			}
		}
		if a.To == StateOnCall && a.From != StateOnCall {
			ans, answered := ev.(OfferAnswered)
			con, consulted := ev.(ConsultStarted)
			if !(answered && ans.Agent == a.Agent) && !(consulted && con.Target == a.Agent) {
				p.fail("agent %s on a call without answering or being consulted", a.Agent)
			}
		}
		if a.From == StateWrapUp || (a.From == StateOnCall && a.To != StateWrapUp) {
			p.lastEnd[a.Agent] = p.now
		}
		if a.From == StateOffline {
			p.lastEnd[a.Agent] = p.now
		}
		p.state[a.Agent] = a.To
	case Overflow:
		from, ok := p.inQueue[a.Call]
		if !ok || len(p.ringers[a.Call]) > 0 {
			p.fail("overflow of %s (in %q, ringing on %v)", a.Call, from, p.ringers[a.Call])
		}
		if due := p.entered[a.Call].Add(p.qcfg[from].MaxWait); p.now.Before(due) {
			p.fail("overflow of %s at %v before max wait at %v", a.Call, p.now.Sub(t0), due.Sub(t0))
		}
		p.inQueue[a.Call] = a.Queue
		p.entered[a.Call] = p.now
		overflowed[a.Call] = true
	case ExitToStep:
		from, ok := p.inQueue[a.Call]
		if !ok || len(p.ringers[a.Call]) > 0 {
			p.fail("exit of %s (in %q, ringing on %v)", a.Call, from, p.ringers[a.Call])
		}
		due := p.entered[a.Call].Add(p.qcfg[from].MaxWait)
		if a.Reason == ReasonTimeout {
			due = p.deadline[a.Call]
		}
		if p.now.Before(due) || due.IsZero() {
			p.fail("exit of %s at %v, due %v", a.Call, p.now.Sub(t0), due.Sub(t0))
		}
		p.forget(a.Call)
	case Rejected:
		if _, ok := p.inQueue[a.Call]; !ok {
			p.fail("rejected %s, which is not in a queue", a.Call)
		}
		p.forget(a.Call)
	case Announce:
		if _, ok := p.inQueue[a.Call]; !ok || len(p.ringers[a.Call]) > 0 || a.Position < 1 {
			p.fail("announcement %v for a call not waiting", a)
		}
	}
}

func (p *prop) forget(c CallID) {
	delete(p.inQueue, c)
	delete(p.entered, c)
	delete(p.deadline, c)
	delete(p.ringers, c)
}

// checkMirror compares the world rebuilt from actions with the engine.
func (p *prop) checkMirror() {
	p.t.Helper()
	if err := p.e.check(); err != nil {
		p.fail("%v", err)
	}
	for _, id := range p.ids {
		v, err := p.e.Agent(id)
		if err != nil {
			if p.state[id] != StateOffline {
				p.fail("agent %s unknown to the engine", id)
			}
			continue
		}
		if v.State != p.state[id] {
			p.fail("agent %s is %s, mirror has %s", id, v.State, p.state[id])
		}
		switch v.State {
		case StateRinging:
			if p.offerOf[id] != v.Call {
				p.fail("agent %s rings for %s, mirror has %s", id, v.Call, p.offerOf[id])
			}
		case StateOnCall:
			if v.Consult != "" {
				if p.consulted[v.Consult] != id || v.Call != "" {
					p.fail("agent %s consulted about %s (call %q), mirror disagrees", id, v.Consult, v.Call)
				}
			} else if p.connected[v.Call] != id {
				p.fail("agent %s on call %s, mirror disagrees", id, v.Call)
			}
		default:
			if v.Call != "" {
				p.fail("agent %s is %s with call %s", id, v.State, v.Call)
			}
		}
		if v.CallsToday != p.answered[id] {
			p.fail("agent %s calls today %d, mirror %d", id, v.CallsToday, p.answered[id])
		}
	}
	n := 0
	for _, c := range p.e.calls {
		if c.q == nil {
			continue
		}
		n++
		if p.inQueue[c.id] != c.q.name {
			p.fail("call %s in %s, mirror has %q", c.id, c.q.name, p.inQueue[c.id])
		}
		if c.entered != p.entered[c.id].UnixNano() {
			p.fail("call %s entered at %v, mirror %v", c.id, time.Unix(0, c.entered).Sub(t0), p.entered[c.id].Sub(t0))
		}
	}
	if n != len(p.inQueue) {
		p.fail("engine has %d calls in queues, mirror %d", n, len(p.inQueue))
	}
	for c, a := range p.connected {
		if x := p.e.calls[c]; x == nil || x.state != callConnected || x.agent.id != a {
			p.fail("connected call %s/%s unknown to the engine", c, a)
		}
	}
}

// checkRequeued: a call whose offers all ended unanswered is back at the
// front of its priority (only other calls requeued in the same batch may
// be ahead of it at the same priority).
func (p *prop) checkRequeued(before map[CallID]string, requeued, overflowed map[CallID]bool) {
	for c, q := range before {
		if len(p.ringers[c]) == 0 && p.inQueue[c] == q && !overflowed[c] {
			requeued[c] = true
		}
	}
	for c := range requeued {
		x := p.e.calls[c]
		if x == nil || x.q == nil || overflowed[c] {
			continue
		}
		for n := x.q.line.first(); n != nil && n.val != x; n = n.next[0] {
			if y := n.val; y.prio == x.prio && !requeued[y.id] {
				p.fail("requeued %s (prio %d) behind %s in %s", c, x.prio, y.id, x.q.name)
			}
		}
	}
}

// checkTiming: widening steps are applied exactly when due (time is only
// seen at events, and a Tick precedes every event), and no waiting call is
// past its queue's max wait or its own deadline.
func (p *prop) checkTiming() {
	now := p.now.UnixNano()
	for _, c := range p.e.calls {
		q := c.q
		if q == nil {
			continue
		}
		due := 0
		for _, w := range q.widen {
			if c.entered+w.after <= now {
				due++
			}
		}
		if c.stage != due {
			p.fail("call %s in %s at widening step %d, want %d", c.id, q.name, c.stage, due)
		}
		want := widenReqs(nil, c.base, q.widen[:due])
		if c.regionReq {
			if !q.preferRegion || c.region == 0 || now >= c.entered+q.regionWait {
				p.fail("call %s in %s still prefers its region", c.id, q.name)
			}
			want = insertReq(want, req{c.region - 1, 1})
		}
		if !slices.Equal(want, c.reqs) {
			p.fail("call %s requirements %v, want %v", c.id, c.reqs, want)
		}
		if c.state != callWaiting {
			continue
		}
		if q.maxWait > 0 && now >= c.entered+q.maxWait {
			p.fail("call %s waits in %s past its max wait", c.id, q.name)
		}
		if d, ok := p.deadline[c.id]; ok && !p.now.Before(d) {
			p.fail("call %s waits past its deadline", c.id)
		}
	}
}

// predict computes, before the event, what the strategy must pick.
func (p *prop) predict(ev Event) oracle {
	e := p.e
	switch ev := ev.(type) {
	case CallEnqueued:
		qc, ok := p.qcfg[ev.Queue]
		if !ok || e.calls[ev.Call] != nil {
			return oracle{}
		}
		q := e.queues[ev.Queue]
		if (q.maxLen > 0 && q.line.n >= q.maxLen) || q.empty(q.joinEmpty) || q.empty(q.leaveEmpty) {
			return oracle{kind: "refuse", call: ev.Call}
		}
		reqs := map[string]int{}
		for _, r := range qc.Skills {
			reqs[r.Skill] = r.Min
		}
		for _, r := range ev.Skills {
			reqs[r.Skill] = max(reqs[r.Skill], r.Min)
		}
		if qc.PreferRegion && ev.Region != "" && slices.ContainsFunc(p.ids, func(id AgentID) bool {
			return p.state[id] != StateOffline && p.serves(id, ev.Queue) && slices.Contains(p.regions[id], ev.Region)
		}) {
			reqs[regionSkill(ev.Region)] = 1
		}
		var idle []AgentID
		for _, id := range p.ids {
			if p.state[id] != StateAvailable || !p.serves(id, ev.Queue) || !p.meets(id, reqs) {
				continue
			}
			idle = append(idle, id)
		}
		o := oracle{kind: "enqueue", call: ev.Call, want: []string{}}
		if len(idle) == 0 {
			return o
		}
		if qc.Strategy == RingAll {
			for _, id := range idle {
				o.want = append(o.want, string(id))
			}
			o.any = true
			return o
		}
		best := slices.MinFunc(idle, func(x, y AgentID) int { return p.compareAgents(qc, x, y) })
		o.want = []string{string(best)}
		return o
	case SetState, WrapUpDone, AgentLogin, ConsultEnded:
		var id AgentID
		var ms []Membership
		switch ev := ev.(type) {
		case SetState:
			a := e.agents[ev.Agent]
			if ev.State != StateAvailable || a == nil {
				return oracle{}
			}
			if a.state != StateBreak && a.state != StateMissed && !(a.state == StateWrapUp && a.pending != StateOffline) {
				return oracle{}
			}
			id = ev.Agent
		case WrapUpDone:
			a := e.agents[ev.Agent]
			if a == nil || a.state != StateWrapUp || a.pending != StateAvailable {
				return oracle{}
			}
			id = ev.Agent
		case ConsultEnded:
			a := e.agents[ev.Target]
			if a == nil || a.consultFor == nil || a.pending != StateAvailable {
				return oracle{}
			}
			id = ev.Target
		case AgentLogin:
			if !ev.Available || p.state[ev.Agent] != StateOffline {
				return oracle{}
			}
			id = ev.Agent
		}
		ms = p.queues[id]
		var best *call
		var bestPen int
		for _, m := range ms {
			q := e.queues[m.Queue]
			for n := q.line.first(); n != nil; n = n.next[0] {
				c := n.val
				offerable := c.state == callWaiting || (c.state == callRinging && q.strategy == RingAll)
				if !offerable || !p.meetsReqs(id, c.reqs) {
					continue
				}
				if best == nil || rankBefore(q.weight, m.Penalty, c, best.q.weight, bestPen, best) {
					best, bestPen = c, m.Penalty
				}
			}
		}
		o := oracle{kind: "agent", agent: id, want: []string{}}
		if best != nil {
			o.want = []string{string(best.id)}
		}
		return o
	}
	return oracle{}
}

func rankBefore(w1 int64, pen1 int, c1 *call, w2 int64, pen2 int, c2 *call) bool {
	switch {
	case w1 != w2:
		return w1 > w2
	case pen1 != pen2:
		return pen1 < pen2
	case c1.prio != c2.prio:
		return c1.prio > c2.prio
	case c1.order != c2.order:
		return c1.order < c2.order
	}
	return c1.seq < c2.seq
}

func (p *prop) serves(id AgentID, q string) bool {
	return slices.ContainsFunc(p.queues[id], func(m Membership) bool { return m.Queue == q })
}

func (p *prop) penalty(id AgentID, q string) int {
	for _, m := range p.queues[id] {
		if m.Queue == q {
			return m.Penalty
		}
	}
	return -1
}

func (p *prop) meets(id AgentID, reqs map[string]int) bool {
	for s, lvl := range reqs {
		has := p.skills[id][s]
		if reg, ok := strings.CutPrefix(s, regionSkill("")); ok && slices.Contains(p.regions[id], reg) {
			has = 1
		}
		if has < lvl {
			return false
		}
	}
	return true
}

func (p *prop) meetsReqs(id AgentID, reqs []req) bool {
	m := map[string]int{}
	for name, n := range p.e.skills {
		for _, r := range reqs {
			if r.skill == n {
				m[name] = int(r.min)
			}
		}
	}
	return p.meets(id, m)
}

// compareAgents is each strategy's order, written from its definition.
func (p *prop) compareAgents(qc QueueConfig, x, y AgentID) int {
	if c := cmp.Compare(p.penalty(x, qc.Name), p.penalty(y, qc.Name)); c != 0 {
		return c
	}
	seq := func(id AgentID) int64 { return p.e.agents[id].seq }
	idle := func(id AgentID) int64 { return p.lastEnd[id].UnixNano() }
	switch qc.Strategy {
	case FewestCalls:
		if c := cmp.Compare(p.answered[x], p.answered[y]); c != 0 {
			return c
		}
	case SkillsWeighted:
		score := func(id AgentID) int {
			s := 0
			for _, r := range qc.Skills {
				s += p.skills[id][r.Skill]
			}
			return s
		}
		if c := cmp.Compare(score(y), score(x)); c != 0 {
			return c
		}
	case RoundRobin:
		// The first after the last agent offered a call, wrapping around.
		q := p.e.queues[qc.Name]
		pos := func(id AgentID) int64 {
			n := p.e.agents[id].memberOf(q).pos
			if n <= q.rrLast {
				n += 1 << 40
			}
			return n
		}
		return cmp.Compare(pos(x), pos(y))
	}
	if c := cmp.Compare(idle(x), idle(y)); c != 0 {
		return c
	}
	return cmp.Compare(seq(x), seq(y))
}

func (p *prop) checkOracle(o oracle, acts []Action) {
	if o.kind == "" {
		return
	}
	p.oracles++
	p.kinds["oracle:"+o.kind+":"+strconv.Itoa(len(o.want))]++
	var got []string
	refused := false
	for _, a := range acts {
		switch {
		case a.Kind == Offer && o.kind == "enqueue" && a.Call == o.call:
			got = append(got, string(a.Agent))
		case a.Kind == Offer && o.kind == "agent" && a.Agent == o.agent:
			got = append(got, string(a.Call))
		case a.Kind == Offer:
			p.fail("unexpected offer %v (oracle %+v)", a, o)
		case a.Kind == Rejected && a.Call == o.call:
			refused = true
		}
	}
	if o.kind == "refuse" {
		if !refused {
			p.fail("call %s should have been refused", o.call)
		}
		return
	}
	if refused {
		p.fail("call %s refused", o.call)
	}
	if got == nil {
		got = []string{}
	}
	if o.any {
		slices.Sort(got)
		slices.Sort(o.want)
	}
	if !slices.Equal(got, o.want) {
		p.fail("%s %s%s: offered %v, oracle wants %v", o.kind, o.call, o.agent, got, o.want)
	}
}

// TestFewestCallsBalance: calls arrive in waves no larger than the team and
// each wave is handled before the next; fewest_calls keeps every agent's
// count within one of the others' all along.
func TestFewestCallsBalance(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: FewestCalls}}})
	const team = 7
	for i := range team {
		mustHandle(t, e, t0, login("a"+strconv.Itoa(i), nil, "q"))
	}
	now := t0
	n := 0
	for range 2000 {
		wave := 1 + r.IntN(team)
		var calls []CallID
		var agents []AgentID
		for range wave {
			n++
			id := CallID("c" + strconv.Itoa(n))
			for _, a := range mustHandle(t, e, now, enq(string(id), "q")) {
				if a.Kind == Offer {
					calls, agents = append(calls, a.Call), append(agents, a.Agent)
				}
			}
		}
		if len(calls) != wave {
			t.Fatalf("wave of %d got %d offers", wave, len(calls))
		}
		for i, c := range calls {
			now = now.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
			mustHandle(t, e, now, OfferAnswered{Call: c, Agent: agents[i]})
		}
		for _, i := range r.Perm(len(calls)) {
			now = now.Add(time.Duration(r.IntN(30000)) * time.Millisecond)
			mustHandle(t, e, now, CallEnded{Call: calls[i]})
		}
		lo, hi := 1<<30, 0
		for _, v := range e.Agents(nil) {
			lo, hi = min(lo, v.CallsToday), max(hi, v.CallsToday)
		}
		if hi-lo > 1 {
			t.Fatalf("after %d calls counts range %d..%d", n, lo, hi)
		}
	}
}

// TestRoundRobinFairLongRun: with random skills filtering nobody, and
// agents on break at random, round robin never serves an agent twice
// while another idle agent has waited a full cycle.
func TestRoundRobinFairLongRun(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: RoundRobin}}})
	const team = 6
	for i := range team {
		mustHandle(t, e, t0, login("a"+strconv.Itoa(i), nil, "q"))
	}
	served := map[AgentID]int{}
	now := t0
	for i := range 3000 {
		now = now.Add(sec)
		a := AgentID("a" + strconv.Itoa(r.IntN(team)))
		if v, _ := e.Agent(a); v.State == StateAvailable && r.IntN(10) == 0 {
			mustHandle(t, e, now, SetState{Agent: a, State: StateBreak})
		} else if v.State == StateBreak {
			mustHandle(t, e, now, SetState{Agent: a, State: StateAvailable})
		}
		id := CallID("c" + strconv.Itoa(i))
		acts := mustHandle(t, e, now, enq(string(id), "q"))
		got := offers(acts)
		if len(got) == 0 {
			mustHandle(t, e, now, CallAbandoned{Call: id})
			continue
		}
		served[AgentID(got[0])]++
		mustHandle(t, e, now, OfferAnswered{Call: id, Agent: AgentID(got[0])})
		mustHandle(t, e, now, CallEnded{Call: id})
	}
	lo, hi := 1<<30, 0
	for _, n := range served {
		lo, hi = min(lo, n), max(hi, n)
	}
	if len(served) != team || hi-lo > hi/5 {
		t.Errorf("round robin shares %v", served)
	}
}
