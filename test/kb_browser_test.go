package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKnowledgePanel is the knowledge base on the agent page, in headless
// Chromium (test/browser/kb.test.mjs), on the server `hotline serve` runs
// with the demo configuration (configs/kb/demo): agent alice searches
// "stolen card" and sees the card-blocking article first with the matched
// words in <mark>; an article created through the API by supervisor sam,
// whose title and body hold <img onerror> and <script>, is shown as text
// and never run; a kb_matches message renders as suggestions.
func TestKnowledgePanel(t *testing.T) {
	srv, b := startBrowserServer(t, serverOptions{Name: "kb-page"})

	const img, script = `<img src=x onerror="window.pwned=1">`, `<script>window.pwned=2</script>`
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	article := map[string]any{
		"id": "widget-fee", "title": "Gold plated widget fee " + img,
		"body":    "The widget fee is 5 USD. " + script + "\nSecond line " + img,
		"phrases": []string{"what is the gold plated widget fee"}, "keywords": []string{"widget"},
	}
	if code, msg := kbPostJSON(t, sam, "/api/v1/kb/articles", article); code != http.StatusCreated {
		t.Fatalf("create the article as sam: %d %s", code, msg)
	}
	alice := apiLogin(t, srv, "demo", "alice", "alice-demo")
	if code, msg := kbPostJSON(t, alice, "/api/v1/kb/articles", article); code != http.StatusForbidden {
		t.Errorf("agent alice creating an article: %d %s, want 403", code, msg)
	}

	events := runPageScript(t, 90*time.Second, "kb.test.mjs", "the knowledge panel", b.vars(nil))

	type result struct {
		ID           string   `json:"id"`
		Title        string   `json:"title"`
		TitleMarks   []string `json:"title_marks"`
		Snippet      string   `json:"snippet"`
		SnippetMarks []string `json:"snippet_marks"`
		Why          string   `json:"why"`
	}
	var stolen struct {
		Results  []result `json:"results"`
		WhyLines []string `json:"why_lines"`
	}
	decodeEvent(t, events, "stolen", &stolen)
	if len(stolen.Results) == 0 {
		t.Fatal(`no results for "stolen card"`)
	}
	first := stolen.Results[0]
	t.Logf("stolen card: %s %q marks %q; why %q", first.ID, first.Title, first.TitleMarks, stolen.WhyLines)
	if first.ID != "block-card" || first.Title != "Block a lost or stolen card" {
		t.Errorf("first result %+v, want the card-blocking article", first)
	}
	if strings.Join(first.TitleMarks, "|") != "stolen card" {
		t.Errorf("title marks %q, want the matched words \"stolen card\" in <mark>", first.TitleMarks)
	}
	if !strings.Contains(first.Why, "score") || len(stolen.WhyLines) < 2 || !strings.Contains(strings.Join(stolen.WhyLines, "|"), "phrase “my card was stolen”") {
		t.Errorf("score explanation %q / %q", first.Why, stolen.WhyLines)
	}

	var markup struct {
		Results  []result `json:"results"`
		Body     string   `json:"body"`
		Pwned    any      `json:"pwned"`
		Elements int      `json:"elements"`
	}
	decodeEvent(t, events, "markup", &markup)
	if len(markup.Results) == 0 || markup.Results[0].ID != "widget-fee" {
		t.Fatalf("markup search: %+v", markup.Results)
	}
	if !strings.Contains(markup.Results[0].Title, img) || !strings.Contains(markup.Body, script) || !strings.Contains(markup.Body, "Second line "+img) {
		t.Errorf("the markup is not shown as text: title %q, body %q", markup.Results[0].Title, markup.Body)
	}
	if markup.Pwned != nil || markup.Elements != 0 {
		t.Errorf("article text ran in the page: pwned %v, %d img/script elements", markup.Pwned, markup.Elements)
	}

	var pushed struct {
		Results []result `json:"results"`
		Visible bool     `json:"visible"`
	}
	decodeEvent(t, events, "pushed", &pushed)
	if !pushed.Visible || len(pushed.Results) == 0 || pushed.Results[0].ID != "pin-reset" || len(pushed.Results[0].TitleMarks) == 0 {
		t.Errorf("kb_matches suggestions: %+v", pushed)
	}
}

// kbPostJSON posts v as the client's user and returns the status and body.
func kbPostJSON(t *testing.T, c *apiClient, path string, v any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(c.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	var msg bytes.Buffer
	_, _ = msg.ReadFrom(res.Body)
	return res.StatusCode, msg.String()
}
