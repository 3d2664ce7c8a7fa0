package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

var newYork = mustLoad("America/New_York")

// ny is a wall-clock time of tenant demo (America/New_York, EST in early
// March 2030).
func ny(day, h, m, s int) time.Time { return time.Date(2030, 3, day, h, m, s, 0, newYork) }

// analyticsDay seeds tenants demo (New York) and acme (London) with the
// rows below and returns the store. acme gets a mirror of demo's calls
// with its own numbers and regions, which must never show in demo's
// figures. Every expectation in the tests is worked out from this list.
//
//	c1 inbound  +15550100 west  03-05 09:05   queue answered (10 s), menu 1 -> cards_menu, said "lost card", disposition sale
//	c2 inbound  +15550100 west→north 03-05 09:20   queue abandoned after 3 s (short), menu 1 -> cards_menu
//	c3 inbound  +15550111 east  03-05 13:00   rejected at 13:00:05; queue abandoned after 60 s; menu (speech) lost_card;
//	                                          said "mortgage rates" (no match); disposition sale; on 03-06 11:00 another stint,
//	                                          written open, then abandoned after 10 s
//	c4 outbound            ''    03-05 13:30
//	c5 callback            east  03-06 10:00
//	c6 inbound  +15550100 ''    03-06 23:50   (04:50Z on 03-07) stint answered then transferred; disposition resolved
//	c7 inbound  +15550100 west  03-04 23:59   before the range
//	ch1 web      west  03-05 09:10  visitor "My card is blocked, card blocked!", agent "Your card will be unblocked"
//	ch2 whatsapp ''    03-05 14:00  visitor "Blocked card again <img src=x onerror=alert(1)>", visitor "card 4111111111111111"
//	ch3 web      west  03-05 15:00  visitor "refund", then deleted
//	surveys: 03-05 scores 5, 4, 2 and a yes/no; 03-06 score 3
func analyticsDay(t *testing.T) *store.Store {
	t.Helper()
	s := storetest.NewStore(t)
	ctx := testCtx(t)
	if err := s.SyncTenants(ctx,
		[]store.Tenant{{ID: "demo", Name: "Demo", Timezone: "America/New_York"}, {ID: "acme", Name: "Acme", Timezone: "Europe/London"}},
		[]store.Number{{Number: "+15550100", TenantID: "demo", Flow: "main"}, {Number: "+442000", TenantID: "acme", Flow: "main"}}); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"demo", "acme"} {
		seedAnalytics(t, ctx, s, tenant)
	}
	return s
}

func seedAnalytics(t *testing.T, ctx context.Context, s *store.Store, tenant string) {
	t.Helper()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	num := func(n string) string { // acme's mirror numbers and regions
		if tenant == "acme" {
			return "+44" + strings.TrimPrefix(n, "+1555")
		}
		return n
	}
	reg := func(r string) string {
		if tenant == "acme" && r != "" {
			return "uk-" + r
		}
		return r
	}
	call := func(direction, to, region string, at time.Time) uuid.UUID {
		id := uuid.New()
		exec(`INSERT INTO calls (id, tenant_id, sip_call_id, direction, from_number, to_number, started_at, region)
			VALUES ($1, $2, $3, $4, '+15557770000', $5, $6, $7)`, id, tenant, id.String(), direction, to, at, region)
		return id
	}
	c1 := call("inbound", num("+15550100"), reg("west"), ny(5, 9, 5, 0))
	c2 := call("inbound", num("+15550100"), reg("west"), ny(5, 9, 20, 0))
	c3 := call("inbound", num("+15550111"), reg("east"), ny(5, 13, 0, 0))
	call("outbound", "+15557770001", "", ny(5, 13, 30, 0))
	call("callback", "+15557770002", reg("east"), ny(6, 10, 0, 0))
	c6 := call("inbound", num("+15550100"), "", ny(6, 23, 50, 0))
	call("inbound", num("+15550100"), reg("west"), ny(4, 23, 59, 0))
	// The region arrives later: the call moves from west to north.
	exec(`UPDATE calls SET region = $1, ended_at = started_at + interval '1 minute' WHERE id = $2`, reg("north"), c2)

	stint := func(callID uuid.UUID, entered time.Time, answer time.Duration, outcome string, left time.Duration) {
		var answered, leftAt *time.Time
		if answer > 0 {
			a := entered.Add(answer)
			answered = &a
		}
		if outcome != "" {
			l := entered.Add(left)
			leftAt = &l
		}
		var oc *string
		if outcome != "" {
			oc = &outcome
		}
		exec(`INSERT INTO queue_entries (id, tenant_id, call_id, queue, entered_at, answered_at, left_at, outcome)
			VALUES ($1, $2, $3, 'general', $4, $5, $6, $7)`, uuid.New(), tenant, callID, entered, answered, leftAt, oc)
	}
	stint(c1, ny(5, 9, 5, 10), 10*time.Second, "answered", 5*time.Minute)
	stint(c2, ny(5, 9, 20, 5), 0, "abandoned", 3*time.Second)
	stint(c3, ny(5, 13, 0, 5), 0, "rejected", 0)
	stint(c3, ny(5, 13, 0, 10), 0, "abandoned", time.Minute)
	stint(c6, ny(6, 23, 50, 10), 5*time.Second, "transferred", time.Minute)
	// Written open, closed by an update, as the writer does.
	open := uuid.New()
	exec(`INSERT INTO queue_entries (id, tenant_id, call_id, queue, entered_at) VALUES ($1, $2, $3, 'general', $4)`,
		open, tenant, c3, ny(6, 11, 0, 0))
	exec(`UPDATE queue_entries SET outcome = 'abandoned', left_at = entered_at + interval '10 seconds' WHERE id = $1`, open)

	event := func(callID uuid.UUID, seq int, at time.Time, kind, step string, data map[string]string) {
		b, _ := json.Marshal(data)
		exec(`INSERT INTO call_events (tenant_id, call_id, seq, at, kind, step, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tenant, callID, seq, at, kind, step, b)
	}
	event(c1, 1, ny(5, 9, 5, 1), "menu", "main_menu", map[string]string{"choice": "1", "next": "cards_menu"})
	event(c1, 2, ny(5, 9, 5, 2), "speech", "cards_menu", map[string]string{"text": "lost card", "confidence": "0.9", "choice": "lost"})
	event(c1, 3, ny(5, 9, 5, 3), "say", "cards_menu", map[string]string{"text": "ignored words"})
	event(c2, 1, ny(5, 9, 20, 1), "menu", "main_menu", map[string]string{"choice": "1", "next": "cards_menu"})
	event(c3, 1, ny(5, 13, 0, 1), "speech_nomatch", "main_menu", map[string]string{"text": "mortgage rates", "reason": "out_of_grammar"})
	event(c3, 2, ny(5, 13, 0, 2), "menu", "main_menu", map[string]string{"choice": "lost_card", "next": "lost_card", "input": "speech"})

	disp := func(callID uuid.UUID, code string, at time.Time) {
		exec(`INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, at) VALUES ($1, $2, $3, 'u1', $4, $5)`,
			uuid.New(), tenant, callID, code, at)
	}
	disp(c1, "sale", ny(5, 9, 10, 0))
	disp(c3, "sale", ny(5, 13, 5, 0))
	disp(c6, "resolved", ny(6, 23, 55, 0))

	chat := func(channel, region string, at time.Time, msgs ...[2]string) uuid.UUID {
		id := uuid.New()
		exec(`INSERT INTO chats (id, tenant_id, channel, started_at, region) VALUES ($1, $2, $3, $4, $5)`, id, tenant, channel, at, region)
		for i, m := range msgs {
			exec(`INSERT INTO chat_messages (tenant_id, chat_id, at, sender, body) VALUES ($1, $2, $3, $4, $5)`,
				tenant, id, at.Add(time.Duration(i)*time.Second), m[0], m[1])
		}
		return id
	}
	chat("web", reg("west"), ny(5, 9, 10, 0), [2]string{"visitor", "My card is blocked, card blocked!"}, [2]string{"agent", "Your card will be unblocked"})
	chat("whatsapp", "", ny(5, 14, 0, 0), [2]string{"visitor", "Blocked card again <img src=x onerror=alert(1)>"}, [2]string{"visitor", "card 4111111111111111"})
	gone := chat("web", reg("west"), ny(5, 15, 0, 0), [2]string{"visitor", "refund"})
	exec(`DELETE FROM chats WHERE id = $1`, gone)

	survey := func(q string, score int, at time.Time) {
		if score == 0 {
			exec(`INSERT INTO survey_answers (id, tenant_id, call_id, survey, question, kind, yes, method, at)
				VALUES ($1, $2, $3, 'csat', $4, 'yesno', true, 'dtmf', $5)`, uuid.New(), tenant, c1, q, at)
			return
		}
		exec(`INSERT INTO survey_answers (id, tenant_id, call_id, survey, question, kind, score, method, at)
			VALUES ($1, $2, $3, 'csat', $4, 'score', $5, 'dtmf', $6)`, uuid.New(), tenant, uuid.New(), q, score, at)
	}
	survey("q1", 5, ny(5, 9, 15, 0))
	survey("q1", 4, ny(5, 10, 0, 0))
	survey("q1", 2, ny(5, 13, 10, 0))
	survey("q2", 0, ny(5, 13, 10, 0))
	survey("q1", 3, ny(6, 12, 0, 0))
}

func keyCounts(kc []store.KeyCount) map[string]int64 {
	m := map[string]int64{}
	for _, k := range kc {
		m[k.Key] = k.Count
	}
	return m
}

func eqMap(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

func TestAnalyticsSeries(t *testing.T) {
	s := analyticsDay(t)
	ctx := testCtx(t)
	a, err := s.Analytics(ctx, "demo", store.AnalyticsQuery{From: ny(5, 0, 0, 0), To: ny(7, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if a.TimeZone != "America/New_York" {
		t.Errorf("time zone %q", a.TimeZone)
	}
	eqMap(t, "by channel", keyCounts(a.ByChan), map[string]int64{
		"voice_inbound": 4, "voice_outbound": 1, "voice_callback": 1, "chat_web": 1, "chat_whatsapp": 1})
	if got := strings.Join(a.Channels, ","); got != "voice_callback,voice_inbound,voice_outbound,chat_web,chat_whatsapp" {
		t.Errorf("channels %s", got)
	}
	if a.Totals.Calls != 6 || a.Totals.Chats != 2 {
		t.Errorf("totals %d calls %d chats, want 6 and 2", a.Totals.Calls, a.Totals.Chats)
	}
	hours := map[string]int64{}
	for _, h := range a.Hourly {
		if h.Total > 0 {
			hours[time.Duration(h.Hour*int(time.Hour)).String()] = h.Total
		}
	}
	eqMap(t, "hourly", hours, map[string]int64{"9h0m0s": 3, "10h0m0s": 1, "13h0m0s": 2, "14h0m0s": 1, "23h0m0s": 1})
	if len(a.Hourly) != 24 || a.Hourly[9].ByChannel["chat_web"] != 1 || a.Hourly[9].ByChannel["voice_inbound"] != 2 {
		t.Errorf("hour 9: %+v", a.Hourly[9])
	}
	if len(a.Daily) != 2 || a.Daily[0].Date != "2030-03-05" || a.Daily[0].Total != 6 || a.Daily[1].Date != "2030-03-06" || a.Daily[1].Total != 2 {
		t.Errorf("daily %+v", a.Daily)
	}
	// By count, then name; the unknown region ("") is a region like any.
	if got, _ := json.Marshal(a.ByRegion); string(got) != `[{"key":"","count":3},{"key":"east","count":2},{"key":"west","count":2},{"key":"north","count":1}]` {
		t.Errorf("regions %s", got)
	}
	if got, _ := json.Marshal(a.BySource); string(got) != `[{"key":"+15550100","count":3},{"key":"+15550111","count":1}]` {
		t.Errorf("sources %s", got)
	}

	if len(a.Abandon) != 2 {
		t.Fatalf("abandon %+v", a.Abandon)
	}
	d5, d6 := a.Abandon[0], a.Abandon[1]
	if d5.Offered != 3 || d5.Answered != 1 || d5.Abandoned != 2 || d5.ShortAbandoned != 1 ||
		d5.AbandonRate == nil || *d5.AbandonRate != 2.0/3 || d5.AbandonRateLong == nil || *d5.AbandonRateLong != 0.5 {
		t.Errorf("abandons on 03-05 %+v", d5)
	}
	if d6.Offered != 2 || d6.Answered != 1 || d6.Abandoned != 1 || d6.ShortAbandoned != 0 || *d6.AbandonRate != 0.5 {
		t.Errorf("abandons on 03-06 %+v", d6)
	}
	if a.Totals.Abandoned != 3 || a.Totals.Answered != 2 || *a.Totals.AbandonRate != 0.6 {
		t.Errorf("abandon totals %+v", a.Totals)
	}

	if len(a.CSAT) != 2 || a.CSAT[0].Answers != 3 || a.CSAT[0].Satisfied != 2 || *a.CSAT[0].CSAT != 2.0/3 ||
		a.CSAT[1].Answers != 1 || a.CSAT[1].Satisfied != 0 || *a.CSAT[1].CSAT != 0 {
		t.Errorf("csat %+v", a.CSAT)
	}

	got, _ := json.Marshal(a.Keywords)
	want := `[{"term":"card","count":4,"chat":3,"speech":1},{"term":"blocked","count":2,"chat":2,"speech":0},` +
		`{"term":"alert","count":1,"chat":1,"speech":0},{"term":"img","count":1,"chat":1,"speech":0},` +
		`{"term":"lost","count":1,"chat":0,"speech":1},{"term":"mortgage","count":1,"chat":0,"speech":1},` +
		`{"term":"onerror","count":1,"chat":1,"speech":0},{"term":"rates","count":1,"chat":0,"speech":1},` +
		`{"term":"src","count":1,"chat":1,"speech":0}]`
	if string(got) != want {
		t.Errorf("keywords\n got %s\nwant %s", got, want)
	}
	got, _ = json.Marshal(a.Intents)
	want = `[{"intent":"main_menu:cards_menu","source":"ivr_key","count":2},{"intent":"sale","source":"disposition","count":2},` +
		`{"intent":"main_menu:lost_card","source":"ivr_speech","count":1},{"intent":"resolved","source":"disposition","count":1}]`
	if string(got) != want {
		t.Errorf("intents\n got %s\nwant %s", got, want)
	}
}

// TestAnalyticsZoneAndRange reads the same rows on another clock and over
// part of the range, and checks the tenant isolation both ways.
func TestAnalyticsZoneAndRange(t *testing.T) {
	s := analyticsDay(t)
	ctx := testCtx(t)

	// In UTC the range 03-05 00:00Z..03-07 00:00Z takes in c7 (04:59Z on
	// 03-05, hour 4) and leaves out c6 (04:50Z on 03-07).
	a, err := s.Analytics(ctx, "demo", store.AnalyticsQuery{From: time.Date(2030, 3, 5, 0, 0, 0, 0, time.UTC),
		To: time.Date(2030, 3, 7, 0, 0, 0, 0, time.UTC), Location: time.UTC, Series: []string{store.SeriesHourly, store.SeriesDaily}})
	if err != nil {
		t.Fatal(err)
	}
	if a.TimeZone != "UTC" || a.Hourly[4].Total != 1 || a.Hourly[23].Total != 0 || a.Hourly[14].Total != 3 {
		t.Errorf("hourly in UTC: 4h %d, 14h %d, 23h %d", a.Hourly[4].Total, a.Hourly[14].Total, a.Hourly[23].Total)
	}
	if a.ByChan != nil || a.Abandon != nil || a.Keywords != nil {
		t.Errorf("series not asked for were read")
	}
	if a.Daily[0].Total+a.Daily[1].Total != 8 {
		t.Errorf("daily in UTC %+v", a.Daily)
	}

	// One afternoon: 13:00-14:00 holds c3 and c4 only.
	a, err = s.Analytics(ctx, "demo", store.AnalyticsQuery{From: ny(5, 13, 0, 0), To: ny(5, 14, 0, 0), Series: []string{store.SeriesChannels, store.SeriesSources}})
	if err != nil {
		t.Fatal(err)
	}
	eqMap(t, "13-14h channels", keyCounts(a.ByChan), map[string]int64{"voice_inbound": 1, "voice_outbound": 1})
	eqMap(t, "13-14h sources", keyCounts(a.BySource), map[string]int64{"+15550111": 1})

	// Quarter-hour ends: 09:15-13:45 holds c2 (09:20), c3 and c4.
	a, err = s.Analytics(ctx, "demo", store.AnalyticsQuery{From: ny(5, 9, 15, 0), To: ny(5, 13, 45, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hourly[9].Total != 1 || a.Hourly[13].Total != 2 || a.Totals.Calls != 3 || len(a.ByRegion) != 3 {
		t.Errorf("09:15-13:45: 9h %d, 13h %d, %d calls, regions %+v", a.Hourly[9].Total, a.Hourly[13].Total, a.Totals.Calls, a.ByRegion)
	}

	// A half-hour zone reads the quarter hours: in Kolkata (UTC+05:30) c1,
	// c2 and ch1 fall at 19h, c3 at 23h, c4 and ch2 at 00h, c5 at 20h and
	// c6 at 10h.
	kol := mustLoad("Asia/Kolkata")
	a, err = s.Analytics(ctx, "demo", store.AnalyticsQuery{From: ny(5, 0, 0, 0), To: ny(7, 0, 0, 0), Location: kol, Series: []string{store.SeriesHourly}})
	if err != nil {
		t.Fatal(err)
	}
	hours := map[int]int64{}
	for _, h := range a.Hourly {
		if h.Total > 0 {
			hours[h.Hour] = h.Total
		}
	}
	if len(hours) != 5 || hours[19] != 3 || hours[23] != 1 || hours[0] != 2 || hours[20] != 1 || hours[10] != 1 {
		t.Errorf("hours in Kolkata %v", hours)
	}

	// acme sees its mirror and nothing of demo's.
	a, err = s.Analytics(ctx, "acme", store.AnalyticsQuery{From: ny(5, 0, 0, 0), To: ny(7, 0, 0, 0), Location: newYork})
	if err != nil {
		t.Fatal(err)
	}
	eqMap(t, "acme regions", keyCounts(a.ByRegion), map[string]int64{"": 3, "uk-east": 2, "uk-west": 2, "uk-north": 1})
	eqMap(t, "acme sources", keyCounts(a.BySource), map[string]int64{"+440100": 3, "+440111": 1})
	for _, k := range []string{"+15550100", "+15550111", "west", "east"} {
		if strings.Contains(mustJSON(t, a), `"`+k+`"`) {
			t.Errorf("acme's analytics hold demo's %q", k)
		}
	}
	a, _ = s.Analytics(ctx, "demo", store.AnalyticsQuery{From: ny(5, 0, 0, 0), To: ny(7, 0, 0, 0)})
	if strings.Contains(mustJSON(t, a), "uk-") || strings.Contains(mustJSON(t, a), "+4401") {
		t.Errorf("demo's analytics hold acme's rows")
	}

	// Bad ranges.
	for _, r := range [][2]time.Time{
		{ny(5, 0, 0, 0), ny(5, 0, 0, 0)},
		{ny(5, 0, 0, 0), ny(5, 0, 0, 0).Add(401 * 24 * time.Hour)},
		{ny(5, 0, 7, 0), ny(6, 0, 0, 0)},
	} {
		if _, err := s.Analytics(ctx, "demo", store.AnalyticsQuery{From: r[0], To: r[1]}); err == nil {
			t.Errorf("range %v..%v: no error", r[0], r[1])
		}
	}
	if _, err := s.Analytics(ctx, "demo", store.AnalyticsQuery{From: ny(5, 0, 0, 0), To: ny(6, 0, 0, 0), Series: []string{"nope"}}); err == nil {
		t.Errorf("unknown series: no error")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAnalyticsBackfill rebuilds the rollups from the tables the way
// migration 0012 does for rows written before it, and expects exactly
// what the triggers kept.
func TestAnalyticsBackfill(t *testing.T) {
	s := analyticsDay(t)
	ctx := testCtx(t)
	snapshot := func() string {
		t.Helper()
		var out []string
		for _, q := range []string{
			`SELECT tenant_id, dim, bucket::text, key, n FROM analytics_volume WHERE n <> 0 ORDER BY 1, 2, 3, 4`,
			`SELECT tenant_id, hour::text, key, n FROM analytics_volume_hour WHERE n <> 0 ORDER BY 1, 2, 3`,
			`SELECT tenant_id, dim, day::text, key, n FROM analytics_volume_day WHERE n <> 0 ORDER BY 1, 2, 3, 4`,
			`SELECT tenant_id, bucket::text, offered, answered, abandoned, short_abandoned FROM analytics_queue
				WHERE (offered, answered, abandoned, short_abandoned) <> (0, 0, 0, 0) ORDER BY 1, 2`,
			`SELECT tenant_id, bucket::text, answers, satisfied FROM analytics_csat WHERE (answers, satisfied) <> (0, 0) ORDER BY 1, 2`,
			`SELECT tenant_id, day::text, source, term, n FROM analytics_terms WHERE n <> 0 ORDER BY 1, 2, 3, 4`,
			`SELECT tenant_id, day::text, source, intent, n FROM analytics_intents WHERE n <> 0 ORDER BY 1, 2, 3, 4`,
		} {
			rows, err := s.Pool().Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(vals...), "\n", " ")))
			}
			rows.Close()
			out = append(out, "--")
		}
		return strings.Join(out, "\n")
	}
	kept := snapshot()
	if strings.Count(kept, "\n") < 40 {
		t.Fatalf("the triggers kept too little:\n%s", kept)
	}
	if _, err := s.Pool().Exec(ctx, `TRUNCATE analytics_volume, analytics_volume_hour, analytics_volume_day, analytics_queue,
		analytics_csat, analytics_terms, analytics_intents`); err != nil {
		t.Fatal(err)
	}
	// The migration's backfill block.
	if _, err := s.Pool().Exec(ctx, `DO $$
		DECLARE
			tbl  text;
			stmt text;
		BEGIN
			FOREACH tbl IN ARRAY ARRAY['calls', 'chats', 'queue_entries', 'survey_answers', 'chat_messages', 'call_events', 'dispositions'] LOOP
				FOREACH stmt IN ARRAY analytics_sql(tbl, format('SELECT r.*, 1 AS d FROM %I r', tbl)) LOOP
					EXECUTE stmt;
				END LOOP;
			END LOOP;
		END
		$$`); err != nil {
		t.Fatal(err)
	}
	if rebuilt := snapshot(); rebuilt != kept {
		t.Errorf("backfill differs from the triggers' rollups\nkept:\n%s\nrebuilt:\n%s", kept, rebuilt)
	}

	// Deleting a tenant (one with chats only: calls keep theirs) takes
	// its rollups along, and its cascading deletes recreate none.
	for _, q := range []string{
		`INSERT INTO tenants (id, name, timezone) VALUES ('gone', 'Gone', 'Europe/Paris')`,
		`INSERT INTO chats (id, tenant_id, channel, started_at, region) VALUES ('0d6f0c3e-0000-4000-8000-000000000001', 'gone', 'web', now(), 'x')`,
		`INSERT INTO chat_messages (tenant_id, chat_id, at, sender, body) VALUES ('gone', '0d6f0c3e-0000-4000-8000-000000000001', now(), 'visitor', 'refund please')`,
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	count := func() (n int) {
		t.Helper()
		if err := s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM analytics_volume WHERE tenant_id = 'gone')
			+ (SELECT count(*) FROM analytics_volume_hour WHERE tenant_id = 'gone')
			+ (SELECT count(*) FROM analytics_volume_day WHERE tenant_id = 'gone')
			+ (SELECT count(*) FROM analytics_terms WHERE tenant_id = 'gone')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 5 { // channel, region, hour, region-day, term "refund"
		t.Errorf("gone's rollups: %d rows, want 5", n)
	}
	if _, err := s.Pool().Exec(ctx, `DELETE FROM tenants WHERE id = 'gone'`); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("gone's rollups after its deletion: %d rows", n)
	}
}
