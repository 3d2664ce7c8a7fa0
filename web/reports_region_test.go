package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/store"
)

// group=region splits the queue report by caller region (JSON and CSV),
// region=NAME narrows it and the call search; bad values are 400s.
func TestReportByRegion(t *testing.T) {
	a, ids := newReportAPI(t)
	w := store.NewWriter(a.db, nil, 10)
	for name, region := range map[string]string{"d1": "east", "d2": "GB"} {
		w.Event(store.Event{CallID: ids[name], TenantID: "demo", Seq: 100, At: time.Now(), Kind: store.EventRegion,
			Data: map[string]string{"region": region, "country": region}})
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	flushCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	sam := bearer(a.login("demo", "sam"))

	type groupView struct {
		Region string
		figuresView
	}
	rep := decode[struct {
		GroupBy string `json:"group_by"`
		Groups  []groupView
		Totals  figuresView
	}](t, a.do("GET", "/api/v1/reports/queues?from=2025-03-05&group=region", "", sam...))
	if rep.GroupBy != "region" || len(rep.Groups) != 2 || rep.Groups[0].Region != "GB" || rep.Groups[1].Region != "east" ||
		rep.Groups[0].Abandoned != 1 || rep.Groups[1].Answered != 1 || rep.Totals.Offered != 2 {
		t.Fatalf("by region: %+v", rep)
	}
	only := decode[queueReportView](t, a.do("GET", "/api/v1/reports/queues?from=2025-03-05&region=east", "", sam...))
	if only.Totals.Offered != 1 || only.Totals.Answered != 1 {
		t.Errorf("east only: %+v", only.Totals)
	}

	rec := a.do("GET", "/api/v1/reports/queues?from=2025-03-05&group=region&format=csv", "", sam...)
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || rec.Code != 200 {
		t.Fatalf("csv: %d %v", rec.Code, err)
	}
	if len(rows) != 1+2+1 || rows[0][3] != "region" || rows[1][0] != "region" || rows[1][3] != "GB" || rows[2][3] != "east" || rows[3][0] != "total" {
		t.Fatalf("csv rows %v", rows)
	}

	res := decode[struct {
		Calls []struct {
			Call store.CallRecord
		}
	}](t, a.do("GET", "/api/v1/calls/search?region=GB", "", sam...))
	if len(res.Calls) != 1 || res.Calls[0].Call.ID != ids["d2"] || res.Calls[0].Call.Region != "GB" {
		t.Errorf("search region GB: %+v", res.Calls)
	}

	for _, bad := range []string{"group=queue", "region=" + strings.Repeat("x", 65)} {
		if rec := a.do("GET", "/api/v1/reports/queues?from=2025-03-05&"+bad, "", sam...); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
}
