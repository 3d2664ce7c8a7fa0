package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestTranscriptPanelBrowser is the live transcript panel on the agent page
// and the wallboard, in headless Chromium (test/browser/transcript.test.mjs),
// on the server `hotline serve` runs with the demo configuration. The
// script adds "transcript" messages to the pages' own WebSockets as the
// server sends them during calls, so no speech engine is needed: the agent
// sees caller and own lines apart in the order said, with mm:ss times,
// beside the softphone, a transferred call's earlier lines under "Before
// transfer"; a supervisor listening in sees the monitored call's lines;
// the reports page searches calls by words said and shows a transcript.
func TestTranscriptPanelBrowser(t *testing.T) {
	_, b := startBrowserServer(t, serverOptions{Name: "transcript-page"})
	events := runPageScript(t, 90*time.Second, "transcript.test.mjs", "the transcript panel", b.vars(nil))

	type shown struct {
		Side, Who, Time, Text string
	}
	type panel struct {
		Visible  bool
		Headings []string
		Replay   []shown
		Live     []shown
		Note     string
		Elements int
	}
	type stateLine struct {
		Call, Side, Text string
		StartMS          int64 `json:"start_ms"`
		Replay           bool
	}
	var a struct {
		Panel  panel
		State  []stateLine
		Layout struct{ Beside bool }
		Pwned  any
	}
	decodeEvent(t, events, "call_a", &a)
	if !a.Panel.Visible || len(a.Panel.Live) != 3 || !a.Layout.Beside {
		t.Fatalf("call A: %+v", a)
	}
	// The window state the brief promises tests: lines in the order said.
	if len(a.State) != 3 || a.State[0].Side != "caller" || a.State[0].StartMS != 0 || a.State[1].Side != "agent" ||
		a.State[2].StartMS != 65000 || a.State[0].Call != "call-a" || a.State[0].Replay {
		t.Errorf("call A state %+v", a.State)
	}
	if !strings.Contains(a.Panel.Live[2].Text, `<img src=x onerror="window.pwned=1">`) || a.Panel.Elements != 0 || a.Pwned != nil {
		t.Errorf("markup in a line: %+v, pwned %v", a.Panel.Live[2], a.Pwned)
	}

	var b2 struct {
		Panel panel
		State []stateLine
	}
	decodeEvent(t, events, "call_b", &b2)
	if len(b2.State) != 3 || !b2.State[0].Replay || !b2.State[1].Replay || b2.State[2].Replay || b2.State[2].Call != "call-b" {
		t.Errorf("call B state %+v", b2.State)
	}
	if len(b2.Panel.Replay) != 2 || b2.Panel.Replay[1].Who != "bob" || b2.Panel.Live[0].Who != "You" {
		t.Errorf("call B panel %+v", b2.Panel)
	}

	var st struct{ Note string }
	decodeEvent(t, events, "status", &st)
	if !strings.Contains(st.Note, "unavailable") || !strings.Contains(st.Note, "no recognizer reachable") {
		t.Errorf("transcript_status note %q", st.Note)
	}

	var w struct {
		Panel panel
		State []struct {
			Call, Side, Text string
			Replay           bool
		}
	}
	decodeEvent(t, events, "wallboard", &w)
	if len(w.State) != 3 || w.State[2].Text != "It arrives tomorrow" || w.Panel.Headings[0] != "Before you joined" {
		t.Errorf("wallboard %+v", w)
	}
	for _, l := range w.State {
		if l.Call != "call-w" {
			t.Errorf("wallboard shows another call's line %+v", l)
		}
	}

	var r struct {
		Searches []map[string]string
		Panel    panel
		Marks    []string
	}
	decodeEvent(t, events, "reports", &r)
	if len(r.Searches) != 1 || r.Searches[0]["text"] != "cancelled subscriptions" || len(r.Panel.Live) != 2 ||
		r.Panel.Live[0].Who != "Caller" || r.Panel.Live[0].Time != "00:01" || len(r.Marks) != 3 {
		t.Errorf("reports: %+v", r)
	}
}
