package queue

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/store"
)

// fakeChannel records what the caller hears.
type fakeChannel struct {
	mu      sync.Mutex
	prompts []string
	music   int
}

func (f *fakeChannel) Play(ctx context.Context, prompt string, _ bool) error {
	f.mu.Lock()
	f.prompts = append(f.prompts, prompt)
	f.mu.Unlock()
	select {
	case <-time.After(5 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeChannel) Music(ctx context.Context, _ string) error {
	f.mu.Lock()
	f.music++
	f.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeChannel) heard() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.prompts)
}

// timeline records a call's events.
type timeline struct {
	mu     sync.Mutex
	events []call.Event
}

func (t *timeline) CallEvent(e call.Event) {
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

func (t *timeline) kinds() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, e := range t.events {
		out = append(out, e.Kind)
	}
	return out
}

// fakeSink records the rows a store.Writer would get.
type fakeSink struct {
	mu      sync.Mutex
	entries []store.QueueEntry
	states  []store.AgentStateChange
	log     []store.QueueLogRow
	disps   []store.Disposition
}

func (s *fakeSink) QueueEntry(e store.QueueEntry) {
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.mu.Unlock()
}

func (s *fakeSink) AgentState(c store.AgentStateChange) {
	s.mu.Lock()
	s.states = append(s.states, c)
	s.mu.Unlock()
}

func (s *fakeSink) QueueLog(r store.QueueLogRow) {
	s.mu.Lock()
	s.log = append(s.log, r)
	s.mu.Unlock()
}

func (s *fakeSink) Disposition(d store.Disposition) {
	s.mu.Lock()
	s.disps = append(s.disps, d)
	s.mu.Unlock()
}

// final returns the latest snapshot of each entry of a call, in order.
func (s *fakeSink) final(callID string) []store.QueueEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.QueueEntry
	at := map[uuid.UUID]int{}
	for _, e := range s.entries {
		if e.CallID.String() != callID {
			continue
		}
		if i, ok := at[e.ID]; ok {
			out[i] = e
			continue
		}
		at[e.ID] = len(out)
		out = append(out, e)
	}
	return out
}

func (s *fakeSink) logEvents(callID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.log {
		if r.CallID.String() == callID {
			out = append(out, r.Event)
		}
	}
	return out
}

func (s *fakeSink) agentStates(agent string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.states {
		if c.UserID == agent {
			out = append(out, c.State)
		}
	}
	return out
}

type behaviour uint8

const (
	ignore behaviour = iota // let it ring out
	answer
	reject
	unreachable
)

// fakePhone is an agent's endpoint. It answers or rejects on its own
// goroutine, as a softphone's message would arrive, never inside Offer.
type fakePhone struct {
	t    *testing.T
	rt   *Runtime
	id   AgentID
	do   behaviour
	wg   sync.WaitGroup
	mu   sync.Mutex
	offs []OfferInfo
	canc []string
	// closed stops new answers once cleanup waits for the old ones: the
	// runtime may still offer while the test winds down.
	closed bool
}

func newPhone(t *testing.T, rt *Runtime, id AgentID, do behaviour) *fakePhone {
	p := &fakePhone{t: t, rt: rt, id: id, do: do}
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// goAct runs f as the phone's own reply, unless the test is over.
func (p *fakePhone) goAct(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Go(f)
}

func (p *fakePhone) Offer(ctx context.Context, o OfferInfo) error {
	p.mu.Lock()
	p.offs = append(p.offs, o)
	p.mu.Unlock()
	switch p.do {
	case unreachable:
		return context.DeadlineExceeded
	case answer:
		p.goAct(func() {
			if err := p.rt.Answer(context.Background(), p.id, o.CallID); err != nil {
				p.t.Logf("%s: answer %s: %v", p.id, o.CallID, err)
			}
		})
	case reject:
		p.goAct(func() {
			if err := p.rt.Reject(context.Background(), p.id, o.CallID, "busy"); err != nil {
				p.t.Logf("%s: reject %s: %v", p.id, o.CallID, err)
			}
		})
	}
	return nil
}

func (p *fakePhone) Cancel(callID string) {
	p.mu.Lock()
	p.canc = append(p.canc, callID)
	p.mu.Unlock()
}

func (p *fakePhone) offers() []OfferInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.offs)
}

func (p *fakePhone) cancels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.canc)
}

// talkConnector holds each conversation for talk, or until it is ended.
type talkConnector struct {
	talk time.Duration
	mu   sync.Mutex
	got  []AgentID
}

func (c *talkConnector) Connect(ctx context.Context, _ *call.Call, agent AgentID) error {
	c.mu.Lock()
	c.got = append(c.got, agent)
	c.mu.Unlock()
	select {
	case <-time.After(c.talk):
	case <-ctx.Done():
	}
	return nil
}

func (c *talkConnector) agents() []AgentID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// start runs a runtime for the test and stops it at cleanup.
func start(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	if cfg.TenantID == "" {
		cfg.TenantID = "demo"
	}
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return rt
}

func oneQueue(q acd.QueueConfig) acd.Config { return acd.Config{Queues: []acd.QueueConfig{q}} }

// caller is a call waiting in the runtime on its own goroutine.
type caller struct {
	c    *call.Call
	ch   *fakeChannel
	tl   *timeline
	done chan struct{}
	res  Result
	err  error
}

func (c *caller) id() string { return c.c.ID }

func enter(t *testing.T, rt *Runtime, e Entry) *caller {
	t.Helper()
	tl := &timeline{}
	c := call.New(context.Background(), call.Info{ID: uuid.NewString(), TenantID: "demo", From: "+15551234"}, call.Config{Events: tl})
	cl := &caller{c: c, ch: &fakeChannel{}, tl: tl, done: make(chan struct{})}
	e.Call, e.Channel = c, cl.ch
	if e.Music == "" {
		e.Music = "moh"
	}
	go func() {
		defer close(cl.done)
		cl.res, cl.err = rt.Wait(c.Context(), e)
	}()
	t.Cleanup(func() {
		c.Hangup(call.CauseNormal)
		<-cl.done
	})
	return cl
}

func (c *caller) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatalf("call %s still waiting after %v", c.id(), d)
	}
}

// eventually polls cond until it holds or 3 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
