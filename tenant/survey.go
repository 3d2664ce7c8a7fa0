package tenant

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"hotline/config"
	"hotline/ivr"
)

// loadSurveys turns a tenant's configured surveys into what its flows ask
// after an agent hangs up (docs/surveys.md). Prompts the tenant lacks and
// flows opting callers into a survey the tenant lacks are errors, with the
// file and line where the flow says so.
func loadSurveys(t *Tenant, tc config.Tenant, lib Library) (*ivr.Surveys, []error) {
	var errs []error
	out := &ivr.Surveys{ByName: map[string]*ivr.Survey{}, Queues: map[string]string{}}
	audio := func(name, what string, a config.SurveyAudio) ivr.SurveyAudio {
		if a.Prompt != "" && !lib.exists(a.Prompt) {
			errs = append(errs, fmt.Errorf("tenant %s: survey %s: %s: prompt %q is not among the tenant's prompts", tc.ID, name, what, a.Prompt))
		}
		return ivr.SurveyAudio{Prompt: a.Prompt, Say: a.Say}
	}
	for _, name := range slices.Sorted(maps.Keys(tc.Surveys)) {
		c := tc.Surveys[name]
		sv := &ivr.Survey{Name: name, Intro: audio(name, "intro", c.Intro), Thanks: audio(name, "thanks", c.Thanks)}
		for _, q := range c.Questions {
			sv.Questions = append(sv.Questions, ivr.SurveyQuestion{
				ID: q.ID, Kind: ivr.SurveyKind(q.Kind),
				Ask: audio(name, "question "+q.ID, config.SurveyAudio{Prompt: q.Prompt, Say: q.Say}),
			})
		}
		out.ByName[name] = sv
	}
	for _, q := range tc.Queues {
		if q.Survey != "" {
			out.Queues[q.Name] = q.Survey
		}
	}
	errs = append(errs, checkFlowSurveys(t, out)...)
	if len(out.ByName) == 0 {
		return nil, errs
	}
	return out, errs
}

// checkFlowSurveys refuses a flow that opts callers into a survey the
// tenant does not have (a set step giving the survey variable a literal
// name): the caller would agree to a survey never asked.
func checkFlowSurveys(t *Tenant, s *ivr.Surveys) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(t.Flows)) {
		f := t.Flows[name]
		for _, sn := range slices.Sorted(maps.Keys(f.Steps)) {
			st := f.Steps[sn]
			for _, a := range st.Set {
				if a.Var != ivr.SurveyVar || a.Value == ivr.SurveyOptOut || strings.Contains(a.Value, "${") {
					continue
				}
				if _, ok := s.ByName[a.Value]; !ok {
					errs = append(errs, fmt.Errorf("%s:%d: step %s: survey %q is not among tenant %s's surveys", f.File, st.Line, st.Name, a.Value, t.ID))
				}
			}
		}
	}
	return errs
}
