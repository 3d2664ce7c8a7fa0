package queue

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"hotline/acd"
	"hotline/call"
	"hotline/store"
)

const ring = 200 * time.Millisecond

func login(t *testing.T, rt *Runtime, id AgentID, ep AgentEndpoint, queues ...string) {
	t.Helper()
	var ms []acd.Membership
	for _, q := range queues {
		ms = append(ms, acd.Membership{Queue: q})
	}
	if err := rt.Login(context.Background(), Agent{ID: id, Endpoint: ep, Queues: ms, Available: true}); err != nil {
		t.Fatal(err)
	}
}

func TestAnsweredThenWrapUp(t *testing.T) {
	sink, conn := &fakeSink{}, &talkConnector{talk: 50 * time.Millisecond}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring, WrapUp: 100 * time.Millisecond}), Sink: sink, Connector: conn})
	phone := newPhone(t, rt, "alice", answer)
	login(t, rt, "alice", phone, "general")

	c := enter(t, rt, Entry{Queue: "general", Path: "welcome>main_menu>queue_general", Step: "queue_general"})
	c.wait(t, 3*time.Second)
	if c.err != nil || c.res.Outcome != Answered || c.res.Agent != "alice" || c.res.Queue != "general" {
		t.Fatalf("Wait = %+v, %v; want answered by alice in general", c.res, c.err)
	}
	if got := conn.agents(); !slices.Equal(got, []AgentID{"alice"}) {
		t.Errorf("connected to %v", got)
	}
	offs := phone.offers()
	if len(offs) != 1 || offs[0].CallID != c.id() || offs[0].Caller != "+15551234" ||
		offs[0].Path != "welcome>main_menu>queue_general" || offs[0].Queue != "general" {
		t.Errorf("offers = %+v", offs)
	}
	// The conversation's end starts wrap-up, and wrap-up's end frees alice.
	eventually(t, "alice available after wrap-up", func() bool {
		s := sink.agentStates("alice")
		return slices.Equal(s, []string{"available", "ringing", "on_call", "wrap_up", "available"})
	})
	es := sink.final(c.id())
	if len(es) != 1 || es[0].Outcome != store.OutcomeAnswered || es[0].AgentID != "alice" ||
		es[0].OfferedAt.IsZero() || es[0].AnsweredAt.IsZero() || es[0].LeftAt.IsZero() {
		t.Errorf("entries = %+v", es)
	}
	want := []string{"enter", "offer", "connect", "complete_agent"}
	eventually(t, "queue log", func() bool { return len(sink.logEvents(c.id())) >= len(want) })
	if got := sink.logEvents(c.id()); !slices.Equal(got, want) {
		t.Errorf("queue log %v, want %v", got, want)
	}
	if !slices.Contains(c.tl.kinds(), "queue_connect") {
		t.Errorf("timeline %v lacks queue_connect", c.tl.kinds())
	}
}

func TestRingTimeoutRequeuesAtTheFront(t *testing.T) {
	sink := &fakeSink{}
	// Carol's wrap-up outlasts the test, so the second caller still waits
	// when it checks (with none, carol's next offer races the check).
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring, WrapUp: time.Minute}), Sink: sink, Connector: &talkConnector{}})
	// Two callers wait with nobody logged in; the first is offered to bob,
	// who lets it ring out; it must still be first when carol arrives.
	first := enter(t, rt, Entry{Queue: "general"})
	eventually(t, "first queued", func() bool { return len(sink.final(first.id())) == 1 })
	second := enter(t, rt, Entry{Queue: "general"})
	eventually(t, "second queued", func() bool { return len(sink.final(second.id())) == 1 })

	bob := newPhone(t, rt, "bob", ignore)
	login(t, rt, "bob", bob, "general")
	eventually(t, "bob's offer to ring out", func() bool { return len(bob.cancels()) == 1 })
	if o := bob.offers(); len(o) != 1 || o[0].CallID != first.id() {
		t.Fatalf("bob was offered %+v, want the first caller", o)
	}
	carol := newPhone(t, rt, "carol", answer)
	login(t, rt, "carol", carol, "general")
	first.wait(t, 3*time.Second)
	if first.res.Outcome != Answered || first.res.Agent != "carol" {
		t.Fatalf("first caller: %+v, %v; want answered by carol", first.res, first.err)
	}
	if o := carol.offers(); len(o) == 0 || o[0].CallID != first.id() {
		t.Errorf("carol was offered %+v, want the first caller first", o)
	}
	if got := sink.agentStates("bob"); !slices.Contains(got, "missed") {
		t.Errorf("bob's states %v: want missed after the ring timeout", got)
	}
	if !slices.Contains(sink.logEvents(first.id()), "ring_no_answer") {
		t.Errorf("queue log %v lacks ring_no_answer", sink.logEvents(first.id()))
	}
	select {
	case <-second.done:
		t.Errorf("the second caller left: %+v %v", second.res, second.err)
	default:
	}
}

func TestRejectedAndUnreachableOffersMoveOn(t *testing.T) {
	cfg := oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring})
	// Without a back-off, a rejecting agent is free at once and, idle the
	// longest, offered the same call again.
	cfg.Miss.RejectBackoff = time.Minute
	rt := start(t, Config{ACD: cfg, Connector: &talkConnector{}})
	dave := newPhone(t, rt, "dave", reject)
	login(t, rt, "dave", dave, "general")
	erin := newPhone(t, rt, "erin", unreachable)
	login(t, rt, "erin", erin, "general")
	frank := newPhone(t, rt, "frank", answer)
	login(t, rt, "frank", frank, "general")
	c := enter(t, rt, Entry{Queue: "general"})
	c.wait(t, 3*time.Second)
	if c.res.Outcome != Answered || c.res.Agent != "frank" {
		t.Fatalf("Wait = %+v, %v; want answered by frank", c.res, c.err)
	}
	if len(dave.offers()) != 1 || len(erin.offers()) != 1 {
		t.Errorf("dave %d offers, erin %d: want one each before frank", len(dave.offers()), len(erin.offers()))
	}
}

func TestAbandonWhileRinging(t *testing.T) {
	sink := &fakeSink{}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: 5 * time.Second}), Sink: sink})
	gina := newPhone(t, rt, "gina", ignore)
	login(t, rt, "gina", gina, "general")
	c := enter(t, rt, Entry{Queue: "general"})
	eventually(t, "the offer", func() bool { return len(gina.offers()) == 1 })
	c.c.Hangup(call.CauseCallerHangup)
	c.wait(t, time.Second)
	if c.err == nil {
		t.Errorf("Wait returned %+v with no error after the caller hung up", c.res)
	}
	eventually(t, "the offer withdrawn", func() bool { return slices.Equal(gina.cancels(), []string{c.id()}) })
	eventually(t, "entry closed", func() bool {
		es := sink.final(c.id())
		return len(es) == 1 && es[0].Outcome == store.OutcomeAbandoned && es[0].Wait > 0
	})
	views, err := rt.Agents(context.Background())
	if err != nil || len(views) != 1 || views[0].State != acd.StateAvailable {
		t.Errorf("agents = %+v, %v; want gina available again", views, err)
	}
}

func TestAnnouncementsBetweenMusic(t *testing.T) {
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{
		Name: "general", AnnouncePeriod: 100 * time.Millisecond, HandleTime: 90 * time.Second, RingTimeout: time.Minute,
	})})
	// Nobody staffed: the wait is unknown, the position is still told.
	c := enter(t, rt, Entry{Queue: "general", Step: "queue_general"})
	want := []string{"you_are_number", "n1", "in_line"}
	eventually(t, "an announcement", func() bool { return len(c.ch.heard()) >= len(want) })
	if got := c.ch.heard()[:len(want)]; !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
	// One agent staffed, ringing with the first caller: the second is
	// number 2 and waits about 2 x 90 s.
	login(t, rt, "ivy", newPhone(t, rt, "ivy", ignore), "general")
	c = enter(t, rt, Entry{Queue: "general", Step: "queue_general"})
	want = []string{"you_are_number", "n2", "in_line", "estimated_wait", "n3", "minutes"}
	eventually(t, "an announcement", func() bool { return len(c.ch.heard()) >= len(want) })
	if got := c.ch.heard()[:len(want)]; !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
	eventually(t, "music after the announcement", func() bool {
		c.ch.mu.Lock()
		defer c.ch.mu.Unlock()
		return c.ch.music >= 2
	})
	if !slices.Contains(c.tl.kinds(), "announce") {
		t.Errorf("timeline %v lacks announce", c.tl.kinds())
	}
}

func TestAnnouncementLeavesOutMissingPrompts(t *testing.T) {
	has := func(p string) bool { return p != "estimated_wait" }
	if got := announcement(37, 3*time.Minute, has); !slices.Equal(got, []string{"you_are_number", "n30", "n7", "in_line"}) {
		t.Errorf("37: %v", got)
	}
	if got := announcement(21, 30*time.Second, nil); !slices.Equal(got, []string{"you_are_number", "n20", "n1", "in_line", "estimated_wait", "n1", "minute"}) {
		t.Errorf("21: %v", got)
	}
	if got := announcement(150, -1, nil); got != nil {
		t.Errorf("150, unknown wait: %v", got)
	}
}

func TestMaxWaitOverflowThenExit(t *testing.T) {
	sink := &fakeSink{}
	rt := start(t, Config{ACD: acd.Config{Queues: []acd.QueueConfig{
		{Name: "accounts", MaxWait: 100 * time.Millisecond, Overflow: "general"},
		{Name: "general", MaxWait: 100 * time.Millisecond, ExitStep: "voicemail"},
	}}, Sink: sink})
	c := enter(t, rt, Entry{Queue: "accounts"})
	c.wait(t, 3*time.Second)
	if c.err != nil || c.res.Outcome != Exit || c.res.Step != "voicemail" || c.res.Queue != "general" {
		t.Fatalf("Wait = %+v, %v; want exit to voicemail from general", c.res, c.err)
	}
	es := sink.final(c.id())
	if len(es) != 2 || es[0].Queue != "accounts" || es[0].Outcome != store.OutcomeOverflow ||
		es[1].Queue != "general" || es[1].Outcome != store.OutcomeExit {
		t.Errorf("entries = %+v", es)
	}
	if !slices.Contains(c.tl.kinds(), "queue_overflow") {
		t.Errorf("timeline %v lacks queue_overflow", c.tl.kinds())
	}
}

func TestRejectedWhenFull(t *testing.T) {
	sink := &fakeSink{}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", MaxLen: 1}), Sink: sink})
	first := enter(t, rt, Entry{Queue: "general"})
	eventually(t, "first queued", func() bool { return len(sink.final(first.id())) == 1 })
	second := enter(t, rt, Entry{Queue: "general"})
	second.wait(t, time.Second)
	if second.err != nil || second.res.Outcome != Rejected || second.res.Reason != acd.ReasonQueueFull {
		t.Fatalf("Wait = %+v, %v; want rejected queue-full", second.res, second.err)
	}
	if es := sink.final(second.id()); len(es) != 1 || es[0].Outcome != store.OutcomeRejected {
		t.Errorf("entries = %+v", es)
	}
}

func TestUnknownQueueIsAnError(t *testing.T) {
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general"})})
	c := enter(t, rt, Entry{Queue: "nope"})
	c.wait(t, time.Second)
	if !errors.Is(c.err, acd.ErrUnknownQueue) {
		t.Errorf("Wait error %v, want ErrUnknownQueue", c.err)
	}
}

func TestAgentHangsUp(t *testing.T) {
	conn := &talkConnector{talk: time.Hour}
	rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general"}), Connector: conn})
	phone := newPhone(t, rt, "hank", answer)
	login(t, rt, "hank", phone, "general")
	c := enter(t, rt, Entry{Queue: "general"})
	eventually(t, "connected", func() bool { return len(conn.agents()) == 1 })
	if err := rt.Hangup(context.Background(), "hank", c.id()); err != nil {
		t.Fatal(err)
	}
	c.wait(t, time.Second)
	if c.res.Outcome != Answered {
		t.Errorf("Wait = %+v", c.res)
	}
	if err := rt.Dispose(context.Background(), "hank", c.id(), "resolved", ""); err != nil {
		t.Error(err)
	}
}

func TestShutdownSendsCallersBack(t *testing.T) {
	rt, err := New(Config{TenantID: "demo", ACD: oneQueue(acd.QueueConfig{Name: "general"})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	c := enter(t, rt, Entry{Queue: "general"})
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.wait(t, time.Second)
	if c.res.Outcome != Rejected || c.res.Reason != "shutdown" {
		t.Errorf("Wait = %+v, %v", c.res, c.err)
	}
	if err := rt.Login(context.Background(), Agent{ID: "x"}); !errors.Is(err, ErrStopped) {
		t.Errorf("Login after stop: %v", err)
	}
}
