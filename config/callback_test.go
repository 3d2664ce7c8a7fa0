package config

import (
	"strings"
	"testing"
	"time"
)

func TestQueueCallbackDefaults(t *testing.T) {
	c, err := Parse("h.yaml", []byte(outboundYAML(
		"      - {name: general, callback: {}}",
		"      - {name: sales, callback: {key: \"#\", retries: 0, retry_gap: 5s, ring_timeout: 20s, expiry: 1h, trunk: sales}}",
		"      - {name: plain}",
	)))
	if err != nil {
		t.Fatal(err)
	}
	qs := c.Tenants[0].Queues
	d := qs[0].Callback
	if d == nil || d.Key != "*" || d.Retries == nil || *d.Retries != DefaultCallbackRetries ||
		time.Duration(d.RetryGap) != DefaultCallbackRetryGap || time.Duration(d.RingTimeout) != DefaultCallbackRingTimeout ||
		time.Duration(d.Expiry) != DefaultCallbackExpiry || d.Trunk != "" {
		t.Errorf("defaults: %+v", d)
	}
	s := qs[1].Callback
	if s.Key != "#" || *s.Retries != 0 || time.Duration(s.RetryGap) != 5*time.Second || s.Trunk != "sales" {
		t.Errorf("set: %+v", s)
	}
	if qs[2].Callback != nil {
		t.Errorf("a queue without callback: %+v", qs[2].Callback)
	}
}

func TestQueueCallbackErrors(t *testing.T) {
	_, err := Parse("h.yaml", []byte(outboundYAML(
		"      - {name: a, callback: {key: \"**\"}}",    // 12
		"      - {name: b, callback: {retries: -1}}",    // 13
		"      - {name: c, callback: {retry_gap: -5s}}", // 14
		"      - {name: d, callback: {trunk: nowhere}}", // 15
		"      - {name: e, callback: {key: \"<b>\"}}",   // 16
	)))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`h.yaml:12: tenant demo: queue a: callback key "**": want one of 0-9, * or #`,
		`h.yaml:13: tenant demo: queue b: callback retries -1: want 0-20`,
		`h.yaml:14: tenant demo: queue c: callback retry_gap must not be negative`,
		`h.yaml:15: tenant demo: queue d: callback trunk "nowhere" is not one of the tenant's outbound trunks`,
		`h.yaml:16: tenant demo: queue e: callback key "<b>"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Callbacks go out over an outbound trunk: a tenant without one is told.
	_, err = Parse("h.yaml", []byte(withTrunks(
		"    trunks: {allow: [\"127.0.0.1\"]}", // 7
		"    queues:",
		"      - {name: general, callback: {}}", // 9
	)))
	if err == nil || !strings.Contains(err.Error(), "h.yaml:9: tenant demo: queue general: callbacks need an outbound trunk") {
		t.Errorf("no outbound trunk: %v", err)
	}
}
