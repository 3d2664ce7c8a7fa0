package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/auth"
	"hotline/desk"
	"hotline/queue"
	"hotline/store"
	"hotline/store/storetest"
)

// fakeACDs has no runtimes; it only knows demo's sales thresholds, the
// way the server's tenant registry would.
type fakeACDs struct{}

func (fakeACDs) ACD(string) *queue.Runtime                { return nil }
func (fakeACDs) AgentProfile(string, string) desk.Profile { return desk.Profile{} }
func (fakeACDs) QueueThresholds(tenantID, q string) (time.Duration, time.Duration, bool) {
	if tenantID == "demo" && q == "sales" {
		return 20 * time.Second, 5 * time.Second, true
	}
	return 0, 0, false
}

// newReportAPI is newAPI with call records and a few calls: demo (in
// America/New_York) has d1, answered by alice after 10 s (talk 120 s,
// wrap-up 30 s), and d2, abandoned after 2 s, both in sales on 2025-03-05;
// acme has a1, answered by carol the same morning.
func newReportAPI(t *testing.T) (*api, map[string]uuid.UUID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := storetest.NewStore(t)
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo", Timezone: "America/New_York"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Now()}
	svc, err := auth.New(db, auth.Config{Password: auth.CheapParams(), Now: clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]uuid.UUID{}
	for _, u := range []struct{ tenant, name, role string }{
		{"demo", "alice", auth.RoleAgent}, {"demo", "sam", auth.RoleSupervisor}, {"demo", "ada", auth.RoleAdmin},
		{"acme", "carol", auth.RoleAgent}, {"acme", "dave", auth.RoleSupervisor},
	} {
		nu, err := svc.CreateUser(ctx, u.tenant, auth.NewUser{Username: u.name, DisplayName: strings.ToUpper(u.name[:1]) + u.name[1:], Role: u.role, Password: u.name + "-demo"})
		if err != nil {
			t.Fatal(err)
		}
		ids[u.name] = nu.ID
	}

	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s int) time.Time { return time.Date(2025, 3, 5, h, m, s, 0, ny) }
	w := store.NewWriter(db, nil, 100)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })

	call := func(tenant, name, from string, start time.Time) uuid.UUID {
		id := uuid.New()
		ids[name] = id
		w.CallStarted(store.CallStart{ID: id, TenantID: tenant, SIPCallID: name, FromNumber: from, ToNumber: "+15550100", StartedAt: start})
		w.Event(store.Event{CallID: id, At: start, Kind: "step", Step: "menu"})
		return id
	}
	entry := func(tenant string, id uuid.UUID, entered, answered time.Time, agent string, left time.Time, outcome string) {
		w.QueueEntry(store.QueueEntry{ID: uuid.New(), TenantID: tenant, CallID: id, Queue: "sales", EnteredAt: entered,
			AnsweredAt: answered, AgentID: agent, LeftAt: left, Outcome: outcome, Wait: left.Sub(entered)})
	}
	alice, carol := ids["alice"].String(), ids["carol"].String()
	d1 := call("demo", "d1", "+12125550001", at(9, 59, 30))
	entry("demo", d1, at(10, 0, 0), at(10, 0, 10), alice, at(10, 0, 10), store.OutcomeAnswered)
	w.Disposition(store.Disposition{TenantID: "demo", CallID: d1, UserID: alice, Code: "sale", At: at(10, 2, 30)})
	for _, c := range []struct {
		state string
		at    time.Time
	}{{"available", at(9, 55, 0)}, {"ringing", at(10, 0, 5)}, {"on_call", at(10, 0, 10)}, {"wrap_up", at(10, 2, 10)}, {"available", at(10, 2, 40)}, {"offline", at(11, 0, 0)}} {
		w.AgentState(store.AgentStateChange{TenantID: "demo", UserID: alice, State: c.state, At: c.at})
	}
	d2 := call("demo", "d2", "+12125550002", at(10, 19, 50))
	entry("demo", d2, at(10, 20, 0), time.Time{}, "", at(10, 20, 2), store.OutcomeAbandoned)
	a1 := call("acme", "a1", "+15557777", at(10, 4, 0))
	entry("acme", a1, at(10, 5, 0), at(10, 5, 3), carol, at(10, 5, 3), store.OutcomeAnswered)
	w.Disposition(store.Disposition{TenantID: "acme", CallID: a1, UserID: carol, Code: "sale", At: at(10, 9, 0)})
	for _, id := range []uuid.UUID{d1, d2, a1} {
		w.CallEnded(store.CallEnd{ID: id, EndedAt: at(10, 30, 0), HangupCause: "normal", HangupSide: store.HangupCaller})
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc, Calls: db, ACD: fakeACDs{}}
	return &api{t: t, h: s.Handler(), db: db, clk: clk}, ids
}

type figuresView struct {
	Offered, Answered, Abandoned int
	ShortAbandoned               int      `json:"short_abandoned"`
	ServiceLevel                 *float64 `json:"service_level"`
	ASAMs                        *int64   `json:"asa_ms"`
	AHTMs                        *int64   `json:"aht_ms"`
}

type queueReportView struct {
	TimeZone       string `json:"time_zone"`
	From, To       time.Time
	ShortAbandonMs int64 `json:"short_abandon_ms"`
	Totals         figuresView
	Intervals      []struct {
		Start time.Time
		figuresView
	}
}

func TestReportRoles(t *testing.T) {
	a, _ := newReportAPI(t)
	agent, super, admin := bearer(a.login("demo", "alice")), bearer(a.login("demo", "sam")), bearer(a.login("demo", "ada"))
	for _, path := range []string{"/api/v1/reports/queues?from=2025-03-05", "/api/v1/reports/agents?from=2025-03-05", "/api/v1/calls/search"} {
		if rec := a.do("GET", path, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d", path, rec.Code)
		}
		if rec := a.do("GET", path, "", agent...); rec.Code != http.StatusForbidden {
			t.Errorf("%s as an agent: %d %s", path, rec.Code, rec.Body)
		}
		if rec := a.do("GET", path, "", super...); rec.Code != http.StatusOK {
			t.Errorf("%s as a supervisor: %d %s", path, rec.Code, rec.Body)
		}
		if rec := a.do("GET", path, "", admin...); rec.Code != http.StatusOK {
			t.Errorf("%s as an admin: %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestQueueReportRoute(t *testing.T) {
	a, _ := newReportAPI(t)
	sam := bearer(a.login("demo", "sam"))
	rec := a.do("GET", "/api/v1/reports/queues?from=2025-03-05&queue=sales", "", sam...)
	rep := decode[queueReportView](t, rec)
	// A whole New York day in quarter hours; the short-abandon threshold
	// (5 s) comes from the queue's configuration, so d2 (2 s) is short and
	// leaves the SL denominator: 1 / (1 + 1 - 1).
	if rec.Code != 200 || rep.TimeZone != "America/New_York" || !strings.Contains(rec.Body.String(), `"from":"2025-03-05T00:00:00-05:00"`) ||
		len(rep.Intervals) != 96 || rep.ShortAbandonMs != 5000 {
		t.Fatalf("report %d: zone %s, %d intervals, short %d: %.300s", rec.Code, rep.TimeZone, len(rep.Intervals), rep.ShortAbandonMs, rec.Body)
	}
	tot := rep.Totals
	if tot.Offered != 2 || tot.Answered != 1 || tot.Abandoned != 1 || tot.ShortAbandoned != 1 || tot.ServiceLevel == nil || *tot.ServiceLevel != 1 ||
		tot.ASAMs == nil || *tot.ASAMs != 10000 || tot.AHTMs == nil || *tot.AHTMs != 150000 {
		t.Errorf("totals %+v", tot)
	}
	// 10:00 local is the 41st quarter hour.
	if iv := rep.Intervals[40]; iv.Offered != 1 || iv.Answered != 1 || !iv.Start.Equal(time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("10:00 interval %+v", iv)
	}
	// A request's threshold wins over the queue's: no short abandons.
	rep = decode[queueReportView](t, a.do("GET", "/api/v1/reports/queues?from=2025-03-05&queue=sales&short_abandon=0&service_level=5", "", sam...))
	if rep.Totals.ShortAbandoned != 0 || rep.Totals.ServiceLevel == nil || *rep.Totals.ServiceLevel != 0 {
		t.Errorf("with short_abandon=0, service_level=5: %+v", rep.Totals)
	}
	// The day the clocks go forward has 23 hours.
	rep = decode[queueReportView](t, a.do("GET", "/api/v1/reports/queues?from=2025-03-09", "", sam...))
	if len(rep.Intervals) != 92 {
		t.Errorf("DST day: %d intervals", len(rep.Intervals))
	}
	// RFC 3339 bounds, a date as the end meaning through that day.
	rep = decode[queueReportView](t, a.do("GET", "/api/v1/reports/queues?from=2025-03-05T15:10:00Z&to=2025-03-05", "", sam...))
	if rep.Totals.Offered != 1 || !rep.To.Equal(time.Date(2025, 3, 6, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("from 10:10 local: %+v to %v", rep.Totals, rep.To)
	}

	// acme's supervisor sees acme's one call only, in UTC.
	dave := bearer(a.login("acme", "dave"))
	rep = decode[queueReportView](t, a.do("GET", "/api/v1/reports/queues?from=2025-03-05&queue=sales", "", dave...))
	if rep.TimeZone != "UTC" || rep.Totals.Offered != 1 || rep.Totals.Abandoned != 0 || *rep.Totals.ASAMs != 3000 {
		t.Errorf("acme report %+v", rep)
	}
}

func TestReportCSV(t *testing.T) {
	a, ids := newReportAPI(t)
	sam := bearer(a.login("demo", "sam"))
	rec := a.do("GET", "/api/v1/reports/queues?from=2025-03-05&queue=sales&format=csv", "", sam...)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		rec.Header().Get("Content-Disposition") != `attachment; filename="queue-report-sales-2025-03-05.csv"` {
		t.Fatalf("csv: %d %v", rec.Code, rec.Header())
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+96+1 || rows[0][0] != "row" || rows[0][4] != "answered" || rows[0][9] != "service_level" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if r := rows[41]; r[0] != "interval" || r[1] != "2025-03-05T10:00:00-05:00" || r[3] != "1" || r[10] != "10000" {
		t.Errorf("10:00 row %v", r)
	}
	if r := rows[2]; r[8] != "" || r[9] != "" || r[10] != "" {
		t.Errorf("an empty interval has figures: %v", r)
	}
	total := rows[len(rows)-1]
	if total[0] != "total" || total[1] != "2025-03-05T00:00:00-05:00" || total[2] != "2025-03-06T00:00:00-05:00" ||
		total[3] != "2" || total[6] != "1" || total[8] != "0.5" || total[9] != "1" || total[11] != "150000" {
		t.Errorf("total row %v", total)
	}

	rec = a.do("GET", "/api/v1/reports/agents?from=2025-03-05&format=csv", "", sam...)
	rows, err = csv.NewReader(rec.Body).ReadAll()
	if err != nil || rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment;") {
		t.Fatalf("agents csv %d %v %v", rec.Code, rec.Header(), err)
	}
	// alice: one call, talk 120 s + wrap-up 30 s. From 09:55 to 11:00
	// (3900 s) she was busy 5 + 120 + 30 = 155 s, available the rest.
	if len(rows) != 2 || rows[0][7] != "aht_ms" || rows[1][0] != ids["alice"].String() || rows[1][1] != "alice" ||
		rows[1][3] != "1" || rows[1][7] != "150000" || rows[1][13] != "155000" {
		t.Errorf("agents csv %v", rows)
	}
	type agents struct {
		Agents []struct {
			Username  string
			Occupancy float64
		}
	}
	rep := decode[agents](t, a.do("GET", "/api/v1/reports/agents?from=2025-03-05", "", sam...))
	if len(rep.Agents) != 1 || rep.Agents[0].Occupancy != 155.0/3900 {
		t.Errorf("agents json %+v", rep)
	}
}

func TestCallSearchRoute(t *testing.T) {
	a, ids := newReportAPI(t)
	sam, dave := bearer(a.login("demo", "sam")), bearer(a.login("acme", "dave"))
	type result struct {
		Calls []struct {
			Call struct {
				ID         string
				FromNumber string `json:"from_number"`
			}
			QueueEntries []struct{ Agent, Outcome string } `json:"queue_entries"`
			Dispositions []struct{ Code string }
			Events       []struct{ Kind string }
		}
	}
	res := decode[result](t, a.do("GET", "/api/v1/calls/search?agent=alice&disposition=sale&from=2025-03-05&to=2025-03-05&timeline=true", "", sam...))
	if len(res.Calls) != 1 || res.Calls[0].Call.ID != ids["d1"].String() || len(res.Calls[0].QueueEntries) != 1 ||
		res.Calls[0].QueueEntries[0].Agent != ids["alice"].String() || len(res.Calls[0].Dispositions) != 1 || len(res.Calls[0].Events) != 1 {
		t.Errorf("search %+v", res)
	}
	res = decode[result](t, a.do("GET", "/api/v1/calls/search?number=0002", "", sam...))
	if len(res.Calls) != 1 || res.Calls[0].Call.ID != ids["d2"].String() || res.Calls[0].Events != nil {
		t.Errorf("search by number %+v", res)
	}
	// acme's supervisor: demo's numbers and agents find nothing, acme's
	// own call is all there is.
	if res = decode[result](t, a.do("GET", "/api/v1/calls/search?number=0002", "", dave...)); len(res.Calls) != 0 {
		t.Errorf("acme sees demo's call %+v", res)
	}
	if res = decode[result](t, a.do("GET", "/api/v1/calls/search?agent="+ids["alice"].String(), "", dave...)); len(res.Calls) != 0 {
		t.Errorf("acme finds demo's agent %+v", res)
	}
	if res = decode[result](t, a.do("GET", "/api/v1/calls/search", "", dave...)); len(res.Calls) != 1 || res.Calls[0].Call.ID != ids["a1"].String() {
		t.Errorf("acme search %+v", res)
	}
}

func TestReportBadParameters(t *testing.T) {
	a, _ := newReportAPI(t)
	sam := bearer(a.login("demo", "sam"))
	for path, want := range map[string]string{
		"/api/v1/reports/queues":                                                 "from is required",
		"/api/v1/reports/queues?from=yesterday":                                  "neither an RFC 3339 time nor a YYYY-MM-DD date",
		"/api/v1/reports/queues?from=2025-03-05&to=2025-03-04":                   "to must be after from",
		"/api/v1/reports/queues?from=2025-01-01&to=2025-06-01":                   "at most 93 days",
		"/api/v1/reports/queues?from=2025-03-05&format=xml":                      "want json or csv",
		"/api/v1/reports/queues?from=2025-03-05&service_level=soon":              "service_level",
		"/api/v1/reports/queues?from=2025-03-05&short_abandon=-3":                "between 0 and",
		"/api/v1/reports/agents?from=2025-03-05&to=2025-13-01":                   "to:",
		"/api/v1/calls/search?limit=0":                                           "limit must be",
		"/api/v1/calls/search?timeline=maybe":                                    "timeline",
		"/api/v1/calls/search?from=2025-03-05T10:00:00Z&to=2025-03-05T09:00:00Z": "to must be after from",
		"/api/v1/calls/search?number=" + strings.Repeat("9", 200):                "longer than 128",
	} {
		rec := a.do("GET", path, "", sam...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", path, rec.Code, rec.Body, want)
		}
	}
}

func TestReportsWithoutStore(t *testing.T) {
	a := newAPI(t)
	sam := bearer(a.login("demo", "sam"))
	for _, path := range []string{"/api/v1/reports/queues?from=2025-03-05", "/api/v1/calls/search"} {
		if rec := a.do("GET", path, "", sam...); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s without a store: %d", path, rec.Code)
		}
	}
}
