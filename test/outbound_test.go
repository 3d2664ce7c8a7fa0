package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// Click to call (docs/outbound.md): an agent places a call from their desk
// over the tenant's outbound trunk, a SIPp UAS (test/sipp/outbound_uas.xml)
// that challenges with digest, verifies the answer, rings, answers and
// talks (a 440 Hz tone) until Hotline hangs up.

// outboundNumber is what the tests dial; outboundCallerID is the general
// queue's caller_id in outboundConfig.
const (
	outboundNumber     = "+15551230001"
	outboundCallerID   = "+15550142"
	outboundTrunkCID   = "+15550100"
	outboundBadTrunkNo = "+15551230002"
)

// outboundConfig gives the demo tenant two outbound trunks, each a SIPp
// UAS on its own port: carrier (the right password) and badcarrier (a
// wrong one; the cards queue uses it), and the general queue a caller ID
// of its own.
func outboundConfig(good, bad int) func(testing.TB, map[string]any) {
	return func(t testing.TB, cfg map[string]any) {
		tm := tenantOf(t, cfg, "demo")
		trunks, _ := tm["trunks"].(map[string]any)
		if trunks == nil {
			trunks = map[string]any{}
			tm["trunks"] = trunks
		}
		trunks["outbound"] = []any{
			map[string]any{"name": "carrier", "address": fmt.Sprintf("127.0.0.1:%d", good), "caller_id": outboundTrunkCID,
				"username": "acme", "password": "s3cret", "realm": "carrier.example"},
			map[string]any{"name": "badcarrier", "address": fmt.Sprintf("127.0.0.1:%d", bad), "caller_id": outboundTrunkCID,
				"username": "acme", "password": "wrong-password"},
		}
		for _, qv := range listOf(tm["queues"]) {
			q, _ := qv.(map[string]any)
			switch q["name"] {
			case "general":
				q["caller_id"] = outboundCallerID
			case "cards":
				q["trunk"] = "badcarrier"
			}
		}
	}
}

// toneCapture writes a pcap of d of a PCMU tone at freq (SIPp plays it
// with play_pcap_audio).
func toneCapture(t testing.TB, dir string, freq float64, d time.Duration) string {
	t.Helper()
	n := int(d / (20 * time.Millisecond))
	pkts := make([]pcapPacket, n)
	for i := range pkts {
		p := make([]byte, 12, 12+160)
		p[0] = 0x80
		if i == 0 {
			p[1] = 0x80 // marker
		}
		binary.BigEndian.PutUint16(p[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(p[4:], uint32(8000+160*i))
		binary.BigEndian.PutUint32(p[8:], 0x5eed1234)
		pkts[i] = pcapPacket{At: time.Duration(i) * 20 * time.Millisecond, RTP: append(p, ulawTone(freq, 160, 160*i)...)}
	}
	path := filepath.Join(dir, fmt.Sprintf("tone-%.0f.pcap", freq))
	if err := writePcapRTP(path, pkts); err != nil {
		t.Fatal(err)
	}
	return path
}

// startOutboundUAS runs SIPp with outbound_uas.xml on port for one call,
// within timeout. Unlike startDialUAS it takes its port from the caller,
// since the server's configuration names it before SIPp starts.
func startOutboundUAS(t *testing.T, port int, timeout time.Duration) *dialUAS {
	t.Helper()
	return startOutboundUASCalls(t, port, 1, timeout)
}

// startOutboundUASCalls is startOutboundUAS for calls calls, one after
// the other.
func startOutboundUASCalls(t *testing.T, port, calls int, timeout time.Duration) *dialUAS {
	t.Helper()
	u, dir := newDialUAS(t, port)
	scenario := renderScenario(t, "outbound_uas.xml", dir, map[string]any{
		"Pcap": toneCapture(t, dir, 440, 60*time.Second), "RingMs": 300,
	})
	u.start(t, dir, []string{"-sf", scenario}, calls, timeout)
	return u
}

// userID is the id of a demo user (what the ACD and the CDRs know agents by).
func userID(t *testing.T, c *apiClient) string {
	t.Helper()
	var me struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if code := c.get(t, "/api/v1/me", &me); code != 200 || me.User.ID == "" {
		t.Fatalf("GET /api/v1/me: %d %+v", code, me)
	}
	return me.User.ID
}

// outboundRow waits for the call's CDR to be closed and returns it.
func outboundRow(t *testing.T, srv *server, id string) *store.CallRecord {
	t.Helper()
	cid, err := uuid.Parse(id)
	if err != nil {
		t.Fatalf("call id %q: %v", id, err)
	}
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := srv.DB.GetCall(ctx, "demo", cid)
		cancel()
		if err == nil && c.EndedAt != nil {
			return c
		}
		if time.Now().After(end) {
			t.Fatalf("call %s: no closed CDR (%v, %+v)", id, err, c)
		}
	}
}

// checkOutboundRecords checks what an answered outbound call left: the
// CDR (outbound, the agent, caller ID and number, media both ways), a
// complete stereo recording with the callee's 440 Hz on the left and the
// agent's 1 kHz on the right, the call in the call search by agent, and
// the agent report's outbound counts (answered: how many of the agent's
// outbound calls were answered by then).
func checkOutboundRecords(t *testing.T, srv *server, callID, agentID string, answered int) {
	t.Helper()
	c := outboundRow(t, srv, callID)
	t.Logf("CDR: %+v", *c)
	if c.Direction != "outbound" || c.AgentID != agentID || c.Queue != "general" || c.FromNumber != outboundCallerID ||
		c.ToNumber != outboundNumber || c.AnsweredAt == nil || c.HangupCause != "normal-clearing" {
		t.Errorf("CDR %+v: want outbound, agent %s, queue general, from %s to %s, answered, normal clearing",
			*c, agentID, outboundCallerID, outboundNumber)
	}
	if c.PacketsSent < 50 || c.PacketsReceived < 50 {
		t.Errorf("CDR: %d RTP packets sent, %d received: want audio both ways", c.PacketsSent, c.PacketsReceived)
	}

	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	var meta recMeta
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		var v struct {
			Recording recMeta `json:"recording"`
		}
		if code := sam.get(t, "/api/v1/calls/"+callID+"/recording/meta", &v); code == 200 && v.Recording.Status == "complete" {
			meta = v.Recording
			break
		}
	}
	if meta.Status != "complete" {
		t.Fatalf("recording of the outbound call: %+v, want complete", meta)
	}
	left, right := fetchStereo(t, sam, "/api/v1/calls/"+callID+"/recording")
	t.Logf("recording: %d ms", len(left)*1000/sampleRate)
	if len(left) < 2*sampleRate {
		t.Fatalf("recording of %d samples: want at least 2 s", len(left))
	}
	var levels []string
	for i := 0; i+sampleRate/2 <= len(right); i += sampleRate / 2 {
		levels = append(levels, fmt.Sprintf("%.0f/%.0f", toneAmp(left[i:i+sampleRate/2], 440), toneAmp(right[i:i+sampleRate/2], 1000)))
	}
	t.Logf("recording, 440 Hz left / 1 kHz right per 500 ms: %s", strings.Join(levels, " "))
	mid := len(left)/2 - sampleRate/4
	wantTone(t, "recording, left (the callee)", left[mid:mid+sampleRate/2], 440, 1000)
	// Right from the start of the recording (the agent picked up): Chromium's
	// noise suppression fades a steady microphone tone within ~2 s.
	wantTone(t, "recording, right (the agent)", right[sampleRate/4:sampleRate*3/4], 1000, 440)

	var found struct {
		Calls []struct {
			Call store.CallRecord `json:"call"`
		} `json:"calls"`
	}
	if code := sam.get(t, "/api/v1/calls/search?agent=alice&number="+url.QueryEscape(outboundNumber), &found); code != 200 ||
		len(found.Calls) != 1 || found.Calls[0].Call.ID.String() != callID || found.Calls[0].Call.Direction != "outbound" {
		t.Errorf("call search by agent alice: %d %+v, want the outbound call", code, found)
	}

	span := "from=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	var agents struct {
		Agents []struct {
			Agent            string `json:"agent"`
			Answered         int    `json:"answered"`
			Outbound         int    `json:"outbound"`
			OutboundAnswered int    `json:"outbound_answered"`
		} `json:"agents"`
	}
	if code := sam.get(t, "/api/v1/reports/agents?"+span, &agents); code != 200 {
		t.Fatalf("agent report: %d", code)
	}
	var queues struct {
		Totals struct {
			Offered   int `json:"offered"`
			Abandoned int `json:"abandoned"`
			Outbound  int `json:"outbound"`
		} `json:"totals"`
	}
	if code := sam.get(t, "/api/v1/reports/queues?queue=general&"+span, &queues); code != 200 {
		t.Fatalf("queue report: %d", code)
	}
	t.Logf("reports: agents %+v, general %+v", agents.Agents, queues.Totals)
	ok := false
	for _, a := range agents.Agents {
		if a.Agent == agentID {
			ok = a.Outbound >= answered && a.OutboundAnswered == answered && a.Answered == 0
		}
	}
	if !ok {
		t.Errorf("agent report %+v: want alice with the answered outbound call and no inbound one", agents.Agents)
	}
	if queues.Totals.Outbound != 1 || queues.Totals.Offered != 0 || queues.Totals.Abandoned != 0 {
		t.Errorf("general queue report %+v: want 1 outbound call and no inbound figures", queues.Totals)
	}
}

// TestOutboundDial is click to call at the protocol level, with the fake
// browser as alice's softphone: a bad number places no call; the call
// authenticates to the UAS with digest, rings and is answered, alice and
// the callee hear each other, alice hangs up, wraps up with a disposition
// and the records are right; through the trunk with a wrong password the
// page is told the carrier refused our credentials.
func TestOutboundDial(t *testing.T) {
	good, bad := allocPorts(t, 1, true), allocPorts(t, 1, true)
	srv := startServer(t, serverOptions{Name: "outbound", Edit: outboundConfig(good, bad)})
	alice := demoDesk(t, srv, "alice", true)
	aliceID := userID(t, apiLogin(t, srv, "demo", "alice", "alice-demo"))

	alice.send(map[string]any{"type": "dial", "number": "555-CALL"})
	m := alice.expect("dial_progress", 5*time.Second, nil)
	if m["state"] != "failed" || m["reason"] != "invalid-number" || !strings.Contains(m["message"].(string), "Invalid number") {
		t.Fatalf("bad number: %v", m)
	}

	uas := startOutboundUAS(t, good, 40*time.Second)
	alice.send(map[string]any{"type": "dial", "number": outboundNumber, "queue": "general"})
	// Reserved first (no queue call is offered meanwhile), then dialled.
	alice.expectState("on_call", 5*time.Second)
	dialing := alice.expect("dial_progress", 5*time.Second, func(m map[string]any) bool { return m["state"] == "dialing" })
	callID, _ := dialing["call"].(string)
	alice.expect("dial_progress", 10*time.Second, func(m map[string]any) bool { return m["state"] == "ringing" })
	alice.expect("dial_progress", 10*time.Second, func(m map[string]any) bool { return m["state"] == "answered" })
	wo := alice.expect("webrtc_offer", 10*time.Second, nil)
	if wo["call"] != callID {
		t.Fatalf("webrtc_offer for %v, want %s", wo["call"], callID)
	}
	browser := newFakeBrowser(t)
	alice.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": browser.answer(t, wo["sdp"].(string))})
	alice.expect("connected", 10*time.Second, nil)
	wantTone(t, "alice hears the callee", browser.recent(t, 4000, 10*time.Second), 440, 1000)

	alice.send(map[string]any{"type": "hold", "call": callID, "on": true})
	alice.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == true })
	alice.send(map[string]any{"type": "hold", "call": callID, "on": false})
	alice.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == false })
	time.Sleep(2500 * time.Millisecond)
	alice.send(map[string]any{"type": "hangup", "call": callID})
	if e := alice.expect("call_ended", 10*time.Second, nil); e["by"] != "agent" {
		t.Errorf("call_ended %v, want by agent", e)
	}
	// Wrap-up as after a queue call, then the page hears the dial is over.
	alice.expectState("wrap_up", 5*time.Second)
	alice.expect("dial_progress", 10*time.Second, func(m map[string]any) bool { return m["state"] == "ended" })
	alice.send(map[string]any{"type": "disposition", "call": callID, "code": "resolved", "note": "outbound"})
	alice.send(map[string]any{"type": "wrapup_done"})
	alice.expectState("available", 5*time.Second)
	msgs := uas.wait(t)
	if !strings.Contains(msgs, "Authorization: Digest") {
		t.Errorf("the UAS saw no digest Authorization")
	}

	checkOutboundRecords(t, srv, callID, aliceID, 1)

	// The trunk with the wrong password (the cards queue's).
	uas2 := startOutboundUAS(t, bad, 30*time.Second)
	alice.send(map[string]any{"type": "dial", "number": outboundBadTrunkNo, "queue": "cards"})
	alice.expectState("on_call", 5*time.Second)
	alice.expectState("available", 15*time.Second)
	f := alice.expect("dial_progress", 5*time.Second, func(m map[string]any) bool { return m["state"] == "failed" })
	if f["reason"] != "auth-failed" || f["sip_code"] != float64(403) || !strings.Contains(f["message"].(string), "credentials") {
		t.Errorf("wrong trunk password: %v, want auth-failed", f)
	}
	uas2.wait(t)
	if c := outboundRow(t, srv, f["call"].(string)); c.Direction != "outbound" || c.AnsweredAt != nil || c.HangupCause != "rejected" || c.Queue != "cards" {
		t.Errorf("CDR of the refused call: %+v", *c)
	}

	// Nothing was dialled for the bad number.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	calls, err := srv.DB.SearchCalls(ctx, "demo", store.CallFilter{Number: "555"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if strings.Contains(c.Call.ToNumber, "CALL") {
			t.Errorf("a call was placed to the bad number: %+v", c.Call)
		}
	}
}
