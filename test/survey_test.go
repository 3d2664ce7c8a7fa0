package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/internal/testenv"
	"hotline/store"
)

// The survey the tests give the demo tenant's general queue.
const (
	surveyIntro = "Please stay on the line for a short survey."
	surveyQ1    = "How satisfied were you with our agent? Press or say a number from one to five."
	surveyQ2    = "Did we solve your problem? Press 1 or say yes, press 2 or say no."
	surveyBye   = "Thank you. Goodbye."
)

func withSurvey(t testing.TB, cfg map[string]any) {
	demo := tenantOf(t, cfg, "demo")
	demo["surveys"] = map[string]any{
		"csat": map[string]any{
			"intro": surveyIntro,
			"questions": []any{
				map[string]any{"id": "satisfied", "kind": "score", "say": surveyQ1},
				map[string]any{"id": "resolved", "kind": "yesno", "say": surveyQ2},
			},
			"thanks": surveyBye,
		},
	}
	for _, q := range listOf(demo["queues"]) {
		if qm, ok := q.(map[string]any); ok && qm["name"] == "general" {
			qm["survey"] = "csat"
		}
	}
}

// TestSurvey: a caller talks to alice (the pion fake browser), alice hangs
// up, and the caller answers the survey that follows, by keypad in one
// call and by voice in another. The answers are stored with the call, the
// agent and the queue, the CDR's timeline shows the survey, and the CSAT
// report counts them for alice.
func TestSurvey(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "survey", Edit: withSurvey})
	from := time.Now().Add(-time.Minute)
	// One desk for both calls: the agent's state outlives a desk session,
	// so a second login would find her available already.
	alice := demoDesk(t, srv, "alice", true)
	t.Run("Keys", func(t *testing.T) { alice.t = t; testSurveyKeys(t, srv, alice) })
	spoke := false
	t.Run("Speech", func(t *testing.T) { alice.t = t; spoke = testSurveySpeech(t, srv, alice) })
	alice.t = t

	// Both calls are in alice's row of the report.
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {time.Now().Add(time.Minute).Format(time.RFC3339)}, "group": {"agent"}}
	var rep struct {
		Rows []struct {
			Key, Label string
			Calls      int
			Scores     int
			CSAT       *float64 `json:"csat"`
			AvgScore   *float64 `json:"avg_score"`
			YesNo      int      `json:"yesno"`
			YesShare   *float64 `json:"yes_share"`
		}
	}
	if code := sam.get(t, "/api/v1/reports/csat?"+q.Encode(), &rep); code != 200 {
		t.Fatalf("csat report: %d", code)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Label != "alice" {
		t.Fatalf("csat rows %+v, want alice's", rep.Rows)
	}
	r := rep.Rows[0]
	t.Logf("alice: %d calls, %d scores, csat %v, average %v, %d yes/no answers", r.Calls, r.Scores, *r.CSAT, *r.AvgScore, r.YesNo)
	if t.Failed() {
		return
	}
	// Keys gave 5 and yes; speech 4 and yes: both satisfied.
	calls, avg := 2, 4.5
	if !spoke {
		calls, avg = 1, 5
	}
	if r.Calls != calls || r.Scores != calls || *r.CSAT != 1 || *r.AvgScore != avg || r.YesNo != calls || r.YesShare == nil || *r.YesShare != 1 {
		t.Errorf("alice's row %+v, want %d calls averaging %v", r, calls, avg)
	}
	// Agents do not see reports.
	agent := apiLogin(t, srv, "demo", "alice", "alice-demo")
	if code := agent.get(t, "/api/v1/reports/csat?"+q.Encode(), nil); code != 403 {
		t.Errorf("csat report as an agent: %d, want 403", code)
	}
	if code := sam.get(t, "/api/v1/reports/csat?from=2026-01-01&group=week", nil); code != 400 {
		t.Errorf("csat report by week: %d, want 400", code)
	}
	t.Run("Page", func(t *testing.T) { testSurveyPage(t, srv, calls, avg) })
	t.Run("NotAfterCallerOrTransfer", func(t *testing.T) { alice.t = t; testSurveyNotAsked(t, srv, alice) })
}

// No survey when the caller hangs up, nor when the agent transfers the
// call; the agent who has the caller last and hangs up is the one the
// survey names.
func testSurveyNotAsked(t *testing.T, srv *server, alice *deskClient) {
	ua, id := connectCaller(t, srv, alice)
	ua.Bye(demoNumber)
	if end := alice.expect("call_ended", 10*time.Second, nil); end["call"] != id || end["by"] != "caller" {
		t.Errorf("call_ended %v, want by caller", end)
	}
	alice.expectState("wrap_up", 5*time.Second)
	alice.send(map[string]any{"type": "wrapup_done"})
	alice.expectState("available", 5*time.Second)
	c := srv.findCall(t, ua.CallID, true, 10*time.Second)
	if ev := srv.settledEvents(t, c); hasKind(ev, "survey") {
		t.Errorf("a survey after the caller hung up:\n%s", formatEvents(ev))
	}

	// Bob stays on break until alice has the call, then takes the
	// transfer from general.
	bob := demoDesk(t, srv, "bob", false)
	var me struct{ User struct{ ID string } }
	if code := apiLogin(t, srv, "demo", "bob", "bob-demo").get(t, "/api/v1/me", &me); code != 200 || me.User.ID == "" {
		t.Fatalf("bob's /me: %d %+v", code, me)
	}
	ua, id = connectCaller(t, srv, alice)
	bob.send(map[string]any{"type": "state", "state": "available"})
	bob.expectState("available", 5*time.Second)
	alice.send(map[string]any{"type": "transfer", "call": id, "queue": "general"})
	if end := alice.expect("call_ended", 10*time.Second, nil); end["by"] != "transfer" {
		t.Fatalf("call_ended %v, want by transfer", end)
	}
	bob.expect("offer", 20*time.Second, func(m map[string]any) bool { return m["call"] == id })
	bob.send(map[string]any{"type": "answer", "call": id})
	wo := bob.expect("webrtc_offer", 10*time.Second, nil)
	bb := newFakeBrowser(t)
	bob.send(map[string]any{"type": "webrtc_answer", "call": id, "sdp": bb.answer(t, wo["sdp"].(string))})
	bob.expect("connected", 10*time.Second, nil)
	callerHearsTone(t, "the caller hears bob", ua, 1000, 440)
	if _, ev := waitEvent(t, srv, ua, 0, isKind("survey")); hasKind(ev, "survey") {
		t.Errorf("a survey after the transfer:\n%s", formatEvents(ev))
	}
	bob.send(map[string]any{"type": "hangup", "call": id})
	bob.expect("call_ended", 10*time.Second, nil)
	if ev, all := waitEvent(t, srv, ua, 10*time.Second, isKind("survey")); ev == nil || ev.Data["agent"] != me.User.ID {
		t.Errorf("survey after bob hung up: %v, want agent %s:\n%s", ev, me.User.ID, formatEvents(all))
	}
	// The caller leaves during the survey: it ends, marked so.
	ua.Bye(demoNumber)
	c = srv.findCall(t, ua.CallID, true, 10*time.Second)
	ends := eventsOf(srv.settledEvents(t, c), "survey_end")
	if len(ends) != 1 || ends[0].Data["hangup"] != "true" {
		t.Errorf("survey_end %v, want one with hangup=true", ends)
	}
}

// The reports page shows alice's row in its caller satisfaction table,
// by agent, and today's by day (headless Chromium).
func testSurveyPage(t *testing.T, srv *server, calls int, avg float64) {
	chromium := needBrowser(t)
	npmInstall(t)
	out := os.Getenv("HOTLINE_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events, log := runBrowserScript(t, ctx, "surveys.test.mjs", map[string]string{
		"HOTLINE_URL": fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort), "OUT_DIR": out, "CHROMIUM": chromium,
	})
	if fail, ok := events["fail"]; ok {
		t.Fatalf("the reports page: %s\n%s", fail, log)
	}
	type table struct {
		Key   string     `json:"key"`
		Rows  [][]string `json:"rows"`
		Total []string   `json:"total"`
		CSV   string     `json:"csv"`
	}
	var csat struct{ Agent, Day table }
	decodeEvent(t, events, "csat", &csat)
	t.Logf("CSAT by agent %v (total %v); by day %v", csat.Agent.Rows, csat.Agent.Total, csat.Day.Rows)
	n := fmt.Sprint(calls)
	want := []string{"alice", n, n, "100%", fmt.Sprintf("%.2f", avg), n, "100%"}
	if csat.Agent.Key != "Agent" || len(csat.Agent.Rows) != 1 || strings.Join(csat.Agent.Rows[0], "|") != strings.Join(want, "|") {
		t.Errorf("by agent: %+v, want one row %v", csat.Agent, want)
	}
	if len(csat.Agent.Total) == 0 || csat.Agent.Total[0] != "All" || !strings.Contains(csat.Agent.CSV, "format=csv") {
		t.Errorf("total %v, csv link %q", csat.Agent.Total, csat.Agent.CSV)
	}
	if csat.Day.Key != "Day" || len(csat.Day.Rows) != 1 || len(csat.Day.Rows[0][0]) != len("2006-01-02") {
		t.Errorf("by day: %+v, want today's row", csat.Day)
	}
	if _, err := os.Stat(filepath.Join(out, "csat.png")); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// surveyCall puts a caller (silent: the survey listens for speech) in the
// general queue, has alice (at her desk, available) answer with the fake
// browser, checks the caller hears her, and has her hang up. It returns the caller and the
// call id.
func surveyCall(t *testing.T, srv *server, alice *deskClient) (*sipUA, string) {
	t.Helper()
	ua, id := connectCaller(t, srv, alice)
	alice.send(map[string]any{"type": "hangup", "call": id})
	if end := alice.expect("call_ended", 10*time.Second, nil); end["by"] != "agent" {
		t.Fatalf("call_ended %v, want by agent", end)
	}
	alice.expectState("wrap_up", 5*time.Second)
	// Her wrap-up does not wait for the survey.
	alice.send(map[string]any{"type": "wrapup_done"})
	alice.expectState("available", 5*time.Second)
	// The caller is still on the line: the survey starts.
	if ev, all := waitEvent(t, srv, ua, 10*time.Second, isKind("survey")); ev == nil {
		t.Fatalf("no survey after the agent hung up:\n%s", formatEvents(all))
	} else if ev.Data["survey"] != "csat" || ev.Data["queue"] != "general" || ev.Data["source"] != "queue" || ev.Data["agent"] == "" {
		t.Errorf("survey event %v", ev.Data)
	}
	if _, ok := ua.WaitBye(0); ok {
		t.Fatal("the server hung up instead of asking the survey")
	}
	return ua, id
}

// connectCaller puts a silent caller in the general queue and has agent
// answer with the fake browser; it returns once the caller hears them.
func connectCaller(t *testing.T, srv *server, alice *deskClient) (*sipUA, string) {
	t.Helper()
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(menuOpens(t))
	ua.RTP.SendDigit('0')
	offer := alice.expect("offer", 20*time.Second, nil)
	id, _ := offer["call"].(string)
	alice.send(map[string]any{"type": "answer", "call": id})
	wo := alice.expect("webrtc_offer", 10*time.Second, nil)
	b := newFakeBrowser(t)
	alice.send(map[string]any{"type": "webrtc_answer", "call": id, "sdp": b.answer(t, wo["sdp"].(string))})
	alice.expect("connected", 10*time.Second, nil)
	callerHearsTone(t, "the caller hears "+alice.name, ua, 1000, 440)
	return ua, id
}

// asked waits until the n-th time the caller is asked text (a say event
// of the survey): then the question is playing and listening.
func asked(t *testing.T, srv *server, ua *sipUA, text string, n int) {
	t.Helper()
	count := func(e store.Event) bool { return e.Kind == "say" && e.Data["text"] == text }
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, ev := waitEvent(t, srv, ua, 0, func(store.Event) bool { return false })
		if len(filter(ev, count)) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not asked %q %d times:\n%s", text, n, formatEvents(ev))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func filter(ev []store.Event, keep func(store.Event) bool) []store.Event {
	var out []store.Event
	for _, e := range ev {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// surveyDone waits for the server's BYE after the thanks, and returns the
// call's settled timeline and stored answers.
func surveyDone(t *testing.T, srv *server, ua *sipUA, id string) ([]store.Event, []store.SurveyAnswer) {
	t.Helper()
	if _, ok := ua.WaitBye(30 * time.Second); !ok {
		t.Errorf("no BYE after the survey")
		ua.Bye(demoNumber)
	}
	c := srv.findCall(t, ua.CallID, true, 10*time.Second)
	ev := srv.settledEvents(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var answers []store.SurveyAnswer
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		var err error
		if answers, err = srv.DB.CallSurveyAnswers(ctx, "demo", uuid.MustParse(id)); err != nil {
			t.Fatal(err)
		}
		if len(answers) >= 2 {
			break
		}
	}
	return ev, answers
}

// checkAnswers compares the stored answers (by question) with want:
// question=value/method.
func checkAnswers(t *testing.T, answers []store.SurveyAnswer, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, a := range answers {
		v := ""
		switch {
		case a.Score != nil:
			v = fmt.Sprint(*a.Score)
		case a.Yes != nil:
			v = fmt.Sprint(*a.Yes)
		}
		got[a.Question] = v + "/" + a.Method
		if a.Survey != "csat" || a.Queue != "general" || a.AgentID == "" {
			t.Errorf("answer %+v: want survey csat, queue general and the agent", a)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored answers %v, want %v", got, want)
	}
}

// Keys: 9 is out of range and the question is asked again ("a number from
// one to five"); 5 answers it, 1 says yes.
func testSurveyKeys(t *testing.T, srv *server, alice *deskClient) {
	ua, id := surveyCall(t, srv, alice)
	asked(t, srv, ua, surveyQ1, 1)
	ua.RTP.SendDigit('9')
	if ev, all := waitEvent(t, srv, ua, 10*time.Second, isKind("survey_invalid")); ev == nil {
		t.Fatalf("9 was not refused:\n%s", formatEvents(all))
	} else if ev.Data["input"] != "9" || ev.Data["reason"] != "out_of_range" || ev.Data["question"] != "satisfied" {
		t.Errorf("survey_invalid %v", ev.Data)
	}
	asked(t, srv, ua, "Please answer with a number from one to five.", 1)
	asked(t, srv, ua, surveyQ1, 2)
	ua.RTP.SendDigit('5')
	asked(t, srv, ua, surveyQ2, 1)
	ua.RTP.SendDigit('1')
	ev, answers := surveyDone(t, srv, ua, id)
	checkAnswers(t, answers, map[string]string{"satisfied": "5/dtmf", "resolved": "true/dtmf"})
	ends := eventsOf(ev, "survey_end")
	if len(ends) != 1 || ends[0].Data["answered"] != "2" || ends[0].Data["asked"] != "2" {
		t.Errorf("survey_end events %v", ends)
	}
	if got := len(eventsOf(ev, "survey_answer")); got != 2 {
		t.Errorf("%d survey_answer events on the timeline, want 2", got)
	}
	checkSubsequence(t, "survey timeline", kindsOf(ev), []string{"survey", "say", "survey_invalid", "say", "survey_answer", "survey_answer", "say", "survey_end", "flow_end"})
}

// Speech: the caller says "four" and "yes" (flite's voice). It reports
// whether the call was made.
func testSurveySpeech(t *testing.T, srv *server, alice *deskClient) bool {
	testenv.NeedTools(t, "apt-get install flite: the callers' voice", "flite")
	needRecognizer(t, srv)
	ua, id := surveyCall(t, srv, alice)
	// Each word is said again if the recognizer did not take it the first
	// time (a re-prompt), as a caller would.
	for n, done := 1, false; n <= 2 && !done; n++ {
		asked(t, srv, ua, surveyQ1, n)
		ua.RTP.Play(say(t, "four"))
		ev, _ := waitEvent(t, srv, ua, 15*time.Second, func(e store.Event) bool {
			return (e.Kind == "survey_answer" || e.Kind == "survey_invalid" && e.Data["try"] == fmt.Sprint(n)) && e.Data["question"] == "satisfied"
		})
		done = ev != nil && ev.Kind == "survey_answer"
	}
	for n, done := 1, false; n <= 2 && !done; n++ {
		asked(t, srv, ua, surveyQ2, n)
		ua.RTP.Play(say(t, "yes"))
		ev, _ := waitEvent(t, srv, ua, 15*time.Second, func(e store.Event) bool {
			return (e.Kind == "survey_answer" || e.Kind == "survey_invalid" && e.Data["try"] == fmt.Sprint(n)) && e.Data["question"] == "resolved"
		})
		done = ev != nil && ev.Kind == "survey_answer"
	}
	ev, answers := surveyDone(t, srv, ua, id)
	for _, e := range eventsOf(ev, "speech") {
		t.Logf("heard %q (choice %q, confidence %s)", e.Data["text"], e.Data["choice"], e.Data["confidence"])
	}
	checkAnswers(t, answers, map[string]string{"satisfied": "4/speech", "resolved": "true/speech"})
	return true
}

func kindsOf(ev []store.Event) []string {
	var out []string
	for _, e := range ev {
		out = append(out, e.Kind)
	}
	return out
}
