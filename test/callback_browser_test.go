package e2e

import (
	"math"
	"strings"
	"testing"
	"time"

	"hotline/store"
)

// TestCallbackBrowser is TestCallbackKeepsPlace with the agent in headless
// Chromium (test/browser/callback.test.mjs): a SIPp caller asks for a callback
// and hangs up, a second caller waits (440 Hz), then alice signs in and
// goes Available. The offer card shows "Callback to" the first caller's
// number; on Answer Hotline dials a SIPp UAS standing in for the caller's
// phone, which echoes what it gets, so the page hearing its own 1 kHz
// microphone proves audio both ways. The waiting caller is offered next
// and heard (440 Hz). The callback is recorded completed.
func TestCallbackBrowser(t *testing.T) {
	chromium := needBrowser(t)
	needSIPp(t)
	uas := startSIPpUAS(t)
	srv := callbackServer(t, "callback-browser", uas.Port, 2*time.Second)
	b := newBrowserEnv(t, chromium, srv)
	checkPageServed(t, b.base)

	c1 := askCallback(t, srv)
	ua2 := queueCall(t, srv)
	c2 := srv.findCall(t, ua2.CallID, false, 10*time.Second)
	waitKind(t, srv, c2, "queue", 10*time.Second)

	events := runPageScript(t, 3*time.Minute, "callback.test.mjs", "the callback on the agent page", b.vars(map[string]string{"TONE_HZ": "1000"}))
	type offer struct {
		Shown string         `json:"shown"`
		Queue string         `json:"queue"`
		Last  map[string]any `json:"last"`
	}
	var first, second offer
	decodeEvent(t, events, "offer", &first)
	decodeEvent(t, events, "offer2", &second)
	if !strings.Contains(first.Shown, "Callback to "+callbackCaller) || first.Last["call"] != c1.ID.String() {
		t.Errorf("first offer %+v: want the callback to %s", first, callbackCaller)
	}
	if second.Last["call"] != c2.ID.String() || !strings.Contains(second.Shown, ua2.From) {
		t.Errorf("second offer %+v: want the waiting caller %s", second, ua2.From)
	}
	var talking struct {
		Heard float64 `json:"heard"`
		Shown string  `json:"shown"`
		Call  string  `json:"call"`
	}
	decodeEvent(t, events, "talking", &talking)
	t.Logf("callback: the page hears %.1f Hz; %q", talking.Heard, talking.Shown)
	if math.Abs(talking.Heard-1000) > 15 {
		t.Errorf("the page hears %.1f Hz on the callback, want its own 1000 Hz echoed by the caller's phone", talking.Heard)
	}
	var talking2 struct {
		Heard float64 `json:"heard"`
	}
	decodeEvent(t, events, "talking2", &talking2)
	if math.Abs(talking2.Heard-440) > 15 {
		t.Errorf("the page hears %.1f Hz from the waiting caller, want 440 Hz", talking2.Heard)
	}
	cb := waitCallback(t, srv, store.CallbackCompleted, 15*time.Second)
	if cb.Attempts != 1 || cb.ResultCallID == nil || cb.ResultCallID.String() != talking.Call {
		t.Errorf("callback %+v: want completed after one try by call %s", cb, talking.Call)
	}
}
