package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

// The scripted day: tenant acme in Asia/Kolkata (UTC+05:30, no DST), the
// hour 09:00-10:00 local on 2030-03-05, queues sales and support, agents
// alice (a real user) and bob (id "b0b", no user row: deleted since).
// Every figure the tests expect is worked out by hand in the comments.
//
// Stints (W = wait, T = 20 s service level, S = 5 s short abandon):
//
//	c1 sales    09:00:50 answered 09:01:05 by alice   W 15 s  in SL   disposition sale
//	c2 sales    09:10:00 abandoned 09:10:03           W  3 s  short abandon
//	c3 sales    09:20:00 answered 09:20:25 by alice   W 25 s  not in SL, then blind transfer:
//	c3 support  09:22:25 answered 09:22:30 by bob     W  5 s  in SL   disposition resolved
//	c4 support  09:31:00 abandoned 09:32:00           W 60 s  long abandon
//	c5 sales    09:35:00 overflow 09:36:00 to
//	c5 support  09:36:00 exit 09:38:00
//	c6 sales    09:46:00 answered 09:46:10 by bob     W 10 s  in SL   disposition sale
//	c7 sales    09:50:00 rejected at once
//	c8 sales    08:55:00 abandoned 08:56:00           before the range
//	c9 sales    10:00:00 abandoned 10:00:30           at the (exclusive) end
//
// alice: available 08:50, ringing 09:01:00, on_call 09:01:05, wrap_up
// 09:04:05, available 09:04:35, ringing 09:20:00, on_call 09:20:25, wrap_up
// 09:22:25, available 09:23:25, break 09:40, available 09:50, offline 10:10.
// So c1: talk 180 s + wrap 30 s = 210 s; c3 sales: talk 120 s + wrap 60 s =
// 180 s.
//
// bob: available 09:00, ringing 09:22:26, on_call 09:22:30, wrap_up
// 09:26:30, available 09:27:00, ringing 09:46:00, on_call 09:46:10, wrap_up
// 09:58:10, available 10:00:40, offline 10:30. So c3 support: talk 240 s +
// wrap 30 s = 270 s; c6: talk 720 s + wrap 150 s = 870 s (the wrap-up runs
// past the range's end and still counts in full).

var kolkata = mustLoad("Asia/Kolkata")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local is h:m:s on the scripted day, in the tenant's zone.
func local(h, m, s int) time.Time { return time.Date(2025, 3, 5, h, m, s, 0, kolkata) }

type scriptedDay struct {
	s      *store.Store
	alice  string
	bob    string
	calls  map[string]uuid.UUID
	from   time.Time
	to     time.Time
	thresh store.ReportThresholds
}

func newScriptedDay(t *testing.T) *scriptedDay {
	t.Helper()
	ctx := testCtx(t)
	s := storetest.NewStore(t)
	if err := s.SyncTenants(ctx, []store.Tenant{{ID: "acme", Name: "Acme", Timezone: "Asia/Kolkata"}, {ID: "globex", Name: "Globex"}}, nil); err != nil {
		t.Fatal(err)
	}
	d := &scriptedDay{
		s: s, alice: uuid.NewString(), bob: "b0b", calls: map[string]uuid.UUID{},
		from: local(9, 0, 0), to: local(10, 0, 0),
		thresh: store.ReportThresholds{ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second},
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO users (id, tenant_id, username, display_name, role, password_hash)
		VALUES ($1, 'acme', 'alice', 'Alice', 'agent', '$test')`, d.alice); err != nil {
		t.Fatal(err)
	}
	w, _ := startWriter(t, s, 1000)

	call := func(tenant, name, from string, start time.Time) uuid.UUID {
		id := uuid.New()
		d.calls[name] = id
		w.CallStarted(store.CallStart{ID: id, TenantID: tenant, SIPCallID: name + "@test", FromNumber: from,
			ToNumber: "+15550100", Flow: "main", StartedAt: start})
		w.Event(store.Event{CallID: id, TenantID: tenant, At: start, Kind: "step", Step: "menu"})
		return id
	}
	// stint writes the entry as the ACD does: a first snapshot at entry,
	// the final one when it leaves.
	stint := func(tenant string, callID uuid.UUID, queue string, entered, answered time.Time, agent string, left time.Time, outcome string) {
		e := store.QueueEntry{ID: uuid.New(), TenantID: tenant, CallID: callID, Queue: queue, EnteredAt: entered}
		w.QueueEntry(e)
		e.AnsweredAt, e.AgentID, e.LeftAt, e.Outcome, e.Wait = answered, agent, left, outcome, left.Sub(entered)
		if !answered.IsZero() {
			e.OfferedAt = entered
		}
		w.QueueEntry(e)
	}
	var none time.Time
	c1 := call("acme", "c1", "+919811100001", local(8, 59, 0))
	stint("acme", c1, "sales", local(9, 0, 50), local(9, 1, 5), d.alice, local(9, 1, 5), store.OutcomeAnswered)
	w.Disposition(store.Disposition{TenantID: "acme", CallID: c1, UserID: d.alice, Code: "sale", At: local(9, 4, 30)})
	c2 := call("acme", "c2", "+919822200002", local(9, 9, 0))
	stint("acme", c2, "sales", local(9, 10, 0), none, "", local(9, 10, 3), store.OutcomeAbandoned)
	c3 := call("acme", "c3", "+919833300003", local(9, 19, 0))
	stint("acme", c3, "sales", local(9, 20, 0), local(9, 20, 25), d.alice, local(9, 20, 25), store.OutcomeTransferred)
	stint("acme", c3, "support", local(9, 22, 25), local(9, 22, 30), d.bob, local(9, 22, 30), store.OutcomeAnswered)
	w.Disposition(store.Disposition{TenantID: "acme", CallID: c3, UserID: d.bob, Code: "resolved", At: local(9, 26, 50)})
	w.Event(store.Event{CallID: c3, TenantID: "acme", At: local(9, 22, 25), Kind: "queue_transfer", Step: "queue"})
	c4 := call("acme", "c4", "+919844400004", local(9, 30, 0))
	stint("acme", c4, "support", local(9, 31, 0), none, "", local(9, 32, 0), store.OutcomeAbandoned)
	c5 := call("acme", "c5", "+919855500005", local(9, 34, 0))
	stint("acme", c5, "sales", local(9, 35, 0), none, "", local(9, 36, 0), store.OutcomeOverflow)
	stint("acme", c5, "support", local(9, 36, 0), none, "", local(9, 38, 0), store.OutcomeExit)
	c6 := call("acme", "c6", "+919866600006", local(9, 45, 0))
	stint("acme", c6, "sales", local(9, 46, 0), local(9, 46, 10), d.bob, local(9, 46, 10), store.OutcomeAnswered)
	w.Disposition(store.Disposition{TenantID: "acme", CallID: c6, UserID: d.bob, Code: "sale", At: local(9, 59, 0)})
	c7 := call("acme", "c7", "+919877700007", local(9, 49, 0))
	stint("acme", c7, "sales", local(9, 50, 0), none, "", local(9, 50, 0), store.OutcomeRejected)
	c8 := call("acme", "c8", "+919888800008", local(8, 54, 0))
	stint("acme", c8, "sales", local(8, 55, 0), none, "", local(8, 56, 0), store.OutcomeAbandoned)
	c9 := call("acme", "c9", "+919899900009", local(9, 59, 30))
	stint("acme", c9, "sales", local(10, 0, 0), none, "", local(10, 0, 30), store.OutcomeAbandoned)
	// Another tenant, same queue name, same hour, same agent id: none of
	// it may show in acme's figures.
	g1 := call("globex", "g1", "+919811100001", local(9, 0, 0))
	stint("globex", g1, "sales", local(9, 0, 10), local(9, 0, 12), d.bob, local(9, 0, 12), store.OutcomeAnswered)
	w.Disposition(store.Disposition{TenantID: "globex", CallID: g1, UserID: d.bob, Code: "sale", At: local(9, 5, 0)})
	w.AgentState(store.AgentStateChange{TenantID: "globex", UserID: d.bob, State: "on_call", At: local(9, 0, 12)})
	w.AgentState(store.AgentStateChange{TenantID: "globex", UserID: d.bob, State: "available", At: local(9, 30, 0)})

	// Calls end last: the writer forgets a call's event numbering at its
	// end, so a later event would clash with the first.
	for _, id := range d.calls {
		w.CallEnded(store.CallEnd{ID: id, EndedAt: local(10, 30, 0), HangupCause: "normal", HangupSide: store.HangupCaller})
	}

	states := func(user string, changes ...any) {
		for i := 0; i < len(changes); i += 2 {
			w.AgentState(store.AgentStateChange{TenantID: "acme", UserID: user, State: changes[i].(string), At: changes[i+1].(time.Time)})
		}
	}
	states(d.alice,
		"available", local(8, 50, 0), "ringing", local(9, 1, 0), "on_call", local(9, 1, 5), "wrap_up", local(9, 4, 5),
		"available", local(9, 4, 35), "ringing", local(9, 20, 0), "on_call", local(9, 20, 25), "wrap_up", local(9, 22, 25),
		"available", local(9, 23, 25), "break", local(9, 40, 0), "available", local(9, 50, 0), "offline", local(10, 10, 0))
	states(d.bob,
		"available", local(9, 0, 0), "ringing", local(9, 22, 26), "on_call", local(9, 22, 30), "wrap_up", local(9, 26, 30),
		"available", local(9, 27, 0), "ringing", local(9, 46, 0), "on_call", local(9, 46, 10), "wrap_up", local(9, 58, 10),
		"available", local(10, 0, 40), "offline", local(10, 30, 0))
	flush(t, w)
	if st := w.Stats(); st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("writer stats %+v", st)
	}
	return d
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// want is a QueueFigures without the unexported sums, for comparison.
type want struct {
	offered, answered, inSL, abandoned, short, transferred, overflowed, exited, rejected, handled int
	abandonRate, sl                                                                               *float64
	asa, aht                                                                                      *int64
	talk, wrap                                                                                    int64
}

func checkFigures(t *testing.T, what string, got store.QueueFigures, w want) {
	t.Helper()
	ints := []struct {
		name      string
		got, want int
	}{
		{"offered", got.Offered, w.offered}, {"answered", got.Answered, w.answered}, {"answered in SL", got.AnsweredInSL, w.inSL},
		{"abandoned", got.Abandoned, w.abandoned}, {"short abandoned", got.ShortAbandoned, w.short},
		{"transferred", got.Transferred, w.transferred}, {"overflowed", got.Overflowed, w.overflowed},
		{"exited", got.Exited, w.exited}, {"rejected", got.Rejected, w.rejected}, {"handled", got.Handled, w.handled},
		{"waiting", got.Waiting, 0},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s: %s = %d, want %d", what, c.name, c.got, c.want)
		}
	}
	floats := []struct {
		name      string
		got, want *float64
	}{{"abandon rate", got.AbandonRate, w.abandonRate}, {"service level", got.ServiceLevel, w.sl}}
	for _, c := range floats {
		if (c.got == nil) != (c.want == nil) || c.got != nil && *c.got != *c.want {
			t.Errorf("%s: %s = %v, want %v", what, c.name, show(c.got), show(c.want))
		}
	}
	ms := []struct {
		name      string
		got, want *int64
	}{{"ASA ms", got.ASAMs, w.asa}, {"AHT ms", got.AHTMs, w.aht}, {"talk ms", &got.TalkMs, &w.talk}, {"wrap-up ms", &got.WrapUpMs, &w.wrap}}
	for _, c := range ms {
		if (c.got == nil) != (c.want == nil) || c.got != nil && *c.got != *c.want {
			t.Errorf("%s: %s = %v, want %v", what, c.name, show(c.got), show(c.want))
		}
	}
}

func show[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestQueueReportScriptedDay(t *testing.T) {
	d := newScriptedDay(t)
	ctx := testCtx(t)

	rep, err := d.s.QueueReport(ctx, "acme", d.from, d.to, "sales", d.thresh)
	if err != nil {
		t.Fatal(err)
	}
	// Sales in range: c1, c2, c3, c5, c6 offered (5); c7 rejected; c8 and
	// c9 outside. Answered c1, c3, c6 (3), within 20 s: c1 (15 s), c6
	// (10 s) = 2. Abandoned c2 (1), short (3 s < 5 s) 1.
	// Abandon rate 1/5. SL = 2 / (3 + 1 - 1) = 2/3.
	// ASA = (15 + 25 + 10) / 3 s = 16.666.. s -> 16667 ms.
	// AHT = (210 + 180 + 870) / 3 s = 420 s; talk 180+120+720 = 1020 s,
	// wrap 30+60+150 = 240 s.
	checkFigures(t, "sales totals", rep.Totals, want{
		offered: 5, answered: 3, inSL: 2, abandoned: 1, short: 1, transferred: 1, overflowed: 1, rejected: 1, handled: 3,
		abandonRate: f64(1.0 / 5), sl: f64(2.0 / 3), asa: i64(16667), aht: i64(420000), talk: 1020000, wrap: 240000,
	})
	if rep.TimeZone != "Asia/Kolkata" || rep.ServiceLevelThresholdMs != 20000 || rep.ShortAbandonMs != 5000 {
		t.Errorf("report header %+v", rep)
	}
	if len(rep.Intervals) != 4 {
		t.Fatalf("%d intervals, want 4", len(rep.Intervals))
	}
	for i, iv := range rep.Intervals {
		start := local(9, 15*i, 0)
		if !iv.Start.Equal(start) || !iv.End.Equal(start.Add(15*time.Minute)) || iv.Start.Location().String() != "Asia/Kolkata" {
			t.Errorf("interval %d: %v - %v, want %v", i, iv.Start, iv.End, start)
		}
	}
	// 09:00: c1 (answered 15 s, 210 s handle) and c2 (short abandon):
	// abandon rate 1/2, SL 1 / (1 + 1 - 1) = 1.
	checkFigures(t, "sales 09:00", rep.Intervals[0].QueueFigures, want{
		offered: 2, answered: 1, inSL: 1, abandoned: 1, short: 1, handled: 1,
		abandonRate: f64(0.5), sl: f64(1), asa: i64(15000), aht: i64(210000), talk: 180000, wrap: 30000,
	})
	// 09:15: c3 answered after 25 s, then transferred: SL 0/1.
	checkFigures(t, "sales 09:15", rep.Intervals[1].QueueFigures, want{
		offered: 1, answered: 1, transferred: 1, handled: 1,
		abandonRate: f64(0), sl: f64(0), asa: i64(25000), aht: i64(180000), talk: 120000, wrap: 60000,
	})
	// 09:30: c5 overflowed: nothing answered or abandoned, so no SL, ASA
	// or AHT.
	checkFigures(t, "sales 09:30", rep.Intervals[2].QueueFigures, want{offered: 1, overflowed: 1, abandonRate: f64(0)})
	// 09:45: c6 answered after 10 s (870 s handle); c7 rejected.
	checkFigures(t, "sales 09:45", rep.Intervals[3].QueueFigures, want{
		offered: 1, answered: 1, inSL: 1, rejected: 1, handled: 1,
		abandonRate: f64(0), sl: f64(1), asa: i64(10000), aht: i64(870000), talk: 720000, wrap: 150000,
	})

	// Support: c3 (answered by bob after 5 s, 270 s), c4 (abandoned after
	// 60 s, not short), c5 (exit). Abandon rate 1/3, SL 1 / (1 + 1) = 1/2.
	rep, err = d.s.QueueReport(ctx, "acme", d.from, d.to, "support", d.thresh)
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "support totals", rep.Totals, want{
		offered: 3, answered: 1, inSL: 1, abandoned: 1, exited: 1, handled: 1,
		abandonRate: f64(1.0 / 3), sl: f64(0.5), asa: i64(5000), aht: i64(270000), talk: 240000, wrap: 30000,
	})

	// Every queue: 8 offered, 4 answered (3 within 20 s), 2 abandoned (1
	// short). SL 3 / (4 + 2 - 1) = 3/5; ASA (15+25+10+5)/4 = 13.75 s;
	// AHT (210+180+870+270)/4 = 382.5 s.
	rep, err = d.s.QueueReport(ctx, "acme", d.from, d.to, "", d.thresh)
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "all totals", rep.Totals, want{
		offered: 8, answered: 4, inSL: 3, abandoned: 2, short: 1, transferred: 1, overflowed: 1, exited: 1, rejected: 1, handled: 4,
		abandonRate: f64(2.0 / 8), sl: f64(3.0 / 5), asa: i64(13750), aht: i64(382500), talk: 1260000, wrap: 270000,
	})

	// Other thresholds change only the SL figures: with T = 25 s c3's
	// sales stint counts (3/3); with S = 0 c2 is no short abandon (3/4).
	rep, err = d.s.QueueReport(ctx, "acme", d.from, d.to, "sales", store.ReportThresholds{ServiceLevel: 25 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.AnsweredInSL != 3 || rep.Totals.ShortAbandoned != 0 || *rep.Totals.ServiceLevel != 3.0/4 {
		t.Errorf("T=25s S=0: in SL %d, short %d, SL %v", rep.Totals.AnsweredInSL, rep.Totals.ShortAbandoned, *rep.Totals.ServiceLevel)
	}

	// globex sees only its own call.
	rep, err = d.s.QueueReport(ctx, "globex", d.from, d.to, "sales", d.thresh)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Offered != 1 || rep.Totals.Answered != 1 || rep.TimeZone != "UTC" {
		t.Errorf("globex totals %+v in %s", rep.Totals, rep.TimeZone)
	}
}

func TestQueueReportRangeErrors(t *testing.T) {
	d := newScriptedDay(t)
	ctx := testCtx(t)
	if _, err := d.s.QueueReport(ctx, "acme", d.to, d.from, "", d.thresh); err == nil {
		t.Error("a reversed range was accepted")
	}
	if _, err := d.s.QueueReport(ctx, "acme", d.from, d.from.AddDate(0, 4, 0), "", d.thresh); err == nil {
		t.Error("a four-month range was accepted")
	}
	if _, err := d.s.QueueReport(ctx, "nobody", d.from, d.to, "", d.thresh); err == nil {
		t.Error("an unknown tenant was accepted")
	}
}

func TestAgentReportScriptedDay(t *testing.T) {
	d := newScriptedDay(t)
	ctx := testCtx(t)
	rep, err := d.s.AgentReport(ctx, "acme", d.from, d.to, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Agents) != 2 {
		t.Fatalf("agents %+v", rep.Agents)
	}
	a, b := rep.Agents[0], rep.Agents[1]
	if a.Agent != d.alice || a.Username != "alice" || a.DisplayName != "Alice" || b.Agent != d.bob || b.Username != "" {
		t.Fatalf("agents %q/%q, %q/%q", a.Agent, a.Username, b.Agent, b.Username)
	}
	// alice answered c1 and c3 (sales): talk 180 + 120 = 300 s, wrap
	// 30 + 60 = 90 s, AHT 390 / 2 = 195 s.
	// Her hour: available 60 (from 09:00) + 925 + 995 + 600 (to 10:00) =
	// 2580 s; ringing 5 + 25 = 30 s; on_call 300 s; wrap_up 90 s; break
	// 600 s (sum 3600). Busy 420 s; occupancy 420 / 3000 = 0.14.
	checkAgent(t, a, 2, 2, 300000, 90000, 195000, 420000, 2580000, 420.0/3000,
		map[string]int64{"available": 2580000, "ringing": 30000, "on_call": 300000, "wrap_up": 90000, "break": 600000})
	// bob answered c3 (support) and c6: talk 240 + 720 = 960 s, wrap
	// 30 + 150 = 180 s (the whole wrap-up, past 10:00), AHT 570 s.
	// His hour: available 1346 + 1140 = 2486 s; ringing 4 + 10 s; on_call
	// 960 s; wrap_up 30 + 110 (to 10:00) s. Busy 1114 s; occupancy
	// 1114 / 3600.
	checkAgent(t, b, 2, 2, 960000, 180000, 570000, 1114000, 2486000, 1114.0/3600,
		map[string]int64{"available": 2486000, "ringing": 14000, "on_call": 960000, "wrap_up": 140000})

	// Sales only: bob's answered calls shrink to c6; his time does not.
	rep, err = d.s.AgentReport(ctx, "acme", d.from, d.to, "sales")
	if err != nil {
		t.Fatal(err)
	}
	checkAgent(t, rep.Agents[1], 1, 1, 720000, 150000, 870000, 1114000, 2486000, 1114.0/3600, nil)

	// globex's bob is another agent: one call, 30 min on_call from 09:00:12.
	rep, err = d.s.AgentReport(ctx, "globex", d.from, d.to, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Agents) != 1 || rep.Agents[0].Answered != 1 || rep.Agents[0].TalkMs != 1788000 {
		t.Errorf("globex agents %+v", rep.Agents)
	}
}

func checkAgent(t *testing.T, a store.AgentFigures, answered, handled int, talk, wrap, aht, busy, avail int64, occ float64, states map[string]int64) {
	t.Helper()
	if a.Answered != answered || a.Handled != handled || a.TalkMs != talk || a.WrapUpMs != wrap ||
		a.AHTMs == nil || *a.AHTMs != aht || a.BusyMs != busy || a.AvailableMs != avail || a.Occupancy == nil || *a.Occupancy != occ {
		t.Errorf("agent %s: answered %d handled %d talk %d wrap %d AHT %v busy %d available %d occupancy %v; want %d %d %d %d %d %d %d %v",
			a.Agent, a.Answered, a.Handled, a.TalkMs, a.WrapUpMs, show(a.AHTMs), a.BusyMs, a.AvailableMs, show(a.Occupancy),
			answered, handled, talk, wrap, aht, busy, avail, occ)
	}
	for st, ms := range states {
		if a.TimeInStateMs[st] != ms {
			t.Errorf("agent %s: %s %d ms, want %d", a.Agent, st, a.TimeInStateMs[st], ms)
		}
	}
	if states != nil && len(a.TimeInStateMs) != len(states) {
		t.Errorf("agent %s: states %v, want %v", a.Agent, a.TimeInStateMs, states)
	}
}

func TestSearchCalls(t *testing.T) {
	d := newScriptedDay(t)
	ctx := testCtx(t)
	search := func(f store.CallFilter) []string {
		t.Helper()
		ms, err := d.s.SearchCalls(ctx, "acme", f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			for n, id := range d.calls {
				if id == m.Call.ID {
					names = append(names, n)
				}
			}
		}
		return names
	}
	cases := []struct {
		name string
		f    store.CallFilter
		want []string // newest first
	}{
		{"number part", store.CallFilter{Number: "22200"}, []string{"c2"}},
		{"dialled number", store.CallFilter{Number: "+15550100", Limit: 3}, []string{"c9", "c7", "c6"}},
		{"agent by username", store.CallFilter{Agent: "Alice"}, []string{"c3", "c1"}},
		{"agent by id", store.CallFilter{Agent: d.bob}, []string{"c6", "c3"}},
		{"disposition", store.CallFilter{Disposition: "sale"}, []string{"c6", "c1"}},
		{"date range", store.CallFilter{From: local(9, 30, 0), To: local(9, 45, 0)}, []string{"c5", "c4"}},
		{"everything", store.CallFilter{Agent: "b0b", Disposition: "sale", From: d.from, To: d.to}, []string{"c6"}},
		{"no match", store.CallFilter{Number: "%"}, nil},
	}
	for _, c := range cases {
		if got := search(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	ms, err := d.s.SearchCalls(ctx, "acme", store.CallFilter{Number: "33300", Timeline: true})
	if err != nil || len(ms) != 1 {
		t.Fatalf("c3: %v %v", ms, err)
	}
	m := ms[0]
	if len(m.Stints) != 2 || m.Stints[0].Queue != "sales" || m.Stints[0].Outcome != store.OutcomeTransferred ||
		m.Stints[1].Queue != "support" || m.Stints[1].AgentID != d.bob {
		t.Errorf("c3 stints %+v", m.Stints)
	}
	if len(m.Dispositions) != 1 || m.Dispositions[0].Code != "resolved" {
		t.Errorf("c3 dispositions %+v", m.Dispositions)
	}
	if len(m.Events) != 2 || m.Events[1].Kind != "queue_transfer" {
		t.Errorf("c3 events %+v", m.Events)
	}
	if ms, _ := d.s.SearchCalls(ctx, "acme", store.CallFilter{Number: "33300"}); len(ms) != 1 || ms[0].Events != nil {
		t.Errorf("timeline read without being asked: %+v", ms)
	}

	// globex's call has the same caller number as c1, and bob's id.
	ms, err = d.s.SearchCalls(ctx, "globex", store.CallFilter{})
	if err != nil || len(ms) != 1 || ms[0].Call.ID != d.calls["g1"] || len(ms[0].Stints) != 1 || len(ms[0].Dispositions) != 1 {
		t.Errorf("globex search %+v %v", ms, err)
	}
}
