package ari

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// benchChannel is a channel as a real call's events carry it (an inbound
// call in application "bench", docs/ari.md's model).
func benchChannel(i int) Channel {
	return Channel{ID: fmt.Sprintf("1764201600.%d-9f1c2b7e", i), Name: fmt.Sprintf("PJSIP/demo-%08x", i), State: StateUp,
		Caller: CallerID{Name: "Ann Caller", Number: "+15551234567"}, Connected: CallerID{Number: "+15550101"},
		Dialplan:     DialplanCEP{Context: "main", Exten: "+15550101", Priority: 1, AppName: "Stasis", AppData: "bench,demo"},
		CreationTime: Time(time.Date(2026, 11, 26, 21, 0, 0, 123e6, time.UTC)), Language: "en"}
}

// BenchmarkEventsToOneApplication measures events delivered end to end to
// one application: publishers Broadcast ChannelStateChange and
// ChannelDtmfReceived events about their channel (as the call side does),
// the hub encodes and queues them, the /ari/events handler writes them on
// a real WebSocket over loopback TCP (httptest), and a coder/websocket
// client reads and counts them. One op is one event received by the
// client; allocs/op count both ends (server and client share the process).
//
// The hub drops a client whose queue reaches QueueLen (1024) events, so
// the publishers are flow controlled: at most QueueLen/2 events are in
// flight (published, not yet read by the client), which keeps the queue
// below its limit and measures delivery, not drops. The benchmark fails
// if the client was dropped or did not receive all b.N events.
func BenchmarkEventsToOneApplication(b *testing.B) {
	for _, pubs := range []int{1, 4} {
		b.Run(fmt.Sprintf("publishers=%d", pubs), func(b *testing.B) { benchEvents(b, pubs) })
	}
}

func benchEvents(b *testing.B, publishers int) {
	s, err := New(Options{Users: []User{{Tenant: "demo", Username: "demo", Password: "demo-ari"}}, SystemName: "bench-node"})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ari/events?app=bench"
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic ZGVtbzpkZW1vLWFyaQ=="}}}) // demo:demo-ari
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	defer ws.CloseNow()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := s.Hub().Application("demo", "bench"); ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("application never registered")
		}
	}
	// The application follows each publisher's channel, as an
	// application follows the channels in it.
	for p := range publishers {
		s.Hub().Subscribe("demo", "bench", []string{"channel:" + benchChannel(p).ID}, true)
	}

	window := make(chan struct{}, QueueLen/2) // events in flight
	var received, states, dtmf atomic.Int64
	readErr := make(chan error, 1)
	done := make(chan struct{})
	total := int64(b.N)
	go func() {
		var buf bytes.Buffer
		for received.Load() < total {
			_, r, err := ws.Reader(ctx)
			if err != nil {
				readErr <- err
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				readErr <- err
				return
			}
			switch {
			case bytes.Contains(buf.Bytes(), []byte(`"type":"ChannelDtmfReceived"`)):
				dtmf.Add(1)
			case bytes.Contains(buf.Bytes(), []byte(`"type":"ChannelStateChange"`)):
				states.Add(1)
			}
			received.Add(1)
			<-window
		}
		close(done)
	}()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range publishers {
		n := b.N / publishers
		if p < b.N%publishers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sources := []string{"channel:" + benchChannel(p).ID}
			// Each publisher owns its event values (Publish/Broadcast
			// fill and restore the envelope while encoding).
			st := &ChannelStateChange{Event: Event{Type: "ChannelStateChange"}, Channel: benchChannel(p)}
			dt := &ChannelDtmfReceived{Event: Event{Type: "ChannelDtmfReceived"}, Digit: "5", DurationMs: 120, Channel: benchChannel(p)}
			for i := range n {
				window <- struct{}{}
				var ev Message = st
				if i%2 == 1 {
					dt.Digit = string(rune('0' + i%10))
					ev = dt
				}
				reached, err := s.Hub().Broadcast("demo", sources, ev)
				if err != nil || len(reached) != 1 {
					b.Errorf("broadcast: reached %v, %v", reached, err)
					cancel() // ends the reader
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case err := <-readErr:
		b.Fatalf("client read after %d of %d events: %v (close status %v)", received.Load(), b.N, err, websocket.CloseStatus(err))
	case <-ctx.Done():
		b.Fatalf("timeout: %d of %d events received", received.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := states.Load() + dtmf.Load(); got != total {
		b.Fatalf("received %d events of the two types, want %d", got, total)
	}
	if _, ok := s.Hub().Application("demo", "bench"); !ok {
		b.Fatal("the application was dropped")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkHubBroadcast is the hub's share of BenchmarkEventsToOneApplication:
// Broadcast (subscriber lookup, JSON encoding, queueing) to one
// application whose queue a goroutine drains, without the WebSocket.
func BenchmarkHubBroadcast(b *testing.B) {
	h := NewHub("bench-node")
	c, detach := h.register("demo", []string{"bench"}, false)
	defer detach()
	ch := benchChannel(0)
	h.Subscribe("demo", "bench", []string{"channel:" + ch.ID}, true)
	go func() {
		for {
			select {
			case <-c.out:
			case <-c.done:
				return
			}
		}
	}()
	sources := []string{"channel:" + ch.ID}
	ev := &ChannelStateChange{Event: Event{Type: "ChannelStateChange"}, Channel: ch}
	var bytesOut int
	if data, err := h.encode("bench", ev); err == nil {
		bytesOut = len(data)
	}
	b.SetBytes(int64(bytesOut))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%256 == 0 { // let the drain keep up: a full queue drops the client
			for len(c.out) > QueueLen/2 {
				runtime.Gosched()
			}
		}
		if _, err := h.Broadcast("demo", sources, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	h.mu.Lock()
	dropped := c.dropped
	h.mu.Unlock()
	if dropped {
		b.Fatal("the drain goroutine fell behind: client dropped")
	}
}
