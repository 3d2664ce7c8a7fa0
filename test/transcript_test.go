package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/internal/testenv"
)

// TestTranscriptFollowsTheCall: the live transcript reaches whoever is on
// the call. A caller (the Go SIP UA, speaking flite sentences) talks with
// alice: her desk gets the caller's lines as they are said; sam starts to
// listen from the wallboard socket and gets the lines said so far
// (replay) and then the new ones live; alice transfers the caller to bob,
// whose desk gets the whole transcript so far on answering.
func TestTranscriptFollowsTheCall(t *testing.T) {
	t.Parallel()
	testenv.NeedTools(t, "apt-get install flite: the callers' voice", "flite")
	srv := startServer(t, serverOptions{Name: "transcript", Transcripts: true})
	alice := demoDesk(t, srv, "alice", true)
	bob := demoDesk(t, srv, "bob", false)
	c := answerCall(t, srv, alice)

	// From now on the caller speaks rather than hums.
	speak := func(sentences ...string) {
		pcm := withSilence(t, sentences, 2*time.Second)
		c.ua.RTP.mu.Lock()
		c.ua.RTP.queue = append(c.ua.RTP.queue[:0], pcm...)
		c.ua.RTP.mu.Unlock()
	}
	speak("i lost my credit card")
	callerLine := func(d *deskClient, replay bool, what string) []any {
		t.Helper()
		m := d.expect("transcript", 40*time.Second, func(m map[string]any) bool {
			if m["call"] != c.id || m["replay"] != replay {
				return false
			}
			for _, l := range m["lines"].([]any) {
				if l.(map[string]any)["side"] == "caller" {
					return true
				}
			}
			return false
		})
		lines := m["lines"].([]any)
		t.Logf("%s: %d line(s): %v", what, len(lines), texts(lines))
		return lines
	}
	first := callerLine(alice, false, "alice, live")

	sam := openWS(t, srv, fmt.Sprintf("ws://127.0.0.1:%d/api/v1/wallboard/ws", srv.HTTPPort), apiLogin(t, srv, "demo", "sam", "sam-demo"), "sam")
	sam.send(map[string]any{"type": "monitor", "call": c.id, "mode": "listen"})
	replayed := callerLine(sam, true, "sam, on joining")
	if !strings.Contains(strings.Join(texts(replayed), "|"), texts(first)[0]) {
		t.Errorf("sam's replay %v lacks alice's first line %v", texts(replayed), texts(first))
	}
	so := sam.expect("webrtc_offer", 10*time.Second, nil)
	sb := newFakeBrowserTone(t, 700)
	sam.send(map[string]any{"type": "webrtc_answer", "sdp": sb.answer(t, so["sdp"].(string))})
	sam.expect("monitoring", 10*time.Second, nil)
	speak("somebody took it at the train station")
	callerLine(sam, false, "sam, live")

	bob.send(map[string]any{"type": "state", "state": "available"})
	bob.expectState("available", 5*time.Second)
	alice.send(map[string]any{"type": "transfer", "call": c.id, "agent": "bob"})
	alice.expect("call_ended", 10*time.Second, nil)
	offer := bob.expect("offer", 20*time.Second, nil)
	if offer["call"] != c.id {
		t.Fatalf("bob's offer %v: want call %s", offer, c.id)
	}
	pickUp(t, bob, c.id)
	carried := callerLine(bob, true, "bob, after the transfer")
	if len(carried) < 2 {
		t.Errorf("bob got %d lines after the transfer, want the two the caller said", len(carried))
	}
	for _, l := range carried {
		if m := l.(map[string]any); m["side"] == "caller" && m["agent"] != "alice" {
			t.Errorf("a line said to alice carries agent %v", m["agent"])
		}
	}
	bob.send(map[string]any{"type": "hangup", "call": c.id})
	bob.expect("call_ended", 10*time.Second, nil)
}

func texts(lines []any) []string {
	var out []string
	for _, l := range lines {
		m := l.(map[string]any)
		out = append(out, fmt.Sprintf("%s: %s", m["side"], m["text"]))
	}
	return out
}
