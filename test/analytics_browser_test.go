package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestAnalyticsPage is the supervisors' analytics page in headless
// Chromium (test/browser/analytics.test.mjs). The rows are written
// straight into the server's database (the rollup triggers of migration
// 0012 count them as they would the call path's), on three days of June
// 2025 in demo's zone, New York:
//
//	c1 inbound +15550100 west 06-02 09:10  answered; disposition <img src=x onerror=window.pwned=1>
//	c2 inbound +15550100 west 06-02 09:40  abandoned after 30 s
//	c3 inbound +15550100 east 06-02 14:20  answered; disposition sale
//	c4 inbound +15550199 ''   06-03 10:05
//	c5 outbound          ''   06-03 11:00
//	chat web             ''   06-04 09:30  visitor "Billing problem <img src=x onerror=window.pwned=2>"
//	CSAT 06-02: 5 and 2; 06-04: 4
//	acme: an inbound call on 06-02 09:00 from region acme-only
//
// sam signs in, picks 2025-06-02..2025-06-04, and the page must draw each
// chart with these rows, list keywords and intents as text (nothing of
// the markup runs or becomes an element), and download the numbers' CSV.
func TestAnalyticsPage(t *testing.T) {
	srv, b := startBrowserServer(t, serverOptions{Name: "analytics-page"})
	checkPageCSP(t, b.base, "/analytics")
	seedAnalyticsPage(t, srv)

	events := runPageScript(t, 2*time.Minute, "analytics.test.mjs", "the analytics page", b.vars(map[string]string{
		"FROM": "2025-06-02", "TO": "2025-06-04",
		"SUPER_TENANT": "demo", "SUPER_USER": "sam", "SUPER_PASSWORD": "sam-demo",
	}))

	type dataset struct {
		Label    string     `json:"label"`
		Elements int        `json:"elements"`
		Data     []*float64 `json:"data"`
	}
	type chart struct {
		Type     string    `json:"type"`
		Width    float64   `json:"width"`
		Height   float64   `json:"height"`
		Labels   []string  `json:"labels"`
		Datasets []dataset `json:"datasets"`
	}
	var pg struct {
		Charts   map[string]*chart `json:"charts"`
		Keywords []string          `json:"keywords"`
		Intents  []string          `json:"intents"`
		Injected int               `json:"injected"`
		Pwned    any               `json:"pwned"`
		Totals   map[string]string `json:"totals"`
		Zone     string            `json:"zone"`
		CSP      []string          `json:"csp"`
	}
	decodeEvent(t, events, "page", &pg)
	t.Logf("totals %v, %s; keywords %q; intents %q", pg.Totals, pg.Zone, pg.Keywords, pg.Intents)
	for _, name := range []string{"hourly", "daily", "channels", "regions", "sources", "abandon", "csat"} {
		c := pg.Charts[name]
		if c == nil || c.Width < 100 {
			t.Errorf("chart %s: %+v, want a drawn canvas", name, c)
			continue
		}
		var shape []string
		for _, d := range c.Datasets {
			shape = append(shape, fmt.Sprintf("%s:%d", d.Label, d.Elements))
		}
		t.Logf("chart %s (%s): labels %q, datasets %v", name, c.Type, c.Labels, shape)
	}
	if t.Failed() {
		return
	}
	sum := func(d dataset) (n float64, nonzero int) {
		for _, v := range d.Data {
			if v != nil && *v != 0 {
				n += *v
				nonzero++
			}
		}
		return n, nonzero
	}
	// Hourly: a stacked bar per channel (chat web, voice inbound, voice
	// outbound), 24 bars each; 6 contacts in hours 09 (3), 10, 11 and 14.
	h := pg.Charts["hourly"]
	if h.Type != "bar" || len(h.Datasets) != 3 || len(h.Labels) != 24 {
		t.Errorf("hourly chart: %s with %d datasets over %d hours, want 3 bar datasets over 24", h.Type, len(h.Datasets), len(h.Labels))
	}
	total, bars := 0.0, 0
	perHour := make([]float64, 24)
	for _, d := range h.Datasets {
		if d.Elements != 24 {
			t.Errorf("hourly %s: %d bars, want 24", d.Label, d.Elements)
		}
		n, nz := sum(d)
		total, bars = total+n, bars+nz
		for i, v := range d.Data {
			if v != nil && i < 24 {
				perHour[i] += *v
			}
		}
	}
	if total != 6 || bars != 5 || perHour[9] != 3 || perHour[10] != 1 || perHour[11] != 1 || perHour[14] != 1 {
		t.Errorf("hourly: %v contacts in %d bars, per hour %v; want 6 in 5 bars (09: 2 calls + 1 chat)", total, bars, perHour)
	}
	// Daily: a point per day and channel.
	for _, d := range pg.Charts["daily"].Datasets {
		if d.Elements != 3 {
			t.Errorf("daily %s: %d points, want 3", d.Label, d.Elements)
		}
	}
	if got := pg.Charts["channels"]; got.Type != "doughnut" || len(got.Datasets) != 1 || got.Datasets[0].Elements != 3 {
		t.Errorf("channels: %+v, want a doughnut of 3", got)
	}
	if got := pg.Charts["regions"]; len(got.Datasets) != 1 || got.Datasets[0].Elements != 3 || strings.Join(got.Labels, ",") != "unknown,west,east" {
		t.Errorf("regions: labels %q, want unknown (3), west (2), east (1)", got.Labels)
	}
	if got := pg.Charts["sources"]; len(got.Datasets) != 1 || got.Datasets[0].Elements != 2 || strings.Join(got.Labels, ",") != "+15550100,+15550199" {
		t.Errorf("numbers dialled: labels %q", got.Labels)
	}
	for _, name := range []string{"abandon", "csat"} {
		for _, d := range pg.Charts[name].Datasets {
			if d.Elements != 3 {
				t.Errorf("%s %s: %d points, want 3 (one per day)", name, d.Label, d.Elements)
			}
		}
	}
	if ab := pg.Charts["abandon"].Datasets[0].Data; len(ab) != 3 || ab[0] == nil || *ab[0] != 1.0/3 || ab[1] != nil {
		t.Errorf("abandon rate by day %v, want 1/3 on 06-02 and none on 06-03", ab)
	}
	if cs := pg.Charts["csat"].Datasets[0].Data; len(cs) != 3 || cs[0] == nil || *cs[0] != 0.5 || cs[2] == nil || *cs[2] != 1 {
		t.Errorf("CSAT by day %v, want 0.5, none, 1", cs)
	}
	if pg.Totals["calls"] != "5" || pg.Totals["chats"] != "1" || pg.Totals["abandon"] != "33.3%" || pg.Totals["csat"] != "66.7%" {
		t.Errorf("totals %v", pg.Totals)
	}

	// The markup is text: the intent reads as written, no element, no run.
	const xss = "<img src=x onerror=window.pwned=1>"
	if len(pg.Intents) != 2 || !strings.Contains(strings.Join(pg.Intents, "|"), xss) || !strings.Contains(strings.Join(pg.Intents, "|"), "sale") {
		t.Errorf("intents %q, want the markup code as text and sale", pg.Intents)
	}
	for _, w := range []string{"billing", "problem", "img", "onerror"} {
		if !strings.Contains("|"+strings.Join(pg.Keywords, "|")+"|", "|"+w+"|") {
			t.Errorf("keywords %q: want %q", pg.Keywords, w)
		}
	}
	if pg.Injected != 0 || pg.Pwned != nil {
		t.Errorf("markup ran: %d elements, window.pwned %v", pg.Injected, pg.Pwned)
	}
	if len(pg.CSP) > 0 {
		t.Errorf("CSP violations: %q", pg.CSP)
	}
	for _, s := range []string{"acme-only"} {
		b, _ := json.Marshal(pg)
		if strings.Contains(string(b), s) {
			t.Errorf("acme's %q shows on demo's page", s)
		}
	}

	var dl struct {
		Name string `json:"name"`
		Text string `json:"text"`
	}
	decodeEvent(t, events, "csv", &dl)
	rows, err := csv.NewReader(strings.NewReader(dl.Text)).ReadAll()
	if err != nil {
		t.Fatalf("the downloaded CSV %q: %v", dl.Text, err)
	}
	if dl.Name != "analytics-sources-2025-06-02-2025-06-04.csv" || len(rows) != 3 ||
		strings.Join(rows[0], ",") != "number,count" || strings.Join(rows[1], ",") != "'+15550100,3" || strings.Join(rows[2], ",") != "'+15550199,1" {
		t.Errorf("downloaded %s: %q", dl.Name, rows)
	}
	t.Logf("screenshots in %s", b.out)
}

func seedAnalyticsPage(t *testing.T, srv *server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, h, m int) time.Time { return time.Date(2025, 6, day, h, m, 0, 0, ny) }
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := srv.DB.Pool().Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	call := func(tenant, direction, to, region string, start time.Time) uuid.UUID {
		id := uuid.New()
		exec(`INSERT INTO calls (id, tenant_id, sip_call_id, direction, from_number, to_number, started_at, ended_at, region)
			VALUES ($1, $2, $3, $4, '+12125550000', $5, $6, $6::timestamptz + interval '2 minutes', $7)`, id, tenant, id.String(), direction, to, start, region)
		return id
	}
	stint := func(tenant string, callID uuid.UUID, entered time.Time, outcome string, wait time.Duration) {
		var answered *time.Time
		if outcome == "answered" {
			a := entered.Add(wait)
			answered = &a
		}
		exec(`INSERT INTO queue_entries (id, tenant_id, call_id, queue, entered_at, answered_at, left_at, outcome, wait_ms)
			VALUES ($1, $2, $3, 'general', $4, $5, $6, $7, $8)`, uuid.New(), tenant, callID, entered, answered, entered.Add(wait), outcome, wait.Milliseconds())
	}
	disp := func(callID uuid.UUID, code string, when time.Time) {
		exec(`INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, at) VALUES ($1, 'demo', $2, 'u', $3, $4)`, uuid.New(), callID, code, when)
	}
	survey := func(score int, when time.Time) {
		exec(`INSERT INTO survey_answers (id, tenant_id, call_id, survey, question, kind, score, method, at)
			VALUES ($1, 'demo', $2, 'csat', 'q1', 'score', $3, 'dtmf', $4)`, uuid.New(), uuid.New(), score, when)
	}
	c1 := call("demo", "inbound", "+15550100", "west", at(2, 9, 10))
	c2 := call("demo", "inbound", "+15550100", "west", at(2, 9, 40))
	c3 := call("demo", "inbound", "+15550100", "east", at(2, 14, 20))
	call("demo", "inbound", "+15550199", "", at(3, 10, 5))
	call("demo", "outbound", "+12125550001", "", at(3, 11, 0))
	stint("demo", c1, at(2, 9, 10).Add(5*time.Second), "answered", 8*time.Second)
	stint("demo", c2, at(2, 9, 40).Add(5*time.Second), "abandoned", 30*time.Second)
	stint("demo", c3, at(2, 14, 20).Add(5*time.Second), "answered", 12*time.Second)
	disp(c1, "<img src=x onerror=window.pwned=1>", at(2, 9, 20))
	disp(c3, "sale", at(2, 14, 30))
	survey(5, at(2, 9, 30))
	survey(2, at(2, 14, 40))
	survey(4, at(4, 9, 50))
	chat := uuid.New()
	exec(`INSERT INTO chats (id, tenant_id, channel, started_at, region) VALUES ($1, 'demo', 'web', $2, '')`, chat, at(4, 9, 30))
	exec(`INSERT INTO chat_messages (tenant_id, chat_id, at, sender, body) VALUES ('demo', $1, $2, 'visitor', $3)`,
		chat, at(4, 9, 31), "Billing problem <img src=x onerror=window.pwned=2>")
	a1 := call("acme", "inbound", "+442000", "acme-only", at(2, 9, 0))
	stint("acme", a1, at(2, 9, 1), "abandoned", 40*time.Second)
}
