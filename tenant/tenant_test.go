package tenant

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/call"
	"hotline/config"
)

func loadDemo(t *testing.T, edit func(c *config.Config)) *Registry {
	t.Helper()
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	r, err := Load(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouteByNumberAndSource(t *testing.T) {
	r := loadDemo(t, func(c *config.Config) {
		// acme trusts only its own carrier address, so isolation shows.
		c.Tenants[1].Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	lo := netip.MustParseAddr("127.0.0.1")
	for _, did := range []string{"+15550100", "15550100"} {
		rt, err := r.Route(lo, did)
		if err != nil || rt.TenantID != "demo" || rt.Flow != "main" {
			t.Fatalf("Route(%s) = %+v, %v", did, rt, err)
		}
		if _, ok := rt.Prompts.Prompt("welcome"); !ok {
			t.Fatal("demo prompts not loaded")
		}
	}
	cases := []struct {
		src, did string
		want     *call.Cause
	}{
		{"192.0.2.7", "+15550100", call.CauseForbidden}, // stranger: 403 whatever the number
		{"192.0.2.7", "+19999999", call.CauseForbidden}, // ... so numbers cannot be probed
		{"127.0.0.1", "+19999999", call.CauseUnknownNumber},
		{"127.0.0.1", "service", call.CauseUnknownNumber},
		{"127.0.0.1", "+15550200", call.CauseForbidden}, // demo's trunk calling acme's number
		{"127.0.0.2", "+15550100", call.CauseForbidden}, // acme's trunk calling demo's number
	}
	for _, c := range cases {
		_, err := r.Route(netip.MustParseAddr(c.src), c.did)
		if got := call.CauseOf(err); got.Name != c.want.Name || got.SIPCode != c.want.SIPCode {
			t.Errorf("Route(%s, %s) = %v, want %v", c.src, c.did, err, c.want)
		}
	}
	if rt, err := r.Route(netip.MustParseAddr("127.0.0.2"), "+15550200"); err != nil || rt.TenantID != "acme" {
		t.Fatalf("acme route = %+v, %v", rt, err)
	}
}

func TestLoadReportsBrokenFlowWithLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("start: a\nsteps:\n  a:\n    play: welcome\n    next: nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tenants[0].Flows["main"] = bad
	_, err = Load(cfg, Options{})
	if err == nil {
		t.Fatal("broken flow loaded")
	}
	if want := bad + ":5:"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q lacks %q", err, want)
	}
}

func TestDemoQueues(t *testing.T) {
	r := loadDemo(t, nil)
	for id, want := range map[string]string{"demo": "cards accounts general", "acme": "orders returns general"} {
		tn, ok := r.Tenant(id)
		if !ok || tn.ACD == nil {
			t.Fatalf("tenant %s: no ACD", id)
		}
		if got := strings.Join(tn.ACD.Queues(), " "); got != want {
			t.Errorf("tenant %s queues %q, want %q", id, got, want)
		}
	}
	// A flow sending callers to a queue the tenant lacks is refused at load.
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tenants[0].Queues = cfg.Tenants[0].Queues[:1]
	_, err = Load(cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), `demo-main.yaml:`) || !strings.Contains(err.Error(), `queue "general" is not among tenant demo's queues`) {
		t.Errorf("Load = %v, want the flow's file:line and the unknown queue", err)
	}
}

// noCards is a vocabulary without the word "cards".
type noCards struct{}

func (noCards) Missing(phrase string) []string {
	if strings.Contains(phrase, "cards") {
		return []string{"cards"}
	}
	return nil
}

func TestLoadChecksSpeechVocabulary(t *testing.T) {
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(cfg, Options{Vocabulary: noCards{}})
	if err == nil || !strings.Contains(err.Error(), `demo-main.yaml:`) || !strings.Contains(err.Error(), `does not know "cards"`) {
		t.Fatalf("Load = %v, want the demo flow's phrase with its file and line", err)
	}
}
