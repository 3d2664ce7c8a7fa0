package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestReportsPage is issue 5's supervisor page with a real browser: a
// caller reaches the general queue and alice (the fake browser of the
// desk tests) answers, talks, pauses the recording a moment, is hung up on
// and wraps up, so the call has a queue stint, a disposition and a
// recording with a paused span. Then headless Chromium
// (test/browser/reports.test.mjs) signs in on /reports as demo/sam and
// reads it back: the general queue's report shows one call offered and
// answered, the search by the caller's number finds the call, its
// timeline has the queue events, and its recording loads in the page's
// <audio> player.
//
// Screenshots go to $HOTLINE_BROWSER_OUT when set (kept), else to the
// test's temporary directory.
func TestReportsPage(t *testing.T) {
	srv, b := startBrowserServer(t, serverOptions{Name: "reports-page"})
	// The page and its module are served under the pages' CSP.
	checkPageCSP(t, b.base, "/reports")

	// The recorded call: answered by alice, a few seconds of talk.
	alice := demoDesk(t, srv, "alice", true)
	c := answerCall(t, srv, alice)
	ua, callID := c.ua, c.id
	// A pause (PCI) leaves a paused span for the page to list.
	time.Sleep(time.Second)
	alice.send(map[string]any{"type": "recording", "call": callID, "paused": true})
	alice.expect("recording", 5*time.Second, func(m map[string]any) bool { return m["paused"] == true })
	time.Sleep(1500 * time.Millisecond)
	alice.send(map[string]any{"type": "recording", "call": callID, "paused": false})
	alice.expect("recording", 5*time.Second, func(m map[string]any) bool { return m["paused"] == false })
	time.Sleep(time.Second)
	ua.Bye(demoNumber)
	alice.expect("call_ended", 10*time.Second, nil)
	alice.expectState("wrap_up", 5*time.Second)
	alice.send(map[string]any{"type": "disposition", "call": callID, "code": "resolved"})
	alice.send(map[string]any{"type": "wrapup_done"})
	alice.expectState("available", 5*time.Second)

	// The page reads what the API has; wait until the recording is
	// finalised so the player has a whole file.
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var v struct {
			Recording recMeta `json:"recording"`
		}
		if code := sam.get(t, "/api/v1/calls/"+callID+"/recording/meta", &v); code == 200 && v.Recording.Status == "complete" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the call's recording is not complete within 15 s")
		}
	}

	// What agent assist left on the call: its checklist, and a question
	// the robot answered on another call.
	{
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		id := uuid.MustParse(callID)
		now := time.Now()
		if err := srv.DB.SaveChecklist(ctx, "demo", id, []store.ChecklistStep{
			{Checklist: "lost-card", Step: "verify-identity", Position: 0, Done: true, By: "auto", At: now},
			{Checklist: "lost-card", Step: "block-card", Position: 1, At: now},
		}); err != nil {
			t.Fatal(err)
		}
		if err := srv.DB.AddAskOutcome(ctx, store.AskOutcome{TenantID: "demo", CallID: uuid.New(), Step: "ask_question",
			Question: "what are your opening hours", Intent: "hours", Confidence: 0.9, Outcome: store.AskAnswered, Answer: "text", At: now}); err != nil {
			t.Fatal(err)
		}
		cancel()
	}

	events := runPageScript(t, 2*time.Minute, "reports.test.mjs", "the reports page", b.vars(map[string]string{
		"CALLER": ua.From, "QUEUE": "general",
		"SUPER_TENANT": "demo", "SUPER_USER": "sam", "SUPER_PASSWORD": "sam-demo",
	}))

	var reports struct {
		Totals    map[string]string `json:"totals"`
		Intervals [][]string        `json:"intervals"`
		All       int               `json:"all_intervals"`
		Agents    [][]string        `json:"agents"`
		CSVLines  int               `json:"csv_lines"`
	}
	decodeEvent(t, events, "reports", &reports)
	var assisted struct {
		Checklists  [][]string `json:"checklists"`
		Containment string     `json:"containment"`
		Intents     [][]string `json:"intents"`
	}
	decodeEvent(t, events, "assist", &assisted)
	t.Logf("agent assist: checklists %v; %s; intents %v", assisted.Checklists, assisted.Containment, assisted.Intents)
	if len(assisted.Checklists) != 2 || assisted.Checklists[0][1] != "verify-identity" || assisted.Checklists[0][5] != "100%" || assisted.Checklists[1][5] != "0%" {
		t.Errorf("checklist completion %v: want verify-identity 100%% and block-card 0%%", assisted.Checklists)
	}
	if !strings.Contains(assisted.Containment, "1 of 1 calls") || len(assisted.Intents) != 1 || assisted.Intents[0][0] != "hours" {
		t.Errorf("robot: %q %v, want 1 of 1 calls contained, intent hours", assisted.Containment, assisted.Intents)
	}
	t.Logf("queue report for general: %v; %d busy intervals %v; agents %v", reports.Totals, len(reports.Intervals), reports.Intervals, reports.Agents)
	if reports.Totals["offered"] != "1" || reports.Totals["answered"] != "1" || reports.Totals["abandoned"] != "0" {
		t.Errorf("totals %v: want 1 offered, 1 answered, 0 abandoned", reports.Totals)
	}
	if reports.Totals["abandon_rate"] != "0%" || reports.Totals["service_level"] != "100%" {
		t.Errorf("totals %v: want abandon rate 0%% and service level 100%%", reports.Totals)
	}
	for _, k := range []string{"asa", "aht"} {
		if v := reports.Totals[k]; len(v) != 5 || v[2] != ':' {
			t.Errorf("totals %s %q: want mm:ss", k, v)
		}
	}
	if len(reports.Intervals) != 1 || len(reports.Intervals[0]) < 3 || reports.Intervals[0][1] != "1" || reports.Intervals[0][2] != "1" {
		t.Errorf("intervals %v: want the one quarter hour of the call, 1 offered, 1 answered", reports.Intervals)
	}
	if reports.All < 92 {
		t.Errorf("with empty intervals shown the table has %d rows, want the day's quarter hours", reports.All)
	}
	var aliceRow []string
	for _, row := range reports.Agents {
		if len(row) > 2 && row[0] == "Alice" {
			aliceRow = row
		}
	}
	if aliceRow == nil || aliceRow[1] != "1" {
		t.Errorf("agent report %v: want Alice with 1 answered", reports.Agents)
	}
	// The header, 96 quarter hours (or 92/100 on a DST day) and the total.
	if reports.CSVLines < 90 {
		t.Errorf("the queue report CSV has %d lines, want a row per interval", reports.CSVLines)
	}

	var search struct {
		Rows [][]string `json:"rows"`
	}
	decodeEvent(t, events, "search", &search)
	t.Logf("search for %s: %v", ua.From, search.Rows)
	if len(search.Rows) != 1 || !strings.Contains(strings.Join(search.Rows[0], "|"), "general") ||
		!strings.Contains(strings.Join(search.Rows[0], "|"), "resolved") {
		t.Errorf("search rows %v: want the one call, through general, resolved", search.Rows)
	}

	var call struct {
		Timeline []struct {
			Kind string `json:"kind"`
			Text string `json:"text"`
		} `json:"timeline"`
		Audio struct {
			Src      string  `json:"src"`
			Duration float64 `json:"duration"`
		} `json:"audio"`
		Spans []string `json:"spans"`
		Facts string   `json:"facts"`
		Title string   `json:"title"`
	}
	decodeEvent(t, events, "call", &call)
	var kinds []string
	queueEvents := 0
	for _, e := range call.Timeline {
		kinds = append(kinds, e.Kind)
		if strings.HasPrefix(e.Kind, "queue") {
			queueEvents++
		}
	}
	t.Logf("%s: timeline %v; recording %s, %.2f s, %v", call.Title, kinds, call.Audio.Src, call.Audio.Duration, call.Spans)
	if !strings.Contains(call.Title, ua.From) {
		t.Errorf("call view title %q: want the caller %s", call.Title, ua.From)
	}
	if queueEvents == 0 {
		t.Errorf("the timeline %v has no queue event", kinds)
	}
	if !strings.HasSuffix(call.Audio.Src, "/api/v1/calls/"+callID+"/recording") {
		t.Errorf("the player's src %q: want the call's recording", call.Audio.Src)
	}
	if call.Audio.Duration < 1 || call.Audio.Duration > 10 {
		t.Errorf("the recording plays %.2f s in the browser, want the call's few seconds", call.Audio.Duration)
	}
	if len(call.Spans) != 1 || !strings.HasPrefix(call.Spans[0], "Paused 00:0") {
		t.Errorf("paused spans %q: want the one pause", call.Spans)
	}
	if !strings.Contains(call.Facts, "answered by Alice") {
		t.Errorf("the call's facts %q: want the stint answered by Alice", call.Facts)
	}
	for _, shot := range []string{"reports.png", "reports-call.png"} {
		if _, err := os.Stat(filepath.Join(b.out, shot)); err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}
	t.Logf("screenshots in %s", b.out)
}

// runBrowserScript runs test/browser/SCRIPT to its end and returns its
// events by name (each is emitted once) and everything it printed. Such a
// script takes no commands, so unlike the agent's it is simply waited
// for.
func runBrowserScript(t *testing.T, ctx context.Context, script string, env map[string]string) (map[string]json.RawMessage, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(repoRoot, "test", "browser", script))
	cmd.Dir = filepath.Join(repoRoot, "test", "browser")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	events := map[string]json.RawMessage{}
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "@@"); ok {
			name, data, _ := strings.Cut(rest, " ")
			events[name] = json.RawMessage(data)
		}
	}
	log := stdout.String() + stderr.String()
	if err != nil {
		if _, failed := events["fail"]; !failed {
			t.Fatalf("the browser script: %v\n%s", err, log)
		}
	}
	return events, log
}

func decodeEvent(t *testing.T, events map[string]json.RawMessage, name string, v any) {
	t.Helper()
	raw, ok := events[name]
	if !ok {
		t.Fatalf("the browser script emitted no %q event", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("the %q event %s: %v", name, raw, err)
	}
}
