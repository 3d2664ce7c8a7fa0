package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestChatBenchAgentPage measures chats per agent page and messages per
// second through the visitor socket, the distributor and the agent's
// socket into the page (test/browser/chat-bench.mjs); docs/benchmarks.md
// "Chat". Run with HOTLINE_CHAT_BENCH=1 (make bench does not by default:
// it takes a browser and a minute).
func TestChatBenchAgentPage(t *testing.T) {
	if os.Getenv("HOTLINE_CHAT_BENCH") == "" {
		t.Skip("HOTLINE_CHAT_BENCH=1 runs the chat benchmark")
	}
	chromium := needBrowser(t)
	srv := startServer(t, serverOptions{Name: "chat-bench", Edit: func(t testing.TB, cfg map[string]any) {
		chatConfig([]string{"*"}, "")(t, cfg)
		for _, tn := range cfg["tenants"].([]any) {
			if tm := tn.(map[string]any); tm["id"] == "demo" {
				ch := tm["chat"].(map[string]any)
				ch["max_per_agent"], ch["messages_per_minute"] = 20, 1000000
			}
		}
	}})
	npmInstall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(repoRoot, "test", "browser", "chat-bench.mjs"))
	cmd.Dir = filepath.Join(repoRoot, "test", "browser")
	cmd.Env = append(os.Environ(), "HOTLINE_URL="+fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort), "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chat-bench.mjs: %v\n%s", err, out)
	}
	var steps int
	for _, line := range strings.Split(string(out), "\n") {
		name, data, ok := strings.Cut(strings.TrimPrefix(line, "@@"), " ")
		if !ok || !strings.HasPrefix(line, "@@") {
			continue
		}
		if name == "fail" {
			t.Fatalf("chat-bench.mjs: %s", data)
		}
		if name == "step" || name == "idle" {
			var v map[string]any
			_ = json.Unmarshal([]byte(data), &v)
			t.Logf("%s %v", name, v)
			steps++
		}
	}
	if steps < 5 {
		t.Fatalf("only %d results:\n%s", steps, out)
	}
}

// TestChatBenchSockets measures messages per second from visitor
// sockets through the distributor to an agent's chats socket, without a
// page: 20 visitors (alice's max_per_agent) send 200 messages each as
// fast as they can, in rounds. HOTLINE_CHAT_BENCH=1; docs/benchmarks.md "Chat".
func TestChatBenchSockets(t *testing.T) {
	if os.Getenv("HOTLINE_CHAT_BENCH") == "" {
		t.Skip("HOTLINE_CHAT_BENCH=1 runs the chat benchmark")
	}
	const visitors, each = 20, 200
	srv := startServer(t, serverOptions{Name: "chat-bench-ws", Edit: func(t testing.TB, cfg map[string]any) {
		chatConfig([]string{"*"}, "")(t, cfg)
		for _, tn := range cfg["tenants"].([]any) {
			if tm := tn.(map[string]any); tm["id"] == "demo" {
				ch := tm["chat"].(map[string]any)
				ch["max_per_agent"], ch["messages_per_minute"], ch["per_address"] = visitors, 1000000, visitors
			}
		}
	}})
	desk := demoDesk(t, srv, "alice", true)
	defer desk.close()
	panel := openWS(t, srv, fmt.Sprintf("ws://127.0.0.1:%d/api/v1/chat/agent/ws", srv.HTTPPort), apiLogin(t, srv, "demo", "alice", "alice-demo"), "alice-chats")
	panel.expect("chat_hello", 5*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var conns []*websocket.Conn
	for range visitors {
		c, _, err := dialWS(ctx, fmt.Sprintf("ws://127.0.0.1:%d/chat/ws?tenant=demo&queue=cards", srv.HTTPPort), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		go func() { // the visitor reads what it is sent
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
		_ = wsjson.Write(ctx, c, map[string]any{"type": "person"})
		conns = append(conns, c)
	}
	for range visitors {
		panel.expect("chat_offer", 10*time.Second, nil)
	}
	// Rounds of 40 messages a visitor keep the backlog (800) under the
	// agent socket's outbox (1,024): beyond it a page that cannot keep
	// up is disconnected rather than let the distributor wait.
	const round = 40
	start := time.Now()
	got := 0
	for sent := 0; sent < each; sent += round {
		for _, c := range conns {
			go func() {
				for j := range round {
					if wsjson.Write(ctx, c, map[string]any{"type": "message", "text": fmt.Sprintf("message %d from a visitor who types quite a lot", sent+j)}) != nil {
						return
					}
				}
			}()
		}
		for got < visitors*(sent+round) {
			select {
			case m, ok := <-panel.msgs:
				if !ok {
					t.Fatalf("the agent's socket closed after %d messages", got)
				}
				if m["type"] == "chat_message" && m["sender"] == "visitor" {
					got++
				}
			case <-ctx.Done():
				t.Fatalf("%d of %d messages arrived", got, visitors*each)
			}
		}
	}
	d := time.Since(start)
	t.Logf("%d messages from %d visitor sockets to one agent socket in %v: %.0f msgs/s", got, visitors, d.Round(time.Millisecond), float64(got)/d.Seconds())
}
