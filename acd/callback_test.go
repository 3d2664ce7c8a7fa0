package acd

import (
	"errors"
	"maps"
	"math/rand/v2"
	"testing"
	"time"
)

func lineOrder(e *Engine, queue string) []CallID {
	var out []CallID
	for n := e.queues[queue].line.first(); n != nil; n = n.next[0] {
		out = append(out, n.val.id)
	}
	return out
}

func TestCallbackKeepsPlaceAndRetriesAtFront(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", MaxWait: time.Minute, ExitStep: "out"}}})
	runSteps(t, e, []step{
		{ev: login("a", nil, "q"), want: nil},
		{ev: SetState{Agent: "a", State: StateBreak}},
		{at: time.Second, ev: CallEnqueued{Call: "cb", Queue: "q", MaxWait: 30 * time.Second}},
		{at: 2 * time.Second, ev: enq("c2", "q")},
		{at: 3 * time.Second, ev: CallbackConverted{Call: "cb"}, want: none()},
		// Neither the flow's bound (30 s) nor the queue's (1 min) sends
		// the callback away.
		{at: 2 * time.Minute, ev: Tick{}, want: []string{`exit c2 to step "out" (max-wait)`}},
		{at: 2*time.Minute + time.Second, ev: enq("c3", "q")},
		{at: 2*time.Minute + 2*time.Second, ev: SetState{Agent: "a", State: StateAvailable},
			want: cat([]string{st("a", StateBreak, StateAvailable, ReasonReady)}, offerTo("cb", "a", "q"))},
		{at: 2*time.Minute + 3*time.Second, ev: OfferAnswered{Call: "cb", Agent: "a"}},
		// The dial failed: the agent is free at once and the callback is
		// held at the front, so c3 is offered meanwhile.
		{at: 2*time.Minute + 4*time.Second, ev: CallbackRequeue{Call: "cb"},
			want: cat([]string{st("a", StateOnCall, StateAvailable, ReasonCallbackFailed)}, offerTo("c3", "a", "q"))},
		{at: 2*time.Minute + 6*time.Second, ev: enq("c4", "q")},
	})
	if got := lineOrder(e, "q"); len(got) != 3 || got[0] != "cb" || got[1] != "c3" || got[2] != "c4" {
		t.Fatalf("line = %v, want cb (held) first", got)
	}
	if !e.Held("cb") {
		t.Fatal("callback not held")
	}
	s, _ := e.QueueStats(t0.Add(3*time.Minute), "q")
	if s.Waiting != 3 || s.Answered != 0 || s.Abandoned != 0 {
		t.Fatalf("stats waiting %d answered %d abandoned %d, want 3 0 0", s.Waiting, s.Answered, s.Abandoned)
	}
	runSteps(t, e, []step{
		{at: 3 * time.Minute, ev: SetState{Agent: "a", State: StateAvailable}},
		{at: 3*time.Minute + time.Second, ev: CallbackReady{Call: "cb"}},
		{at: 3*time.Minute + 2*time.Second, ev: CallbackReady{Call: "cb"}, err: ErrBadState},
		{at: 3*time.Minute + 3*time.Second, ev: CallbackRemoved{Call: "cb"}},
	})
	s, _ = e.QueueStats(t0.Add(4*time.Minute), "q")
	if s.Abandoned != 0 || s.Waiting != 2 {
		t.Fatalf("after removal: abandoned %d waiting %d", s.Abandoned, s.Waiting)
	}
}

func TestCallbackRemovedWhileRingingOrAccepted(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q"}}})
	runSteps(t, e, []step{
		{ev: enq("cb", "q")},
		{ev: CallbackConverted{Call: "cb"}},
		{ev: login("a", nil, "q"), want: cat([]string{st("a", StateOffline, StateAvailable, ReasonLogin)}, offerTo("cb", "a", "q"))},
		{ev: CallbackRemoved{Call: "cb"}, want: []string{
			"cancel offer cb to a (callback-removed)", st("a", StateRinging, StateAvailable, ReasonCallbackRemoved)}},
		{ev: enq("cb2", "q")},
		{ev: OfferAnswered{Call: "cb2", Agent: "a"}},
		{ev: CallbackRequeue{Call: "nope"}, err: ErrUnknownCall},
		{ev: CallbackRemoved{Call: "cb2"}, want: []string{st("a", StateOnCall, StateAvailable, ReasonCallbackFailed)}},
	})
	if s, _ := e.QueueStats(t0, "q"); s.Answered != 0 || s.Abandoned != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestCallbackOrderProperty mixes callbacks into random traffic: a callback
// is offered exactly when a call would have been in its place, so every
// offer goes to the head of the line among offerable calls, and a callback
// whose dial failed is ahead of every call that was behind it.
func TestCallbackOrderProperty(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q"}}})
		now := t0
		isCB := map[CallID]bool{}
		held := map[CallID]bool{}
		connected := map[CallID]AgentID{}
		ringing := map[CallID]AgentID{}
		handle := func(ev Event) []Action {
			now = now.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
			before := lineOrder(e, "q")
			wasRinging := maps.Clone(ringing)
			acts, err := e.Handle(nil, now, ev)
			if _, ok := ev.(OfferAnswered); ok && errors.Is(err, ErrNoOffer) {
				err = nil // the ring timed out first (timers run before the event)
			}
			if err != nil {
				t.Fatalf("seed %d: %T: %v", seed, ev, err)
			}
			if err := e.check(); err != nil {
				t.Fatalf("seed %d: after %T: %v", seed, ev, err)
			}
			for _, a := range acts {
				switch a.Kind {
				case Offer:
					// The offered call is the first offerable one in the
					// line as it stood (requeues go to the front).
					// A call whose ring timed out went to the front.
					for _, id := range before {
						if id == a.Call || wasRinging[a.Call] != "" {
							break
						}
						if !held[id] && ringing[id] == "" && id != a.Call {
							if _, ok := e.calls[id]; ok && e.calls[id].state == callWaiting {
								t.Fatalf("seed %d: %T: %s offered ahead of %s; line %v", seed, ev, a.Call, id, before)
							}
						}
					}
					ringing[a.Call] = a.Agent
				case CancelOffer:
					delete(ringing, a.Call)
				}
			}
			return acts
		}
		for i := range 4 {
			handle(login(string(rune('a'+i)), nil, "q"))
			handle(SetState{Agent: AgentID(rune('a' + i)), State: StateBreak})
		}
		for i := range 300 {
			switch k := r.IntN(10); {
			case k < 3:
				id := CallID("c" + string(rune('A'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260)))
				if _, dup := e.calls[id]; dup {
					continue
				}
				handle(enq(string(id), "q"))
			case k < 4:
				for _, id := range lineOrder(e, "q") {
					if !isCB[id] && !held[id] {
						handle(CallbackConverted{Call: id})
						isCB[id] = true
						break
					}
				}
			case k < 6:
				for c, a := range ringing {
					handle(OfferAnswered{Call: c, Agent: a})
					delete(ringing, c)
					if ca := e.calls[c]; ca != nil && ca.state == callConnected {
						connected[c] = a
					}
					break
				}
			case k < 7:
				for c := range connected {
					delete(connected, c)
					if isCB[c] && r.IntN(2) == 0 {
						behind := lineOrder(e, "q")
						handle(CallbackRequeue{Call: c})
						held[c] = true
						if got := lineOrder(e, "q"); got[0] != c || len(got) != len(behind)+1 {
							t.Fatalf("seed %d: requeued callback %s not at the front: %v", seed, c, got)
						}
					} else {
						handle(CallEnded{Call: c})
					}
					break
				}
			case k < 8:
				for c := range held {
					delete(held, c)
					handle(CallbackReady{Call: c})
					break
				}
			default:
				a := AgentID(rune('a' + r.IntN(4)))
				if v, _ := e.Agent(a); v.State == StateBreak || v.State == StateMissed || v.State == StateWrapUp {
					handle(SetState{Agent: a, State: StateAvailable})
				}
			}
		}
	}
}
