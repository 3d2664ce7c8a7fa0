package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// The writer copies a call's region event to its CDR, whether the event
// comes in the start's batch or later, and reports and call search split
// and filter by it.
func TestRegionCDRAndReports(t *testing.T) {
	d := newScriptedDay(t)
	ctx := testCtx(t)
	w, _ := startWriter(t, d.s, 100)
	region := func(name, region, country string) {
		w.Event(store.Event{CallID: d.calls[name], TenantID: "acme", Seq: 1000, At: d.from, Kind: store.EventRegion,
			Data: map[string]string{"region": region, "country": country, "number": "+1"}})
	}
	region("c1", "west", "US")
	region("c3", "west", "US")
	region("c2", "GB", "GB")
	region("c4", "GB", "GB")
	// A new call whose start and region event share a batch.
	fresh := uuid.New()
	w.CallStarted(store.CallStart{ID: fresh, TenantID: "acme", SIPCallID: "fresh@test", FromNumber: "+33123456789", StartedAt: d.from})
	w.Event(store.Event{CallID: fresh, TenantID: "acme", At: d.from, Kind: store.EventRegion, Data: map[string]string{"region": "europe", "country": "FR"}})
	flush(t, w)

	c, err := d.s.GetCall(ctx, "acme", fresh)
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "europe" || c.Country != "FR" {
		t.Errorf("fresh call region %q country %q", c.Region, c.Country)
	}
	if c, err := d.s.GetCall(ctx, "acme", d.calls["c5"]); err != nil || c.Region != "" || c.Country != "" {
		t.Errorf("c5 = %+v, %v; want no region", c, err)
	}

	rep, err := d.s.QueueReportBy(ctx, "acme", d.from, d.to, "", d.thresh, store.ReportGrouping{ByRegion: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.GroupBy != "region" || len(rep.Groups) != 3 {
		t.Fatalf("groups = %+v", rep.Groups)
	}
	var regions []string
	offered := 0
	for _, g := range rep.Groups {
		regions = append(regions, g.Region)
		offered += g.Offered
	}
	if !slices.Equal(regions, []string{"GB", "west", ""}) || offered != rep.Totals.Offered {
		t.Fatalf("regions %q offered %d, totals %d", regions, offered, rep.Totals.Offered)
	}
	gb, west, unknown := rep.Groups[0], rep.Groups[1], rep.Groups[2]
	if gb.Offered != 2 || gb.Abandoned != 2 || gb.ShortAbandoned != 1 || gb.Answered != 0 {
		t.Errorf("GB = %+v", gb.QueueFigures)
	}
	if west.Offered != 3 || west.Answered != 3 || west.Transferred != 1 || west.Abandoned != 0 {
		t.Errorf("west = %+v", west.QueueFigures)
	}
	if unknown.Offered != 3 || unknown.Answered != 1 || unknown.Overflowed != 1 || unknown.Exited != 1 || unknown.Rejected != 1 {
		t.Errorf("unknown = %+v", unknown.QueueFigures)
	}
	// Without grouping the report is as before.
	plain, err := d.s.QueueReport(ctx, "acme", d.from, d.to, "", d.thresh)
	if err != nil {
		t.Fatal(err)
	}
	if plain.GroupBy != "" || plain.Groups != nil || plain.Totals.Offered != rep.Totals.Offered {
		t.Errorf("plain report %+v", plain.Totals)
	}

	only, err := d.s.QueueReportBy(ctx, "acme", d.from, d.to, "sales", d.thresh, store.ReportGrouping{Region: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	if only.Region != "GB" || only.Totals.Offered != 1 || only.Totals.Abandoned != 1 || only.Totals.ShortAbandoned != 1 {
		t.Errorf("GB in sales = %+v", only.Totals)
	}

	found, err := d.s.SearchCalls(ctx, "acme", store.CallFilter{Region: "west", From: d.from.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, m := range found {
		if m.Call.Region != "west" || m.Call.Country != "US" {
			t.Errorf("found %+v", m.Call)
		}
		ids = append(ids, m.Call.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, d.calls["c1"]) || !slices.Contains(ids, d.calls["c3"]) {
		t.Errorf("search region west = %v", ids)
	}
	// Tenants stay apart: globex has no west callers.
	if found, err := d.s.SearchCalls(ctx, "globex", store.CallFilter{Region: "west"}); err != nil || len(found) != 0 {
		t.Errorf("globex west = %d, %v", len(found), err)
	}
}
