package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestRegionBrowser is TestRegionRouting with the agent in headless
// Chromium (test/browser/region.test.mjs). In the demo tenant +1415 is
// region west, alice serves east and bob west; general prefers the
// caller's region. Alice (a desk on the WebSocket) is Available first, so
// round robin would start with her; then bob signs in on the agent page
// and goes Available. A caller from +1415 pressing 0 is offered to bob:
// his offer card shows Region west, the answered call's title shows
// "· west" after the caller, the page hears the caller's 440 Hz and the
// caller hears bob's 1 kHz microphone. Alice is never offered the call,
// and the CDR has region west, country US.
func TestRegionBrowser(t *testing.T) {
	chromium := needBrowser(t)
	srv := startServer(t, serverOptions{Name: "region-browser"})
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)
	checkPageServed(t, base)
	npmInstall(t)
	alice := demoDesk(t, srv, "alice", true)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // after the script's own cleanup has let it stop
	page := startPacedScript(t, ctx, "region.test.mjs", map[string]string{
		"HOTLINE_URL": base, "CHROMIUM": chromium, "TONE_HZ": "1000",
		"AGENT_USER": "bob", "AGENT_PASSWORD": "bob-demo",
	})
	page.waitStep(t, "available", 60*time.Second)

	ua := queueCallFrom(t, srv, "+14155550123")

	page.waitStep(t, "talking", 60*time.Second)
	callerHearsPage(t, "the caller hears bob's page", ua)
	page.tell(t, "hangup")
	if _, ok := ua.WaitBye(15 * time.Second); !ok {
		t.Errorf("bob hung up on the page but the caller got no BYE")
		ua.Bye(demoNumber)
	}
	events, log := page.finish(t)
	if testing.Verbose() {
		t.Logf("browser script:\n%s", log)
	}

	var offer struct {
		Last   map[string]any `json:"last"`
		Shown  string         `json:"shown"`
		Queue  string         `json:"queue"`
		Region *string        `json:"region"`
		Label  *string        `json:"label"`
	}
	decodeEvent(t, events, "offer", &offer)
	t.Logf("bob's offer card: caller %q, queue %q, %v %v", offer.Shown, offer.Queue, deref(offer.Label), deref(offer.Region))
	if offer.Last["region"] != "west" || offer.Last["caller"] != ua.From || offer.Last["queue"] != "general" {
		t.Errorf("bob's offer %v: want region west from %s in general", offer.Last, ua.From)
	}
	if deref(offer.Label) != "Region" || deref(offer.Region) != "west" || !strings.Contains(offer.Shown, ua.From) {
		t.Errorf("the offer card shows %q, %v %v: want the caller and Region west", offer.Shown, deref(offer.Label), deref(offer.Region))
	}
	var talking struct {
		Heard  float64 `json:"heard"`
		ID     string  `json:"id"`
		Title  string  `json:"title"`
		Region *string `json:"region"`
		Codec  string  `json:"codec"`
	}
	decodeEvent(t, events, "talking", &talking)
	t.Logf("bob's call panel %q; the page hears %.1f Hz (%s)", talking.Title, talking.Heard, talking.Codec)
	if math.Abs(talking.Heard-440) > 15 {
		t.Errorf("the page hears %.1f Hz, want the caller's 440 Hz", talking.Heard)
	}
	if !strings.Contains(deref(talking.Region), "west") || !strings.Contains(talking.Title, ua.From) || !strings.Contains(talking.Title, "west") {
		t.Errorf("the call panel shows %q (region span %v): want the caller and west", talking.Title, deref(talking.Region))
	}
	var done struct {
		Sent []string `json:"sent"`
	}
	decodeEvent(t, events, "done", &done)
	if !strings.Contains(strings.Join(done.Sent, ","), "hangup,disposition,wrapup_done") {
		t.Errorf("the page sent %v: want hangup, then the disposition and wrapup_done", done.Sent)
	}

	// Alice, available all along, never had the west caller offered.
	for drained := false; !drained; {
		select {
		case m, ok := <-alice.msgs:
			if !ok {
				drained = true
			} else if m["type"] == "offer" {
				t.Errorf("alice (east) was offered %v", m)
			}
		default:
			drained = true
		}
	}

	callID, err := uuid.Parse(talking.ID)
	if err != nil {
		t.Fatalf("the page's call id %q: %v", talking.ID, err)
	}
	var region, country, cause, side string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := srv.DB.GetCall(ctx, "demo", callID)
		cancel()
		if err == nil {
			region, country = c.Region, c.Country
			if c.EndedAt != nil {
				cause, side = c.HangupCause, c.HangupSide
				break
			}
		}
	}
	if region != "west" || country != "US" {
		t.Errorf("CDR region %q country %q, want west, US", region, country)
	}
	// bob hung up: the CDR says the agent ended it.
	if cause != "agent-hangup" || side != "agent" {
		t.Errorf("CDR hangup %q side %q, want agent-hangup by the agent", cause, side)
	}
}

// callerHearsPage waits (up to 10 s) for the caller to hear the page's
// 1 kHz microphone. It measures the tone's share of the power, not its
// amplitude: Chromium's audio processing sets the fake microphone's level.
func callerHearsPage(t *testing.T, what string, ua *sipUA) {
	t.Helper()
	var l toneLevels
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		if l = callerHears(t, ua, 1500*time.Millisecond); l.at1k >= 0.5 {
			break
		}
	}
	t.Logf("%s: %s", what, l)
	if l.at1k < 0.5 || l.at1k < 5*l.at440 {
		t.Fatalf("%s: not the page's 1 kHz tone: %s", what, l)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

// pacedScript is a browser script (test/browser/*.mjs) running to its
// end in the background while the Go side plays the caller. The two pace
// each other with files in the script's OUT_DIR: the script writes
// page-STEP when it reaches a step and waits for go-STEP; its events are
// read when it has ended (runBrowserScript).
type pacedScript struct {
	dir    string
	done   chan struct{}
	events map[string]json.RawMessage
	log    string
}

// startPacedScript runs script with env and OUT_DIR set to a fresh
// directory (under $HOTLINE_BROWSER_OUT when set, so screenshots stay).
func startPacedScript(t *testing.T, ctx context.Context, script string, env map[string]string) *pacedScript {
	t.Helper()
	dir := t.TempDir()
	if out := os.Getenv("HOTLINE_BROWSER_OUT"); out != "" {
		dir = filepath.Join(out, strings.TrimSuffix(script, ".test.mjs"))
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env["OUT_DIR"] = dir
	ctx, cancel := context.WithCancel(ctx)
	p := &pacedScript{dir: dir, done: make(chan struct{})}
	go func() {
		// runBrowserScript fails the test itself when node dies without
		// a "fail" event; done is closed either way.
		defer close(p.done)
		p.events, p.log = runBrowserScript(t, ctx, script, env)
	}()
	t.Cleanup(func() {
		// After a failure on the Go side the script is told to stop, so
		// that it closes Chromium itself; it is killed if it does not.
		if t.Failed() {
			_ = os.WriteFile(filepath.Join(dir, "go-abort"), nil, 0o644)
		}
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
		}
		cancel()
		<-p.done
	})
	return p
}

// waitStep waits until the script has reached step; it fails the test
// at once when the script ends first.
func (p *pacedScript) waitStep(t *testing.T, step string, timeout time.Duration) {
	t.Helper()
	file := filepath.Join(p.dir, "page-"+step)
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case <-p.done:
			if _, err := os.Stat(file); err == nil {
				return
			}
			t.Fatalf("the browser script ended before %q: %s\n%s", step, p.events["fail"], p.log)
		case <-deadline:
			t.Fatalf("the browser script did not reach %q within %v", step, timeout)
		case <-tick.C:
		}
	}
}

// tell lets the script go on past its wait for step.
func (p *pacedScript) tell(t *testing.T, step string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, "go-"+step), []byte(time.Now().Format(time.RFC3339Nano)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// finish waits for the script's end and returns its events and output;
// a "fail" event fails the test.
func (p *pacedScript) finish(t *testing.T) (map[string]json.RawMessage, string) {
	t.Helper()
	<-p.done
	if raw, failed := p.events["fail"]; failed {
		t.Fatalf("the browser script failed: %s\n%s", raw, p.log)
	}
	return p.events, p.log
}
