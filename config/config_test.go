package config

import (
	"strings"
	"testing"
)

const good = `
sip: {listen: ":5070"}
rtp: {ports: "30000-30100", timeout: 5s}
tenants:
  - id: demo
    timezone: America/New_York
    trunks: {allow: ["127.0.0.1", "10.0.0.0/8"]}
    prompts: prompts/demo
    flows: {main: flows/main.yaml}
    numbers:
      - {number: "+1 (555) 0100", flow: main}
`

func TestParseGood(t *testing.T) {
	c, err := Parse("/etc/hotline/h.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	tn := c.Tenants[0]
	if c.RTP.PortMin != 30000 || c.RTP.PortMax != 30100 || tn.Numbers[0].Number != "+15550100" ||
		tn.Prompts != "/etc/hotline/prompts/demo" || tn.Flows["main"] != "/etc/hotline/flows/main.yaml" || len(tn.Allow) != 2 {
		t.Fatalf("config = %+v / %+v", c.RTP, tn)
	}
	if c.HTTP.Listen != ":8080" || c.Limits.MaxCalls == 0 {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestParseErrorsCarryFileAndLine(t *testing.T) {
	bad := strings.Join([]string{
		"rtp: {ports: \"9-8\"}",                    // 1
		"tenants:",                                 // 2
		"  - id: Demo!",                            // 3
		"    timezone: Mars/Olympus",               // 4
		"    trunks: {allow: [\"not-an-ip\"]}",     // 5
		"    prompts: p",                           // 6
		"    flows: {main: f.yaml}",                // 7
		"    numbers:",                             // 8
		"      - {number: \"abc\", flow: main}",    // 9
		"      - {number: \"+1555\", flow: other}", // 10
	}, "\n")
	_, err := Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"h.yaml:1: rtp.ports", "h.yaml:3: tenant id", "h.yaml:4:", "Mars/Olympus", "h.yaml:5:", "h.yaml:9:", "h.yaml:10:", `flow "other"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseUnknownKeyAndSyntax(t *testing.T) {
	_, err := Parse("h.yaml", []byte("sip:\n  lissen: x\n"))
	if err == nil || !strings.Contains(err.Error(), "h.yaml:2:") || !strings.Contains(err.Error(), "lissen") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse("h.yaml", []byte("sip: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "h.yaml:") {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeNumber(t *testing.T) {
	for in, want := range map[string]string{"+1 555-0100": "+15550100", "15550100": "15550100", "1+2": "", "+": "", "abc": ""} {
		if got := NormalizeNumber(in); got != want {
			t.Errorf("NormalizeNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
