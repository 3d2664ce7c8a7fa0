package acd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// step is one event of a scenario, at an offset from t0. want lists the
// actions as Action.String renders them; nil skips the check, an empty
// slice wants none.
type step struct {
	at   time.Duration
	ev   Event
	want []string
	err  error
}

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func runSteps(t *testing.T, e *Engine, steps []step) {
	t.Helper()
	for i, s := range steps {
		acts, err := e.Handle(nil, t0.Add(s.at), s.ev)
		if !errors.Is(err, s.err) || (err != nil && s.err == nil) {
			t.Fatalf("step %d (%T at %v): err = %v, want %v", i, s.ev, s.at, err, s.err)
		}
		if err := e.check(); err != nil {
			t.Fatalf("step %d (%T at %v): %v", i, s.ev, s.at, err)
		}
		if s.want == nil {
			continue
		}
		got := strs(acts)
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%T at %v):\n got: %s\nwant: %s", i, s.ev, s.at, strings.Join(got, "\n      "), strings.Join(s.want, "\n      "))
		}
	}
}

func strs(acts []Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.String()
	}
	return out
}

func none() []string { return []string{} }

func login(id string, skills map[string]int, queues ...string) AgentLogin {
	ev := AgentLogin{Agent: AgentID(id), Skills: skills, Available: true}
	for _, q := range queues {
		ev.Queues = append(ev.Queues, Membership{Queue: q})
	}
	return ev
}

func enq(id, queue string) CallEnqueued { return CallEnqueued{Call: CallID(id), Queue: queue} }

func offerTo(c, a, q string) []string {
	return []string{fmt.Sprintf("offer %s to %s (%s)", c, a, q), fmt.Sprintf("agent %s available -> ringing (offer)", a)}
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func st(a string, from, to State, reason string) string {
	return fmt.Sprintf("agent %s %s -> %s (%s)", a, from, to, reason)
}

// check verifies the engine's internal consistency: every index agrees
// with the states it summarises. Tests call it after every event.
func (e *Engine) check() error {
	for _, q := range e.qlist {
		var counts [numStates]int
		members := 0
		for _, a := range e.agents {
			if m := a.memberOf(q); m != nil {
				counts[a.state]++
				members++
				if m.node.in != (a.state == StateAvailable) {
					return fmt.Errorf("queue %s: agent %s is %s but in idle list = %v", q.name, a.id, a.state, m.node.in)
				}
				if m.node.in && m.node.key != m.idleKey() {
					return fmt.Errorf("queue %s: agent %s idle key %v, want %v", q.name, a.id, m.node.key, m.idleKey())
				}
			}
		}
		if q.regionIn != nil {
			in := map[int32]int{}
			for _, a := range e.agents {
				if a.memberOf(q) != nil && a.state != StateOffline {
					for _, r := range a.regions {
						in[r]++
					}
				}
			}
			for r, n := range q.regionIn {
				if n != in[r] {
					return fmt.Errorf("queue %s: %d logged-in agents of region %d, counted %d", q.name, in[r], r, n)
				}
			}
		}
		if counts != q.counts || members != q.members {
			return fmt.Errorf("queue %s: counts %v/%d, want %v/%d", q.name, q.counts, q.members, counts, members)
		}
		if err := checkList(&q.idle); err != nil {
			return fmt.Errorf("queue %s idle: %w", q.name, err)
		}
		if err := checkList(&q.line); err != nil {
			return fmt.Errorf("queue %s line: %w", q.name, err)
		}
		grouped := 0
		for _, g := range q.groups {
			if g.calls.n == 0 {
				return fmt.Errorf("queue %s: empty group", q.name)
			}
			if err := checkList(&g.calls); err != nil {
				return fmt.Errorf("queue %s group: %w", q.name, err)
			}
			for n := g.calls.first(); n != nil; n = n.next[0] {
				c := n.val
				if c.g != g || !slices.Equal(c.reqs, g.reqs) || c.q != q || n.key != c.line.key {
					return fmt.Errorf("queue %s: call %s in the wrong group", q.name, c.id)
				}
				grouped++
			}
		}
		inLine, offerable := 0, 0
		for n := q.line.first(); n != nil; n = n.next[0] {
			c := n.val
			inLine++
			if c.q != q || e.calls[c.id] != c {
				return fmt.Errorf("queue %s: stray call %s in line", q.name, c.id)
			}
			canOffer := c.state == callWaiting || (c.state == callRinging && q.strategy == RingAll)
			if canOffer {
				offerable++
			}
			if canOffer != (c.g != nil) {
				return fmt.Errorf("queue %s: call %s state %d grouped = %v", q.name, c.id, c.state, c.g != nil)
			}
			if (c.state == callRinging) != (len(c.ringing) > 0) {
				return fmt.Errorf("queue %s: call %s state %d rings on %d", q.name, c.id, c.state, len(c.ringing))
			}
			if len(c.ringing) > 1 && q.strategy != RingAll {
				return fmt.Errorf("queue %s: call %s rings on %d agents", q.name, c.id, len(c.ringing))
			}
			for _, a := range c.ringing {
				if a.state != StateRinging || a.call != c {
					return fmt.Errorf("call %s rings on agent %s in state %s", c.id, a.id, a.state)
				}
			}
		}
		if inLine != q.line.n || grouped != offerable {
			return fmt.Errorf("queue %s: line count %d, walked %d; %d grouped of %d offerable", q.name, q.line.n, inLine, grouped, offerable)
		}
	}
	for _, c := range e.calls {
		if c.state == callConnected {
			if c.q != nil || c.agent == nil || c.agent.call != c || c.agent.state != StateOnCall {
				return fmt.Errorf("connected call %s inconsistent", c.id)
			}
			if t := c.consult; t != nil && (t.consultFor != c || t.state != StateOnCall) {
				return fmt.Errorf("call %s consults %s inconsistently", c.id, t.id)
			}
		} else if c.q == nil || !c.line.in {
			return fmt.Errorf("call %s not in a line", c.id)
		}
	}
	for _, a := range e.agents {
		switch a.state {
		case StateRinging:
			if a.call == nil || a.call.state != callRinging || !slices.Contains(a.call.ringing, a) {
				return fmt.Errorf("agent %s ringing without an offer", a.id)
			}
		case StateOnCall:
			if a.reserved {
				if a.call != nil || a.consultFor != nil {
					return fmt.Errorf("agent %s reserved with a call", a.id)
				}
			} else if c := a.consultFor; c != nil {
				if a.call != nil || c.consult != a || c.state != callConnected || c.agent == a || e.calls[c.id] != c {
					return fmt.Errorf("agent %s consulted inconsistently", a.id)
				}
			} else if a.call == nil || a.call.state != callConnected || a.call.agent != a {
				return fmt.Errorf("agent %s on call without a call", a.id)
			}
		default:
			if a.call != nil || a.consultFor != nil || a.reserved {
				return fmt.Errorf("agent %s is %s with a call", a.id, a.state)
			}
		}
	}
	return e.checkSettled()
}

// checkSettled is the brute-force form of the engine's central invariant:
// no idle agent is eligible for a call that could be offered to them.
func (e *Engine) checkSettled() error {
	for _, a := range e.agents {
		if a.state != StateAvailable {
			continue
		}
		for _, m := range a.members {
			for n := m.q.line.first(); n != nil; n = n.next[0] {
				c := n.val
				offerable := c.state == callWaiting || (c.state == callRinging && m.q.strategy == RingAll)
				if offerable && a.eligible(c.reqs) {
					return fmt.Errorf("not settled: idle agent %s eligible for call %s in %s", a.id, c.id, m.q.name)
				}
			}
		}
	}
	return nil
}

func checkList[T any](l *list[T]) error {
	n := 0
	var prev *node[T]
	for x := l.first(); x != nil; x = x.next[0] {
		if !x.in {
			return errors.New("node in list not marked in")
		}
		if prev != nil && !prev.key.less(&x.key) {
			return fmt.Errorf("keys out of order: %v then %v", prev.key, x.key)
		}
		prev = x
		n++
	}
	if n != l.n {
		return fmt.Errorf("count %d, walked %d", l.n, n)
	}
	return nil
}
