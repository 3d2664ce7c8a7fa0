package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseRegions(t *testing.T) {
	src := good + `    country: us
    regions:
      - {prefix: "+1555", region: west}
      - {prefix: "1 212", region: east}
    queues:
      - {name: general, prefer_region: true, region_wait: 15s}
      - {name: other, prefer_region: true}
    agents:
      alice: {regions: [west, GB]}
`
	c, err := Parse("h.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tn := c.Tenants[0]
	if tn.Country != "US" || len(tn.Regions) != 2 || tn.Regions[1].Prefix != "+1212" {
		t.Fatalf("tenant = %+v", tn)
	}
	if q := tn.Queues[0]; !q.PreferRegion || time.Duration(q.RegionWait) != 15*time.Second {
		t.Fatalf("queue = %+v", q)
	}
	if got := tn.Agents["alice"].Regions; len(got) != 2 || got[1] != "GB" {
		t.Fatalf("agent regions = %v", got)
	}
	rules := tn.RegionRules()
	if len(rules) != 2 || rules[0].Prefix != "+1555" || rules[0].Region != "west" {
		t.Fatalf("rules = %+v", rules)
	}
}

func TestParseRegionErrors(t *testing.T) {
	src := good + strings.Join([]string{
		`    country: XX`, // 12
		`    regions:`,    // 13
		`      - {prefix: "+1555", region: west}`,       // 14
		`      - {prefix: "1555", region: east}`,        // 15
		`      - {prefix: "+1-800-FLOWERS", region: x}`, // 16
		`      - {prefix: "+44", region: "bad name"}`,   // 17
		`    queues:`,                        // 18
		`      - {name: q, region_wait: 5s}`, // 19
		`      - {name: r, prefer_region: true, region_wait: -5s}`, // 20
		`    agents:`,               // 21
		`      alice:`,              // 22
		`        regions: [ok, ""]`, // 23
	}, "\n")
	_, err := Parse("h.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`h.yaml:12: tenant demo: country "XX"`,
		`h.yaml:15: tenant demo: region prefix +1555 given twice (first at line 14)`,
		`h.yaml:16: tenant demo: region prefix "+1-800-FLOWERS"`,
		`h.yaml:17: tenant demo: region name "bad name"`,
		`h.yaml:19: tenant demo: queue q: region_wait without prefer_region`,
		`h.yaml:20: tenant demo: queue r: region_wait must not be negative`,
		`h.yaml:23: tenant demo: agent alice: region name ""`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
