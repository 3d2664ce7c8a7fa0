package queue

import (
	"context"
	"testing"
	"time"

	"hotline/acd"
)

// A caller's region reaches the core (the region's agent is preferred over
// one idle longer) and the offer, and an agent's regions may come as
// RegionSkill pseudo-skills, which are not kept as skills.
func TestRegionPreferredAndOffered(t *testing.T) {
	sink := &fakeSink{}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring, WrapUp: time.Minute, PreferRegion: true, RegionWait: time.Minute}),
		Sink: sink, Connector: &talkConnector{talk: time.Minute}})
	bob := newPhone(t, rt, "bob", ignore)
	login(t, rt, "bob", bob, "general")
	time.Sleep(10 * time.Millisecond) // bob is idle longer
	alice := newPhone(t, rt, "alice", answer)
	err := rt.Login(context.Background(), Agent{ID: "alice", Endpoint: alice, Available: true,
		Queues: []acd.Membership{{Queue: "general"}}, Skills: map[string]int{RegionSkill("west"): 1}})
	if err != nil {
		t.Fatal(err)
	}

	c := enter(t, rt, Entry{Queue: "general", Region: "west"})
	eventually(t, "offer to alice", func() bool { return len(alice.offers()) == 1 })
	if o := alice.offers()[0]; o.Region != "west" || o.CallID != c.id() {
		t.Errorf("offer = %+v", o)
	}
	if n := len(bob.offers()); n != 0 {
		t.Errorf("bob offered %d calls", n)
	}
	eventually(t, "queue log", func() bool { return len(sink.logEvents(c.id())) >= 1 })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, row := range sink.log {
		if row.CallID.String() == c.id() && row.Event == "enter" && row.Data["region"] != "west" {
			t.Errorf("enter row = %+v", row)
		}
	}
}

// A transfer to a named agent is not held back by the caller's region.
func TestRegionTransferToAgent(t *testing.T) {
	sink, conn := &fakeSink{}, &moveConnector{hold: "alice"}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring, WrapUp: time.Minute, PreferRegion: true, RegionWait: time.Minute}),
		Sink: sink, Connector: conn})
	alice := newPhone(t, rt, "alice", answer)
	if err := rt.Login(context.Background(), Agent{ID: "alice", Endpoint: alice, Available: true,
		Queues: []acd.Membership{{Queue: "general"}}, Regions: []string{"west"}}); err != nil {
		t.Fatal(err)
	}
	bob := newPhone(t, rt, "bob", answer)
	login(t, rt, "bob", bob, "general")

	c := enter(t, rt, Entry{Queue: "general", Region: "west"})
	answeredBy(t, sink, c, "alice")
	if err := rt.Transfer(context.Background(), "alice", c.id(), Requeue{Agent: "bob"}); err != nil {
		t.Fatal(err)
	}
	answeredBy(t, sink, c, "bob")
	if o := bob.offers(); len(o) != 1 || o[0].Region != "west" {
		t.Errorf("bob's offers = %+v", o)
	}
}
