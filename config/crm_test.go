package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCRM(t *testing.T) {
	c, err := Parse("h.yaml", []byte(good+`    vars: {crm: "http://127.0.0.1:8080/demo/crm"}
    crm:
      url: "${crm}/customer?number=${caller}&line=${dnis}&t=${tenant}&c=${call}"
      fields: [name, segment]
`))
	if err != nil {
		t.Fatal(err)
	}
	crm := c.Tenants[0].CRM
	if crm.URL != "${crm}/customer?number=${caller}&line=${dnis}&t=${tenant}&c=${call}" ||
		time.Duration(crm.Timeout) != DefaultCRMTimeout || !slices.Equal(crm.Fields, []string{"name", "segment"}) {
		t.Errorf("crm = %+v", crm)
	}
	c, err = Parse("h.yaml", []byte(good+"    crm: {url: \"https://crm.example/c?n=${caller}\", timeout: 500ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(c.Tenants[0].CRM.Timeout); d != 500*time.Millisecond {
		t.Errorf("timeout %v", d)
	}
	if c, err = Parse("h.yaml", []byte(good)); err != nil || c.Tenants[0].CRM.URL != "" {
		t.Errorf("no crm: %+v, %v", c.Tenants[0].CRM, err)
	}
}

func TestParseCRMErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"    crm:\n      url: \"${nope}/c?n=${caller}\"\n", `h.yaml:13: tenant demo: crm.url: unknown variable ${nope}`},
		{"    crm:\n      url: \"ftp://x/${caller}\"\n", `h.yaml:13: tenant demo: crm.url "ftp://x/${caller}": want an http:// or https:// URL`},
		{"    vars: {crm: \"crm.local\"}\n    crm:\n      url: \"${crm}/c\"\n", `h.yaml:14: tenant demo: crm.url "${crm}/c": want an http://`},
		{"    crm:\n      url: \"http://x/${caller\"\n", `h.yaml:13: tenant demo: crm.url "http://x/${caller": ${ without a closing }`},
		{"    crm:\n      url: \"http://x/\"\n      timeout: 30s\n", `h.yaml:14: tenant demo: crm.timeout 30s: want more than 0 and at most 10s`},
		{"    crm:\n      url: \"http://x/\"\n      fields: [name, \"\", name]\n", `h.yaml:14: tenant demo: crm.fields: "": want a field name`},
		{"    crm:\n      url: \"http://x/\"\n      fields: [name, \"\", name]\n", `h.yaml:14: tenant demo: crm.fields: "name" listed twice`},
		{"    crm:\n      fields: [name]\n", `h.yaml:12: tenant demo: crm has fields or a timeout but no url`},
	}
	for _, tc := range cases {
		_, err := Parse("h.yaml", []byte(good+tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// The demo tenant shows the demo CRM's customer card.
func TestDemoConfigCRM(t *testing.T) {
	c, err := Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range c.Tenants {
		if tc.ID == "demo" && (tc.CRM.URL != "${crm}/customer?number=${caller}" || len(tc.CRM.Fields) == 0) {
			t.Errorf("demo crm = %+v", tc.CRM)
		}
	}
}
