package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Survey is a tenant's satisfaction survey, asked after an agent hangs up
// (docs/surveys.md): a queue's `survey:` asks it of every caller of the
// queue, and a flow that sets the variable survey to its name asks it of
// that caller.
type Survey struct {
	Intro     SurveyAudio      `yaml:"intro"`
	Questions []SurveyQuestion `yaml:"questions"`
	Thanks    SurveyAudio      `yaml:"thanks"`
}

// SurveyQuestion is one question: a recorded prompt or a text for the
// synthesizer, answered by a score (1-5) or yes/no.
type SurveyQuestion struct {
	ID     string `yaml:"id"`
	Kind   string `yaml:"kind"`
	Prompt string `yaml:"prompt"`
	Say    string `yaml:"say"`
}

// SurveyAudio is what the caller hears before or after the questions:
// plain text (spoken by the synthesizer) or {prompt: NAME} / {say: TEXT}.
type SurveyAudio struct {
	Prompt string `yaml:"prompt"`
	Say    string `yaml:"say"`
}

// UnmarshalYAML takes a plain string as text to say.
func (a *SurveyAudio) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		a.Say = n.Value
		return nil
	}
	type plain SurveyAudio
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*a = SurveyAudio(p)
	return nil
}

// Survey question kinds.
const (
	SurveyScore = "score"
	SurveyYesNo = "yesno"
)

// MaxSurveyQuestions bounds a survey: callers hang up on long ones.
const MaxSurveyQuestions = 3

// checkSurveys validates a tenant's surveys and its queues' survey names.
// Text to say needs a synthesizer: without one the caller would hear
// nothing before being asked to answer.
func checkSurveys(t *Tenant, synth string, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	for _, name := range slices.Sorted(maps.Keys(t.Surveys)) {
		sv := t.Surveys[name]
		where := func(keys ...string) int { return at(append([]string{"surveys", name}, keys...)...) }
		if !validQueueName(name) || name == "none" {
			bad(where(), "tenant %s: survey name %q: use letters, digits, '_' and '-' (\"none\" is reserved: it opts a caller out)", t.ID, name)
		}
		switch n := len(sv.Questions); {
		case n == 0:
			bad(where(), "tenant %s: survey %s has no questions (want 1 to %d)", t.ID, name, MaxSurveyQuestions)
		case n > MaxSurveyQuestions:
			bad(where("questions", strconv.Itoa(MaxSurveyQuestions)), "tenant %s: survey %s has %d questions; at most %d", t.ID, name, n, MaxSurveyQuestions)
		}
		checkAudio := func(a SurveyAudio, what string, keys ...string) {
			switch {
			case a.Prompt != "" && a.Say != "":
				bad(where(keys...), "tenant %s: survey %s: %s has both prompt and say; give one", t.ID, name, what)
			case a.Prompt != "" && !validQueueName(a.Prompt):
				bad(where(append(keys, "prompt")...), "tenant %s: survey %s: %s: prompt %q is not a prompt name (a WAV file of the tenant's prompts, without .wav)", t.ID, name, what, a.Prompt)
			case a.Say != "" && synth == SpeechNone:
				bad(where(keys...), "tenant %s: survey %s: %s says text but speech.synthesizer is none; set it to espeak or use a prompt", t.ID, name, what)
			}
		}
		checkAudio(sv.Intro, "intro", "intro")
		checkAudio(sv.Thanks, "thanks", "thanks")
		ids := map[string]bool{}
		for j, q := range sv.Questions {
			qat := func(key string) int { return where("questions", strconv.Itoa(j), key) }
			label := fmt.Sprintf("question %d", j+1)
			switch {
			case q.ID == "":
				bad(where("questions", strconv.Itoa(j)), "tenant %s: survey %s: %s needs an id (stored with each answer)", t.ID, name, label)
			case !validQueueName(q.ID):
				bad(qat("id"), "tenant %s: survey %s: question id %q: use letters, digits, '_' and '-'", t.ID, name, q.ID)
			case ids[q.ID]:
				bad(qat("id"), "tenant %s: survey %s: question id %q given twice", t.ID, name, q.ID)
			default:
				label = "question " + q.ID
			}
			ids[q.ID] = true
			if q.Kind != SurveyScore && q.Kind != SurveyYesNo {
				bad(qat("kind"), "tenant %s: survey %s: %s: kind %q: want score (1-5) or yesno", t.ID, name, label, q.Kind)
			}
			if q.Prompt == "" && q.Say == "" {
				bad(where("questions", strconv.Itoa(j)), "tenant %s: survey %s: %s needs a prompt (recorded) or say (text)", t.ID, name, label)
			} else {
				checkAudio(SurveyAudio{Prompt: q.Prompt, Say: q.Say}, label, "questions", strconv.Itoa(j))
			}
		}
	}
	for j, q := range t.Queues {
		if q.Survey == "" {
			continue
		}
		if _, ok := t.Surveys[q.Survey]; !ok {
			bad(at("queues", strconv.Itoa(j), "survey"), "tenant %s: queue %s: survey %q is not among the tenant's surveys", t.ID, q.Name, q.Survey)
		}
	}
}
