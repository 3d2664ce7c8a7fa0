package assist

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/call"
)

var testRefs = ChecklistRefs{
	Events: []string{"step", "menu", "gather", "lookup", "set"},
	Steps:  map[string]bool{"lost_card": true, "pin_verified": true, "main_menu": true},
}

func demoChecklists(t *testing.T) []Checklist {
	t.Helper()
	refs := testRefs
	refs.Steps = nil // the demo flows are checked by cmd/hotline's tests
	cls, err := LoadChecklists(demoDir, refs)
	if err != nil {
		t.Fatalf("load the demo checklists: %v", err)
	}
	return cls
}

// TestChecklistErrors: every problem is reported at its line, among them
// conditions naming events and flow steps that do not exist.
func TestChecklistErrors(t *testing.T) {
	src := `checklists:
  - id: lost-card
    title: Lost card
    ivr: [lost_card]
    steps:
      - id: verify
        title: Verify identity
        when:
          - ivr: pin_checked
          - event: {kind: pin_ok}
          - said: {agent: [the]}
          - exchange: {agent: [date of birth]}
          - smell: roses
      - id: verify
        title: Again
  - id: Bad Id
    title: x
    intents: [a]
    steps: [{id: a, title: A}]
  - id: nothing
    title: No way to apply
    steps: [{id: a, title: A}]
`
	_, errs := ParseChecklists("cl.yaml", []byte(src), testRefs)
	want := []string{
		`cl.yaml:9: checklist lost-card: step verify: ivr names flow step "pin_checked", which no flow of the tenant has`,
		`cl.yaml:10: checklist lost-card: step verify: unknown IVR event "pin_ok"`,
		`cl.yaml:11: checklist lost-card: step verify: phrase "the" has no words that count`,
		`cl.yaml:12: checklist lost-card: step verify: exchange needs agent`,
		`cl.yaml:13: checklist lost-card: step verify: unknown condition "smell"`,
		`cl.yaml:14: checklist lost-card: duplicate step id "verify"`,
		`cl.yaml:16: checklist id "Bad Id"`,
		`cl.yaml:20: checklist nothing applies to no call`,
	}
	got := errs.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(errs), len(want), got)
	}
	if _, errs := ParseChecklists("bad.yaml", []byte("checklists: [\n"), testRefs); len(errs) != 1 || errs[0].Line == 0 {
		t.Errorf("bad YAML: %v", errs)
	}
}

// TestDemoChecklistsLoad: the demo's checklists parse, and its article
// files still load without them.
func TestDemoChecklistsLoad(t *testing.T) {
	cls := demoChecklists(t)
	if len(cls) < 2 || cls[0].ID != "lost-card" || cls[0].Steps[0].ID != "verify-identity" {
		t.Fatalf("demo checklists: %+v", cls)
	}
	data, _ := os.ReadFile(demoDir + "/checklists.yaml")
	if !IsChecklistFile(data) {
		t.Error("checklists.yaml is not seen as a checklist file")
	}
	demoBase(t) // LoadDir skips it
}

// TestChecklistTicks walks a lost-card call: the IVR's PIN check ticks
// "verify identity" at once with its evidence, the agent's words tick the
// others (through misrecognised words too), an exchange needs the caller's
// answer after the agent's question, and a step the agent unticked stays
// unticked.
func TestChecklistTicks(t *testing.T) {
	answered := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	journal := []call.Event{
		{Kind: "step", Step: "main_menu", At: answered.Add(-40 * time.Second)},
		{Kind: "menu", Step: "main_menu", Data: map[string]string{"choice": "lost_card", "input": "speech"}},
		{Kind: "step", Step: "lost_card", At: answered.Add(-30 * time.Second)},
		{Kind: "step", Step: "pin_verified", At: answered.Add(-10 * time.Second)},
	}
	tr := newTracker(demoChecklists(t), journal, answered)
	s := tr.snapshot()
	if s == nil || s.Checklist != "lost-card" || s.Reason != "IVR: lost_card" {
		t.Fatalf("checklist: %+v", s)
	}
	if st := s.Steps[0]; !st.Done || st.By != ByAuto || !strings.Contains(st.Evidence, "IVR: passed pin_verified at 09:59:50") {
		t.Errorf("verify identity: %+v", st)
	}
	var lines []Line
	say := func(side, text string, startMS int64) bool {
		lines = append(lines, Line{Side: side, Text: text, StartMS: startMS, EndMS: startMS + 1500})
		return tr.line(lines)
	}
	if say(SideCaller, "i lost my credit card yesterday", 1000) {
		t.Error("the caller's words ticked something")
	}
	if !say(SideAgent, "okay i have block your card now", 4000) { // "blocked" heard as "block"
		t.Error("block the card not ticked")
	}
	if say(SideCaller, "my address is twelve main street", 8000) {
		t.Error("an answer without a question ticked the address step")
	}
	tr.setManual("offer-replacement", false, "u-1", answered)
	if say(SideAgent, "we will send you a new card", 12000) {
		t.Error("a step the agent unticked was ticked again")
	}
	say(SideAgent, "is your delivery address still the same", 15000)
	if !say(SideCaller, "yes the same one", 17000) {
		t.Error("confirm the address not ticked by the exchange")
	}
	s = tr.snapshot()
	done := map[string]StepState{}
	for _, st := range s.Steps {
		done[st.ID] = st
	}
	if st := done["block-card"]; !st.Done || !strings.Contains(st.Evidence, `Agent said at 00:04: "okay i have block your card now"`) {
		t.Errorf("block-card: %+v", st)
	}
	if st := done["offer-replacement"]; st.Done || st.By != ByAgent {
		t.Errorf("offer-replacement: %+v", st)
	}
	if st := done["confirm-address"]; !st.Done || !strings.Contains(st.Evidence, "caller answered") {
		t.Errorf("confirm-address: %+v", st)
	}
	if done["check-transactions"].Done {
		t.Error("check transactions ticked without a word about them")
	}
}

// TestChecklistFromTranscript: with no IVR path, the caller's words choose
// the checklist through the knowledge base's intents, and a date given
// after the agent asks for the date of birth verifies the identity.
func TestChecklistFromTranscript(t *testing.T) {
	tr := &scriptedTranscriber{heard: map[string]int{}, scripts: map[string][]string{
		SideCaller: {"hello i think i lost my credit card", "march third nineteen eighty"},
		SideAgent:  {"can you confirm your date of birth"},
	}}
	st := &memLines{}
	cls := demoChecklists(t)
	live := NewLive(LiveConfig{Transcriber: tr, Store: st, Knowledge: demoBase(t),
		Checklists: func(string) []Checklist { return cls }})
	ctx, hangup := context.WithCancel(context.Background())
	tap := &tapped{set: make(chan struct{})}
	h := &recordedHandler{got: make(chan struct{}, 8), cl: make(chan struct{}, 8)}
	c := live.Start(ctx, Meta{TenantID: "demo", CallID: "call-3"}, tap, h)
	if c.Checklist() != nil {
		t.Fatal("a checklist before anyone spoke")
	}
	wait(t, tap.set, "the tap")
	tap.frames(50, true, false)
	tap.frames(10, false, false)
	wait(t, h.got, "the caller's line")
	wait(t, h.cl, "the checklist")
	if s := c.Checklist(); s == nil || s.Checklist != "lost-card" || s.Intent != "lost_card" {
		t.Fatalf("checklist from the caller's words: %+v", s)
	}
	tap.frames(50, false, true)
	tap.frames(10, false, false)
	wait(t, h.got, "the agent's question")
	tap.frames(50, true, false)
	tap.frames(10, false, false)
	wait(t, h.got, "the caller's answer")
	wait(t, h.cl, "the tick")
	s := c.Checklist()
	if v := s.Steps[0]; !v.Done || !strings.Contains(v.Evidence, `"march third nineteen eighty"`) {
		t.Errorf("verify identity: %+v", v)
	}
	if err := c.Tick("check-transactions", true, "u-7"); err != nil {
		t.Fatal(err)
	}
	if err := c.Tick("no-such-step", true, "u-7"); err == nil {
		t.Error("ticking an unknown step worked")
	}
	hangup()
	live.Close()
	if len(st.summaries) != 1 {
		t.Fatalf("summaries: %+v", st.summaries)
	}
	sum := st.summaries[0]
	if sum.Intent != "lost_card" || sum.Checklist != "lost-card" || sum.StepsDone != 2 || sum.StepsTotal != 5 ||
		!strings.Contains(sum.Text, "Lost or stolen card: 2 of 5 steps done (not done: block the card") {
		t.Errorf("summary: %+v", sum)
	}
	last := st.checklists[len(st.checklists)-1]
	if !last.Steps[2].Done || last.Steps[2].By != ByAgent || last.Steps[2].AgentID != "u-7" {
		t.Errorf("stored checklist: %+v", last.Steps[2])
	}
}

func TestAnswerKinds(t *testing.T) {
	date := Condition{Answer: AnswerDate}
	for _, s := range []string{"march third nineteen eighty", "the fourth of july", "12/03/1980", "nineteen seventy two", "june"} {
		if !answers(date, s) {
			t.Errorf("%q is not a date", s)
		}
	}
	for _, s := range []string{"i don't know", "yes that's right", "my card is lost"} {
		if answers(date, s) {
			t.Errorf("%q taken for a date", s)
		}
	}
	if !answers(Condition{Answer: AnswerNumber}, "four two seven one") || answers(Condition{Answer: AnswerNumber}, "four") {
		t.Error("numbers")
	}
	if !answers(Condition{Answer: AnswerYes}, "yeah sure") || answers(Condition{Answer: AnswerYes}, "no") {
		t.Error("yes")
	}
	if !answers(Condition{Answer: AnswerAny}, "yes please") {
		t.Error(`"yes please" (stop words only) is not an answer`)
	}
	// Found by the accuracy benchmark: a demo phrase of one word that
	// counts ("where should we send") ticked the address on any "send".
	cls := demoChecklists(t)
	tr := newTracker(cls, []call.Event{{Kind: "step", Step: "lost_card"}}, time.Now())
	lines := []Line{{Side: SideAgent, Text: "we will send you a new card", EndMS: 1000}, {Side: SideCaller, Text: "that's fine", StartMS: 2000, EndMS: 2500}}
	tr.line(lines[:1])
	tr.line(lines)
	for _, st := range tr.snapshot().Steps {
		if st.ID == "confirm-address" && st.Done {
			t.Errorf("confirm the address ticked by %q", st.Evidence)
		}
	}
}
