package ivr

import (
	"slices"
	"strings"
	"testing"
)

const surveyFlow = `
start: q
steps:
  q:
    queue: {name: general}
`

const optInFlow = `
start: ask
steps:
  ask:
    menu:
      prompt: want_survey
      options:
        "1": {next: yes}
        "2": {next: q}
  yes:
    set: {survey: short}
    next: q
  q:
    queue: {name: sales}
`

func testSurveys() *Surveys {
	return &Surveys{
		ByName: map[string]*Survey{
			"csat": {Name: "csat", Intro: SurveyAudio{Say: "Please stay for a short survey."}, Questions: []SurveyQuestion{
				{ID: "satisfied", Kind: SurveyScore, Ask: SurveyAudio{Prompt: "q_satisfied"}},
				{ID: "resolved", Kind: SurveyYesNo, Ask: SurveyAudio{Say: "Was your problem solved?"}},
			}, Thanks: SurveyAudio{Prompt: "thanks"}},
			"short": {Name: "short", Questions: []SurveyQuestion{{ID: "score", Kind: SurveyScore, Ask: SurveyAudio{Prompt: "q_score"}}}},
		},
		Queues: map[string]string{"general": "csat"},
	}
}

func agentHungUp() *fakeACD {
	return &fakeACD{res: QueueResult{Outcome: QueueAnswered, Queue: "general", Agent: "u-alice", AgentHungUp: true}}
}

func TestSurveyByKeys(t *testing.T) {
	synth := &fakeSynth{}
	// 9 is out of range: the question is asked again and 5 answers it;
	// 1 is yes.
	res, ch, rec := run(t, mustParse(t, surveyFlow), "9 5 1", Env{ACD: agentHungUp(), Surveys: testSurveys(), Synthesizer: synth})
	if res.Reason != EndQueue {
		t.Errorf("reason %s, want queue", res.Reason)
	}
	equal(t, "survey events", rec.only(EventSurvey, EventSurveyAnswer, EventSurveyInvalid, EventSurveySkip, EventSurveyEnd), []string{
		"survey q agent=u-alice queue=general source=queue survey=csat",
		"survey_invalid q input=9 question=satisfied reason=out_of_range survey=csat try=1",
		"survey_answer q agent=u-alice kind=score method=dtmf question=satisfied queue=general score=5 survey=csat",
		"survey_answer q agent=u-alice kind=yesno method=dtmf question=resolved queue=general survey=csat yes=true",
		"survey_end q answered=2 asked=2 survey=csat",
	})
	equal(t, "prompts", ch.played, []string{"q_satisfied", "q_satisfied", "thanks"})
	equal(t, "spoken", synth.texts, []string{
		"Please stay for a short survey.", "Please answer with a number from one to five.", "Was your problem solved?",
	})
}

func TestSurveyBySpeech(t *testing.T) {
	synth := &fakeSynth{}
	// "maybe" fits neither question: heard, not understood, asked again.
	_, ch, rec := run(t, mustParse(t, surveyFlow), "~four:0.9 ~maybe:0.9 ~no:0.7",
		Env{ACD: agentHungUp(), Surveys: testSurveys(), Synthesizer: synth, Recognizer: fakeRecognizer{}})
	equal(t, "survey events", rec.only(EventSurveyAnswer, EventSurveyInvalid, EventSurveyEnd), []string{
		"survey_answer q agent=u-alice kind=score method=speech question=satisfied queue=general score=4 survey=csat",
		"survey_invalid q input=maybe question=resolved reason=not_understood survey=csat try=1",
		"survey_answer q agent=u-alice kind=yesno method=speech question=resolved queue=general survey=csat yes=false",
		"survey_end q answered=2 asked=2 survey=csat",
	})
	if len(ch.grammars) != 3 || ch.grammars[0].Choices[3].Name != "4" || ch.grammars[1].Choices[0].Name != "yes" {
		t.Errorf("grammars: %+v, want score then yes/no (twice)", ch.grammars)
	}
	if !slices.Contains(synth.texts, "Please answer yes or no: press 1 for yes, or 2 for no.") {
		t.Errorf("no yes/no re-prompt among %q", synth.texts)
	}
}

func TestSurveyKeyWhileListening(t *testing.T) {
	// A key pressed during the spoken question answers it.
	_, _, rec := run(t, mustParse(t, surveyFlow), "3 2",
		Env{ACD: agentHungUp(), Surveys: testSurveys(), Synthesizer: &fakeSynth{}, Recognizer: fakeRecognizer{}})
	equal(t, "answers", rec.only(EventSurveyAnswer), []string{
		"survey_answer q agent=u-alice kind=score method=dtmf question=satisfied queue=general score=3 survey=csat",
		"survey_answer q agent=u-alice kind=yesno method=dtmf question=resolved queue=general survey=csat yes=false",
	})
}

func TestSurveyOutOfRangeTwiceSkips(t *testing.T) {
	// 7 then 0: two tries used, the question is skipped; silence on the
	// second question twice skips it too.
	_, _, rec := run(t, mustParse(t, surveyFlow), "7 0 - -", Env{ACD: agentHungUp(), Surveys: testSurveys(), Synthesizer: &fakeSynth{}})
	equal(t, "survey events", rec.only(EventSurveyAnswer, EventSurveyInvalid, EventSurveySkip, EventSurveyEnd), []string{
		"survey_invalid q input=7 question=satisfied reason=out_of_range survey=csat try=1",
		"survey_invalid q input=0 question=satisfied reason=out_of_range survey=csat try=2",
		"survey_skip q question=satisfied survey=csat",
		"survey_invalid q input= question=resolved reason=no_input survey=csat try=1",
		"survey_invalid q input= question=resolved reason=no_input survey=csat try=2",
		"survey_skip q question=resolved survey=csat",
		"survey_end q answered=0 asked=2 survey=csat",
	})
}

func TestSurveyCallerHangsUp(t *testing.T) {
	res, err := runErr(t, surveyFlow, "4 !", Env{ACD: agentHungUp(), Surveys: testSurveys(), Synthesizer: &fakeSynth{}})
	if err != nil || res.Reason != EndQueue {
		t.Fatalf("Run: %v, %s; want the queue's end without error", err, res.Reason)
	}
}

func TestSurveyNotAsked(t *testing.T) {
	for _, tt := range []struct {
		name string
		acd  *fakeACD
		env  func(*Env)
	}{
		{name: "the caller hung up", acd: &fakeACD{res: QueueResult{Outcome: QueueAnswered, Queue: "general", Agent: "a"}}},
		{name: "no survey for the queue", acd: &fakeACD{res: QueueResult{Outcome: QueueAnswered, Queue: "sales", Agent: "a", AgentHungUp: true}}},
		{name: "no surveys", acd: agentHungUp(), env: func(e *Env) { e.Surveys = nil }},
		{name: "opted out", acd: agentHungUp(), env: func(e *Env) { e.Vars = map[string]string{SurveyVar: SurveyOptOut} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := Env{ACD: tt.acd, Surveys: testSurveys()}
			if tt.env != nil {
				tt.env(&env)
			}
			_, ch, rec := run(t, mustParse(t, surveyFlow), "5 1", env)
			if got := rec.only(EventSurvey, EventSurveyAnswer); len(got) > 0 {
				t.Errorf("survey events: %q", got)
			}
			if len(ch.played) > 0 {
				t.Errorf("played %q", ch.played)
			}
		})
	}
}

func TestSurveyOptIn(t *testing.T) {
	acd := &fakeACD{res: QueueResult{Outcome: QueueAnswered, Queue: "sales", Agent: "u-bob", AgentHungUp: true}}
	_, _, rec := run(t, mustParse(t, optInFlow), "1 2", Env{ACD: acd, Surveys: testSurveys()})
	equal(t, "survey events", rec.only(EventSurvey, EventSurveyAnswer), []string{
		"survey q agent=u-bob queue=sales source=opt_in survey=short",
		"survey_answer q agent=u-bob kind=score method=dtmf question=score queue=sales score=2 survey=short",
	})

	// An opt-in naming a survey the tenant lacks is noted, not asked.
	env := Env{ACD: agentHungUp(), Surveys: testSurveys(), Vars: map[string]string{SurveyVar: "gone"}}
	_, _, rec = run(t, mustParse(t, surveyFlow), "5", env)
	equal(t, "unknown", rec.only(EventSurvey, EventSurveyAnswer), []string{
		"survey q agent=u-alice error=unknown survey queue=general survey=gone",
	})
}

// runErr runs src with a scripted caller and returns Run's error.
func runErr(t *testing.T, src, script string, env Env) (Result, error) {
	t.Helper()
	rec := &recorder{}
	env.Events = rec
	res, err := mustParse(t, src).Run(t.Context(), newFake(script), env)
	if err == nil && !slices.ContainsFunc(rec.events, func(e string) bool { return strings.HasPrefix(e, EventSurveyEnd+" q answered=1 asked=2 hangup=true") }) {
		t.Errorf("no survey_end with hangup=true after one answer:\n%s", strings.Join(rec.events, "\n"))
	}
	return res, err
}
