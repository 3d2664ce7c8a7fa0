package tenant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/config"
	"hotline/ivr"
)

func TestLoadSurveys(t *testing.T) {
	r := loadDemo(t, func(c *config.Config) {
		c.Tenants[0].Surveys = map[string]config.Survey{
			"csat": {Intro: config.SurveyAudio{Say: "A short survey."}, Questions: []config.SurveyQuestion{
				{ID: "satisfied", Kind: "score", Prompt: "n5"}, {ID: "resolved", Kind: "yesno", Say: "Solved?"},
			}, Thanks: config.SurveyAudio{Prompt: "goodbye"}},
		}
		c.Tenants[0].Queues[2].Survey = "csat"
	})
	demo, _ := r.Tenant("demo")
	s := demo.surveys
	// The demo's accounts queue asks csat too.
	if s == nil || s.Queues["general"] != "csat" || s.Queues["accounts"] != "csat" || len(s.Queues) != 2 {
		t.Fatalf("surveys = %+v", s)
	}
	sv := s.ByName["csat"]
	if sv.Name != "csat" || sv.Intro.Say != "A short survey." || sv.Thanks.Prompt != "goodbye" ||
		sv.Questions[0] != (ivr.SurveyQuestion{ID: "satisfied", Kind: ivr.SurveyScore, Ask: ivr.SurveyAudio{Prompt: "n5"}}) ||
		sv.Questions[1].Kind != ivr.SurveyYesNo || sv.Questions[1].Ask.Say != "Solved?" {
		t.Fatalf("csat = %+v", sv)
	}
	if acme, _ := r.Tenant("acme"); acme.surveys != nil {
		t.Errorf("acme has surveys %+v", acme.surveys)
	}
}

// A survey prompt the tenant lacks, and a flow opting callers into a
// survey the tenant lacks, fail the load with the flow's file and line.
func TestLoadSurveyErrors(t *testing.T) {
	dir := t.TempDir()
	flow := filepath.Join(dir, "optin.yaml")
	src := "start: agree\nsteps:\n  agree:\n    set: {survey: csat}\n    next: maybe\n  maybe:\n    set: {survey: nope}\n    next: q\n  q:\n    queue: {name: general}\n"
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tenants[0].Flows["optin"] = flow
	cfg.Tenants[0].Surveys = map[string]config.Survey{
		"csat": {Questions: []config.SurveyQuestion{{ID: "q", Kind: "score", Prompt: "no_such_prompt"}}},
	}
	_, err = Load(cfg, Options{})
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{
		`tenant demo: survey csat: question q: prompt "no_such_prompt" is not among the tenant's prompts`,
		flow + `:6: step maybe: survey "nope" is not among tenant demo's surveys`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "step agree") {
		t.Errorf("the known survey was refused: %v", err)
	}
}
