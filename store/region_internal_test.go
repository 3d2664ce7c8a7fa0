package store

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// groupByRegion splits a report's stints by caller region with the same
// definitions as the totals, the unknown region last.
func TestGroupByRegion(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := func(region, outcome string, wait time.Duration, answered bool) stint {
		st := stint{queue: "q", entered: at, region: region, outcome: outcome, left: at.Add(wait)}
		if answered {
			st.answered, st.agent = at.Add(wait), "u1"
		}
		return st
	}
	stints := []stint{
		s("west", OutcomeAnswered, 10*time.Second, true),
		s("", OutcomeAbandoned, 30*time.Second, false),
		s("GB", OutcomeAnswered, 40*time.Second, true),
		s("west", OutcomeAbandoned, 2*time.Second, false),
		s("west", OutcomeAnswered, 5*time.Second, true),
	}
	th := ReportThresholds{ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second}
	got := groupByRegion(stints, th, nil)
	if len(got) != 3 || got[0].Region != "GB" || got[1].Region != "west" || got[2].Region != "" {
		t.Fatalf("groups = %+v", got)
	}
	w := got[1]
	if w.Offered != 3 || w.Answered != 2 || w.AnsweredInSL != 2 || w.Abandoned != 1 || w.ShortAbandoned != 1 {
		t.Errorf("west = %+v", w.QueueFigures)
	}
	// Service level: 2 in time / (2 answered + 1 abandoned - 1 short).
	if w.ServiceLevel == nil || *w.ServiceLevel != 1 || w.ASAMs == nil || *w.ASAMs != 7500 {
		t.Errorf("west SL %v ASA %v", w.ServiceLevel, w.ASAMs)
	}
	if g := got[0]; g.Answered != 1 || g.AnsweredInSL != 0 || *g.ServiceLevel != 0 {
		t.Errorf("GB = %+v", g.QueueFigures)
	}
	if u := got[2]; u.Abandoned != 1 || u.AbandonRate == nil || *u.AbandonRate != 1 {
		t.Errorf("unknown = %+v", u.QueueFigures)
	}
	if groupByRegion(nil, th, nil) != nil {
		t.Error("groups of nothing")
	}
}

// The writer copies a batch's region events to the call, the last one of
// a call winning.
func TestRegionCols(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	var c regionCols
	c.add(&Event{CallID: a, TenantID: "demo", Kind: EventRegion, Data: map[string]string{"region": "west", "country": "US"}})
	c.add(&Event{CallID: b, TenantID: "demo", Kind: EventRegion, Data: map[string]string{"region": "GB", "country": "GB"}})
	c.add(&Event{CallID: a, TenantID: "demo", Kind: EventRegion, Data: map[string]string{"region": "east", "country": "US"}})
	if len(c.ids) != 2 || c.regions[0] != "east" || c.countries[0] != "US" || c.regions[1] != "GB" || c.tenants[1] != "demo" {
		t.Fatalf("cols = %+v", c)
	}
}
