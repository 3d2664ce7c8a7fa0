package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"hotline/chat"
)

// TestChatVisitorSocketLimits: the widget's socket against the real
// server: a tenant without chat is 404, a page of an origin the tenant
// does not list 403; a 5,000-character message gets an error and the
// chat goes on; a 1 MB frame is refused unread (close 1009); markup is
// carried as text.
func TestChatVisitorSocketLimits(t *testing.T) {
	const origin = "https://www.demobank.example"
	srv := startServer(t, serverOptions{Name: "chat-limits", Edit: chatConfig([]string{origin}, "")})
	ws := fmt.Sprintf("ws://127.0.0.1:%d/chat/ws", srv.HTTPPort)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, res, err := dialWS(ctx, ws+"?tenant=acme", nil, origin); err == nil || res == nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("acme (no chat): %v %v, want 404", res, err)
	}
	if _, res, err := dialWS(ctx, ws+"?tenant=demo", nil, "https://evil.example"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("another origin: %v %v, want 403", res, err)
	}
	if _, res, err := dialWS(ctx, ws+"?tenant=demo&queue=nope", nil, origin); err == nil || res == nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown queue: %v %v, want 404", res, err)
	}
	conn, _, err := dialWS(ctx, ws+"?tenant=demo&queue=cards", nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	next := func(typ string) map[string]any {
		t.Helper()
		for {
			var m map[string]any
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if m["type"] == typ {
				return m
			}
		}
	}
	next("welcome")
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "message", "text": strings.Repeat("x", 5000)}); err != nil {
		t.Fatal(err)
	}
	if m := next("error"); !strings.Contains(m["message"].(string), "at most 4000 characters") {
		t.Errorf("5,000 characters: %v", m)
	}
	_ = wsjson.Write(ctx, conn, map[string]any{"type": "message", "text": "<script>alert(1)</script> what are your opening hours?"})
	if m := next("message"); m["sender"] != "bot" || !strings.Contains(m["text"].(string), "Monday to Friday") {
		t.Errorf("bot after the refused message: %v", m)
	}
	big := bytes.Repeat([]byte("y"), 1<<20)
	_ = conn.Write(ctx, websocket.MessageText, append(append([]byte(`{"type":"message","text":"`), big...), '"', '}'))
	var err2 error
	for err2 == nil {
		_, _, err2 = conn.Read(ctx)
	}
	if code := websocket.CloseStatus(err2); code != websocket.StatusMessageTooBig {
		t.Errorf("1 MB frame: closed with %v (%v), want 1009", code, err2)
	}
}

// TestChatWebhook: an outside channel's user through the webhook
// adapter: a bad signature is 401, a good one is routed like a web chat
// to alice (available at her desk, chats panel open), and her reply is
// POSTed, signed, to the channel's outbound URL (an httptest server).
func TestChatWebhook(t *testing.T) {
	var mu sync.Mutex
	var posts []chat.Outbound
	channel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(chat.SignatureHeader) != chat.Sign([]byte(chatSecret), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var o chat.Outbound
		_ = json.Unmarshal(body, &o)
		mu.Lock()
		posts = append(posts, o)
		mu.Unlock()
	}))
	defer channel.Close()
	srv := startServer(t, serverOptions{Name: "chat-webhook", Edit: chatConfig(nil, channel.URL)})
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)

	desk := demoDesk(t, srv, "alice", true)
	defer desk.close()
	panel := openWS(t, srv, fmt.Sprintf("ws://127.0.0.1:%d/api/v1/chat/agent/ws", srv.HTTPPort), apiLogin(t, srv, "demo", "alice", "alice-demo"), "alice-chats")
	if h := panel.expect("chat_hello", 5*time.Second, nil); h["taking"] != true {
		t.Fatalf("alice's chats panel: %v", h)
	}

	post := func(sig string, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+"/chat/webhook/demo/wechat", strings.NewReader(body))
		req.Header.Set(chat.SignatureHeader, sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	body := `{"user":"oWx-user-1","text":"I need an agent please"}`
	if code, m := post(chat.Sign([]byte("wrong"), []byte(body)), body); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d %v", code, m)
	}
	if code, _ := post("", body); code != http.StatusUnauthorized {
		t.Errorf("no signature: %d", code)
	}
	bad := `{"user":"u","text":`
	if code, _ := post(chat.Sign([]byte(chatSecret), []byte(bad)), bad); code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d", code)
	}
	code, m := post(chat.Sign([]byte(chatSecret), []byte(body)), body)
	if code != http.StatusAccepted || m["chat"] == nil {
		t.Fatalf("good signature: %d %v", code, m)
	}
	id := m["chat"].(string)
	offer := panel.expect("chat_offer", 5*time.Second, nil)
	if offer["chat"] != id || offer["channel"] != "wechat" || offer["visitor"] != "oWx-user-1" {
		t.Errorf("offer %v", offer)
	}
	panel.send(map[string]any{"type": "chat_send", "chat": id, "text": "Hello from Alice"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		var found bool
		for _, o := range posts {
			found = found || (o.Sender == "agent" && o.Text == "Hello from Alice" && o.User == "oWx-user-1" && o.Chat == id)
		}
		n := len(posts)
		mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the channel never got alice's reply (%d posts)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	panel.send(map[string]any{"type": "chat_close", "chat": id})
	panel.expect("chat_ended", 5*time.Second, nil)
	c, msgs := chatRow(t, srv, id)
	if c.Channel != "wechat" || c.Outcome != "answered" || len(msgs) < 4 {
		t.Errorf("row %+v, %d messages", c, len(msgs))
	}
	// Another tenant's users never see it; alice does, as her own.
	carol := apiLogin(t, srv, "acme", "carol", "carol-demo")
	carolPanel := openWS(t, srv, fmt.Sprintf("ws://127.0.0.1:%d/api/v1/chat/agent/ws", srv.HTTPPort), carol, "carol-chats")
	carolPanel.expect("chat_disabled", 5*time.Second, nil)
	if code := carol.get(t, "/api/v1/chats/"+id, nil); code != http.StatusNotFound {
		t.Errorf("carol GET demo's chat: %d", code)
	}
	bob := apiLogin(t, srv, "demo", "bob", "bob-demo")
	if code := bob.get(t, "/api/v1/chats/"+id, nil); code != http.StatusNotFound {
		t.Errorf("bob GET alice's chat: %d", code)
	}
	var list struct{ Chats []struct{ ID string } }
	if code := apiLogin(t, srv, "demo", "alice", "alice-demo").get(t, "/api/v1/chats", &list); code != 200 || len(list.Chats) != 1 || list.Chats[0].ID != id {
		t.Errorf("alice's chats: %d %+v", code, list)
	}
	var one struct {
		Messages []struct{ Sender, Body string }
	}
	if code := apiLogin(t, srv, "demo", "sam", "sam-demo").get(t, "/api/v1/chats/"+id, &one); code != 200 || len(one.Messages) != len(msgs) {
		t.Errorf("sam GET the chat: %d, %d messages", code, len(one.Messages))
	}
}

// TestChatBesideCall: chats and a call on one agent without either
// disturbing the other. alice (available) takes 3 chats, her capacity; a
// 4th waits. A caller queued through the IVR is still offered to her and
// she answers (calls ignore chats); on the call she is still taking
// chats, and closing one brings her the waiting chat mid-call.
func TestChatBesideCall(t *testing.T) {
	srv := startServer(t, serverOptions{Name: "chat-call", Edit: chatConfig([]string{"*"}, "")})
	desk := demoDesk(t, srv, "alice", true)
	panel := openWS(t, srv, fmt.Sprintf("ws://127.0.0.1:%d/api/v1/chat/agent/ws", srv.HTTPPort), apiLogin(t, srv, "demo", "alice", "alice-demo"), "alice-chats")
	panel.expect("chat_hello", 5*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	visit := func() (*websocket.Conn, string) {
		c, _, err := dialWS(ctx, fmt.Sprintf("ws://127.0.0.1:%d/chat/ws?tenant=demo&queue=cards", srv.HTTPPort), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		var m map[string]any
		if err := wsjson.Read(ctx, c, &m); err != nil || m["type"] != "welcome" {
			t.Fatalf("welcome: %v %v", m, err)
		}
		_ = wsjson.Write(ctx, c, map[string]any{"type": "person"})
		return c, m["chat"].(string)
	}
	var ids []string
	for range 3 {
		_, id := visit()
		panel.expect("chat_offer", 5*time.Second, func(m map[string]any) bool { return m["chat"] == id })
		ids = append(ids, id)
	}
	fourth, id4 := visit()
	for {
		var m map[string]any
		if err := wsjson.Read(ctx, fourth, &m); err != nil {
			t.Fatalf("the fourth visitor: %v", err)
		}
		if m["type"] == "message" && m["position"] == 1.0 {
			break
		}
		if m["type"] == "message" && m["joined"] == true {
			t.Fatalf("a fourth chat went to alice (max 3): %v", m)
		}
	}
	call := answerCall(t, srv, desk) // offered and answered with 3 chats open
	panel.expect("chat_state", 10*time.Second, func(m map[string]any) bool { return m["state"] == "on_call" && m["taking"] == true })
	panel.send(map[string]any{"type": "chat_close", "chat": ids[0]})
	panel.expect("chat_ended", 5*time.Second, func(m map[string]any) bool { return m["chat"] == ids[0] })
	panel.expect("chat_offer", 5*time.Second, func(m map[string]any) bool { return m["chat"] == id4 })
	call.ua.Bye(demoNumber)
}
