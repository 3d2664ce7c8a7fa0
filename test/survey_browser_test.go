package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"hotline/internal/testenv"
	"hotline/store"
)

// The demo tenant's csat survey (configs/hotline.yaml), which its
// accounts queue asks.
const (
	demoSurveyQ1    = "How satisfied were you with our agent? Press or say a number from one to five, five being the best."
	demoSurveyQ2    = "Did we solve your problem today? Press 1 or say yes. Press 2 or say no."
	demoSurveyRetry = "Please answer yes or no: press 1 for yes, or 2 for no."
)

// TestSurveyBrowser is TestSurvey with the agent in headless Chromium
// (test/browser/survey-agent.test.mjs), on the demo configuration as
// shipped: a Go SIP caller takes the accounts path (2, an account number
// and #) into the accounts queue, which has the csat survey. Alice
// answers on the agent page: the page hears the caller's 440 Hz and the
// caller hears her 1 kHz microphone. She clicks Hang up and wraps up; the
// caller, still on the line, answers the first question by voice (flite
// saying "four") and the second by keypad, an out-of-range 7 first (asked
// again), then 1 for yes. The answers are stored (speech and dtmf, alice,
// accounts), and sam's reports page in the same Chromium shows alice's
// caller satisfaction row.
func TestSurveyBrowser(t *testing.T) {
	chromium := needBrowser(t)
	testenv.NeedTools(t, "apt-get install flite: the callers' voice", "flite")
	srv := startServer(t, serverOptions{Name: "survey-browser"})
	needRecognizer(t, srv)
	testenv.NeedTools(t, "apt-get install flite: the caller's voice", "flite")
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)
	checkPageServed(t, base)
	npmInstall(t)
	aliceID := userID(t, apiLogin(t, srv, "demo", "alice", "alice-demo"))
	from := time.Now().Add(-time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel) // after the script's own cleanup has let it stop
	page := startPacedScript(t, ctx, "survey-agent.test.mjs", map[string]string{
		"HOTLINE_URL": base, "CHROMIUM": chromium, "TONE_HZ": "1000",
	})
	page.waitStep(t, "available", 60*time.Second)

	// The caller: 2 for accounts as the menu opens, then the account
	// number while its prompt plays (it is interruptible).
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(menuOpens(t))
	ua.RTP.SendDigit('2')
	time.Sleep(1500 * time.Millisecond)
	for _, k := range "12345678#" {
		ua.RTP.SendDigit(k)
		time.Sleep(350 * time.Millisecond)
	}
	queued := func(e store.Event) bool { return e.Kind == "queue" && e.Data["queue"] == "accounts" }
	if ev, all := waitEvent(t, srv, ua, 20*time.Second, queued); ev == nil {
		t.Fatalf("the caller did not reach the accounts queue:\n%s", formatEvents(all))
	}
	// The caller talks (440 Hz) until alice has heard them.
	ua.RTP.Play(pcmSine(440, 60*time.Second))

	page.waitStep(t, "talking", 60*time.Second)
	callerHearsPage(t, "the caller hears alice's page", ua)
	// Quiet now: the survey listens for speech.
	ua.RTP.mu.Lock()
	ua.RTP.queue = nil
	ua.RTP.mu.Unlock()
	page.tell(t, "hangup")
	page.waitStep(t, "wrapped", 30*time.Second)

	ev, all := waitEvent(t, srv, ua, 15*time.Second, isKind("survey"))
	if ev == nil {
		t.Fatalf("no survey after alice hung up on the page:\n%s", formatEvents(all))
	}
	if ev.Data["survey"] != "csat" || ev.Data["queue"] != "accounts" || ev.Data["source"] != "queue" || ev.Data["agent"] != aliceID {
		t.Errorf("survey event %v: want csat of queue accounts for alice (%s)", ev.Data, aliceID)
	}
	if _, ok := ua.WaitBye(0); ok {
		t.Fatal("the server hung up instead of asking the survey")
	}

	// 1. By voice: "four", said again if the recognizer missed it.
	for n, done := 1, false; n <= 2 && !done; n++ {
		asked(t, srv, ua, demoSurveyQ1, n)
		ua.RTP.Play(say(t, "four"))
		ev, _ := waitEvent(t, srv, ua, 15*time.Second, func(e store.Event) bool {
			return (e.Kind == "survey_answer" || e.Kind == "survey_invalid" && e.Data["try"] == fmt.Sprint(n)) && e.Data["question"] == "satisfied"
		})
		done = ev != nil && ev.Kind == "survey_answer"
	}
	// 2. By keypad: 7 does not answer a yes/no question; 1 says yes.
	asked(t, srv, ua, demoSurveyQ2, 1)
	ua.RTP.SendDigit('7')
	invalid := func(e store.Event) bool { return e.Kind == "survey_invalid" && e.Data["question"] == "resolved" }
	if ev, all := waitEvent(t, srv, ua, 10*time.Second, invalid); ev == nil {
		t.Fatalf("7 was not refused:\n%s", formatEvents(all))
	} else if ev.Data["input"] != "7" || ev.Data["reason"] != "out_of_range" {
		t.Errorf("survey_invalid %v: want input 7, out_of_range", ev.Data)
	}
	asked(t, srv, ua, demoSurveyRetry, 1)
	asked(t, srv, ua, demoSurveyQ2, 2)
	ua.RTP.SendDigit('1')

	c := srv.findCall(t, ua.CallID, false, 5*time.Second)
	timeline, answers := surveyDone(t, srv, ua, c.ID.String())
	for _, e := range eventsOf(timeline, "speech") {
		t.Logf("heard %q (choice %q, confidence %s)", e.Data["text"], e.Data["choice"], e.Data["confidence"])
	}
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
		if a.Survey != "csat" || a.Queue != "accounts" || a.AgentID != aliceID {
			t.Errorf("answer %+v: want survey csat, queue accounts, agent alice (%s)", a, aliceID)
		}
	}
	want := map[string]string{"satisfied": "4/speech", "resolved": "true/dtmf"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored answers %v, want %v", got, want)
	}
	checkSubsequence(t, "survey timeline", kindsOf(timeline), []string{"survey", "say", "survey_answer", "say", "survey_invalid", "say", "survey_answer", "survey_end"})

	// The same numbers through the API, then on the reports page.
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	var rep struct {
		Rows []struct {
			Label  string
			Calls  int
			Scores int
		}
	}
	q := fmt.Sprintf("/api/v1/reports/csat?group=agent&from=%s&to=%s", from.UTC().Format("2006-01-02T15:04:05Z"), time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04:05Z"))
	if code := sam.get(t, q, &rep); code != 200 || len(rep.Rows) != 1 || rep.Rows[0].Label != "alice" || rep.Rows[0].Scores != 1 {
		t.Errorf("csat report: %d %+v, want alice's row with one score", code, rep.Rows)
	}
	page.tell(t, "report")
	events, log := page.finish(t)
	if testing.Verbose() {
		t.Logf("browser script:\n%s", log)
	}

	var offer struct {
		Last  map[string]any `json:"last"`
		Queue string         `json:"queue"`
	}
	decodeEvent(t, events, "offer", &offer)
	if offer.Last["queue"] != "accounts" || offer.Queue != "accounts" || offer.Last["call"] != c.ID.String() {
		t.Errorf("alice's offer %+v: want call %s in accounts", offer, c.ID)
	}
	var talking struct {
		Heard float64 `json:"heard"`
		Title string  `json:"title"`
	}
	decodeEvent(t, events, "talking", &talking)
	t.Logf("alice's call panel %q; the page hears %.1f Hz", talking.Title, talking.Heard)
	if math.Abs(talking.Heard-440) > 15 {
		t.Errorf("the page hears %.1f Hz, want the caller's 440 Hz", talking.Heard)
	}
	var wrapped struct {
		Sent []string `json:"sent"`
	}
	decodeEvent(t, events, "wrapped", &wrapped)
	if !strings.Contains(strings.Join(wrapped.Sent, ","), "hangup,disposition,wrapup_done") {
		t.Errorf("the page sent %v: want hangup, then the disposition and wrapup_done", wrapped.Sent)
	}
	var csat struct {
		Key   string     `json:"key"`
		Rows  [][]string `json:"rows"`
		Total []string   `json:"total"`
	}
	decodeEvent(t, events, "csat", &csat)
	t.Logf("the reports page, CSAT by %s: %v (total %v)", csat.Key, csat.Rows, csat.Total)
	// One call, one score (4: satisfied), one yes.
	wantRow := []string{"alice", "1", "1", "100%", "4.00", "1", "100%"}
	if csat.Key != "Agent" || len(csat.Rows) != 1 || strings.Join(csat.Rows[0], "|") != strings.Join(wantRow, "|") {
		t.Errorf("the reports page's CSAT table by %q: %v, want one row %v", csat.Key, csat.Rows, wantRow)
	}
}
