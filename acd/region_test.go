package acd

import (
	"errors"
	"testing"
	"time"
)

func regionLogin(id string, regions ...string) AgentLogin {
	ev := login(id, nil, "q")
	ev.Regions = regions
	return ev
}

func regionCall(id, region string) CallEnqueued {
	ev := enq(id, "q")
	ev.Region = region
	return ev
}

// A caller of a region goes to the region's agent even when another agent
// has been idle longer; after the region wait anyone eligible takes it.
func TestPreferRegion(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", PreferRegion: true, RegionWait: 20 * sec}}})
	runSteps(t, e, []step{
		{at: 0, ev: regionLogin("bob")},
		{at: 1 * sec, ev: regionLogin("alice", "west")},
		{at: 2 * sec, ev: regionCall("c1", "west"), want: offerTo("c1", "alice", "q")},
		{at: 2 * sec, ev: OfferAnswered{Call: "c1", Agent: "alice"}},
		// alice is busy; bob is idle but not of the region: c2 waits.
		{at: 3 * sec, ev: regionCall("c2", "west"), want: none()},
		{at: 22 * sec, ev: Tick{}, want: none()},
		{at: 23 * sec, ev: Tick{}, want: offerTo("c2", "bob", "q")},
	})
	if _, ok := e.NextDeadline(); !ok {
		t.Fatal("no ring timers")
	}
}

// A region no logged-in agent of the queue serves is not waited for, nor is
// a call without a region, nor a call in a queue without the preference.
func TestPreferRegionNobodyThere(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", PreferRegion: true}, {Name: "plain"}}})
	runSteps(t, e, []step{
		{at: 0, ev: regionLogin("bob")},
		{at: 1 * sec, ev: AgentLogin{Agent: "alice", Queues: []Membership{{Queue: "q"}, {Queue: "plain"}}, Regions: []string{"west"}, Available: true}},
		{at: 2 * sec, ev: regionCall("c1", "GB"), want: offerTo("c1", "bob", "q")},
		{at: 3 * sec, ev: OfferAnswered{Call: "c1", Agent: "bob"}},
		{at: 4 * sec, ev: regionCall("c2", ""), want: offerTo("c2", "alice", "q")},
		{at: 5 * sec, ev: CallAbandoned{Call: "c2"}},
		{at: 6 * sec, ev: CallEnqueued{Call: "c3", Queue: "plain", Region: "east"}, want: offerTo("c3", "alice", "plain")},
	})
}

// The default wait is 20 s; an agent of the region who becomes free takes
// the call at once; a region agent logging out leaves the preference to
// run out.
func TestPreferRegionAgentFreed(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q", PreferRegion: true}}})
	runSteps(t, e, []step{
		{at: 0, ev: regionLogin("alice", "west", "east")},
		{at: 0, ev: regionLogin("bob")},
		{at: 1 * sec, ev: regionCall("c1", "east"), want: offerTo("c1", "alice", "q")},
		{at: 2 * sec, ev: OfferAnswered{Call: "c1", Agent: "alice"}},
		{at: 3 * sec, ev: regionCall("c2", "west"), want: none()},
		{at: 5 * sec, ev: CallEnded{Call: "c1"}, want: []string{
			"agent alice on_call -> available (call-ended)",
			"offer c2 to alice (q)", "agent alice available -> ringing (offer)",
		}},
		{at: 6 * sec, ev: OfferRejected{Call: "c2", Agent: "alice"}},
		{at: 6 * sec, ev: AgentLogout{Agent: "alice"}},
		{at: 22 * sec, ev: Tick{}, want: none()},
		{at: 23 * sec, ev: Tick{}, want: offerTo("c2", "bob", "q")},
	})
	if e.queues["q"].regionIn[e.skills[regionSkill("west")]] != 0 {
		t.Fatal("alice still counted")
	}
}

// Overflowing into a queue re-decides the preference there, and widening
// skills does not drop the region's requirement.
func TestPreferRegionOverflowAndWiden(t *testing.T) {
	e := newEngine(t, Config{Queues: []QueueConfig{
		{Name: "a", MaxWait: 30 * sec, Overflow: "b", PreferRegion: true, RegionWait: time.Minute,
			Skills: []SkillReq{{"cards", 50}}, Widen: []Widen{{After: 5 * sec, Min: 0}}},
		{Name: "b", PreferRegion: true, RegionWait: 10 * sec},
	}})
	runSteps(t, e, []step{
		{at: 0, ev: AgentLogin{Agent: "bob", Queues: []Membership{{Queue: "a"}, {Queue: "b"}}, Skills: map[string]int{"cards": 90}, Available: true}},
		{at: 0, ev: AgentLogin{Agent: "alice", Queues: []Membership{{Queue: "a"}, {Queue: "b"}}, Regions: []string{"west"}}},
		{at: 1 * sec, ev: CallEnqueued{Call: "c1", Queue: "a", Region: "west"}, want: none()},
		{at: 10 * sec, ev: Tick{}, want: none()}, // widened, still west only; alice on break
		{at: 31 * sec, ev: Tick{}, want: []string{"overflow c1 to b (max-wait)"}},
		{at: 40 * sec, ev: Tick{}, want: none()},
		{at: 41 * sec, ev: Tick{}, want: offerTo("c1", "bob", "b")},
	})
}

func TestRegionValidation(t *testing.T) {
	if _, err := New(Config{Queues: []QueueConfig{{Name: "q", PreferRegion: true, RegionWait: -sec}}}); err == nil {
		t.Error("negative region wait accepted")
	}
	e := newEngine(t, Config{Queues: []QueueConfig{{Name: "q"}}})
	if _, err := e.Handle(nil, t0, AgentLogin{Agent: "a", Queues: []Membership{{Queue: "q"}}, Regions: []string{""}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty region: %v", err)
	}
}
