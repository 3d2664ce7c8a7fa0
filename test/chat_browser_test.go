package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestChatBrowser is issue 13's web chat in headless Chromium
// (test/browser/chat.test.mjs): a company page on another origin embeds
// /chat/widget.js; the visitor asks the (fake) bot a question and gets its
// answer, writes a line with <img onerror> and <script>, and clicks "Talk
// to a person"; demo/alice, available on the agent page, gets the chat as
// a tab with the transcript, the markup shown as text in both pages and
// never run; her reply reaches the visitor; a 1 MB message is refused by
// the widget and, sent past it, by the server. PostgreSQL then holds the
// chat's row and every line of it. Then alice clicks "Create ticket" in the
// chat's tab: the form comes prefilled from the chat, and the ticket she
// submits is stored linked to the chat, whose transcript it shows as text.
func TestChatBrowser(t *testing.T) {
	chromium := needBrowser(t)
	// The company's site, on its own origin; it learns Hotline's address
	// once that server runs (set before any page is asked for).
	var hotlineBase atomic.Pointer[string]
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Demo Bank</title></head><body>
<h1>Demo Bank</h1><p>Questions? Chat with us.</p>
<script src="%s/chat/widget.js" data-tenant="demo" data-queue="cards"></script>
</body></html>`, *hotlineBase.Load())
	}))
	defer page.Close()
	srv := startServer(t, serverOptions{Name: "chat-browser", Edit: chatConfig([]string{page.URL}, "")})
	b := newBrowserEnv(t, chromium, srv)
	hotlineBase.Store(&b.base)
	events := runPageScript(t, 120*time.Second, "chat.test.mjs", "the chat", b.vars(map[string]string{"HOST_URL": page.URL}))
	const markup = `My card number is in this <img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>`
	const reply = "Hello, Alice here <b>not bold</b>. I have blocked it."

	var bot struct{ Sender, Text, Title string }
	decodeEvent(t, events, "bot", &bot)
	if bot.Title != "Block a lost or stolen card" || !strings.Contains(bot.Text, "Block card") {
		t.Errorf("bot answer %+v", bot)
	}
	var agent struct {
		Tab      string
		Lines    []string
		Senders  []string
		Pwned    any
		Elements int
		Ms       int64
	}
	decodeEvent(t, events, "agent_chat", &agent)
	t.Logf("alice's tab %q after %d ms; transcript %q", agent.Tab, agent.Ms, agent.Lines)
	joined := strings.Join(agent.Lines, "\n")
	if !strings.Contains(joined, markup) || !strings.Contains(joined, "How do I block my lost card?") || !strings.Contains(joined, "Block a lost or stolen card") {
		t.Errorf("alice's transcript lacks the visitor's text or the bot's part: %q", agent.Lines)
	}
	if agent.Pwned != nil || agent.Elements != 0 {
		t.Errorf("chat text ran on alice's page: pwned %v, %d elements", agent.Pwned, agent.Elements)
	}
	var visitor struct {
		Lines    []string
		Pwned    any
		Elements int
	}
	decodeEvent(t, events, "visitor", &visitor)
	if v := strings.Join(visitor.Lines, "\n"); !strings.Contains(v, reply) || !strings.Contains(v, markup) || !strings.Contains(v, "joined the chat") {
		t.Errorf("the visitor's widget: %q", visitor.Lines)
	}
	if visitor.Pwned != nil || visitor.Elements != 0 {
		t.Errorf("chat text ran in the widget: pwned %v, %d elements", visitor.Pwned, visitor.Elements)
	}
	var big struct{ Widget, Server string }
	decodeEvent(t, events, "big", &big)
	t.Logf("1 MB: widget %q; server %q", big.Widget, big.Server)

	var id struct{ ID string }
	decodeEvent(t, events, "chat_id", &id)
	c, msgs := chatRow(t, srv, id.ID)
	if c.Channel != "web" || c.Queue != "cards" || c.Outcome != "answered" || c.AgentID == "" || c.QueuedAt == nil || c.AnsweredAt == nil || c.EndedAt == nil {
		t.Errorf("chat row %+v", c)
	}
	count := map[string]int{}
	var bodies []string
	for _, m := range msgs {
		count[m.Sender]++
		bodies = append(bodies, m.Sender+": "+m.Body)
		if len(m.Body) > 4000 {
			t.Errorf("a %d-byte message was stored", len(m.Body))
		}
	}
	all := strings.Join(bodies, "\n")
	if count["visitor"] != 2 || count["agent"] != 1 || count["bot"] < 2 || count["system"] < 1 ||
		!strings.Contains(all, "visitor: "+markup) || !strings.Contains(all, "agent: "+reply) {
		t.Errorf("chat messages in PostgreSQL: %v\n%s", count, all)
	}
	checkChatTicket(t, srv, events, id.ID, markup)

	var timing struct{ Ms int64 }
	decodeEvent(t, events, "timing", &timing)
	t.Logf("the browser flow took %d ms", timing.Ms)
}
