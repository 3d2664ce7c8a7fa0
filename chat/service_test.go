package chat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/store"
)

// fakePeer records what a visitor or agent is sent.
type fakePeer struct {
	mu     sync.Mutex
	msgs   []Msg
	next   int
	closed string
}

func (p *fakePeer) Send(m Msg) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
	return true
}

func (p *fakePeer) Close(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = reason
}

// expect waits for the next message of type typ that match accepts (nil:
// any), skipping others.
func (p *fakePeer) expect(t *testing.T, typ string, match func(Msg) bool) Msg {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for p.next < len(p.msgs) {
			m := p.msgs[p.next]
			p.next++
			if m["type"] == typ && (match == nil || match(m)) {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Fatalf("no %s message; got %v", typ, p.msgs)
	return nil
}

func (p *fakePeer) none(t *testing.T, typ string, wait time.Duration) {
	t.Helper()
	time.Sleep(wait)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs[p.next:] {
		if m["type"] == typ {
			t.Fatalf("unexpected %s: %v", typ, m)
		}
	}
}

func from(sender string) func(Msg) bool {
	return func(m Msg) bool { return m["sender"] == sender }
}

// memStore is the Store in memory.
type memStore struct {
	mu    sync.Mutex
	chats map[string]store.Chat
	msgs  []store.ChatMessage
}

func (m *memStore) SaveChat(_ context.Context, c store.Chat) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chats == nil {
		m.chats = map[string]store.Chat{}
	}
	m.chats[c.ID.String()] = c
	return nil
}

func (m *memStore) AddChatMessage(_ context.Context, msg store.ChatMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.chats[msg.ChatID.String()]; !ok {
		return errors.New("message before its chat")
	}
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *memStore) chat(id string) store.Chat {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.chats[id]
}

func startService(t *testing.T, cfg Config) *Service {
	t.Helper()
	if cfg.TenantID == "" {
		cfg.TenantID = "demo"
	}
	if cfg.Queues == nil {
		cfg.Queues = []string{"cards", "accounts"}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestChatBotThenAgent: the bot answers what it knows and offers a
// person otherwise; asking for a person queues the chat to an agent who
// is on a call (chats do not count against the call), who gets the
// transcript so far, and the two talk until the agent closes it; the
// rows record it all.
func TestChatBotThenAgent(t *testing.T) {
	st := &memStore{}
	s := startService(t, Config{Store: st})
	ctx := ctxT(t)
	v := &fakePeer{}
	id, err := s.StartChat(ctx, Start{Queue: "cards", Peer: v})
	if err != nil {
		t.Fatal(err)
	}
	v.expect(t, "welcome", nil)
	v.expect(t, "message", from("bot"))
	if err := s.Say(ctx, id, "I lost my card, help"); err != nil {
		t.Fatal(err)
	}
	ans := v.expect(t, "message", from("bot"))
	if ans["title"] != "Blocking a lost or stolen card" || ans["offer_person"] != true {
		t.Errorf("bot answer %v", ans)
	}
	_ = s.Say(ctx, id, "what is the meaning of life?")
	if m := v.expect(t, "message", from("bot")); !strings.Contains(m["text"].(string), "person") {
		t.Errorf("unsure bot: %v", m)
	}

	alice := &fakePeer{}
	if err := s.AgentJoin(ctx, AgentInfo{ID: "u-alice", Name: "Alice", Queues: []string{"cards"}, State: acd.StateOnCall}, alice); err != nil {
		t.Fatal(err)
	}
	if h := alice.expect(t, "chat_hello", nil); h["taking"] != true {
		t.Errorf("an agent on a call does not take chats: %v", h)
	}
	_ = s.Say(ctx, id, `<img src=x onerror="alert(1)"> please, a person`)
	offer := alice.expect(t, "chat_offer", nil)
	tr := offer["transcript"].([]Msg)
	if offer["chat"] != id || len(tr) < 5 || tr[1]["sender"] != "visitor" || tr[1]["text"] != "I lost my card, help" {
		t.Fatalf("offer %v", offer)
	}
	if m := v.expect(t, "message", from("system")); m["joined"] != true || m["agent"] != "Alice" {
		t.Errorf("visitor told %v", m)
	}
	if err := s.AgentSend(ctx, "u-alice", id, "Hello, I can help."); err != nil {
		t.Fatal(err)
	}
	if m := v.expect(t, "message", from("agent")); m["text"] != "Hello, I can help." || m["agent"] != "Alice" {
		t.Errorf("visitor got %v", m)
	}
	_ = s.Say(ctx, id, "thanks")
	if m := alice.expect(t, "chat_message", from("visitor")); m["text"] != "thanks" {
		t.Errorf("alice got %v", m)
	}
	if err := s.AgentSend(ctx, "u-bob", id, "hi"); !errors.Is(err, ErrNotAgent) {
		t.Errorf("bob writes in alice's chat: %v", err)
	}
	if err := s.AgentClose(ctx, "u-alice", id); err != nil {
		t.Fatal(err)
	}
	v.expect(t, "ended", nil)
	alice.expect(t, "chat_ended", nil)
	if err := s.Say(ctx, id, "hello?"); !errors.Is(err, ErrEnded) {
		t.Errorf("say after the end: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for st.chat(id).Outcome == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	row := st.chat(id)
	if row.Outcome != store.ChatAnswered || row.AgentID != "u-alice" || row.QueuedAt == nil || row.AnsweredAt == nil || row.EndedAt == nil {
		t.Errorf("row %+v", row)
	}
	st.mu.Lock()
	senders := map[string]int{}
	for _, m := range st.msgs {
		senders[m.Sender]++
	}
	st.mu.Unlock()
	if senders["bot"] < 3 || senders["visitor"] != 4 || senders["agent"] != 1 || senders["system"] < 2 {
		t.Errorf("transcript rows by sender: %v", senders)
	}
}

// TestChatCapacityBreakAndRequeue: an agent holds at most MaxPerAgent
// chats, on a call or not; break stops new ones; an agent leaving sends
// their chats to the front of the line; waiting visitors hear their place.
func TestChatCapacityBreakAndRequeue(t *testing.T) {
	s := startService(t, Config{MaxPerAgent: 2})
	ctx := ctxT(t)
	alice, bob := &fakePeer{}, &fakePeer{}
	if err := s.AgentJoin(ctx, AgentInfo{ID: "a", Name: "Alice", Queues: []string{"cards"}, State: acd.StateOnCall}, alice); err != nil {
		t.Fatal(err)
	}
	var ids []string
	var vs []*fakePeer
	newChat := func() {
		v := &fakePeer{}
		id, err := s.StartChat(ctx, Start{Queue: "cards", Peer: v})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RequestPerson(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids, vs = append(ids, id), append(vs, v)
	}
	for range 3 {
		newChat()
	}
	alice.expect(t, "chat_offer", func(m Msg) bool { return m["chat"] == ids[0] })
	alice.expect(t, "chat_offer", func(m Msg) bool { return m["chat"] == ids[1] })
	if m := vs[2].expect(t, "message", from("system")); m["position"] != 1 {
		t.Errorf("third visitor: %v", m)
	}
	// Break: a chat ending frees a place alice does not take.
	s.AgentState("a", acd.StateBreak)
	alice.expect(t, "chat_state", func(m Msg) bool { return m["taking"] == false })
	if err := s.AgentClose(ctx, "a", ids[0]); err != nil {
		t.Fatal(err)
	}
	alice.none(t, "chat_offer", 50*time.Millisecond)

	if err := s.AgentJoin(ctx, AgentInfo{ID: "b", Name: "Bob", Queues: []string{"cards", "accounts"}, State: acd.StateAvailable}, bob); err != nil {
		t.Fatal(err)
	}
	bob.expect(t, "chat_offer", func(m Msg) bool { return m["chat"] == ids[2] })
	newChat() // ids[3] -> bob
	bob.expect(t, "chat_offer", func(m Msg) bool { return m["chat"] == ids[3] })
	newChat() // ids[4] waits
	vs[4].expect(t, "message", func(m Msg) bool { return m["position"] == 1 })

	// Bob drops: his two chats go ahead of ids[4].
	s.AgentLeave("b", bob)
	vs[2].expect(t, "message", func(m Msg) bool { return strings.Contains(m["text"].(string), "front of the line") })
	vs[4].expect(t, "queued", func(m Msg) bool { return m["position"] == 3 })
	// Alice back from break, one chat open: she takes the first of them.
	s.AgentState("a", acd.StateAvailable)
	alice.expect(t, "chat_offer", func(m Msg) bool { return m["chat"] == ids[2] })
	vs[3].expect(t, "queued", func(m Msg) bool { return m["position"] == 1 })
	// Alice logs out of the ACD: her chats go back too, and she takes no more.
	s.AgentState("a", acd.StateOffline)
	alice.expect(t, "chat_ended", func(m Msg) bool { return m["outcome"] == "requeued" })
	stats, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Waiting != 4 {
		t.Errorf("%d chats waiting, want 4 (ids 1-4)", stats.Waiting)
	}
	// A visitor leaving while waiting abandons.
	s.Leave(ids[4])
	vs[4].expect(t, "ended", func(m Msg) bool { return m["outcome"] == store.ChatAbandoned })
}

func TestChatVisitorLimits(t *testing.T) {
	s := startService(t, Config{MessagesPerMinute: 6})
	ctx := ctxT(t)
	v := &fakePeer{}
	id, err := s.StartChat(ctx, Start{Peer: v})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Say(ctx, id, strings.Repeat("x", MaxMessage+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("long message: %v", err)
	}
	if err := s.Say(ctx, id, strings.Repeat("é", MaxMessage)); err != nil {
		t.Errorf("4,000 characters (8,000 bytes): %v", err)
	}
	if err := s.Say(ctx, id, "   "); !errors.Is(err, ErrEmpty) {
		t.Errorf("blank: %v", err)
	}
	var limited bool
	for range 10 {
		if err := s.Say(ctx, id, "hi"); errors.Is(err, ErrRateLimited) {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("10 messages at once from one visitor were all taken")
	}
	if _, err := s.StartChat(ctx, Start{Queue: "nope", Peer: &fakePeer{}}); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
}

// TestChatWebhookChannel: a channel's user is routed like a web visitor;
// the bot's and the agent's replies are POSTed, signed, to the channel's
// outbound URL (an httptest server standing in for it), retried after a
// failure.
func TestChatWebhookChannel(t *testing.T) {
	secret := []byte("s3cret")
	var mu sync.Mutex
	var got []Outbound
	fails := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(SignatureHeader) != Sign(secret, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		var o Outbound
		_ = json.Unmarshal(body, &o)
		got = append(got, o)
	}))
	defer srv.Close()
	s := startService(t, Config{Channels: []Channel{{Name: "wechat", Secret: secret, OutboundURL: srv.URL, Queue: "accounts"}}})
	for _, snd := range s.channels {
		snd.backoff = 10 * time.Millisecond
	}
	ctx := ctxT(t)
	body := []byte(`{"user":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","text":"I lost my card"}`)
	if err := s.Verify("wechat", body, Sign(secret, body)); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify("wechat", body, Sign([]byte("wrong"), body)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad signature: %v", err)
	}
	if err := s.Verify("line", body, Sign(secret, body)); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("unknown channel: %v", err)
	}
	id, err := s.ChannelMessage(ctx, "wechat", "u1", "I lost my card")
	if err != nil {
		t.Fatal(err)
	}
	alice := &fakePeer{}
	if err := s.AgentJoin(ctx, AgentInfo{ID: "a", Name: "Alice", Queues: []string{"accounts"}, State: acd.StateAvailable}, alice); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func(o Outbound) bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, o := range got {
				if ok(o) {
					mu.Unlock()
					return
				}
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("channel never got %s; got %+v", what, got)
	}
	waitFor("the bot's answer", func(o Outbound) bool {
		return o.Sender == "bot" && strings.Contains(o.Text, "Block card") && o.User == "u1"
	})
	id2, err := s.ChannelMessage(ctx, "wechat", "u1", "agent please")
	if err != nil || id2 != id {
		t.Fatalf("second message: chat %s (first %s), %v", id2, id, err)
	}
	offer := alice.expect(t, "chat_offer", nil)
	if offer["channel"] != "wechat" || offer["queue"] != "accounts" || offer["visitor"] != "u1" {
		t.Errorf("offer %v", offer)
	}
	if err := s.AgentSend(ctx, "a", id, "Hi from Alice"); err != nil {
		t.Fatal(err)
	}
	waitFor("the agent's reply", func(o Outbound) bool {
		return o.Sender == "agent" && o.Text == "Hi from Alice" && o.Agent == "Alice" && o.Chat == id
	})
}

// TestChatIdleAndMaxOpen: a chat left with the bot ends after Idle (a
// channel user has no socket to close); no more than MaxOpen chats open.
func TestChatIdleAndMaxOpen(t *testing.T) {
	st := &memStore{}
	s := startService(t, Config{MaxOpen: 2, Idle: 100 * time.Millisecond, Store: st})
	ctx := ctxT(t)
	v1, v2 := &fakePeer{}, &fakePeer{}
	id1, err := s.StartChat(ctx, Start{Peer: v1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartChat(ctx, Start{Peer: v2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartChat(ctx, Start{Peer: &fakePeer{}}); !errors.Is(err, ErrBusy) {
		t.Errorf("a third chat with MaxOpen 2: %v", err)
	}
	if m := v1.expect(t, "ended", nil); m["outcome"] != store.ChatBot {
		t.Errorf("idle chat ended %v", m)
	}
	deadline := time.Now().Add(2 * time.Second)
	for st.chat(id1).Outcome == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if o := st.chat(id1).Outcome; o != store.ChatBot {
		t.Errorf("row outcome %q", o)
	}
	if _, err := s.StartChat(ctx, Start{Peer: &fakePeer{}}); err != nil {
		t.Errorf("a chat after the idle ones ended: %v", err)
	}
}
