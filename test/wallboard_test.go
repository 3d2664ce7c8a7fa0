package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// boardMsg is a wallboard "board" message, the parts the test reads.
type boardMsg struct {
	Type   string `json:"type"`
	Queues []struct {
		Name          string         `json:"name"`
		Waiting       int            `json:"waiting"`
		LongestWaitMs int64          `json:"longest_wait_ms"`
		Answered      int            `json:"answered"`
		Abandoned     int            `json:"abandoned"`
		SL            *float64       `json:"sl"`
		ASAMs         int64          `json:"asa_ms"`
		Agents        map[string]int `json:"agents"`
	} `json:"queues"`
	Agents []struct {
		Username string `json:"username"`
		State    string `json:"state"`
		Caller   string `json:"caller"`
		Queue    string `json:"queue"`
		Since    string `json:"since"`
	} `json:"agents"`
}

type boardClient struct {
	t    *testing.T
	msgs chan boardMsg
}

func openBoard(t *testing.T, srv *server, c *apiClient) *boardClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Cookie", c.cookie.String())
	h.Set("Origin", fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort))
	conn, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/api/v1/wallboard/ws", srv.HTTPPort), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("open the wallboard: %v", err)
	}
	b := &boardClient{t: t, msgs: make(chan boardMsg, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(b.msgs)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m boardMsg
			if json.Unmarshal(data, &m) == nil {
				b.msgs <- m
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow(); <-done })
	return b
}

// until waits for a board that satisfies ok and returns it with how long
// it took.
func (b *boardClient) until(what string, timeout time.Duration, ok func(boardMsg) bool) (boardMsg, time.Duration) {
	b.t.Helper()
	start := time.Now()
	deadline := time.After(timeout)
	var last boardMsg
	for {
		select {
		case m, open := <-b.msgs:
			if !open {
				b.t.Fatalf("wallboard closed while waiting for %s", what)
			}
			last = m
			if ok(m) {
				return m, time.Since(start)
			}
		case <-deadline:
			b.t.Fatalf("wallboard: no board with %s within %v; last %+v", what, timeout, last)
		}
	}
}

// TestWallboard: a supervisor's wallboard follows the floor live — a call
// waiting, an agent taking it (state, caller), a caller abandoning — each
// within a second of the change; agents and other tenants are refused.
func TestWallboard(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "wallboard"})
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	board := openBoard(t, srv, sam)
	first, _ := board.until("the demo queues", 5*time.Second, func(m boardMsg) bool { return m.Type == "board" && len(m.Queues) > 0 })
	for _, q := range first.Queues {
		if q.Name == "orders" {
			t.Fatalf("demo's wallboard shows acme's queue %q", q.Name)
		}
	}

	alice := demoDesk(t, srv, "alice", true)
	board.until("alice available", 2*time.Second, func(m boardMsg) bool {
		for _, a := range m.Agents {
			if a.Username == "alice" && a.State == "available" {
				return true
			}
		}
		return false
	})

	ua := queueCall(t, srv)
	offer := alice.expect("offer", 20*time.Second, nil)
	callID, _ := offer["call"].(string)
	alice.send(map[string]any{"type": "answer", "call": callID})
	m, took := board.until("alice on a call with the caller", 2*time.Second, func(m boardMsg) bool {
		for _, a := range m.Agents {
			if a.Username == "alice" && a.State == "on_call" && a.Caller == ua.From && a.Queue == "general" {
				return true
			}
		}
		return false
	})
	t.Logf("the answer showed on the wallboard after %v", took)
	if took > time.Second {
		t.Errorf("the wallboard showed the answer after %v, want within 1 s", took)
	}
	for _, q := range m.Queues {
		if q.Name == "general" && (q.Answered != 1 || q.SL == nil || *q.SL != 1 || q.Waiting != 0) {
			t.Errorf("general after the answer: %+v, want 1 answered, SL 100%%, none waiting", q)
		}
	}
	// Prometheus sees the same floor.
	metrics := scrape(t, srv)
	for _, want := range []string{
		`hotline_queue_answered_today{queue="general",tenant="demo"} 1`,
		`hotline_agents{state="on_call",tenant="demo"} 1`,
		`hotline_queue_service_level{queue="general",tenant="demo"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A second caller waits (alice is busy) and hangs up.
	ua2 := queueCall(t, srv)
	board.until("a caller waiting in general", 10*time.Second, func(m boardMsg) bool {
		for _, q := range m.Queues {
			if q.Name == "general" && q.Waiting == 1 {
				return true
			}
		}
		return false
	})
	time.Sleep(1500 * time.Millisecond)
	ua2.Bye(demoNumber)
	_, took = board.until("one abandoned in general", 3*time.Second, func(m boardMsg) bool {
		for _, q := range m.Queues {
			if q.Name == "general" && q.Abandoned == 1 && q.Waiting == 0 {
				return true
			}
		}
		return false
	})
	t.Logf("the abandon showed on the wallboard after %v", took)
	if took > time.Second {
		t.Errorf("the wallboard showed the abandon after %v, want within 1 s", took)
	}

	// Who may look: supervisors of the tenant only.
	var v map[string]any
	if code := apiLogin(t, srv, "demo", "alice", "alice-demo").get(t, "/api/v1/wallboard", &v); code != http.StatusForbidden {
		t.Errorf("an agent GET /api/v1/wallboard: %d, want 403", code)
	}
	var acme boardMsg
	if code := apiLogin(t, srv, "acme", "dave", "dave-demo").get(t, "/api/v1/wallboard", &acme); code != http.StatusOK {
		t.Errorf("acme's supervisor GET /api/v1/wallboard: %d, want 200", code)
	}
	for _, q := range acme.Queues {
		if q.Name == "general" && q.Answered > 0 {
			t.Errorf("acme's board shows demo's figures: %+v", q)
		}
	}
	for _, a := range acme.Agents {
		if a.Username == "alice" {
			t.Errorf("acme's board shows demo's agent alice")
		}
	}
	alice.send(map[string]any{"type": "hangup", "call": callID})
	alice.expect("call_ended", 10*time.Second, nil)
	ua.Bye(demoNumber)
	// The ended calls' RTP quality is in the histograms.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		metrics := scrape(t, srv)
		if strings.Contains(metrics, `hotline_call_rtp_jitter_ms_count{tenant="demo"} 2`) &&
			strings.Contains(metrics, `hotline_call_rtp_loss_ratio_bucket{tenant="demo",le="0"} 2`) {
			break
		}
		if time.Now().After(end) {
			t.Errorf("/metrics has no RTP quality of the two ended calls:\n%s", grepLines(metrics, "hotline_call_"))
			break
		}
	}
}

// scrape reads the server's /metrics.
func scrape(t *testing.T, srv *server) string {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", srv.HTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
