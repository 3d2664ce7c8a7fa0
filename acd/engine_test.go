package acd

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const sec = time.Second

func twoQueues() Config {
	return Config{Queues: []QueueConfig{
		{Name: "sales", WrapUp: 10 * sec, RingTimeout: 15 * sec},
		{Name: "support", RingTimeout: 15 * sec},
	}}
}

func TestTransitions(t *testing.T) {
	withMiss := func(m MissPolicy) Config { c := twoQueues(); c.Miss = m; return c }
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"login available, then logout", twoQueues(), []step{
			{0, login("a1", nil, "sales"), []string{st("a1", StateOffline, StateAvailable, ReasonLogin)}, nil},
			{sec, AgentLogout{Agent: "a1"}, []string{st("a1", StateAvailable, StateOffline, ReasonLogout)}, nil},
			{2 * sec, AgentLogout{Agent: "a1"}, none(), ErrNotLoggedIn},
		}},
		{"login on break, then available", twoQueues(), []step{
			{0, AgentLogin{Agent: "a1", Queues: []Membership{{Queue: "sales"}}}, []string{st("a1", StateOffline, StateBreak, ReasonLogin)}, nil},
			{0, enq("c1", "sales"), none(), nil},
			{sec, SetState{Agent: "a1", State: StateAvailable}, cat([]string{st("a1", StateBreak, StateAvailable, ReasonReady)}, offerTo("c1", "a1", "sales")), nil},
		}},
		{"login errors", twoQueues(), []step{
			{0, login("a1", nil, "nope"), none(), ErrUnknownQueue},
			{0, login("a1", map[string]int{"en": 101}, "sales"), none(), ErrInvalid},
			{0, login("a1", nil, "sales", "sales"), none(), ErrInvalid},
			{0, login("a1", nil, "sales"), nil, nil},
			{0, login("a1", nil, "sales"), none(), ErrLoggedIn},
			{0, SetState{Agent: "zz", State: StateBreak}, none(), ErrUnknownAgent},
			{0, SetState{Agent: "a1", State: StateOnCall}, none(), ErrInvalid},
		}},
		{"call lifecycle with wrap-up expiring", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, enq("c1", "sales"), offerTo("c1", "a1", "sales"), nil},
			{2 * sec, OfferAnswered{Call: "c1", Agent: "a1"}, []string{st("a1", StateRinging, StateOnCall, ReasonAnswered)}, nil},
			{60 * sec, CallEnded{Call: "c1"}, []string{st("a1", StateOnCall, StateWrapUp, ReasonCallEnded)}, nil},
			{65 * sec, enq("c2", "sales"), none(), nil},
			{69 * sec, Tick{}, none(), nil},
			{70 * sec, Tick{}, cat([]string{st("a1", StateWrapUp, StateAvailable, ReasonWrapUpExpired)}, offerTo("c2", "a1", "sales")), nil},
		}},
		{"wrap-up done early", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, enq("c1", "sales"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{10 * sec, CallEnded{Call: "c1"}, nil, nil},
			{12 * sec, WrapUpDone{Agent: "a1"}, []string{st("a1", StateWrapUp, StateAvailable, ReasonWrapUpDone)}, nil},
			{13 * sec, WrapUpDone{Agent: "a1"}, none(), ErrBadState},
			{30 * sec, Tick{}, none(), nil}, // the stale wrap-up timer does nothing
		}},
		{"no wrap-up in support", twoQueues(), []step{
			{0, login("a1", nil, "support"), nil, nil},
			{0, enq("c1", "support"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{10 * sec, CallEnded{Call: "c1"}, []string{st("a1", StateOnCall, StateAvailable, ReasonCallEnded)}, nil},
			{11 * sec, CallEnded{Call: "c1"}, none(), ErrUnknownCall},
		}},
		{"answer errors", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, login("a2", nil, "support"), nil, nil},
			{0, enq("c1", "sales"), offerTo("c1", "a1", "sales"), nil},
			{0, OfferAnswered{Call: "c1", Agent: "a2"}, none(), ErrNoOffer},
			{0, OfferAnswered{Call: "c9", Agent: "a1"}, none(), ErrUnknownCall},
			{0, OfferAnswered{Call: "c1", Agent: "a9"}, none(), ErrUnknownAgent},
			{0, CallEnded{Call: "c1"}, none(), ErrBadState},
			{0, enq("c1", "sales"), none(), ErrDuplicateCall},
			{0, enq("c2", "nope"), none(), ErrUnknownQueue},
			{0, CallEnqueued{Call: "c2", Queue: "sales", Skills: []SkillReq{{"en", 0}}}, none(), ErrInvalid},
			{0, nil, none(), ErrInvalid},
		}},
		{"ring timeout from the engine: not ready, call to the next agent", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, login("a2", nil, "sales"), nil, nil},
			{2 * sec, enq("c1", "sales"), offerTo("c1", "a1", "sales"), nil},
			{16 * sec, Tick{}, none(), nil},
			{17 * sec, Tick{}, cat([]string{
				"cancel offer c1 to a1 (ring-timeout)",
				st("a1", StateRinging, StateMissed, ReasonNotReady),
			}, offerTo("c1", "a2", "sales")), nil},
			{18 * sec, SetState{Agent: "a1", State: StateAvailable}, []string{st("a1", StateMissed, StateAvailable, ReasonReady)}, nil},
		}},
		{"ring timeout from the wiring", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, enq("c1", "sales"), offerTo("c1", "a1", "sales"), nil},
			{5 * sec, OfferTimeout{Call: "c1", Agent: "a1"}, []string{st("a1", StateRinging, StateMissed, ReasonNotReady)}, nil},
			{30 * sec, Tick{}, none(), nil},
		}},
		{"reject with back-off", withMiss(MissPolicy{RejectBackoff: 5 * sec}), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, enq("c1", "sales"), offerTo("c1", "a1", "sales"), nil},
			{2 * sec, OfferRejected{Call: "c1", Agent: "a1", Reason: "busy"}, []string{st("a1", StateRinging, StateMissed, ReasonRejected)}, nil},
			{6 * sec, Tick{}, none(), nil},
			{7 * sec, Tick{}, cat([]string{st("a1", StateMissed, StateAvailable, ReasonBackoffElapsed)}, offerTo("c1", "a1", "sales")), nil},
			{8 * sec, OfferRejected{Call: "c1", Agent: "a1"}, nil, nil},
			{9 * sec, OfferRejected{Call: "c1", Agent: "a1"}, none(), ErrNoOffer},
		}},
		{"misses back off, then not ready", withMiss(MissPolicy{NotReadyAfter: 2, Backoff: 5 * sec}), []step{
			{0, login("a1", nil, "support"), nil, nil},
			{0, enq("c1", "support"), offerTo("c1", "a1", "support"), nil},
			{15 * sec, Tick{}, []string{"cancel offer c1 to a1 (ring-timeout)", st("a1", StateRinging, StateMissed, ReasonNoAnswer)}, nil},
			{20 * sec, Tick{}, cat([]string{st("a1", StateMissed, StateAvailable, ReasonBackoffElapsed)}, offerTo("c1", "a1", "support")), nil},
			{35 * sec, Tick{}, []string{"cancel offer c1 to a1 (ring-timeout)", st("a1", StateRinging, StateMissed, ReasonNotReady)}, nil},
			{99 * sec, Tick{}, none(), nil},
			{100 * sec, SetState{Agent: "a1", State: StateAvailable}, cat([]string{st("a1", StateMissed, StateAvailable, ReasonReady)}, offerTo("c1", "a1", "support")), nil},
			{101 * sec, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
		}},
		{"no back-off: the same agent at once", withMiss(MissPolicy{NotReadyAfter: 3}), []step{
			{0, login("a1", nil, "support"), nil, nil},
			{0, enq("c1", "support"), nil, nil},
			{1 * sec, OfferTimeout{Call: "c1", Agent: "a1"}, cat([]string{st("a1", StateRinging, StateAvailable, ReasonNoAnswer)}, offerTo("c1", "a1", "support")), nil},
		}},
		{"break while ringing withdraws the offer without a miss", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, login("a2", nil, "sales"), nil, nil},
			{2 * sec, enq("c1", "sales"), offerTo("c1", "a1", "sales"), nil},
			{3 * sec, SetState{Agent: "a1", State: StateBreak, Reason: "lunch"}, cat([]string{
				"cancel offer c1 to a1 (agent-unavailable)",
				st("a1", StateRinging, StateBreak, "lunch"),
			}, offerTo("c1", "a2", "sales")), nil},
			{4 * sec, SetState{Agent: "a1", State: StateBreak, Reason: "coffee"}, []string{st("a1", StateBreak, StateBreak, "coffee")}, nil},
			{5 * sec, SetState{Agent: "a1", State: StateBreak, Reason: "coffee"}, none(), nil},
		}},
		{"break asked on a call waits for the end of wrap-up", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, enq("c1", "sales"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{5 * sec, SetState{Agent: "a1", State: StateBreak, Reason: "lunch"}, none(), nil},
			{6 * sec, CallEnded{Call: "c1"}, []string{st("a1", StateOnCall, StateWrapUp, ReasonCallEnded)}, nil},
			{7 * sec, enq("c2", "sales"), none(), nil},
			{16 * sec, Tick{}, []string{st("a1", StateWrapUp, StateBreak, "lunch")}, nil},
		}},
		{"available asked on a call cancels the pending break", twoQueues(), []step{
			{0, login("a1", nil, "support"), nil, nil},
			{0, enq("c1", "support"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{1 * sec, SetState{Agent: "a1", State: StateBreak}, none(), nil},
			{2 * sec, SetState{Agent: "a1", State: StateAvailable}, none(), nil},
			{3 * sec, CallEnded{Call: "c1"}, []string{st("a1", StateOnCall, StateAvailable, ReasonCallEnded)}, nil},
		}},
		{"break during wrap-up ends it", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, enq("c1", "sales"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{1 * sec, CallEnded{Call: "c1"}, nil, nil},
			{2 * sec, SetState{Agent: "a1", State: StateBreak, Reason: "training"}, []string{st("a1", StateWrapUp, StateBreak, "training")}, nil},
			{20 * sec, Tick{}, none(), nil},
		}},
		{"logout on a call waits for the call, skipping wrap-up", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, enq("c1", "sales"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{1 * sec, AgentLogout{Agent: "a1"}, none(), nil},
			{2 * sec, CallEnded{Call: "c1"}, []string{st("a1", StateOnCall, StateOffline, ReasonLogout)}, nil},
			{3 * sec, login("a1", nil, "sales"), []string{st("a1", StateOffline, StateAvailable, ReasonLogin)}, nil},
		}},
		{"logout while ringing requeues the call", twoQueues(), []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, enq("c1", "sales"), nil, nil},
			{1 * sec, AgentLogout{Agent: "a1"}, []string{"cancel offer c1 to a1 (agent-unavailable)", st("a1", StateRinging, StateOffline, ReasonLogout)}, nil},
			{2 * sec, login("a2", nil, "sales"), cat([]string{st("a2", StateOffline, StateAvailable, ReasonLogin)}, offerTo("c1", "a2", "sales")), nil},
		}},
		{"abandon while waiting and while ringing", twoQueues(), []step{
			{0, enq("c1", "sales"), none(), nil},
			{1 * sec, CallAbandoned{Call: "c1"}, none(), nil},
			{1 * sec, CallAbandoned{Call: "c1"}, none(), ErrUnknownCall},
			{2 * sec, login("a1", nil, "sales"), nil, nil},
			{3 * sec, enq("c2", "sales"), offerTo("c2", "a1", "sales"), nil},
			{4 * sec, CallAbandoned{Call: "c2"}, []string{"cancel offer c2 to a1 (caller-abandoned)", st("a1", StateRinging, StateAvailable, ReasonCallerAbandoned)}, nil},
			{30 * sec, Tick{}, none(), nil},
		}},
		{"abandon after answer is the end of the call", twoQueues(), []step{
			{0, login("a1", nil, "support"), nil, nil},
			{0, enq("c1", "support"), nil, nil},
			{0, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
			{5 * sec, CallAbandoned{Call: "c1"}, []string{st("a1", StateOnCall, StateAvailable, ReasonCallEnded)}, nil},
		}},
		{"join refused: full, no agents", Config{Queues: []QueueConfig{
			{Name: "q", MaxLen: 1, JoinEmpty: EmptyNoneLoggedIn},
		}}, []step{
			{0, enq("c1", "q"), []string{"reject c1 from q (no-agents)"}, nil},
			{0, AgentLogin{Agent: "a1", Queues: []Membership{{Queue: "q"}}}, nil, nil}, // on break: logged in
			{0, enq("c1", "q"), none(), nil},
			{0, enq("c2", "q"), []string{"reject c2 from q (queue-full)"}, nil},
		}},
		{"join refused when nobody is ready", Config{Queues: []QueueConfig{
			{Name: "q", JoinEmpty: EmptyNoneReady},
		}}, []step{
			{0, AgentLogin{Agent: "a1", Queues: []Membership{{Queue: "q"}}}, nil, nil},
			{0, enq("c1", "q"), []string{"reject c1 from q (no-agents)"}, nil},
		}},
		{"a queue its callers would leave refuses new ones", Config{Queues: []QueueConfig{
			{Name: "q", LeaveEmpty: EmptyNoneReady},
		}}, []step{
			{0, AgentLogin{Agent: "a1", Queues: []Membership{{Queue: "q"}}}, nil, nil},
			{0, enq("c1", "q"), []string{"reject c1 from q (no-agents)"}, nil},
			{sec, SetState{Agent: "a1", State: StateAvailable}, nil, nil},
			{sec, enq("c1", "q"), offerTo("c1", "a1", "q"), nil},
		}},
		{"leave when the last agent logs out", Config{Queues: []QueueConfig{
			{Name: "q", LeaveEmpty: EmptyNoneLoggedIn},
		}}, []step{
			{0, AgentLogin{Agent: "a1", Queues: []Membership{{Queue: "q"}}}, nil, nil},
			{0, enq("c1", "q"), none(), nil},
			{0, enq("c2", "q"), none(), nil},
			{sec, AgentLogout{Agent: "a1"}, []string{
				st("a1", StateBreak, StateOffline, ReasonLogout),
				"reject c1 from q (no-agents)", "reject c2 from q (no-agents)",
			}, nil},
		}},
		{"overflow at max wait, not before", Config{Queues: []QueueConfig{
			{Name: "first", MaxWait: 60 * sec, Overflow: "second"},
			{Name: "second"},
		}}, []step{
			{0, login("a2", nil, "second"), nil, nil},
			{0, SetState{Agent: "a2", State: StateBreak}, nil, nil},
			{0, enq("c1", "first"), none(), nil},
			{59 * sec, Tick{}, none(), nil},
			{61 * sec, Tick{}, []string{"overflow c1 to second (max-wait)"}, nil},
			{62 * sec, SetState{Agent: "a2", State: StateAvailable}, cat([]string{st("a2", StateBreak, StateAvailable, ReasonReady)}, offerTo("c1", "a2", "second")), nil},
		}},
		{"exit to a step at max wait; the call's own deadline", Config{Queues: []QueueConfig{
			{Name: "q", MaxWait: 60 * sec, ExitStep: "voicemail"},
		}}, []step{
			{0, enq("c1", "q"), none(), nil},
			{0, CallEnqueued{Call: "c2", Queue: "q", MaxWait: 30 * sec, ExitStep: "sorry"}, none(), nil},
			{30 * sec, Tick{}, []string{`exit c2 to step "sorry" (timeout)`}, nil},
			{60 * sec, Tick{}, []string{`exit c1 to step "voicemail" (max-wait)`}, nil},
		}},
		{"overflow waits for a ringing offer to end", Config{Queues: []QueueConfig{
			{Name: "first", MaxWait: 60 * sec, Overflow: "second", RingTimeout: 20 * sec},
			{Name: "second"},
		}}, []step{
			{0, enq("c1", "first"), none(), nil},
			{50 * sec, login("a1", nil, "first"), cat([]string{st("a1", StateOffline, StateAvailable, ReasonLogin)}, offerTo("c1", "a1", "first")), nil},
			{61 * sec, Tick{}, none(), nil},
			{70 * sec, Tick{}, []string{"cancel offer c1 to a1 (ring-timeout)", "overflow c1 to second (max-wait)", st("a1", StateRinging, StateMissed, ReasonNotReady)}, nil},
		}},
		{"skills widen after 30 s without losing the place", Config{Queues: []QueueConfig{
			{Name: "q", Skills: []SkillReq{{"fr", 80}}, Widen: []Widen{{After: 30 * sec, Skill: "fr", Min: 40}, {After: 60 * sec}}},
		}}, []step{
			{0, login("weak", map[string]int{"fr": 50}, "q"), nil, nil},
			{0, enq("c1", "q"), none(), nil},
			{29 * sec, Tick{}, none(), nil},
			{30 * sec, Tick{}, offerTo("c1", "weak", "q"), nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newEngine(t, tt.cfg), tt.steps)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Queues: []QueueConfig{
		{Name: "a", Strategy: "random", Overflow: "a"},
		{Name: "a"},
		{Name: "b", Overflow: "zz", MaxWait: sec, Skills: []SkillReq{{"x", 0}}, RingTimeout: -1},
		{Name: "c", Widen: []Widen{{After: 2 * sec}, {After: sec}}},
		{},
	}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`queue "a": defined twice`, `unknown strategy "random"`, `overflows to itself`,
		`overflow or exit step without max wait`, `overflow to unknown queue "zz"`,
		`skill "x": level 0`, `negative ring timeout`, `widen step 2`, `queue with no name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// An event that fails changes nothing, so the wiring can report it and
// carry on.
func TestErrorsChangeNothing(t *testing.T) {
	e := newEngine(t, twoQueues())
	runSteps(t, e, []step{
		{0, login("a1", nil, "sales"), nil, nil},
		{0, enq("c1", "sales"), nil, nil},
		{0, enq("c2", "sales"), nil, nil},
	})
	before := snapshot(e)
	for _, ev := range []Event{
		enq("c1", "sales"), OfferAnswered{Call: "c2", Agent: "a1"}, CallEnded{Call: "c1"},
		WrapUpDone{Agent: "a1"}, ChangePriority{Call: "zz", Priority: 3}, login("a1", nil, "sales"),
		OfferRejected{Call: "c2", Agent: "a1"}, SetState{Agent: "a1", State: StateWrapUp},
	} {
		acts, err := e.Handle(nil, t0, ev)
		if err == nil || len(acts) != 0 {
			t.Errorf("%T: err = %v, actions %v", ev, err, acts)
		}
	}
	if after := snapshot(e); after != before {
		t.Errorf("state changed:\n%s\n%s", before, after)
	}
}

func snapshot(e *Engine) string {
	var b strings.Builder
	for _, v := range e.Agents(nil) {
		b.WriteString(strings.Join([]string{string(v.Agent), v.State.String(), v.Reason, string(v.Call)}, " "))
		b.WriteString("\n")
	}
	for _, q := range e.Queues() {
		s, _ := e.QueueStats(t0, q)
		b.WriteString(strings.Join([]string{q, itoa(s.Waiting), itoa(s.Ringing)}, " "))
		b.WriteString("\n")
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPriorityAndFIFO(t *testing.T) {
	e := newEngine(t, twoQueues())
	for i, p := range []int{0, 5, 0, 5, 1} {
		id := CallID("c" + string(rune('1'+i)))
		if _, err := e.Handle(nil, t0.Add(time.Duration(i)*sec), CallEnqueued{Call: id, Queue: "support", Priority: p}); err != nil {
			t.Fatal(err)
		}
	}
	// c2 (5), c4 (5), c5 (1), c1 (0), c3 (0)
	want := []CallID{"c2", "c4", "c5", "c1", "c3"}
	for i, id := range want {
		pos, _, err := e.Estimate(id)
		if err != nil || pos != i+1 {
			t.Errorf("%s: position %d (%v), want %d", id, pos, err, i+1)
		}
	}
	// c3 moves up to 5: behind c2, which is older, ahead of c4.
	mustHandle(t, e, t0.Add(10*sec), ChangePriority{Call: "c3", Priority: 5})
	got := takeAll(t, e, "support", 5)
	wantOrder := []CallID{"c2", "c3", "c4", "c5", "c1"}
	for i := range wantOrder {
		if got[i] != wantOrder[i] {
			t.Fatalf("served %v, want %v", got, wantOrder)
		}
	}
}

// takeAll logs agents in one by one and returns the calls they are offered,
// in order.
func takeAll(t *testing.T, e *Engine, queue string, n int) []CallID {
	t.Helper()
	var got []CallID
	for i := range n {
		acts := mustHandle(t, e, t0.Add(time.Minute+time.Duration(i)*sec), login("taker"+itoa(i), nil, queue))
		for _, a := range acts {
			if a.Kind == Offer {
				got = append(got, a.Call)
			}
		}
	}
	return got
}

func mustHandle(t testing.TB, e *Engine, now time.Time, ev Event) []Action {
	t.Helper()
	acts, err := e.Handle(nil, now, ev)
	if err != nil {
		t.Fatalf("%T: %v", ev, err)
	}
	if err := e.check(); err != nil {
		t.Fatalf("%T: %v", ev, err)
	}
	return acts
}

func TestEnterAtPosition(t *testing.T) {
	e := newEngine(t, twoQueues())
	mustHandle(t, e, t0, CallEnqueued{Call: "hi", Queue: "support", Priority: 9})
	for _, id := range []CallID{"a", "b", "c"} {
		mustHandle(t, e, t0, CallEnqueued{Call: id, Queue: "support"})
	}
	// Position 1 cannot jump the priority-9 call: first of its band.
	mustHandle(t, e, t0, CallEnqueued{Call: "p1", Queue: "support", Position: 1})
	mustHandle(t, e, t0, CallEnqueued{Call: "p4", Queue: "support", Position: 4})
	mustHandle(t, e, t0, CallEnqueued{Call: "p99", Queue: "support", Position: 99})
	// Twenty inserts at the same place fit in the gap between two keys;
	// more exhaust it without breaking the order (they go just behind p1).
	for i := range 30 {
		mustHandle(t, e, t0, CallEnqueued{Call: CallID("x" + itoa(i)), Queue: "support", Position: 3})
		if i == 19 {
			if got, _, _ := e.Estimate("x19"); got != 3 {
				t.Errorf("20th insert at position 3 is at %d", got)
			}
		}
	}
	want := map[CallID]int{"hi": 1, "p1": 2, "a": 33, "p4": 34, "b": 35, "p99": 37}
	for id, pos := range want {
		if got, _, _ := e.Estimate(id); got != pos {
			t.Errorf("%s at %d, want %d", id, got, pos)
		}
	}
	for i := range 30 {
		if got, _, _ := e.Estimate(CallID("x" + itoa(i))); got < 3 || got > 32 {
			t.Errorf("x%d at %d, want between p1 and a", i, got)
		}
	}
}

func TestRequeueGoesToFrontOfItsPriority(t *testing.T) {
	e := newEngine(t, twoQueues())
	mustHandle(t, e, t0, login("a1", nil, "support"))
	mustHandle(t, e, t0.Add(sec), enq("c1", "support")) // offered to a1
	mustHandle(t, e, t0.Add(2*sec), CallEnqueued{Call: "hi", Queue: "support", Priority: 3})
	mustHandle(t, e, t0.Add(3*sec), enq("c2", "support"))
	mustHandle(t, e, t0.Add(4*sec), enq("c3", "support"))
	mustHandle(t, e, t0.Add(5*sec), OfferTimeout{Call: "c1", Agent: "a1"})
	for id, want := range map[CallID]int{"hi": 1, "c1": 2, "c2": 3, "c3": 4} {
		if got, _, _ := e.Estimate(id); got != want {
			t.Errorf("%s at %d, want %d", id, got, want)
		}
	}
}

func TestWrapUpBlocksEveryQueue(t *testing.T) {
	e := newEngine(t, twoQueues())
	mustHandle(t, e, t0, login("a1", nil, "sales", "support"))
	mustHandle(t, e, t0, enq("c1", "sales"))
	mustHandle(t, e, t0, OfferAnswered{Call: "c1", Agent: "a1"})
	mustHandle(t, e, t0.Add(5*sec), CallEnded{Call: "c1"}) // sales: 10 s wrap-up
	if acts := mustHandle(t, e, t0.Add(6*sec), enq("c2", "support")); len(acts) != 0 {
		t.Fatalf("offered during wrap-up: %v", acts)
	}
	if acts := mustHandle(t, e, t0.Add(14*sec), enq("c3", "sales")); len(acts) != 0 {
		t.Fatalf("offered during wrap-up: %v", acts)
	}
	acts := mustHandle(t, e, t0.Add(15*sec), Tick{})
	if len(acts) != 3 || acts[1].Kind != Offer || acts[1].Call != "c2" {
		t.Fatalf("after wrap-up: %v", acts)
	}
}

func offers(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if a.Kind == Offer {
			out = append(out, string(a.Agent))
		}
	}
	return out
}

// cycle enqueues a call, answers it on the offered agent and ends it; the
// agent is free again (support has no wrap-up).
func cycle(t *testing.T, e *Engine, now time.Time, q string, id CallID) string {
	t.Helper()
	acts := mustHandle(t, e, now, enq(string(id), q))
	got := offers(acts)
	if len(got) != 1 {
		t.Fatalf("%s: offers %v", id, got)
	}
	mustHandle(t, e, now, OfferAnswered{Call: id, Agent: AgentID(got[0])})
	mustHandle(t, e, now.Add(sec), CallEnded{Call: id})
	return got[0]
}

func TestLongestIdle(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q"}}})
	for i, a := range []string{"a", "b", "c"} {
		mustHandle(t, e, t0.Add(time.Duration(i)*sec), login(a, nil, "q"))
	}
	now := t0.Add(10 * sec)
	var got []string
	for i := range 6 {
		got = append(got, cycle(t, e, now.Add(time.Duration(i)*10*sec), "q", CallID("c"+itoa(i))))
	}
	if strings.Join(got, "") != "abcabc" {
		t.Errorf("longest idle served %v", got)
	}
	// A break does not cost the turn: b goes on break and comes back; b
	// still finished its last call before c.
	mustHandle(t, e, now.Add(100*sec), SetState{Agent: "a", State: StateBreak})
	mustHandle(t, e, now.Add(101*sec), SetState{Agent: "b", State: StateBreak})
	mustHandle(t, e, now.Add(102*sec), SetState{Agent: "b", State: StateAvailable})
	if a := cycle(t, e, now.Add(103*sec), "q", "x"); a != "b" {
		t.Errorf("after break: %s, want b", a)
	}
}

func TestRoundRobinCycles(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: RoundRobin}}})
	for _, a := range []string{"a", "b", "c", "d"} {
		mustHandle(t, e, t0, login(a, nil, "q"))
	}
	var got []string
	for i := range 8 {
		got = append(got, cycle(t, e, t0.Add(time.Duration(i)*sec), "q", CallID("c"+itoa(i))))
	}
	if strings.Join(got, "") != "abcdabcd" {
		t.Errorf("round robin served %v", got)
	}
	// b busy: the cycle skips it and resumes after the agent offered last.
	mustHandle(t, e, t0.Add(20*sec), SetState{Agent: "b", State: StateBreak})
	got = got[:0]
	for i := range 4 {
		got = append(got, cycle(t, e, t0.Add(time.Duration(30+i)*sec), "q", CallID("d"+itoa(i))))
	}
	if strings.Join(got, "") != "acda" {
		t.Errorf("round robin without b served %v", got)
	}
}

func TestFewestCallsAndRollover(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: FewestCalls}, {Name: "other"}}})
	mustHandle(t, e, t0, login("a", nil, "q", "other"))
	mustHandle(t, e, t0, login("b", nil, "q"))
	for i := range 3 { // a takes calls in the other queue
		cycle(t, e, t0.Add(time.Duration(i)*sec), "other", CallID("o"+itoa(i)))
	}
	var got []string
	for i := range 5 {
		got = append(got, cycle(t, e, t0.Add(time.Duration(10+i)*sec), "q", CallID("c"+itoa(i))))
	}
	if strings.Join(got, "") != "bbbab" && strings.Join(got, "") != "bbbba" {
		t.Errorf("fewest calls served %v", got)
	}
	// Next day: counts reset; a finished its last call before b, so a.
	next := time.Date(2026, 3, 3, 0, 0, 1, 0, time.UTC)
	mustHandle(t, e, next, Tick{})
	if v, _ := e.Agent("a"); v.CallsToday != 0 {
		t.Errorf("calls today after midnight: %d", v.CallsToday)
	}
	if s, _ := e.QueueStats(next, "q"); s.Answered != 0 {
		t.Errorf("answered after midnight: %d", s.Answered)
	}
}

func TestSkillsWeightedAndEligibility(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: SkillsWeighted, Skills: []SkillReq{{"en", 10}, {"cards", 10}}}}})
	mustHandle(t, e, t0, login("novice", map[string]int{"en": 50, "cards": 20}, "q"))
	mustHandle(t, e, t0, login("expert", map[string]int{"en": 60, "cards": 90}, "q"))
	mustHandle(t, e, t0, login("french", map[string]int{"fr": 90, "cards": 90}, "q"))
	mustHandle(t, e, t0, login("mid", map[string]int{"en": 50, "cards": 60}, "q"))
	var got []string
	for i := range 3 {
		acts := mustHandle(t, e, t0.Add(sec), enq("c"+itoa(i), "q"))
		got = append(got, offers(acts)...)
	}
	if strings.Join(got, ",") != "expert,mid,novice" {
		t.Errorf("skills weighted served %v", got)
	}
	// Nobody left who speaks English: the call waits, french stays idle.
	if acts := mustHandle(t, e, t0.Add(2*sec), enq("c9", "q")); len(acts) != 0 {
		t.Errorf("offered to an agent without the skill: %v", acts)
	}
	// A call's own skill on top of the queue's.
	mustHandle(t, e, t0.Add(3*sec), CallAbandoned{Call: "c9"})
	mustHandle(t, e, t0.Add(3*sec), login("bilingual", map[string]int{"en": 20, "fr": 20, "cards": 20}, "q"))
	mustHandle(t, e, t0.Add(3*sec), OfferAnswered{Call: "c0", Agent: "expert"})
	mustHandle(t, e, t0.Add(4*sec), CallEnded{Call: "c0"})
	acts := mustHandle(t, e, t0.Add(5*sec), CallEnqueued{Call: "fr1", Queue: "q", Skills: []SkillReq{{"fr", 10}}})
	if o := offers(acts); len(o) != 1 || o[0] != "bilingual" {
		t.Errorf("call needing fr offered to %v", o)
	}
}

func TestRingAll(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: RingAll, RingTimeout: 20 * sec}}, Miss: MissPolicy{RejectBackoff: time.Minute}})
	for _, a := range []string{"a", "b", "c"} {
		mustHandle(t, e, t0, login(a, nil, "q"))
	}
	acts := mustHandle(t, e, t0.Add(sec), enq("c1", "q"))
	if o := offers(acts); strings.Join(o, "") != "abc" {
		t.Fatalf("ring all offered %v", o)
	}
	mustHandle(t, e, t0.Add(2*sec), enq("c2", "q")) // waits: everyone rings
	mustHandle(t, e, t0.Add(3*sec), login("d", nil, "q"))
	if v, _ := e.Agent("d"); v.Call != "c1" {
		t.Fatalf("late agent rings for %q, want c1", v.Call)
	}
	acts = mustHandle(t, e, t0.Add(4*sec), OfferAnswered{Call: "c1", Agent: "b"})
	want := []string{
		"cancel offer c1 to a (answered-elsewhere)", st("a", StateRinging, StateAvailable, ReasonAnsweredElsewhere),
		"cancel offer c1 to c (answered-elsewhere)", st("c", StateRinging, StateAvailable, ReasonAnsweredElsewhere),
		"cancel offer c1 to d (answered-elsewhere)", st("d", StateRinging, StateAvailable, ReasonAnsweredElsewhere),
		st("b", StateRinging, StateOnCall, ReasonAnswered),
		"offer c2 to a (q)", st("a", StateAvailable, StateRinging, ReasonOffer),
		"offer c2 to c (q)", st("c", StateAvailable, StateRinging, ReasonOffer),
		"offer c2 to d (q)", st("d", StateAvailable, StateRinging, ReasonOffer),
	}
	if got := strs(acts); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("answer:\n%s", strings.Join(got, "\n"))
	}
	// One agent rings out: the others keep ringing, the call stays.
	mustHandle(t, e, t0.Add(5*sec), OfferTimeout{Call: "c2", Agent: "a"})
	if v, _ := e.Agent("c"); v.Call != "c2" {
		t.Fatalf("c rings for %q", v.Call)
	}
	mustHandle(t, e, t0.Add(6*sec), OfferRejected{Call: "c2", Agent: "c"})
	mustHandle(t, e, t0.Add(6*sec), OfferRejected{Call: "c2", Agent: "d"})
	s, _ := e.QueueStats(t0.Add(6*sec), "q")
	if s.Waiting != 1 || s.Ringing != 0 || s.Missed != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestCrossQueueWeightAndPenalty(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "low"}, {Name: "high", Weight: 10}, {Name: "backup"}}})
	mustHandle(t, e, t0, enq("l1", "low"))
	mustHandle(t, e, t0.Add(sec), enq("h1", "high"))
	mustHandle(t, e, t0.Add(2*sec), CallEnqueued{Call: "b1", Queue: "backup", Priority: 9})
	acts := mustHandle(t, e, t0.Add(3*sec), AgentLogin{Agent: "a", Available: true, Queues: []Membership{
		{Queue: "low"}, {Queue: "high"}, {Queue: "backup", Penalty: 5},
	}})
	if o := offers(acts); len(o) != 1 || acts[1].Call != "h1" {
		t.Fatalf("weight: %v", acts)
	}
	mustHandle(t, e, t0.Add(4*sec), OfferAnswered{Call: "h1", Agent: "a"})
	acts = mustHandle(t, e, t0.Add(5*sec), CallEnded{Call: "h1"})
	if acts[1].Call != "l1" { // penalty 0 in low beats penalty 5 in backup, despite priority
		t.Fatalf("penalty: %v", acts)
	}
	// Within a queue, a lower penalty is offered first.
	e = newEngine(t, Config{Queues: []QueueConfig{{Name: "q"}}})
	mustHandle(t, e, t0, AgentLogin{Agent: "second", Available: true, Queues: []Membership{{Queue: "q", Penalty: 1}}})
	mustHandle(t, e, t0.Add(sec), AgentLogin{Agent: "first", Available: true, Queues: []Membership{{Queue: "q"}}})
	if o := offers(mustHandle(t, e, t0.Add(2*sec), enq("c", "q"))); o[0] != "first" {
		t.Errorf("penalty within queue: %v", o)
	}
}

func TestAnnouncementsAndStats(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", AnnouncePeriod: 30 * sec, HandleTime: 2 * time.Minute, ShortAbandon: 5 * sec, WrapUp: 10 * sec, RingTimeout: 10 * time.Minute}}})
	mustHandle(t, e, t0, login("a1", nil, "q"))
	mustHandle(t, e, t0, login("a2", nil, "q"))
	for i := range 4 {
		mustHandle(t, e, t0, enq("c"+itoa(i), "q"))
	}
	// c0 and c1 ring; c2 and c3 wait. 2 staffed, AHT 2 min: 1 min per place.
	if pos, ewt, _ := e.Estimate("c3"); pos != 4 || ewt != 4*time.Minute {
		t.Errorf("estimate c3: %d %v", pos, ewt)
	}
	acts := mustHandle(t, e, t0.Add(30*sec), Tick{})
	want := []string{"announce c2 position 3 ewt 3m0s", "announce c3 position 4 ewt 4m0s"}
	if strings.Join(strs(acts), "|") != strings.Join(want, "|") {
		t.Errorf("announcements: %v", strs(acts))
	}
	if d, ok := e.NextDeadline(); !ok || !d.Equal(t0.Add(60*sec)) {
		t.Errorf("next deadline %v %v", d, ok)
	}
	mustHandle(t, e, t0.Add(31*sec), OfferAnswered{Call: "c0", Agent: "a1"})
	mustHandle(t, e, t0.Add(32*sec), CallAbandoned{Call: "c3"})
	mustHandle(t, e, t0.Add(91*sec), CallEnded{Call: "c0"})
	mustHandle(t, e, t0.Add(95*sec), WrapUpDone{Agent: "a1"}) // handle time 60 + 4 s
	s, err := e.QueueStats(t0.Add(95*sec), "q")
	if err != nil {
		t.Fatal(err)
	}
	if s.Answered != 1 || s.AnsweredInSL != 0 || s.Abandoned != 1 || s.AbandonedInSL != 0 || s.AHT != 64*sec {
		t.Errorf("stats %+v", s)
	}
	if s.Agents.Ringing != 2 || s.Waiting != 2 || s.LongestWait != 95*sec {
		t.Errorf("stats %+v", s)
	}
	if sl, ok := s.ServiceLevel(SLDefault); !ok || sl != 0 {
		t.Errorf("service level %v %v", sl, ok)
	}
	v, _ := e.Agent("a1")
	if v.State != StateRinging || v.Call != "c2" || v.CallsToday != 1 || v.Queue != "q" {
		t.Errorf("agent view %+v", v)
	}
	if _, err := e.QueueStats(t0, "nope"); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
}

func TestServiceLevelVariants(t *testing.T) {
	s := QueueStats{Answered: 8, AnsweredInSL: 6, Abandoned: 4, AbandonedInSL: 2, ShortAbandoned: 2}
	for v, want := range map[SLVariant]float64{SLDefault: 0.6, SLAnswered: 0.75, SLAnsweredAndAbandoned: 8.0 / 12} {
		if got, ok := s.ServiceLevel(v); !ok || got != want {
			t.Errorf("variant %d: %v, want %v", v, got, want)
		}
	}
	if _, ok := (QueueStats{}).ServiceLevel(SLDefault); ok {
		t.Error("service level of nothing")
	}
}

func TestTimeNeverGoesBack(t *testing.T) {
	e := newEngine(t, twoQueues())
	mustHandle(t, e, t0.Add(time.Minute), login("a1", nil, "support"))
	mustHandle(t, e, t0, enq("c1", "support")) // earlier clock: treated as a minute in
	if v, _ := e.Agent("a1"); !v.Since.Equal(t0.Add(time.Minute)) {
		t.Errorf("since %v", v.Since)
	}
}

// Agents released together (ring_all answered elsewhere) are matched by the
// strategy of the queue whose call they take, not by release order.
func TestReleasedAgentsFollowStrategy(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "r", Strategy: RingAll}, {Name: "l"}}})
	mustHandle(t, e, t0, login("a", nil, "r", "l"))
	mustHandle(t, e, t0.Add(1*sec), login("c", nil, "r", "l"))
	mustHandle(t, e, t0.Add(2*sec), login("b", nil, "r"))
	if a := cycle(t, e, t0.Add(2*sec), "l", "x"); a != "a" { // a idle since 3 s now, c since 1 s
		t.Fatalf("x went to %s", a)
	}
	if o := offers(mustHandle(t, e, t0.Add(4*sec), enq("r1", "r"))); strings.Join(o, "") != "acb" {
		t.Fatalf("ring all: %v", o)
	}
	mustHandle(t, e, t0.Add(5*sec), enq("l1", "l"))
	acts := mustHandle(t, e, t0.Add(6*sec), OfferAnswered{Call: "r1", Agent: "b"})
	if o := offers(acts); len(o) != 1 || o[0] != "c" {
		t.Fatalf("released agents: l1 offered to %v, want c (idle longest):\n%s", o, strings.Join(strs(acts), "\n"))
	}
}

func TestQueueStatsASA(t *testing.T) {
	e := newEngine(t, twoQueues())
	mustHandle(t, e, t0, enq("c1", "support"))
	mustHandle(t, e, t0, enq("c2", "support"))
	mustHandle(t, e, t0.Add(4*sec), login("a1", nil, "support"))
	mustHandle(t, e, t0.Add(5*sec), OfferAnswered{Call: "c1", Agent: "a1"})
	mustHandle(t, e, t0.Add(6*sec), login("a2", nil, "support"))
	mustHandle(t, e, t0.Add(9*sec), OfferAnswered{Call: "c2", Agent: "a2"})
	s, err := e.QueueStats(t0.Add(10*sec), "support")
	if err != nil {
		t.Fatal(err)
	}
	// c1 waited 5 s, c2 9 s.
	if s.Answered != 2 || s.ASA != 7*sec {
		t.Fatalf("answered %d, ASA %v: want 2 and 7s", s.Answered, s.ASA)
	}
}
