package ivr

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"hotline/speech"
)

const askFlow = `
start: crm
steps:
  crm:
    set: {crm.balance: "42 euros"}
    next: question
  question:
    ask:
      prompt: ask_question
      intents: [balance, hours, lost_card]
      min_confidence: 0.5
      timeout: 6s
      max_speech: 12s
      retry_prompt: ask_again
      answered: bye
      queue: agents
  bye:
    hangup: true
  agents:
    queue: general
`

// fakeIntents matches by keyword: "balance" in the text is the intent
// balance with confidence 0.9, "maybe" lowers it to 0.3.
type fakeIntents struct{ tenants []string }

func (f *fakeIntents) Intent(tenant, text string) (string, float64, bool) {
	f.tenants = append(f.tenants, tenant)
	conf := 0.9
	if strings.Contains(text, "maybe") {
		conf = 0.3
	}
	for _, in := range []string{"balance", "hours", "lost_card", "mortgage"} {
		if strings.Contains(strings.ReplaceAll(text, " ", "_"), in) {
			return in, conf, conf >= 0.4
		}
	}
	return "", 0, false
}

type fakeAnswers map[string]struct{ kind, text string }

func (f fakeAnswers) Answer(_ context.Context, _ string, intent string) (string, string, []byte, bool, error) {
	a, ok := f[intent]
	if !ok {
		return "", "", nil, false, nil
	}
	if a.kind == "audio" {
		return "audio", a.text, testWAV([]int16{1, 2, 3, 4}), true, nil
	}
	return a.kind, a.text, nil, true, nil
}

type askRows struct{ rows []AskOutcome }

func (l *askRows) AskOutcome(_ context.Context, o AskOutcome) error {
	l.rows = append(l.rows, o)
	return nil
}

// noTranscriber stands for the engine; the fake channel scripts what it
// hears, as for menus.
type noTranscriber struct{}

func (noTranscriber) Transcribe(context.Context, speech.TranscribeOptions) (speech.Transcription, error) {
	return nil, errors.New("the fake channel transcribes")
}

func testWAV(pcm []int16) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data")
	n := len(pcm) * 2
	b = append(b, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	for _, v := range pcm {
		b = append(b, byte(v), byte(uint16(v)>>8))
	}
	return b
}

func askEnv(log *askRows) Env {
	return Env{Transcriber: noTranscriber{}, Intents: &fakeIntents{}, Tenant: "acme", AskLog: log,
		Synthesizer: &fakeSynth{},
		Answers: fakeAnswers{
			"balance": {"text", "Your balance is ${crm.balance}."},
			"hours":   {"audio", "we are open nine to five"},
		}}
}

func askEvents(rec *recorder) []string { return rec.only(EventAsk) }

func TestAskAnsweredAudio(t *testing.T) {
	log := &askRows{}
	res, ch, rec := run(t, mustParse(t, askFlow), "~what_are_your_hours", askEnv(log))
	if res.Reason != EndHangup {
		t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	equal(t, "ask", askEvents(rec), []string{"ask question answer=audio confidence=0.90 intent=hours next=bye outcome=answered question=what are your hours"})
	if len(ch.pcms) != 1 || !slices.Equal(ch.pcms[0], []int16{1, 2, 3, 4}) {
		t.Errorf("played %v, want the answer's clip", ch.pcms)
	}
	equal(t, "played", ch.played, []string{"ask_question"})
	if res.Vars["ask.question"] != "what are your hours" || res.Vars["ask.intent"] != "hours" || res.Vars["ask.confidence"] != "0.90" {
		t.Errorf("vars %v", res.Vars)
	}
	want := []AskOutcome{{Step: "question", Question: "what are your hours", Intent: "hours", Confidence: 0.9, Outcome: AskAnswered, Answer: "audio"}}
	if !slices.Equal(log.rows, want) {
		t.Errorf("outcomes %+v", log.rows)
	}
}

func TestAskAnsweredTextWithVar(t *testing.T) {
	log := &askRows{}
	env := askEnv(log)
	synth := env.Synthesizer.(*fakeSynth)
	res, ch, rec := run(t, mustParse(t, askFlow), "~what_is_my_balance", env)
	if res.Reason != EndHangup {
		t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	equal(t, "said", synth.texts, []string{"Your balance is 42 euros."})
	if ch.audio != 1 || len(log.rows) != 1 || log.rows[0].Outcome != AskAnswered || log.rows[0].Answer != "text" {
		t.Errorf("audio %d, outcomes %+v", ch.audio, log.rows)
	}
	if it := env.Intents.(*fakeIntents); !slices.Equal(it.tenants, []string{"acme"}) {
		t.Errorf("intents asked for tenants %v", it.tenants)
	}
}

func TestAskToQueue(t *testing.T) {
	tests := []struct {
		name, script, outcome, reason, question string
	}{
		{"low confidence", "~maybe_my_balance", AskQueued, "low_confidence", "maybe my balance"},
		{"agent", "~i_want_an_agent_please", AskAgentAsked, "asked_for_agent", "i want an agent please"},
		{"representative", "~Representative.", AskAgentAsked, "asked_for_agent", "Representative."},
		{"key 0", "0", AskAgentAsked, "key", ""},
		{"intent not listed", "~about_my_mortgage", AskQueued, "not_allowed", "about my mortgage"},
		{"no answer", "~i_lost_card", AskQueued, "no_answer", "i lost card"},
		{"two misses", "~blah - ", AskNoMatch, "no_speech", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &askRows{}
			res, ch, rec := run(t, mustParse(t, askFlow), tt.script, askEnv(log))
			if res.Reason != EndQueue || res.Queue != "general" {
				t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
			}
			ev := askEvents(rec)
			last := ev[len(ev)-1]
			for _, kv := range []string{"outcome=" + tt.outcome, "reason=" + tt.reason, "next=agents", "question=" + tt.question + " "} {
				if !strings.Contains(last+" ", kv) {
					t.Errorf("ask event %q lacks %q", last, kv)
				}
			}
			if len(log.rows) != 1 || log.rows[0].Outcome != tt.outcome || log.rows[0].Question != tt.question {
				t.Errorf("outcomes %+v", log.rows)
			}
			if ch.audio != 0 {
				t.Errorf("%d answers played", ch.audio)
			}
		})
	}
}

// A question that matches nothing is asked again once (ask_again); the
// second try is answered, or queued when it misses too.
func TestAskRetry(t *testing.T) {
	for _, tt := range []struct {
		name, script, outcome string
		end                   EndReason
		events                []string
	}{
		{"then answer", "~blah_blah ~my_balance", AskAnswered, EndHangup, []string{
			"ask question answer= confidence=0.00 intent= outcome=retry question=blah blah reason=no_intent",
			"ask question answer=text confidence=0.90 intent=balance next=bye outcome=answered question=my balance",
		}},
		{"second miss queues", "- ~", AskNoMatch, EndQueue, []string{
			"ask question answer= confidence=0.00 intent= outcome=retry question= reason=no_speech",
			"ask question answer= confidence=0.00 intent= next=agents outcome=no_match question= reason=no_speech",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := &askRows{}
			res, ch, rec := run(t, mustParse(t, askFlow), tt.script, askEnv(log))
			if res.Reason != tt.end {
				t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
			}
			equal(t, "played", ch.played, []string{"ask_question", "ask_again"})
			equal(t, "ask", askEvents(rec), tt.events)
			if len(log.rows) != 1 || log.rows[0].Outcome != tt.outcome {
				t.Errorf("outcomes %+v", log.rows)
			}
		})
	}
}

func TestAskWithoutTranscriber(t *testing.T) {
	log := &askRows{}
	env := askEnv(log)
	env.Transcriber = nil
	res, ch, rec := run(t, mustParse(t, askFlow), "", env)
	if res.Reason != EndQueue {
		t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	equal(t, "ask", askEvents(rec), []string{"ask question answer= confidence=0.00 intent= next=agents outcome=queued question= reason=no_transcriber"})
	if len(ch.played) != 0 || len(log.rows) != 1 || log.rows[0].Outcome != AskQueued {
		t.Errorf("played %v, outcomes %+v", ch.played, log.rows)
	}
}

func TestAskHangup(t *testing.T) {
	log := &askRows{}
	res, _, rec := run(t, mustParse(t, askFlow), "!", askEnv(log))
	if res.Reason != EndCallerHangup {
		t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	if len(log.rows) != 1 || log.rows[0].Outcome != AskHangup {
		t.Errorf("outcomes %+v", log.rows)
	}
}

// The say form speaks the question with the flow's variables, and a
// masked PIN never reaches the ask event.
func TestAskSayAndSecret(t *testing.T) {
	f := mustParse(t, `
start: pin
steps:
  pin:
    gather: {prompt: enter_pin, digits: 4, into: pin, mask: true}
    next: q
  q:
    ask: {say: "Ask me anything, ${caller}", answered: bye, queue: agents}
  bye:
    hangup: true
  agents:
    queue: general
`)
	log := &askRows{}
	env := askEnv(log)
	env.Vars = map[string]string{"caller": "Ann"}
	synth := env.Synthesizer.(*fakeSynth)
	res, _, rec := run(t, f, "1234 ~is_1234_my_balance", env)
	if res.Reason != EndHangup {
		t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	if len(synth.texts) == 0 || synth.texts[0] != "Ask me anything, Ann" {
		t.Errorf("said %v", synth.texts)
	}
	for _, e := range rec.events {
		if strings.Contains(e, "1234") {
			t.Errorf("the PIN leaked into %q", e)
		}
	}
}

func TestAskDiagnostics(t *testing.T) {
	parseBad(t, `
start: a
steps:
  a:
    ask:
      prompt: p
      say: hello
      intents: [balance, balance, "bad name"]
      min_confidence: 1.5
      timeout: 6
      max_speech: 2m
      retry_prompt: [p]
      retry_say: again
      answered: nowhere
  b:
    ask: {bogus: 1, intents: balance}
    next: a
  c:
    ask: {say: "${x", queue: a, answered: a, timeout: -1s}
`, []want{
		{7, `step a: ask: prompt and say both given`},
		{8, `step a: ask: intents: "balance" listed twice`},
		{8, `step a: ask: intents: invalid intent name "bad name"`},
		{9, `step a: ask: min_confidence must be between 0 and 1, not 1.5`},
		{10, `step a: ask: timeout: invalid duration "6"`},
		{11, `step a: ask: max_speech must be at most 1m0s, not 2m0s`},
		{13, `step a: ask: retry_prompt and retry_say both given`},
		{14, `step a: ask: answered: unknown step "nowhere"`},
		{5, `step a: ask: missing queue`},
		{16, `step b: ask: unknown key "bogus"`},
		{16, `step b: ask: intents must be a list of intent names, not a`},
		{16, `step b: ask: missing prompt or say`},
		{16, `step b: ask: missing answered`},
		{16, `step b: ask: missing queue`},
		{17, `step b: next is not used by a ask step`},
		{19, `step c: ask: say: unterminated ${`},
		{19, `step c: ask: timeout must be positive`},
	})
}

// The demo's ask path: key 3, the CRM lookup fills ${crm.balance}, the
// question is answered by text, then "anything else" hands over to an
// agent with 0; a question the robot cannot answer goes to the general
// queue at once.
func TestDemoAsk(t *testing.T) {
	f := loadDemo(t, "demo-main.yaml", "demo")
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/demo/crm/customer" || r.URL.Query().Get("number") != "+33100000000" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"name": "Ann Lee", "balance": "1,204.50 USD"}`))
	}))
	t.Cleanup(crm.Close)
	for _, tt := range []struct {
		script, queue string
		said          []string
	}{
		{"3 ~what_is_my_balance 0", "general", []string{"Your balance is 1,204.50 USD."}},
		{"3 ~about_my_mortgage", "general", nil},
	} {
		log := &askRows{}
		env := askEnv(log)
		env.Answers = fakeAnswers{"balance": {"text", "Your balance is ${crm.balance}."}}
		env.Vars = map[string]string{"caller": "+33100000000", "crm": crm.URL + "/demo/crm"}
		synth := env.Synthesizer.(*fakeSynth)
		res, ch, rec := run(t, f, tt.script, env)
		if res.Reason != EndQueue || res.Queue != tt.queue {
			t.Fatalf("%s: result %+v\n%s", tt.script, res, strings.Join(rec.events, "\n"))
		}
		equal(t, tt.script+": said", synth.texts, tt.said)
		if tt.said != nil {
			equal(t, "played", ch.played, []string{"welcome", "main_menu", "ask_question", "anything_else"})
		}
	}
}
