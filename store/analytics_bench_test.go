package store_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/store"
	"hotline/store/storetest"
)

// TestAnalyticsBench times the analytics series over a year of a busy
// tenant: a million calls with their queue stints, IVR events,
// dispositions and survey answers, and 150,000 chats with their visitors'
// messages, each table filled by one INSERT ... SELECT generate_series so
// the rollup triggers see statements the size of a year. Run with
// HOTLINE_ANALYTICS_BENCH=1 (make bench); docs/benchmarks.md "Analytics"
// has the figures.
func TestAnalyticsBench(t *testing.T) {
	if os.Getenv("HOTLINE_ANALYTICS_BENCH") != "1" {
		t.Skip("set HOTLINE_ANALYTICS_BENCH=1 to seed a million calls and time the analytics queries")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s := storetest.NewStore(t)
	if err := s.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo", Timezone: "America/New_York"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	calls := 1_000_000
	if v := os.Getenv("HOTLINE_ANALYTICS_BENCH_CALLS"); v != "" {
		fmt.Sscan(v, &calls)
	}
	seed := []struct{ what, sql string }{
		// Calls: 85 % inbound, 10 % outbound, 5 % callbacks, over 2025 in
		// New York; nine in ten in business hours (a triangle around
		// 14:00), the rest at any hour; six regions and five numbers
		// dialled, skewed.
		{"calls", `INSERT INTO calls (id, tenant_id, sip_call_id, direction, from_number, to_number, started_at, ended_at, region)
			SELECT gen_random_uuid(), 'demo', 'bench-' || g,
				CASE WHEN r1 < 0.85 THEN 'inbound' WHEN r1 < 0.95 THEN 'outbound' ELSE 'callback' END,
				'+1212' || lpad((floor(random() * 10000000))::int::text, 7, '0'),
				CASE WHEN r1 < 0.85 THEN (ARRAY['+15550100', '+15550101', '+15550102', '+15550103', '+15550104'])[1 + floor(power(random(), 2) * 5)::int]
					ELSE '+1212' || lpad((floor(random() * 10000000))::int::text, 7, '0') END,
				st, st + (30 + floor(random() * 600)) * interval '1 second',
				(ARRAY['west', 'east', 'north', 'south', 'central', ''])[1 + floor(power(random(), 1.5) * 6)::int]
			FROM (SELECT g, random() AS r1,
				(timestamp '2025-01-01' + floor(random() * 365) * interval '1 day'
					+ CASE WHEN random() < 0.9 THEN interval '8 hours' + (random() + random()) * interval '6 hours'
						ELSE random() * interval '24 hours' END) AT TIME ZONE 'America/New_York' AS st
				FROM generate_series(1, $1) g) x`},
		// Four in five inbound calls queue: 88 % answered after up to a
		// minute, 9 % abandoned (a third within 5 s), the rest overflow.
		{"queue_entries", `INSERT INTO queue_entries (id, tenant_id, call_id, queue, entered_at, answered_at, left_at, outcome, wait_ms)
			SELECT gen_random_uuid(), tenant_id, id, 'general', e, CASE WHEN r < 0.88 THEN e + w END, e + w,
				CASE WHEN r < 0.88 THEN 'answered' WHEN r < 0.97 THEN 'abandoned' ELSE 'overflow' END,
				(extract(epoch FROM w) * 1000)::bigint
			FROM (SELECT tenant_id, id, started_at + interval '20 seconds' AS e, r,
				CASE WHEN r >= 0.88 AND r < 0.91 THEN random() * interval '5 seconds' ELSE random() * interval '60 seconds' END AS w
				FROM (SELECT tenant_id, id, started_at, random() AS r FROM calls WHERE direction = 'inbound' AND random() < 0.8) c) q`},
		// Every inbound call goes through the main menu; one in five says
		// something to it.
		{"call_events (menu)", `INSERT INTO call_events (tenant_id, call_id, seq, at, kind, step, data)
			SELECT tenant_id, id, 1, started_at + interval '5 seconds', 'menu', 'main_menu',
				jsonb_build_object('choice', o, 'next', (ARRAY['cards_menu', 'balance', 'lost_card', 'loans', 'agent'])[o::int],
					'input', CASE WHEN random() < 0.2 THEN 'speech' ELSE 'key' END)
			FROM (SELECT tenant_id, id, started_at, (1 + floor(power(random(), 1.5) * 5))::text AS o FROM calls WHERE direction = 'inbound') c`},
		{"call_events (speech)", `INSERT INTO call_events (tenant_id, call_id, seq, at, kind, step, data)
			SELECT tenant_id, id, 2, started_at + interval '4 seconds', 'speech', 'main_menu',
				jsonb_build_object('text', (ARRAY['lost card', 'my card was stolen', 'check my balance', 'talk to an agent',
					'loan rates', 'I want a mortgage', 'card blocked', 'dispute a payment', 'change my address', 'open an account'])[1 + floor(power(random(), 1.3) * 10)::int],
					'confidence', '0.8')
			FROM calls WHERE direction = 'inbound' AND random() < 0.2`},
		{"dispositions", `INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, at)
			SELECT gen_random_uuid(), tenant_id, call_id, 'agent-' || floor(random() * 80), 
				(ARRAY['resolved', 'sale', 'callback', 'escalated', 'info', 'complaint', 'wrong_number', 'other'])[1 + floor(power(random(), 1.6) * 8)::int],
				left_at + interval '3 minutes'
			FROM queue_entries WHERE outcome = 'answered'`},
		// One answered call in six takes the survey; scores lean high.
		{"survey_answers", `INSERT INTO survey_answers (id, tenant_id, call_id, survey, question, kind, score, method, at)
			SELECT gen_random_uuid(), tenant_id, call_id, 'csat', 'q1', 'score',
				(ARRAY[1, 2, 3, 4, 4, 5, 5, 5])[1 + floor(random() * 8)::int], 'dtmf', left_at + interval '4 minutes'
			FROM queue_entries WHERE outcome = 'answered' AND random() < 0.17`},
		{"chats", `INSERT INTO chats (id, tenant_id, channel, started_at, region, outcome)
			SELECT gen_random_uuid(), 'demo', CASE WHEN r < 0.7 THEN 'web' WHEN r < 0.9 THEN 'whatsapp' ELSE 'sms' END, st,
				(ARRAY['west', 'east', 'north', 'south', 'central', ''])[1 + floor(power(random(), 1.5) * 6)::int], 'answered'
			FROM (SELECT random() AS r, (timestamp '2025-01-01' + floor(random() * 365) * interval '1 day'
				+ interval '8 hours' + random() * interval '12 hours') AT TIME ZONE 'America/New_York' AS st
				FROM generate_series(1, $1 * 15 / 100) g) x`},
		// Two visitor messages per chat, six words each from a skewed
		// vocabulary with its stop words, and an agent's reply. The
		// words' subquery names w and m so it runs once per message.
		{"chat_messages", `INSERT INTO chat_messages (tenant_id, chat_id, at, sender, body)
			SELECT c.tenant_id, c.id, c.started_at + m * interval '20 seconds', CASE WHEN m = 3 THEN 'agent' ELSE 'visitor' END,
				(SELECT string_agg(v[1 + floor(power(random(), 1.7) * array_length(v, 1))::int + 0 * w], ' ') FROM generate_series(1, 6 + 0 * m) w)
			FROM chats c CROSS JOIN generate_series(1, 3) m
			CROSS JOIN (SELECT ARRAY['my', 'card', 'is', 'the', 'blocked', 'please', 'help', 'refund', 'order', 'delivery', 'late', 'account',
				'password', 'reset', 'login', 'payment', 'failed', 'invoice', 'address', 'change', 'cancel', 'subscription', 'upgrade',
				'plan', 'balance', 'transfer', 'fee', 'charged', 'twice', 'mortgage', 'loan', 'rate', 'statement', 'fraud', 'stolen',
				'app', 'crash', 'error', 'thanks', 'hello', 'and', 'to', 'a', 'for', 'with', 'can', 'you', 'need', 'want', 'why'] AS v) voc`},
	}
	t.Logf("seeding %d calls (and the rows that come with them) into %s", calls, "a storetest database")
	for _, st := range seed {
		start := time.Now()
		var args []any
		if strings.Contains(st.sql, "$1") {
			args = append(args, calls)
		}
		tag, err := s.Pool().Exec(ctx, st.sql, args...)
		if err != nil {
			t.Fatalf("seed %s: %v", st.what, err)
		}
		t.Logf("seed %-22s %9d rows in %7.1f s (rollup triggers included)", st.what, tag.RowsAffected(), time.Since(start).Seconds())
	}
	if _, err := s.Pool().Exec(ctx, "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"calls", "queue_entries", "call_events", "chats", "chat_messages", "survey_answers", "dispositions",
		"analytics_volume", "analytics_volume_hour", "analytics_volume_day", "analytics_queue", "analytics_csat", "analytics_terms", "analytics_intents"} {
		var n int64
		if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("rows %-18s %9d", tbl, n)
	}

	ny, _ := time.LoadLocation("America/New_York")
	year := store.AnalyticsQuery{From: time.Date(2025, 1, 1, 0, 0, 0, 0, ny), To: time.Date(2026, 1, 1, 0, 0, 0, 0, ny)}
	const runs = 7
	timeIt := func(name string, series []string) time.Duration {
		var ds []time.Duration
		for range runs {
			q := year
			q.Series = series
			start := time.Now()
			a, err := s.Analytics(ctx, "demo", q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ds = append(ds, time.Since(start))
			if name == "all series" && a.Totals.Calls != int64(calls) {
				t.Errorf("the year holds %d calls, want %d", a.Totals.Calls, calls)
			}
		}
		slices.Sort(ds)
		p50, worst := ds[len(ds)/2], ds[len(ds)-1]
		t.Logf("%-34s p50 %7.1f ms  max %7.1f ms  (%d runs, one-year range)", name, ms(p50), ms(worst), runs)
		if worst > time.Second {
			t.Errorf("%s took %v, over a second", name, worst)
		}
		return worst
	}
	for _, group := range [][]string{
		{store.SeriesHourly, store.SeriesDaily, store.SeriesChannels},
		{store.SeriesRegions, store.SeriesSources},
		{store.SeriesAbandon}, {store.SeriesCSAT}, {store.SeriesKeywords}, {store.SeriesIntents},
	} {
		timeIt(strings.Join(group, "+"), group)
	}
	timeIt("all series", nil)
	// A half-hour zone cannot use the hourly copy.
	kolkata := year
	kolkata.Location, _ = time.LoadLocation("Asia/Kolkata")
	year = kolkata
	timeIt("hourly+daily+channels, Asia/Kolkata", []string{store.SeriesHourly, store.SeriesDaily, store.SeriesChannels})
	year.Location = nil

	// The same hour-of-day figure straight from the CDRs, for scale.
	start := time.Now()
	if _, err := s.Pool().Exec(ctx, `SELECT extract(hour FROM started_at AT TIME ZONE 'America/New_York'), direction, count(*)
		FROM calls WHERE tenant_id = 'demo' AND started_at >= $1 AND started_at < $2 GROUP BY 1, 2`, year.From, year.To); err != nil {
		t.Fatal(err)
	}
	t.Logf("for scale, hour of day from calls directly: %.1f ms", ms(time.Since(start)))

	// The write path: a writer-sized batch (100 calls in one statement)
	// with and without its triggers' work.
	batch := `INSERT INTO calls (id, tenant_id, sip_call_id, direction, to_number, started_at, region)
		SELECT gen_random_uuid(), 'demo', 'batch-' || g, 'inbound', '+15550100', now() - g * interval '1 second', 'west'
		FROM generate_series(1, 100) g`
	var withTrig, without []time.Duration
	for range runs {
		start := time.Now()
		if _, err := s.Pool().Exec(ctx, batch); err != nil {
			t.Fatal(err)
		}
		withTrig = append(withTrig, time.Since(start))
	}
	if _, err := s.Pool().Exec(ctx, "ALTER TABLE calls DISABLE TRIGGER analytics_ins"); err != nil {
		t.Fatal(err)
	}
	for range runs {
		start := time.Now()
		if _, err := s.Pool().Exec(ctx, batch); err != nil {
			t.Fatal(err)
		}
		without = append(without, time.Since(start))
	}
	slices.Sort(withTrig)
	slices.Sort(without)
	t.Logf("100-call INSERT: p50 %.2f ms with the rollup trigger, %.2f ms without", ms(withTrig[runs/2]), ms(without[runs/2]))

	for _, q := range []struct{ name, sql string }{
		// The range is whole hours, so it all comes from the hourly copy.
		{"volume", `EXPLAIN (ANALYZE, BUFFERS) SELECT day, hour, key, sum(n)::bigint FROM (
			SELECT to_char(at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD') AS day,
				extract(hour FROM at AT TIME ZONE 'America/New_York')::int AS hour, key, n
			FROM (SELECT hour AS at, key, n FROM analytics_volume_hour WHERE tenant_id = 'demo' AND hour >= $1 AND hour < $2
				UNION ALL
				SELECT bucket, key, n FROM analytics_volume WHERE tenant_id = 'demo' AND dim = 'channel'
					AND ((bucket >= $1 AND bucket < $1) OR (bucket >= $2 AND bucket < $2))) u) v
			GROUP BY GROUPING SETS ((day, key), (hour, key))`},
		{"keywords", `EXPLAIN (ANALYZE, BUFFERS) SELECT term, sum(n) AS total FROM analytics_terms
			WHERE tenant_id = 'demo' AND day >= $1::timestamptz::date AND day <= $2::timestamptz::date GROUP BY term ORDER BY total DESC LIMIT 10`},
	} {
		rows, err := s.Pool().Query(ctx, q.sql, year.From, year.To)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		t.Logf("EXPLAIN ANALYZE %s:\n%s", q.name, strings.Join(plan, "\n"))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
