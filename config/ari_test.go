package config

import (
	"strings"
	"testing"
)

func TestARIUsers(t *testing.T) {
	t.Setenv("HOTLINE_TEST_ARI_PW", "from-env")
	ok := good + strings.Join([]string{
		"    ari:",
		"      users:",
		"        - {username: app1, password: secret}",
		"        - {username: app2, password_env: HOTLINE_TEST_ARI_PW}",
	}, "\n")
	c, err := Parse("h.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	us := c.Tenants[0].ARI.Users
	if len(us) != 2 || us[0].Password != "secret" || us[1].Password != "from-env" {
		t.Fatalf("ari users = %+v", us)
	}
}

func TestARIUserErrors(t *testing.T) {
	bad := good + strings.Join([]string{
		"    ari:", // 12
		"      users:",
		"        - {username: \"a:b\", password: x}",                // 14
		"        - {username: u1}",                                  // 15
		"        - {username: u2, password: x, password_env: PW}",   // 16
		"        - {username: u3, password_env: HOTLINE_UNSET_PW_}", // 17
		"  - id: other", // 18
		"    prompts: p",
		"    ari: {users: [{username: u1, password: y}]}", // 20
	}, "\n")
	_, err := Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"h.yaml:14: tenant demo: ari user \"a:b\"", "h.yaml:15: tenant demo: ari user u1 has no password",
		"h.yaml:16:", "both password and password_env", "h.yaml:17:", "HOTLINE_UNSET_PW_", "h.yaml:20: tenant other: ari user \"u1\" is already a user of tenant demo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
