package e2e

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestOutboundBrowser is click to call with a real browser: headless
// Chromium (test/browser/outbound.test.mjs) signs in as demo/alice and
// places calls from the agent page over the demo tenant's outbound trunk,
// a SIPp UAS that challenges with digest and verifies the answer
// (test/sipp/outbound_uas.xml), then answers and plays a 440 Hz tone. A
// bad number is refused on the page and places no call; the call for the
// general queue is answered, the browser hears the callee while its 1 kHz
// microphone reaches them (the recording has both), alice hangs up from
// the page and wraps up; a ticket's Call button places a call to its
// customer number; the trunk with a wrong password shows the failure.
// The CDR is outbound, alice's, with a stereo recording.
func TestOutboundBrowser(t *testing.T) {
	chromium := needBrowser(t)
	good, bad := allocPorts(t, 1, true), allocPorts(t, 1, true)
	srv := startServer(t, serverOptions{Name: "outbound-browser", Edit: outboundConfig(good, bad)})
	b := newBrowserEnv(t, chromium, srv)
	checkPageServed(t, b.base)
	aliceID := userID(t, apiLogin(t, srv, "demo", "alice", "alice-demo"))

	// The carrier takes two calls (the dial box's and the ticket's); the
	// other trunk's UAS refuses our credentials once.
	uas := startOutboundUASCalls(t, good, 2, 150*time.Second)
	refusing := startOutboundUAS(t, bad, 150*time.Second)

	events := runPageScript(t, 3*time.Minute, "outbound.test.mjs", "click to call on the agent page", b.vars(map[string]string{
		"TONE_HZ": "1000", "NUMBER": outboundNumber, "TICKET_NUMBER": "+15551230003", "BAD_NUMBER": outboundBadTrunkNo,
	}))

	type progress struct {
		Call    string `json:"call"`
		State   string `json:"state"`
		Reason  string `json:"reason"`
		SIPCode int    `json:"sip_code"`
		Message string `json:"message"`
	}
	var badNumber struct {
		Last   progress `json:"last"`
		Status string   `json:"status"`
		Errors string   `json:"errors"`
	}
	decodeEvent(t, events, "bad_number", &badNumber)
	t.Logf("bad number: %+v", badNumber)
	if badNumber.Last.State != "failed" || badNumber.Last.Reason != "invalid-number" || badNumber.Last.Call != "" ||
		!strings.Contains(badNumber.Status, "Invalid number") || !strings.Contains(badNumber.Errors, "Invalid number") {
		t.Errorf("a bad number: %+v, want the page to show Invalid number", badNumber)
	}

	var talking struct {
		Heard   float64 `json:"heard"`
		Shown   string  `json:"shown"`
		Ringing string  `json:"ringing"`
		Call    string  `json:"call"`
		Codec   string  `json:"codec"`
	}
	decodeEvent(t, events, "talking", &talking)
	t.Logf("talking: %+v", talking)
	if math.Abs(talking.Heard-440) > 15 {
		t.Errorf("the browser hears %.1f Hz, want the callee's 440 Hz", talking.Heard)
	}
	if !strings.Contains(talking.Shown, outboundNumber) || !strings.Contains(talking.Ringing, "Ringing "+outboundNumber) {
		t.Errorf("the page showed %q while ringing and %q on the call, want the number", talking.Ringing, talking.Shown)
	}
	var hungUp struct {
		Summary string   `json:"summary"`
		Sent    []string `json:"sent"`
		States  []string `json:"states"`
	}
	decodeEvent(t, events, "hung_up", &hungUp)
	t.Logf("hung up: %+v", hungUp)
	if got := strings.Join(hungUp.States, ","); got != "failed,dialing,ringing,answered,ended" {
		t.Errorf("dial progress %s, want failed (the bad number), dialing, ringing, answered, ended", got)
	}
	if !strings.Contains(strings.Join(hungUp.Sent, ","), "hangup,disposition,wrapup_done") {
		t.Errorf("the page sent %v: want hangup, then the disposition and wrapup_done", hungUp.Sent)
	}

	var ticket struct {
		Call   string `json:"call"`
		Caller string `json:"caller"`
	}
	decodeEvent(t, events, "ticket_call", &ticket)
	if ticket.Caller != "+15551230003" {
		t.Errorf("the ticket's call: %+v, want a call to +15551230003", ticket)
	}

	var refused struct {
		Last   progress `json:"last"`
		Status string   `json:"status"`
	}
	decodeEvent(t, events, "auth_failed", &refused)
	t.Logf("wrong trunk password: %+v", refused)
	if refused.Last.Reason != "auth-failed" || refused.Last.SIPCode != 403 || !strings.Contains(refused.Status, "refused our credentials") {
		t.Errorf("wrong trunk password: %+v, want the page to say the carrier refused our credentials", refused)
	}

	msgs := uas.wait(t)
	if n := strings.Count(msgs, "Authorization: Digest"); n < 2 {
		t.Errorf("the carrier saw %d digest answers, want 2", n)
	}
	refusing.wait(t)
	checkOutboundRecords(t, srv, talking.Call, aliceID, 2)
	if c := outboundRow(t, srv, ticket.Call); c.Direction != "outbound" || c.AgentID != aliceID || c.ToNumber != "+15551230003" ||
		c.FromNumber != outboundTrunkCID || c.AnsweredAt == nil {
		t.Errorf("the ticket call's CDR: %+v", *c)
	}
}
