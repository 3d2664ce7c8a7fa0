package chat

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"hotline/acd"
)

// countPeer counts what it is sent, for benchmarks.
type countPeer struct{ n atomic.Int64 }

func (p *countPeer) Send(Msg) bool { p.n.Add(1); return true }
func (p *countPeer) Close(string)  {}
func (p *countPeer) wait(n int64) {
	for p.n.Load() < n {
		time.Sleep(50 * time.Microsecond)
	}
}
func (p *countPeer) count() int64 { return p.n.Load() }

// BenchmarkChatMessages: visitor messages through the distributor to
// their agents (10 agents, 3 chats each), with the transcript kept and
// the rows queued for a store that takes them at once.
func BenchmarkChatMessages(b *testing.B) {
	st := &memStore{}
	s, err := New(Config{TenantID: "bench", Queues: []string{"q"}, MaxPerAgent: 3, MessagesPerMinute: 1 << 30, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	agents := make([]*countPeer, 10)
	for i := range agents {
		agents[i] = &countPeer{}
		if err := s.AgentJoin(ctx, AgentInfo{ID: fmt.Sprint("a", i), Name: "A", Queues: []string{"q"}, State: acd.StateAvailable}, agents[i]); err != nil {
			b.Fatal(err)
		}
	}
	var ids []string
	for range 30 {
		id, err := s.StartChat(ctx, Start{Queue: "q", Peer: &countPeer{}})
		if err != nil {
			b.Fatal(err)
		}
		_ = s.RequestPerson(ctx, id)
		ids = append(ids, id)
	}
	if st, _ := s.Stats(ctx); st.Waiting != 0 {
		b.Fatalf("%d chats waiting", st.Waiting)
	}
	var before int64
	for _, a := range agents {
		before += a.count()
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := s.Say(ctx, ids[i%len(ids)], "hello, is my card blocked yet?"); err != nil {
			b.Fatal(err)
		}
	}
	var got int64
	for got < before+int64(b.N) {
		got = 0
		for _, a := range agents {
			got += a.count()
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkChatRouting: a chat's whole life through the distributor:
// start, bot greeting, ask for a person, assignment, agent close.
func BenchmarkChatRouting(b *testing.B) {
	s, err := New(Config{TenantID: "bench", Queues: []string{"q"}, MaxPerAgent: 3})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	agent := &countPeer{}
	_ = s.AgentJoin(ctx, AgentInfo{ID: "a", Name: "A", Queues: []string{"q"}, State: acd.StateOnCall}, agent)
	b.ResetTimer()
	for range b.N {
		id, err := s.StartChat(ctx, Start{Queue: "q", Peer: &countPeer{}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.RequestPerson(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := s.AgentClose(ctx, "a", id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chats/s")
}
