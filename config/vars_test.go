package config

import (
	"strings"
	"testing"
)

func TestTenantVars(t *testing.T) {
	c, err := Parse("h.yaml", []byte(good+`    vars: {crm: "http://127.0.0.1:8080/demo/crm", crm.v2: x, _k9: ""}
`))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Tenants[0].Vars; len(v) != 3 || v["crm"] != "http://127.0.0.1:8080/demo/crm" || v["crm.v2"] != "x" {
		t.Errorf("vars = %v", v)
	}

	bad := good + "    vars:\n      ok: 1\n      9lives: x\n      \"a b\": y\n"
	_, err = Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`h.yaml:14: tenant demo: vars: invalid variable name "9lives"`, `h.yaml:15: tenant demo: vars: invalid variable name "a b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("valid name reported: %v", err)
	}
}
