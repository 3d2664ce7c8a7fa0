package tenant

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"hotline/call"
	"hotline/config"
	"hotline/ivr"
)

// fakeARI stands for the ari server: it records each hand-over and
// answers with res, or hangs the call up in the application.
type fakeARI struct {
	mu     sync.Mutex
	calls  []string // "callID app arg1|arg2"
	res    ivr.StasisResult
	err    error
	answer bool // the application answers the call first
	hangup bool // the caller hangs up while in the application
}

func (f *fakeARI) RunStasis(ctx context.Context, c *call.Call, app string, args []string) (ivr.StasisResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c.ID+" "+app+" "+strings.Join(args, "|"))
	f.mu.Unlock()
	if f.answer {
		c.MarkAnswered(c.Started)
	}
	if f.hangup {
		c.Hangup(call.CauseCallerHangup)
		<-ctx.Done()
		return ivr.StasisResult{}, context.Cause(ctx)
	}
	return f.res, f.err
}

// timeline keeps a call's events as "kind step k=v ..." (data sorted).
type timeline struct {
	mu     sync.Mutex
	events []string
}

func (tl *timeline) CallEvent(e call.Event) {
	var kv []string
	for k, v := range e.Data {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	tl.mu.Lock()
	tl.events = append(tl.events, strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Kind, e.Step, strings.Join(kv, " "))))
	tl.mu.Unlock()
}

func (tl *timeline) only(kinds ...string) []string {
	var out []string
	for _, e := range tl.events {
		k, _, _ := strings.Cut(e, " ")
		for _, want := range kinds {
			if k == want {
				out = append(out, e)
			}
		}
	}
	return out
}

// newCall makes a ringing call as the sip layer would for rt, without
// media (the steps under test play nothing).
func newCall(rt string, did string, tl *timeline) *call.Call {
	return call.New(context.Background(), call.Info{ID: "c1", TenantID: rt, From: "+15551234", To: did},
		call.Config{Events: tl})
}

func TestRouteNumberToApp(t *testing.T) {
	r := loadDemo(t, nil)
	lo := netip.MustParseAddr("127.0.0.1")
	for _, did := range []string{"+15550101", "15550101"} {
		rt, err := r.Route(lo, did)
		if err != nil || rt.TenantID != "demo" || rt.Flow != "app:hello" || !rt.DeferAnswer || rt.AnswerDelay != 0 || rt.Run == nil {
			t.Fatalf("Route(%s) = %+v, %v", did, rt, err)
		}
	}
	// The flow number still answers itself.
	if rt, err := r.Route(lo, "+15550100"); err != nil || rt.DeferAnswer || rt.Flow != "main" {
		t.Fatalf("Route(+15550100) = %+v, %v", rt, err)
	}

	tests := []struct {
		name    string
		ari     *fakeARI // nil: no ARI server
		cause   *call.Cause
		sipCode int
		end     string
	}{
		{"not connected", &fakeARI{res: ivr.StasisResult{Status: ivr.StasisFailed}}, CauseAppUnavailable, 480,
			"stasis_end  app=hello status=FAILED"},
		{"no ARI server", nil, CauseAppUnavailable, 480,
			"stasis_end  app=hello error=no ARI server status=FAILED"},
		{"hand-over error", &fakeARI{err: fmt.Errorf("boom")}, CauseAppUnavailable, 480,
			"stasis_end  app=hello error=boom status=FAILED"},
		{"continued unanswered", &fakeARI{res: ivr.StasisResult{Status: ivr.StasisSuccess}}, CauseAppEnd, 480,
			"stasis_end  app=hello status=SUCCESS"},
		{"continued after answering", &fakeARI{answer: true, res: ivr.StasisResult{Status: ivr.StasisSuccess, Label: "x"}}, CauseAppEnd, 0,
			"stasis_end  app=hello label=x status=SUCCESS"},
		{"caller hangs up in the application", &fakeARI{hangup: true}, call.CauseCallerHangup, 0,
			"stasis_end  app=hello hangup=true status=SUCCESS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ari != nil {
				r.SetStasis(tc.ari)
			} else {
				r.SetStasis(nil)
			}
			rt, err := r.Route(lo, "+15550101")
			if err != nil {
				t.Fatal(err)
			}
			tl := &timeline{}
			c := newCall(rt.TenantID, "+15550101", tl)
			rt.Run(c)
			got := c.Cause()
			if got == nil || got.Name != tc.cause.Name || got.SIPCode != tc.sipCode || got.Q850 != tc.cause.Q850 {
				t.Errorf("cause = %+v, want %s with SIP %d", got, tc.cause.Name, tc.sipCode)
			}
			if want := []string{"stasis  app=hello args=demo", tc.end}; strings.Join(tl.events, "\n") != strings.Join(want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(tl.events, "\n"), strings.Join(want, "\n"))
			}
			if tc.ari != nil && strings.Join(tc.ari.calls, ";") != "c1 hello demo" {
				t.Errorf("RunStasis calls = %q", tc.ari.calls)
			}
		})
	}
	if c := CauseAppUnavailable; c.Q850 != 41 || call.CauseOf(fmt.Errorf("x: %w", c)) != c {
		t.Errorf("CauseAppUnavailable = %+v", c)
	}
}

func TestNumberToAppOption(t *testing.T) {
	ari := &fakeARI{res: ivr.StasisResult{Status: ivr.StasisFailed}}
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(cfg, Options{Stasis: ari})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := r.Route(netip.MustParseAddr("127.0.0.1"), "+15550101")
	if err != nil {
		t.Fatal(err)
	}
	rt.Run(newCall(rt.TenantID, "+15550101", &timeline{}))
	if len(ari.calls) != 1 {
		t.Fatalf("RunStasis calls = %q", ari.calls)
	}
}

const appFlow = `start: to_app
steps:
  to_app:
    stasis:
      app: hello
      args: ["${caller}", "${dnis}", support]
      next: done
      failed: down
  done:
    hangup: true
  down:
    hangup: unavailable
  other:
    hangup: busy
`

func TestFlowStasisStepBoundToCall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(path, []byte(appFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadDemo(t, func(c *config.Config) {
		c.Tenants[0].Flows["app"] = path
		c.Tenants[0].Numbers = append(c.Tenants[0].Numbers, config.Number{Number: "+15550109", Flow: "app"})
	})
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name  string
		ari   *fakeARI
		cause string
		step  string
	}{
		{"continued", &fakeARI{res: ivr.StasisResult{Status: ivr.StasisSuccess}}, "flow-hangup", "done"},
		{"continued at a label", &fakeARI{res: ivr.StasisResult{Status: ivr.StasisSuccess, Label: "other"}}, "flow-hangup-busy", "other"},
		{"not connected", &fakeARI{res: ivr.StasisResult{Status: ivr.StasisFailed}}, "flow-hangup-unavailable", "down"},
		{"no ARI server", nil, "flow-hangup-unavailable", "down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ari != nil {
				r.SetStasis(tc.ari)
			} else {
				r.SetStasis(nil)
			}
			rt, err := r.Route(lo, "+15550109")
			if err != nil || rt.DeferAnswer {
				t.Fatalf("route = %+v, %v", rt, err)
			}
			tl := &timeline{}
			c := newCall(rt.TenantID, "+15550109", tl)
			rt.Run(c)
			if got := c.Cause(); got == nil || got.Name != tc.cause {
				t.Errorf("cause = %v, want %s", got, tc.cause)
			}
			if tc.ari != nil && strings.Join(tc.ari.calls, ";") != "c1 hello +15551234|+15550109|support" {
				t.Errorf("RunStasis calls = %q", tc.ari.calls)
			}
			if ends := tl.only(ivr.EventStasisEnd); len(ends) != 1 || !strings.Contains(ends[0], "next="+tc.step) {
				t.Errorf("stasis_end events = %q", ends)
			}
		})
	}
}
