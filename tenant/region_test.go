package tenant

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/call"
	"hotline/config"
	"hotline/queue"
)

const regionFlow = `start: where
steps:
  where:
    branch: {var: region, cases: {west: west, GB: uk}, default: by_country}
  west: {hangup: busy}
  uk: {hangup: rejected}
  by_country:
    branch: {var: country, cases: {FR: fr}, default: done}
  fr: {hangup: unavailable}
  done: {hangup: true}
`

// Every call gets the flow variables region and country from the caller's
// number, and a branch step routes on them.
func TestFlowBranchesOnRegion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "region.yaml")
	if err := os.WriteFile(path, []byte(regionFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadDemo(t, func(c *config.Config) {
		tc := &c.Tenants[0]
		tc.Flows["region"] = path
		tc.Numbers = append(tc.Numbers, config.Number{Number: "+15550109", Flow: "region"})
		tc.Country = "US"
		tc.Regions = []config.RegionRule{{Prefix: "+1555", Region: "west"}}
	})
	lo := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		from, cause, region, country string
	}{
		{"+15551234", "flow-hangup-busy", "west", "US"},
		{"5551234567", "flow-hangup-busy", "west", "US"}, // national, read as US
		{"+442079460000", "flow-hangup-rejected", "GB", "GB"},
		{"011442079460000", "flow-hangup-rejected", "GB", "GB"},
		{"+33123456789", "flow-hangup-unavailable", "FR", "FR"},
		{"+12125550100", "flow-hangup", "US", "US"},
		{"anonymous", "flow-hangup", "", ""},
	} {
		rt, err := r.Route(lo, "+15550109")
		if err != nil {
			t.Fatal(err)
		}
		tl := &timeline{}
		c := call.New(context.Background(), call.Info{ID: "c1", TenantID: rt.TenantID, From: tc.from, To: "+15550109"}, call.Config{Events: tl})
		rt.Run(c)
		if got := c.Cause(); got == nil || got.Name != tc.cause {
			t.Errorf("caller %s: cause %v, want %s", tc.from, got, tc.cause)
		}
		ev := tl.only(EventRegion)
		if tc.region == "" {
			if len(ev) != 0 {
				t.Errorf("caller %s: region events %q", tc.from, ev)
			}
			continue
		}
		if len(ev) != 1 || !contains(ev[0], "region="+tc.region) || !contains(ev[0], "country="+tc.country) {
			t.Errorf("caller %s: region events %q, want region %s country %s", tc.from, ev, tc.region, tc.country)
		}
	}
}

func contains(s, field string) bool { return slices.Contains(strings.Fields(s), field) }

func TestRegionProfileAndQueues(t *testing.T) {
	r := loadDemo(t, func(c *config.Config) {
		tc := &c.Tenants[0]
		tc.Agents = map[string]config.AgentProfile{"alice": {Queues: []string{"general"}, Regions: []string{"west"}}}
		tc.Queues[2].PreferRegion = true
		tc.Queues[2].RegionWait = config.Duration(15 * time.Second)
	})
	tn, _ := r.Tenant("demo")
	p := tn.AgentProfile("alice")
	if !slices.Equal(p.Regions, []string{"west"}) || p.Skills[queue.RegionSkill("west")] != 1 {
		t.Fatalf("profile = %+v", p)
	}
	if p := tn.AgentProfile("bob"); len(p.Regions) != 0 {
		t.Fatalf("default profile has regions: %+v", p)
	}
	cfg := ACDConfig(config.Tenant{Queues: []config.Queue{{Name: "q", PreferRegion: true, RegionWait: config.Duration(15 * time.Second)}}})
	if q := cfg.Queues[0]; !q.PreferRegion || q.RegionWait != 15*time.Second {
		t.Fatalf("acd queue = %+v", q)
	}
	// A tenant with a bad region table is refused at load.
	cfg2, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg2.Tenants[0].Regions = []config.RegionRule{{Prefix: "x", Region: "west"}}
	if _, err := Load(cfg2, Options{}); err == nil {
		t.Fatal("bad region table loaded")
	}
}
