package config

import (
	"strings"
	"testing"
)

// withTrunks is good with its trunks line replaced by lines (from line 7).
func withTrunks(lines ...string) string {
	return strings.Replace(good, `    trunks: {allow: ["127.0.0.1", "10.0.0.0/8"]}`, strings.Join(lines, "\n"), 1)
}

func TestOutboundTrunkAuth(t *testing.T) {
	t.Setenv("HOTLINE_TEST_TRUNK_PW", "from-env")
	c, err := Parse("h.yaml", []byte(withTrunks(
		"    trunks:",
		"      outbound:",
		"        - {name: a, address: \"sip.example:5060\", username: acme, password: secret, realm: sip.example}",
		"        - {name: b, address: \"sip.example\", username: acme2, password_env: HOTLINE_TEST_TRUNK_PW}",
		"        - {name: c, address: \"sip.example\"}",
	)))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Tenants[0].Trunks.Outbound
	if len(o) != 3 || o[0].Username != "acme" || o[0].Password != "secret" || o[0].Realm != "sip.example" ||
		o[1].Password != "from-env" || o[2].Username != "" || o[2].Password != "" {
		t.Fatalf("outbound trunks = %+v", o)
	}
}

func TestOutboundTrunkAuthErrors(t *testing.T) {
	_, err := Parse("h.yaml", []byte(withTrunks(
		"    trunks:", // 7
		"      outbound:",
		"        - {name: a, address: x, password: hunter2}",                                  // 9
		"        - {name: b, address: x, username: u}",                                        // 10
		"        - {name: c, address: x, username: u, password: hunter2, password_env: PW}",   // 11
		"        - {name: d, address: x, username: u, password_env: HOTLINE_UNSET_TRUNK_PW_}", // 12
		"        - {name: e, address: x, username: \"a\\\"b\", password: hunter2}",            // 13
		"        - {name: f, address: x, realm: r}",                                           // 14
	)))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`h.yaml:9: tenant demo: outbound trunk "a" has a password but no username`,
		`h.yaml:10: tenant demo: outbound trunk "b" has a username but no password`,
		`h.yaml:11: tenant demo: outbound trunk "c" has both password and password_env`,
		`h.yaml:12: tenant demo: outbound trunk "d": environment variable HOTLINE_UNSET_TRUNK_PW_ is empty or unset`,
		`h.yaml:13: tenant demo: outbound trunk "e": username has quotes`,
		`h.yaml:14: tenant demo: outbound trunk "f" has a realm but no username`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the password is in the error:\n%v", err)
	}
}
