package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

// Survey answers written as call events land in survey_answers (bad ones
// stay on the timeline only, and a retried event is not stored twice), and
// the CSAT report sums them per agent, queue and tenant day.
func TestSurveyAnswersAndCSAT(t *testing.T) {
	ctx := testCtx(t)
	s := storetest.NewStore(t)
	if err := s.SyncTenants(ctx, []store.Tenant{{ID: "acme", Name: "Acme", Timezone: "America/New_York"}, {ID: "globex", Name: "Globex"}}, nil); err != nil {
		t.Fatal(err)
	}
	alice := uuid.NewString()
	if _, err := s.Pool().Exec(ctx, `INSERT INTO users (id, tenant_id, username, display_name, role, password_hash)
		VALUES ($1, 'acme', 'alice', 'Alice', 'agent', '$test')`, alice); err != nil {
		t.Fatal(err)
	}
	w, _ := startWriter(t, s, 100)
	// 2026-03-02 in New York (UTC-5): 23:30 local is the next UTC day.
	day1 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	late := time.Date(2026, 3, 3, 4, 30, 0, 0, time.UTC) // 23:30 on the 2nd, local
	day2 := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
	seq := 0
	answer := func(tenant string, call uuid.UUID, at time.Time, agent, queue, question, kind, value, method string) {
		seq++
		d := map[string]string{"survey": "csat", "question": question, "kind": kind, "method": method, "agent": agent, "queue": queue}
		if kind == "score" {
			d["score"] = value
		} else {
			d["yes"] = value
		}
		w.Event(store.Event{CallID: call, TenantID: tenant, Seq: seq, At: at, Kind: store.EventSurveyAnswer, Step: "q", Data: d})
	}
	calls := make([]uuid.UUID, 6)
	for i := range calls {
		calls[i] = uuid.New()
		w.CallStarted(store.CallStart{ID: calls[i], TenantID: "acme", SIPCallID: "s" + strconv.Itoa(i), StartedAt: day1})
	}
	answer("acme", calls[0], day1, alice, "general", "satisfied", "score", "5", "dtmf")
	answer("acme", calls[0], day1, alice, "general", "resolved", "yesno", "true", "dtmf")
	answer("acme", calls[1], late, alice, "cards", "satisfied", "score", "2", "speech")
	answer("acme", calls[1], late, alice, "cards", "resolved", "yesno", "false", "speech")
	answer("acme", calls[2], day2, "b0b", "general", "satisfied", "score", "4", "dtmf")
	// The same answer again (a retried write) is stored once.
	answer("acme", calls[2], day2, "b0b", "general", "satisfied", "score", "4", "dtmf")
	// Bad answers stay on the timeline only.
	answer("acme", calls[3], day2, "b0b", "general", "satisfied", "score", "7", "dtmf")
	answer("acme", calls[3], day2, "b0b", "general", "resolved", "yesno", "maybe", "dtmf")
	answer("acme", calls[3], day2, "b0b", "general", "other", "stars", "3", "dtmf")
	answer("acme", calls[3], day2, "b0b", "general", "satisfied2", "score", "3", "carrier-pigeon")
	// Another tenant's answers never show.
	other := uuid.New()
	w.CallStarted(store.CallStart{ID: other, TenantID: "globex", SIPCallID: "g", StartedAt: day1})
	answer("globex", other, day1, "x", "general", "satisfied", "score", "1", "dtmf")
	flush(t, w)

	got, err := s.CallSurveyAnswers(ctx, "acme", calls[0])
	if err != nil {
		t.Fatal(err)
	}
	// Answers of one moment come by question id.
	if len(got) != 2 || got[1].Score == nil || *got[1].Score != 5 || got[1].Method != "dtmf" || got[1].AgentID != alice || got[1].Queue != "general" ||
		got[0].Yes == nil || !*got[0].Yes || got[0].Score != nil {
		t.Fatalf("call 0 answers = %+v", got)
	}
	if bad, err := s.CallSurveyAnswers(ctx, "acme", calls[3]); err != nil || len(bad) != 0 {
		t.Fatalf("bad answers stored: %+v, %v", bad, err)
	}
	if mine, err := s.CallSurveyAnswers(ctx, "acme", other); err != nil || len(mine) != 0 {
		t.Fatalf("another tenant's call: %+v, %v", mine, err)
	}

	ny, _ := time.LoadLocation("America/New_York")
	from, to := time.Date(2026, 3, 2, 0, 0, 0, 0, ny), time.Date(2026, 3, 4, 0, 0, 0, 0, ny)
	f := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return strconv.FormatFloat(*v, 'f', 2, 64)
	}
	row := func(key, label string, c store.CSATFigures) string {
		return key + "/" + label + " calls=" + strconv.Itoa(c.Calls) + " scores=" + strconv.Itoa(c.Scores) + " sat=" + strconv.Itoa(c.Satisfied) +
			" csat=" + f(c.CSAT) + " avg=" + f(c.AvgScore) + " yesno=" + strconv.Itoa(c.YesNo) + " yes=" + f(c.YesShare)
	}
	for _, tt := range []struct {
		group store.CSATGroup
		want  []string
	}{
		{store.CSATByAgent, []string{
			alice + "/alice calls=2 scores=2 sat=1 csat=0.50 avg=3.50 yesno=2 yes=0.50",
			"b0b/b0b calls=1 scores=1 sat=1 csat=1.00 avg=4.00 yesno=0 yes=-",
		}},
		{store.CSATByQueue, []string{
			"cards/cards calls=1 scores=1 sat=0 csat=0.00 avg=2.00 yesno=1 yes=0.00",
			"general/general calls=2 scores=2 sat=2 csat=1.00 avg=4.50 yesno=1 yes=1.00",
		}},
		{store.CSATByDay, []string{
			"2026-03-02/2026-03-02 calls=2 scores=2 sat=1 csat=0.50 avg=3.50 yesno=2 yes=0.50",
			"2026-03-03/2026-03-03 calls=1 scores=1 sat=1 csat=1.00 avg=4.00 yesno=0 yes=-",
		}},
	} {
		rep, err := s.CSAT(ctx, "acme", from, to, tt.group, ny)
		if err != nil {
			t.Fatalf("%s: %v", tt.group, err)
		}
		var rows []string
		for _, r := range rep.Rows {
			rows = append(rows, row(r.Key, r.Label, r.CSATFigures))
		}
		if len(rows) != len(tt.want) {
			t.Fatalf("%s rows:\n%q\nwant\n%q", tt.group, rows, tt.want)
		}
		for i := range rows {
			if rows[i] != tt.want[i] {
				t.Errorf("%s row %d:\n got %s\nwant %s", tt.group, i, rows[i], tt.want[i])
			}
		}
		if got := row("total", "", rep.Total); got != "total/ calls=3 scores=3 sat=2 csat=0.67 avg=3.67 yesno=2 yes=0.50" {
			t.Errorf("%s total: %s", tt.group, got)
		}
		if len(rep.Questions) != 2 || rep.Questions[0].Question != "resolved" || rep.Questions[0].Kind != "yesno" ||
			rep.Questions[1].Question != "satisfied" || rep.Questions[1].Scores != 3 {
			t.Errorf("%s questions: %+v", tt.group, rep.Questions)
		}
	}
	// The range is [from, to): the 2nd alone leaves the 3rd out.
	rep, err := s.CSAT(ctx, "acme", from, time.Date(2026, 3, 3, 0, 0, 0, 0, ny), store.CSATByDay, ny)
	if err != nil || len(rep.Rows) != 1 || rep.Total.Scores != 2 {
		t.Fatalf("one day: %+v, %v", rep, err)
	}
	if _, err := s.CSAT(ctx, "acme", from, to, "week", ny); err == nil {
		t.Error("grouping by week: no error")
	}
}
