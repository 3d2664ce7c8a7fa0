package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCallerContextBrowser is the Caller panel on the agent page, in
// headless Chromium (test/browser/context.test.mjs): a caller from +1212
// (region east) presses 0 and rings alice; before she answers, the panel
// beside the softphone shows the number, region east, the IVR path
// through main_menu with the key 0, a time in queue that counts, and the
// demo CRM's customer fields in the configured order. It stays through
// the call (its clock stopped) and wrap-up, and goes when she is Ready.
func TestCallerContextBrowser(t *testing.T) {
	chromium := needBrowser(t)
	srv := startServer(t, serverOptions{Name: "context-browser"})
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)
	checkPageServed(t, base)
	npmInstall(t)
	number := fmt.Sprintf("+1212555%04d", time.Now().UnixNano()%10000)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	page := startPacedScript(t, ctx, "context.test.mjs", map[string]string{
		"HOTLINE_URL": base, "CHROMIUM": chromium, "CALLER": number,
	})
	page.waitStep(t, "available", 60*time.Second)

	ua := queueCallFrom(t, srv, number)

	page.waitStep(t, "talking", 90*time.Second)
	page.tell(t, "hangup")
	if _, ok := ua.WaitBye(15 * time.Second); !ok {
		ua.Bye(demoNumber)
	}
	events, log := page.finish(t)
	if testing.Verbose() {
		t.Logf("browser script:\n%s", log)
	}

	type view struct {
		Visible   bool              `json:"visible"`
		Number    string            `json:"number"`
		Region    string            `json:"region"`
		Queue     string            `json:"queue"`
		Wait      string            `json:"wait"`
		Path      string            `json:"path"`
		Choices   []string          `json:"choices"`
		CRMStatus string            `json:"crmStatus"`
		CRM       map[string]string `json:"crm"`
		Previous  string            `json:"previous"`
		Hook      *struct {
			Call     string `json:"call"`
			Pushes   int    `json:"pushes"`
			Complete bool   `json:"complete"`
		} `json:"hook"`
		OfferShown bool `json:"offerShown"`
		Beside     bool `json:"beside"`
	}
	var offer struct {
		First view `json:"first"`
		Later view `json:"later"`
	}
	decodeEvent(t, events, "offer", &offer)
	f := offer.First
	t.Logf("before answering: %+v", f)
	if !f.Visible || !f.OfferShown || !f.Beside {
		t.Errorf("the Caller panel while the offer rings: visible %v, offer shown %v, beside the softphone %v", f.Visible, f.OfferShown, f.Beside)
	}
	if f.Number != number || !strings.Contains(f.Region, "east") || f.Queue != "general" {
		t.Errorf("panel shows number %q region %q queue %q: want %s, east, general", f.Number, f.Region, f.Queue, number)
	}
	if !strings.Contains(f.Path, "main_menu") || !strings.Contains(strings.Join(f.Choices, "|"), "main_menu: pressed 0") {
		t.Errorf("IVR: path %q choices %q: want main_menu and its key 0", f.Path, f.Choices)
	}
	if f.CRM["name"] == "" || f.CRM["segment"] == "" || f.CRM["city"] == "" || f.CRMStatus != "" {
		t.Errorf("CRM fields %v (status line %q): want the demo customer", f.CRM, f.CRMStatus)
	}
	if f.Previous != "No previous calls" {
		t.Errorf("previous calls: %q", f.Previous)
	}
	if f.Hook == nil || !f.Hook.Complete || f.Hook.Pushes < 1 || f.Hook.Pushes > 2 {
		t.Errorf("window.hotlineContext %+v: want the complete context after one or two pushes", f.Hook)
	}
	if f.Wait == offer.Later.Wait || !strings.Contains(f.Wait, ":") {
		t.Errorf("time in queue %q then %q: want it counting while the offer rings", f.Wait, offer.Later.Wait)
	}

	var talking struct {
		Talking      view `json:"talking"`
		TalkingLater view `json:"talkingLater"`
	}
	decodeEvent(t, events, "talking", &talking)
	if !talking.Talking.Visible || talking.Talking.Number != number || talking.Talking.CRM["name"] != f.CRM["name"] {
		t.Errorf("during the call the panel shows %+v", talking.Talking)
	}
	if talking.Talking.Wait != talking.TalkingLater.Wait {
		t.Errorf("time in queue after the answer: %q then %q, want it stopped", talking.Talking.Wait, talking.TalkingLater.Wait)
	}
	var done struct {
		Wrap  view `json:"wrap"`
		After view `json:"after"`
	}
	decodeEvent(t, events, "done", &done)
	if !done.Wrap.Visible || done.Wrap.Number != number {
		t.Errorf("in wrap-up the panel shows %+v", done.Wrap)
	}
	if done.After.Visible {
		t.Errorf("after Ready the panel is still shown: %+v", done.After)
	}
}
