package config

import (
	"strings"
	"testing"
)

func TestParseSurveys(t *testing.T) {
	src := "speech: {synthesizer: espeak}" + good + strings.Join([]string{
		`    surveys:`,
		`      csat:`,
		`        intro: Please stay on the line.`,
		`        questions:`,
		`          - {id: satisfied, kind: score, prompt: q_satisfied}`,
		`          - {id: resolved, kind: yesno, say: "Was it solved?"}`,
		`        thanks: {prompt: thanks}`,
		`    queues:`,
		`      - {name: general, survey: csat}`,
	}, "\n")
	c, err := Parse("h.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sv := c.Tenants[0].Surveys["csat"]
	if sv.Intro.Say != "Please stay on the line." || sv.Thanks.Prompt != "thanks" || len(sv.Questions) != 2 ||
		sv.Questions[0].Prompt != "q_satisfied" || sv.Questions[1].Kind != SurveyYesNo || sv.Questions[1].Say != "Was it solved?" {
		t.Fatalf("survey = %+v", sv)
	}
	if q := c.Tenants[0].Queues[0]; q.Survey != "csat" {
		t.Fatalf("queue = %+v", q)
	}
}

func TestParseSurveyErrors(t *testing.T) {
	src := good + strings.Join([]string{
		`    surveys:`,          // 12
		`      empty:`,          // 13
		`        questions: []`, // 14
		`      long:`,           // 15
		`        questions:`,    // 16
		`          - {id: a, kind: score, prompt: p}`, // 17
		`          - {id: b, kind: score, prompt: p}`, // 18
		`          - {id: c, kind: score, prompt: p}`, // 19
		`          - {id: d, kind: score, prompt: p}`, // 20
		`      bad:`, // 21
		`        intro: {prompt: intro, say: hello}`,                 // 22
		`        questions:`,                                         // 23
		`          - {id: q1, kind: stars, prompt: p}`,               // 24
		`          - {id: q1, kind: yesno, prompt: "../etc/passwd"}`, // 25
		`          - {kind: score}`,                                  // 26
		`        thanks: Thank you`,                                  // 27
		`      none:`,                                                // 28
		`        questions: [{id: x, kind: score, prompt: p}]`,       // 29
		`    queues:`,                                                // 30
		`      - {name: general, survey: nope}`,                      // 31
	}, "\n")
	_, err := Parse("h.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`h.yaml:13: tenant demo: survey empty has no questions (want 1 to 3)`,
		`h.yaml:20: tenant demo: survey long has 4 questions; at most 3`,
		`h.yaml:22: tenant demo: survey bad: intro has both prompt and say; give one`,
		`h.yaml:24: tenant demo: survey bad: question q1: kind "stars": want score (1-5) or yesno`,
		`h.yaml:25: tenant demo: survey bad: question id "q1" given twice`,
		`h.yaml:25: tenant demo: survey bad: question 2: prompt "../etc/passwd" is not a prompt name`,
		`h.yaml:26: tenant demo: survey bad: question 3 needs an id`,
		`h.yaml:26: tenant demo: survey bad: question 3 needs a prompt (recorded) or say (text)`,
		`h.yaml:27: tenant demo: survey bad: thanks says text but speech.synthesizer is none`,
		`h.yaml:28: tenant demo: survey name "none"`,
		`h.yaml:31: tenant demo: queue general: survey "nope" is not among the tenant's surveys`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
