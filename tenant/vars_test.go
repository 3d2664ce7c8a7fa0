package tenant

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"hotline/call"
	"hotline/config"
)

// The tenant's vars reach every call's flow, under the built-in ones.
const varsFlow = `start: check
steps:
  check:
    branch: {var: crm, cases: {"http://crm.test": who}, default: nocrm}
  who:
    branch: {var: caller, cases: {"+15551234": dotted}, default: spoofed}
  dotted:
    branch: {var: a.b, cases: {"1": done}, default: nocrm}
  done: {hangup: busy}
  nocrm: {hangup: rejected}
  spoofed: {hangup: unavailable}
`

func TestTenantVarsReachFlow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vars.yaml")
	if err := os.WriteFile(path, []byte(varsFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadDemo(t, func(c *config.Config) {
		tc := &c.Tenants[0]
		tc.Flows["vars"] = path
		tc.Numbers = append(tc.Numbers, config.Number{Number: "+15550108", Flow: "vars"})
		tc.Vars = map[string]string{"crm": "http://crm.test", "caller": "+10000000000", "a.b": "1"}
	})
	rt, err := r.Route(netip.MustParseAddr("127.0.0.1"), "+15550108")
	if err != nil {
		t.Fatal(err)
	}
	c := call.New(context.Background(), call.Info{ID: "c1", TenantID: rt.TenantID, From: "+15551234", To: "+15550108"}, call.Config{Events: &timeline{}})
	rt.Run(c)
	if got := c.Cause(); got == nil || got.Name != "flow-hangup-busy" {
		t.Errorf("cause %v, want flow-hangup-busy (crm set, caller not overridden)", got)
	}
}

// The shipped demo tenant points its flows at the built-in demo CRM.
func TestDemoTenantHasCRM(t *testing.T) {
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cfg.Tenants {
		if tc.ID == "demo" && tc.Vars["crm"] != "http://127.0.0.1:8080/demo/crm" {
			t.Errorf("demo vars = %v", tc.Vars)
		}
	}
}
