package queue

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/call"
	"hotline/store"
)

// moveConnector holds hold's conversations until they are ended, loses
// lose's first one once release is closed, and ends the others soon.
type moveConnector struct {
	hold, lose AgentID
	release    chan struct{}

	mu   sync.Mutex
	got  []AgentID
	lost bool
}

func (c *moveConnector) Connect(ctx context.Context, _ *call.Call, agent AgentID) error {
	c.mu.Lock()
	c.got = append(c.got, agent)
	lose := agent == c.lose && !c.lost
	c.lost = c.lost || lose
	c.mu.Unlock()
	switch {
	case lose:
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil
		}
		return &Requeue{Front: true, Lost: true, Reason: "agent-lost"}
	case agent == c.hold:
		<-ctx.Done()
		return nil
	}
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
	}
	return nil
}

func (c *moveConnector) agents() []AgentID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func twoQueues() acd.Config {
	return acd.Config{Queues: []acd.QueueConfig{
		{Name: "general", RingTimeout: ring, WrapUp: time.Minute},
		{Name: "cards", RingTimeout: ring, WrapUp: time.Minute},
	}}
}

func answeredBy(t *testing.T, sink *fakeSink, c *caller, agent string) {
	t.Helper()
	eventually(t, "answered by "+agent, func() bool {
		es := sink.final(c.id())
		return len(es) > 0 && es[len(es)-1].AgentID == agent && !es[len(es)-1].AnsweredAt.IsZero()
	})
}

func TestTransferToQueue(t *testing.T) {
	sink, conn := &fakeSink{}, &moveConnector{hold: "alice"}
	rt := start(t, Config{ACD: twoQueues(), Sink: sink, Connector: conn})
	login(t, rt, "alice", newPhone(t, rt, "alice", answer), "general")
	bob := newPhone(t, rt, "bob", answer)
	login(t, rt, "bob", bob, "cards")

	c := enter(t, rt, Entry{Queue: "general"})
	answeredBy(t, sink, c, "alice")
	if err := rt.Transfer(context.Background(), "bob", c.id(), Requeue{Queue: "cards"}); err == nil {
		t.Error("bob transferred a call he does not have")
	}
	if err := rt.Transfer(context.Background(), "alice", c.id(), Requeue{Queue: "nope"}); err == nil {
		t.Error("transfer to an unknown queue accepted")
	}
	if err := rt.Transfer(context.Background(), "alice", c.id(), Requeue{Queue: "cards"}); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 3*time.Second)
	if c.err != nil || c.res.Outcome != Answered || c.res.Agent != "bob" || c.res.Queue != "cards" {
		t.Fatalf("Wait = %+v, %v; want answered by bob in cards", c.res, c.err)
	}
	if got := conn.agents(); !slices.Equal(got, []AgentID{"alice", "bob"}) {
		t.Errorf("connected to %v", got)
	}
	if offs := bob.offers(); len(offs) != 1 || offs[0].Caller != "+15551234" || offs[0].Queue != "cards" {
		t.Errorf("bob's offers = %+v", offs)
	}
	es := sink.final(c.id())
	if len(es) != 2 || es[0].Queue != "general" || es[0].Outcome != store.OutcomeTransferred || es[0].AgentID != "alice" ||
		es[1].Queue != "cards" || es[1].Outcome != store.OutcomeAnswered || es[1].AgentID != "bob" {
		t.Errorf("entries = %+v", es)
	}
	want := []string{"enter", "offer", "connect", "transfer", "enter", "offer", "connect", "complete_agent"}
	eventually(t, "queue log", func() bool { return len(sink.logEvents(c.id())) >= len(want) })
	if got := sink.logEvents(c.id()); !slices.Equal(got, want) {
		t.Errorf("queue log %v, want %v", got, want)
	}
	if s := sink.agentStates("alice"); !slices.Equal(s, []string{"available", "ringing", "on_call", "wrap_up"}) {
		t.Errorf("alice went %v", s)
	}
	// Music again while back in line.
	c.ch.mu.Lock()
	n := c.ch.music
	c.ch.mu.Unlock()
	if n < 2 {
		t.Errorf("hold music started %d times, want 2", n)
	}
}

func TestTransferToAgent(t *testing.T) {
	sink, conn := &fakeSink{}, &moveConnector{hold: "alice"}
	rt := start(t, Config{ACD: twoQueues(), Sink: sink, Connector: conn})
	login(t, rt, "alice", newPhone(t, rt, "alice", answer), "general")
	c := enter(t, rt, Entry{Queue: "general"})
	answeredBy(t, sink, c, "alice")

	// Nobody else logged in: refused, and alice keeps the caller.
	if err := rt.Transfer(context.Background(), "alice", c.id(), Requeue{Agent: "bob"}); err == nil {
		t.Fatal("transfer to a logged-out agent accepted")
	}
	bob, carol := newPhone(t, rt, "bob", answer), newPhone(t, rt, "carol", answer)
	if err := rt.Login(context.Background(), Agent{ID: "bob", Endpoint: bob, Queues: []acd.Membership{{Queue: "cards"}}}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Transfer(context.Background(), "alice", c.id(), Requeue{Agent: "bob"}); err == nil {
		t.Fatal("transfer to an agent on break accepted")
	}
	select {
	case <-c.done:
		t.Fatal("a refused transfer ended the call")
	default:
	}
	// Carol serves general too and is free, but the caller is for bob.
	login(t, rt, "carol", carol, "general", "cards")
	if err := rt.SetState(context.Background(), "bob", acd.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if err := rt.Transfer(context.Background(), "alice", c.id(), Requeue{Agent: "bob"}); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 3*time.Second)
	if c.err != nil || c.res.Outcome != Answered || c.res.Agent != "bob" || c.res.Queue != "cards" {
		t.Fatalf("Wait = %+v, %v; want answered by bob in cards", c.res, c.err)
	}
	if offs := carol.offers(); len(offs) != 0 {
		t.Errorf("carol was offered %+v", offs)
	}
	es := sink.final(c.id())
	if len(es) != 2 || es[0].Outcome != store.OutcomeTransferred || es[1].AgentID != "bob" {
		t.Errorf("entries = %+v", es)
	}
}

func TestAgentLostRequeuesAtTheFront(t *testing.T) {
	sink := &fakeSink{}
	conn := &moveConnector{lose: "alice", release: make(chan struct{})}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring, WrapUp: time.Minute}), Sink: sink, Connector: conn})
	login(t, rt, "alice", newPhone(t, rt, "alice", answer), "general")
	first := enter(t, rt, Entry{Queue: "general"})
	answeredBy(t, sink, first, "alice")
	second := enter(t, rt, Entry{Queue: "general"})
	eventually(t, "second queued", func() bool { return len(sink.final(second.id())) == 1 })

	close(conn.release)
	eventually(t, "alice missed", func() bool {
		return slices.Equal(sink.agentStates("alice"), []string{"available", "ringing", "on_call", "missed"})
	})
	eventually(t, "first back in line", func() bool {
		es := sink.final(first.id())
		return len(es) == 2 && es[0].Outcome == store.OutcomeRequeued && es[1].Outcome == ""
	})
	// Bob, the next free agent, gets the caller who was talking first.
	bob := newPhone(t, rt, "bob", answer)
	login(t, rt, "bob", bob, "general")
	first.wait(t, 3*time.Second)
	if first.err != nil || first.res.Outcome != Answered || first.res.Agent != "bob" {
		t.Fatalf("Wait = %+v, %v; want answered by bob", first.res, first.err)
	}
	if offs := bob.offers(); len(offs) == 0 || offs[0].CallID != first.id() {
		t.Errorf("bob's offers = %+v; want the requeued caller first", offs)
	}
	if slices.Contains(sink.logEvents(second.id()), "connect") {
		t.Error("the second caller went ahead of the requeued one")
	}
	if got := sink.logEvents(first.id()); !slices.Contains(got, "requeue") {
		t.Errorf("queue log %v lacks requeue", got)
	}
}
