package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// analyticsView is the part of GET /api/v1/analytics the tests read.
type analyticsView struct {
	TimeZone string `json:"time_zone"`
	Channels []string
	Hourly   []struct {
		Hour  int
		Total int64
	}
	Daily []struct {
		Date  string
		Total int64
	}
	ByChannel []struct {
		Key   string
		Count int64
	} `json:"by_channel"`
	BySource []struct {
		Key   string
		Count int64
	} `json:"by_source"`
	Abandon []struct {
		Date                 string
		Offered, Answered    int64
		Abandoned            int64
		ShortAbandoned       int64    `json:"short_abandoned"`
		AbandonRate          *float64 `json:"abandon_rate"`
		AbandonRateExclShort *float64 `json:"abandon_rate_excl_short"`
	}
	Intents []struct {
		Intent, Source string
		Count          int64
	}
}

// TestAnalyticsAPI reads newReportAPI's calls (demo: d1 answered and d2
// abandoned after 2 s, both dialled +15550100 on 2025-03-05 around 10:00
// New York; acme: a1) through the JSON route.
func TestAnalyticsAPI(t *testing.T) {
	a, _ := newReportAPI(t)
	sam := bearer(a.login("demo", "sam"))
	rec := a.do("GET", "/api/v1/analytics?from=2025-03-05", "", sam...)
	if rec.Code != http.StatusOK {
		t.Fatalf("analytics: %d %s", rec.Code, rec.Body)
	}
	v := decode[analyticsView](t, rec)
	if v.TimeZone != "America/New_York" || len(v.Hourly) != 24 || len(v.Daily) != 1 || v.Daily[0].Date != "2025-03-05" || v.Daily[0].Total != 2 {
		t.Errorf("zone %s, %d hours, days %+v", v.TimeZone, len(v.Hourly), v.Daily)
	}
	if v.Hourly[9].Total != 1 || v.Hourly[10].Total != 1 {
		t.Errorf("hours 9 and 10: %+v %+v", v.Hourly[9], v.Hourly[10])
	}
	if len(v.ByChannel) != 1 || v.ByChannel[0].Key != "voice_inbound" || v.ByChannel[0].Count != 2 {
		t.Errorf("channels %+v", v.ByChannel)
	}
	if len(v.BySource) != 1 || v.BySource[0].Key != "+15550100" || v.BySource[0].Count != 2 {
		t.Errorf("numbers %+v", v.BySource)
	}
	if len(v.Abandon) != 1 || v.Abandon[0].Offered != 2 || v.Abandon[0].Answered != 1 || v.Abandon[0].Abandoned != 1 ||
		v.Abandon[0].ShortAbandoned != 1 || *v.Abandon[0].AbandonRate != 0.5 || *v.Abandon[0].AbandonRateExclShort != 0 {
		t.Errorf("abandons %+v", v.Abandon)
	}
	if len(v.Intents) != 1 || v.Intents[0].Intent != "sale" || v.Intents[0].Source != "disposition" || v.Intents[0].Count != 1 {
		t.Errorf("intents %+v (acme's sale must not count)", v.Intents)
	}

	// Another zone moves the hours: 10:00 New York is 15:00 UTC.
	v = decode[analyticsView](t, a.do("GET", "/api/v1/analytics?from=2025-03-05&tz=UTC", "", sam...))
	if v.TimeZone != "UTC" || v.Hourly[14].Total != 1 || v.Hourly[15].Total != 1 {
		t.Errorf("in UTC: zone %s, 14h %d, 15h %d", v.TimeZone, v.Hourly[14].Total, v.Hourly[15].Total)
	}

	// acme's supervisor sees only a1.
	v = decode[analyticsView](t, a.do("GET", "/api/v1/analytics?from=2025-03-05T00:00:00Z&to=2025-03-06T00:00:00Z", "", bearer(a.login("acme", "dave"))...))
	if len(v.ByChannel) != 1 || v.ByChannel[0].Count != 1 || len(v.Abandon) != 1 || v.Abandon[0].Offered != 1 {
		t.Errorf("acme: channels %+v, abandons %+v", v.ByChannel, v.Abandon)
	}
}

func TestAnalyticsRolesAndBadInput(t *testing.T) {
	a, _ := newReportAPI(t)
	agent, super, admin := bearer(a.login("demo", "alice")), bearer(a.login("demo", "sam")), bearer(a.login("demo", "ada"))
	for _, path := range []string{"/api/v1/analytics?from=2025-03-05", "/api/v1/analytics.csv?from=2025-03-05&series=daily"} {
		if rec := a.do("GET", path, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d", path, rec.Code)
		}
		if rec := a.do("GET", path, "", agent...); rec.Code != http.StatusForbidden {
			t.Errorf("%s as an agent: %d %s", path, rec.Code, rec.Body)
		}
		for _, who := range [][]string{super, admin} {
			if rec := a.do("GET", path, "", who...); rec.Code != http.StatusOK {
				t.Errorf("%s as %s: %d %s", path, who[1][:12], rec.Code, rec.Body)
			}
		}
	}
	for _, c := range []struct{ query, want string }{
		{"", "from is required"},
		{"from=yesterday", "from:"},
		{"from=2025-03-05&to=2025-13-01", "to:"},
		{"from=2025-03-05&to=2025-03-04", "to must be after from"},
		{"from=2024-01-01&to=2025-03-05", "at most 400 days"},
		{"from=2025-03-05T10:07:00Z", "quarter hour"},
		{"from=2025-03-05&tz=Mars/Olympus", "time zone"},
		{"from=2025-03-05&tz=Local", "time zone"},
		{"from=2025-03-05&top=0", "top must be"},
		{"from=2025-03-05&top=many", "top must be"},
	} {
		rec := a.do("GET", "/api/v1/analytics?"+c.query, "", super...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("?%s: %d %s, want 400 with %q", c.query, rec.Code, rec.Body, c.want)
		}
	}
	for _, q := range []string{"from=2025-03-05", "from=2025-03-05&series=everything"} {
		rec := a.do("GET", "/api/v1/analytics.csv?"+q, "", super...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "series") {
			t.Errorf("csv ?%s: %d %s", q, rec.Code, rec.Body)
		}
	}
	// A year and a day is fine.
	if rec := a.do("GET", "/api/v1/analytics?from=2024-03-05&to=2025-03-05", "", super...); rec.Code != http.StatusOK {
		t.Errorf("a year: %d %s", rec.Code, rec.Body)
	}
}

func TestAnalyticsCSV(t *testing.T) {
	a, _ := newReportAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Codes a spreadsheet would misread: a comma and quotes, a formula.
	ny, _ := time.LoadLocation("America/New_York")
	for _, code := range []string{`card, "lost"`, `=HYPERLINK("http://x")`} {
		if _, err := a.db.Pool().Exec(ctx, `INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, at) VALUES ($1, 'demo', $2, 'u', $3, $4)`,
			uuid.New(), uuid.New(), code, time.Date(2025, 3, 5, 12, 0, 0, 0, ny)); err != nil {
			t.Fatal(err)
		}
	}
	sam := bearer(a.login("demo", "sam"))
	read := func(series string) [][]string {
		t.Helper()
		rec := a.do("GET", "/api/v1/analytics.csv?from=2025-03-05&to=2025-03-06&series="+series, "", sam...)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s csv: %d %s", series, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("%s csv: content type %q", series, ct)
		}
		if cd, want := rec.Header().Get("Content-Disposition"), `attachment; filename="analytics-`+series+`-2025-03-05-2025-03-06.csv"`; cd != want {
			t.Errorf("%s csv: Content-Disposition %q, want %q", series, cd, want)
		}
		rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		if err != nil {
			t.Fatalf("%s csv %q: %v", series, rec.Body, err)
		}
		return rows
	}
	daily := read("daily")
	if len(daily) != 3 || strings.Join(daily[0], ",") != "date,total,voice_inbound" || strings.Join(daily[1], ",") != "2025-03-05,2,2" ||
		strings.Join(daily[2], ",") != "2025-03-06,0,0" {
		t.Errorf("daily csv %q", daily)
	}
	if hourly := read("hourly"); len(hourly) != 25 || strings.Join(hourly[10], ",") != "09,1,1" || strings.Join(hourly[11], ",") != "10,1,1" {
		t.Errorf("hourly csv %q", hourly)
	}
	// Numbers start with +, which a spreadsheet reads as a formula too.
	if src := read("sources"); len(src) != 2 || strings.Join(src[1], ",") != "'+15550100,2" {
		t.Errorf("sources csv %q", src)
	}
	if ab := read("abandon"); len(ab) != 3 || strings.Join(ab[1], ",") != "2025-03-05,2,1,1,1,0.5,0" || strings.Join(ab[2], ",") != "2025-03-06,0,0,0,0,," {
		t.Errorf("abandon csv %q", ab)
	}
	intents := read("intents")
	want := map[string]bool{`card, "lost"|disposition|1`: true, `'=HYPERLINK("http://x")|disposition|1`: true, "sale|disposition|1": true}
	if len(intents) != 4 || strings.Join(intents[0], ",") != "intent,source,count" {
		t.Fatalf("intents csv %q", intents)
	}
	for _, row := range intents[1:] {
		if !want[strings.Join(row, "|")] {
			t.Errorf("intents csv row %q", row)
		}
	}
	for _, series := range []string{"channels", "regions", "csat", "keywords"} {
		if rows := read(series); len(rows) < 1 {
			t.Errorf("%s csv has no header", series)
		}
	}
}
