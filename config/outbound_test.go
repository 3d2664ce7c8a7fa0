package config

import (
	"strings"
	"testing"
)

func TestCheckPhoneNumber(t *testing.T) {
	for _, ok := range []string{"+15551234567", "15551234", "0", "+" + strings.Repeat("9", MaxDialNumber)} {
		if err := CheckPhoneNumber(ok); err != nil {
			t.Errorf("CheckPhoneNumber(%q) = %v, want nil", ok, err)
		}
	}
	for in, want := range map[string]string{
		"":                                   "empty",
		"+":                                  "no digits",
		"555-1234":                           `'-' at position 4`,
		"+1 555":                             `' ' at position 3`,
		"++1555":                             `'+' at position 2`,
		"1555@evil.example":                  `'@' at position 5`,
		"5551234;transport=tcp":              `';'`,
		"<script>":                           `'<' at position 1`,
		strings.Repeat("1", MaxDialNumber+1): "too long",
		"+" + strings.Repeat("1", MaxDialNumber+1): "too long",
	} {
		err := CheckPhoneNumber(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPhoneNumber(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestDialableAndURI(t *testing.T) {
	if !Dialable("+1555*12#") || Dialable("1555@x") || Dialable("") || Dialable(strings.Repeat("1", 65)) {
		t.Error("Dialable accepts or refuses the wrong strings")
	}
	udp := OutboundTrunk{Address: "sip.example:5070"}
	tcp := OutboundTrunk{Address: "sip.example", Transport: "tcp"}
	if got := udp.URI("+1555"); got != "sip:+1555@sip.example:5070" {
		t.Errorf("udp URI = %q", got)
	}
	if got := tcp.URI("1555"); got != "sip:1555@sip.example;transport=tcp" {
		t.Errorf("tcp URI = %q", got)
	}
}

// outboundYAML is good with two outbound trunks and queues using them.
func outboundYAML(queues ...string) string {
	return withTrunks(append([]string{
		"    trunks:", // 7
		"      outbound:",
		"        - {name: main, address: \"127.0.0.1:5080\", caller_id: \"+15550100\"}",  // 9
		"        - {name: sales, address: \"127.0.0.1:5090\", caller_id: \"+15550200\"}", // 10
		"    queues:", // 11
	}, queues...)...)
}

func TestOutboundRoute(t *testing.T) {
	c, err := Parse("h.yaml", []byte(outboundYAML(
		"      - {name: general}",
		"      - {name: vip, caller_id: \"+15550999\"}",
		"      - {name: sales, trunk: sales}",
		"      - {name: salesvip, trunk: sales, caller_id: \"15550777\"}",
	)))
	if err != nil {
		t.Fatal(err)
	}
	tn := &c.Tenants[0]
	for _, tc := range []struct{ queue, trunk, callerID string }{
		{"", "main", "+15550100"},        // no queue: the first trunk and its caller ID
		{"general", "main", "+15550100"}, // a queue without settings: likewise
		{"vip", "main", "+15550999"},     // the queue's caller ID on the first trunk
		{"sales", "sales", "+15550200"},  // the queue's trunk with its caller ID
		{"salesvip", "sales", "15550777"},
	} {
		trunk, cid, err := tn.OutboundRoute(tc.queue)
		if err != nil || trunk.Name != tc.trunk || cid != tc.callerID {
			t.Errorf("OutboundRoute(%q) = %v, %q, %v; want trunk %s, caller ID %s", tc.queue, trunk, cid, err, tc.trunk, tc.callerID)
		}
	}
	if _, _, err := tn.OutboundRoute("nope"); err == nil || !strings.Contains(err.Error(), `no queue "nope"`) {
		t.Errorf("unknown queue: %v", err)
	}
	none := Tenant{ID: "x", Queues: []Queue{{Name: "q"}}}
	if _, _, err := none.OutboundRoute("q"); err != ErrNoOutboundTrunk {
		t.Errorf("no trunk: %v, want ErrNoOutboundTrunk", err)
	}
}

func TestQueueOutboundErrors(t *testing.T) {
	_, err := Parse("h.yaml", []byte(outboundYAML(
		"      - {name: a, trunk: missing}",           // 12
		"      - {name: b, caller_id: \"555-0100\"}",  // 13
		"      - {name: c, caller_id: \"<b>hi</b>\"}", // 14
	)))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`h.yaml:12: tenant demo: queue a: trunk "missing" is not one of the tenant's outbound trunks`,
		`h.yaml:13: tenant demo: queue b: caller_id "555-0100": the number may only hold digits`,
		`h.yaml:14: tenant demo: queue c: caller_id "<b>hi</b>"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
