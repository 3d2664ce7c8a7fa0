package ivr

import (
	"strconv"
	"time"

	"hotline/speech"
)

// Satisfaction surveys (docs/surveys.md). When the agent ends the
// conversation the caller is still on the line: a queue step that was
// answered asks them one to three questions before the call ends. The
// answers are timeline events (EventSurveyAnswer), which the CDR writer
// also copies into survey_answers, so an answer and the call's record of
// it can never disagree and the database is never waited on.

// SurveyKind is how a survey question is answered.
type SurveyKind string

const (
	SurveyScore SurveyKind = "score" // 1 (worst) to 5 (best): keys 1-5 or "one".."five"
	SurveyYesNo SurveyKind = "yesno" // key 1 or "yes", key 2 or "no"
)

// Survey is one of a tenant's satisfaction surveys.
type Survey struct {
	Name      string
	Intro     SurveyAudio // played first; may be empty
	Questions []SurveyQuestion
	Thanks    SurveyAudio // played last, before the call ends; may be empty
}

// SurveyAudio is something the caller hears: a tenant prompt, or text for
// the synthesizer. At most one is set.
type SurveyAudio struct {
	Prompt string
	Say    string
}

func (a SurveyAudio) empty() bool { return a.Prompt == "" && a.Say == "" }

// SurveyQuestion is one question of a survey.
type SurveyQuestion struct {
	ID   string // stored with each answer; unique in its survey
	Kind SurveyKind
	Ask  SurveyAudio
}

// Surveys is what a tenant offers after its agents hang up.
type Surveys struct {
	ByName map[string]*Survey
	// Queues names the survey every caller of a queue is asked.
	Queues map[string]string
	// Timeout is how long a question waits for an answer; 0:
	// DefaultSurveyTimeout.
	Timeout time.Duration
}

// SurveyVar is the flow variable that opts a caller into a survey: a step
// sets it to a survey's name (say, after a menu where the caller agreed)
// and that survey follows the agent's hang-up whatever the queue.
// SurveyOptOut instead keeps the queue's survey from being asked.
const (
	SurveyVar    = "survey"
	SurveyOptOut = "none"
)

const (
	// SurveyTries is how many times a question is asked before it is
	// skipped: once, then once more after an answer out of range, one not
	// understood, or none.
	SurveyTries          = 2
	DefaultSurveyTimeout = 5 * time.Second
)

// Survey timeline events; step is the queue step's name. agent is the
// agent's user id, queue the queue the caller was answered from.
const (
	EventSurvey        = "survey"         // the survey starts: survey, queue, agent, source (queue, opt_in); error for an unknown survey
	EventSurveyAnswer  = "survey_answer"  // survey, question, kind, score (1-5) or yes (true/false), method (dtmf, speech), agent, queue
	EventSurveyInvalid = "survey_invalid" // survey, question, try, reason (out_of_range, not_understood, no_input), input (the key or words)
	EventSurveySkip    = "survey_skip"    // survey, question: tries used up
	EventSurveyEnd     = "survey_end"     // survey, asked, answered; hangup=true when the caller left during it
)

// Methods an answer is given by, as stored.
const (
	SurveyByDTMF   = "dtmf"
	SurveyBySpeech = "speech"
)

var scoreWords = []string{"one", "two", "three", "four", "five"}

var (
	scoreGrammar = func() speech.Grammar {
		var g speech.Grammar
		for i, w := range scoreWords {
			g.Choices = append(g.Choices, speech.Choice{Name: strconv.Itoa(i + 1), Phrases: []string{w}})
		}
		return g
	}()
	yesNoGrammar = speech.Grammar{Choices: []speech.Choice{
		{Name: confirmYes, Phrases: []string{"yes", "yeah", "yep", "yes please"}},
		{Name: confirmNo, Phrases: []string{"no", "nope", "no thanks"}},
	}}
)

// SurveyGrammar is what a question of kind k accepts by voice: choices "1"
// to "5" for a score, "yes" and "no" for a yes/no question.
func SurveyGrammar(k SurveyKind) speech.Grammar {
	if k == SurveyYesNo {
		return yesNoGrammar
	}
	return scoreGrammar
}

// surveyRetry is what a caller hears after an answer that does not fit.
func surveyRetry(k SurveyKind) string {
	if k == SurveyYesNo {
		return "Please answer yes or no: press 1 for yes, or 2 for no."
	}
	return "Please answer with a number from one to five."
}

// surveyAnswer is one attempt's outcome: a value, or why there is none.
type surveyAnswer struct {
	score  int
	yes    bool
	method string
	reason string // "" for a valid answer
	input  string // the key pressed or words heard
}

// pick chooses the survey for a caller answered from queue: the one the
// flow opted them into, else the queue's. unknown names an opted-in survey
// the tenant lacks.
func (s *Surveys) pick(queue string, vars map[string]string) (sv *Survey, source, unknown string) {
	if v := vars[SurveyVar]; v != "" {
		if v == SurveyOptOut {
			return nil, "", ""
		}
		if sv = s.ByName[v]; sv == nil {
			return nil, "", v
		}
		return sv, "opt_in", ""
	}
	if n := s.Queues[queue]; n != "" {
		return s.ByName[n], "queue", ""
	}
	return nil, "", ""
}

// surveyAfterAgent asks the caller the survey that applies, if any, once
// the agent has hung up on them. The caller hanging up during it is a
// normal end (nil): the answers given so far are kept.
func (r *runner) surveyAfterAgent(s *Step, res QueueResult) error {
	if !res.AgentHungUp || r.env.Surveys == nil || r.ctx.Err() != nil {
		return nil
	}
	queue := res.Queue
	if queue == "" {
		queue = s.Queue.Name
	}
	sv, source, unknown := r.env.Surveys.pick(queue, r.vars)
	if unknown != "" {
		r.emit(EventSurvey, s.Name, map[string]string{"survey": unknown, "queue": queue, "agent": res.Agent, "error": "unknown survey"})
		return nil
	}
	if sv == nil || len(sv.Questions) == 0 {
		return nil
	}
	err := r.runSurvey(s.Name, sv, queue, res.Agent, source)
	if err != nil && r.hungUp(err) {
		return nil
	}
	return err
}

func (r *runner) runSurvey(step string, sv *Survey, queue, agent, source string) error {
	r.emit(EventSurvey, step, map[string]string{"survey": sv.Name, "queue": queue, "agent": agent, "source": source})
	answered, asked := 0, 0
	end := func(hangup bool) {
		d := map[string]string{"survey": sv.Name, "asked": strconv.Itoa(asked), "answered": strconv.Itoa(answered)}
		if hangup {
			d["hangup"] = "true"
		}
		r.emit(EventSurveyEnd, step, d)
	}
	// Keys pressed while talking to the agent are not answers.
	r.flush()
	if err := r.surveyAudio(step, sv.Intro, false); err != nil {
		end(r.hungUp(err))
		return err
	}
	for _, q := range sv.Questions {
		asked++
		ok, err := r.surveyQuestion(step, sv, q, queue, agent)
		if err != nil {
			end(r.hungUp(err))
			return err
		}
		if ok {
			answered++
		}
	}
	if err := r.surveyAudio(step, sv.Thanks, false); err != nil {
		end(r.hungUp(err))
		return err
	}
	end(false)
	return nil
}

// surveyQuestion asks q up to SurveyTries times; ok reports an answer was
// recorded.
func (r *runner) surveyQuestion(step string, sv *Survey, q SurveyQuestion, queue, agent string) (bool, error) {
	for try := 1; try <= SurveyTries; try++ {
		if try > 1 {
			if err := r.surveyAudio(step, SurveyAudio{Say: surveyRetry(q.Kind)}, false); err != nil {
				return false, err
			}
		}
		a, err := r.surveyAsk(step, q)
		if err != nil {
			return false, err
		}
		if a.reason == "" {
			d := map[string]string{
				"survey": sv.Name, "question": q.ID, "kind": string(q.Kind), "method": a.method,
				"agent": agent, "queue": queue,
			}
			if q.Kind == SurveyScore {
				d["score"] = strconv.Itoa(a.score)
			} else {
				d["yes"] = strconv.FormatBool(a.yes)
			}
			r.emit(EventSurveyAnswer, step, d)
			return true, nil
		}
		r.emit(EventSurveyInvalid, step, map[string]string{
			"survey": sv.Name, "question": q.ID, "try": strconv.Itoa(try), "reason": a.reason, "input": a.input,
		})
	}
	r.emit(EventSurveySkip, step, map[string]string{"survey": sv.Name, "question": q.ID})
	return false, nil
}

func (r *runner) surveyTimeout() time.Duration {
	if t := r.env.Surveys.Timeout; t > 0 {
		return t
	}
	return DefaultSurveyTimeout
}

// surveyAsk plays the question and takes one answer: by voice while the
// question plays when the tenant has a recognizer, and always by keypad.
func (r *runner) surveyAsk(step string, q SurveyQuestion) (surveyAnswer, error) {
	timeout := r.surveyTimeout()
	if r.env.Recognizer == nil || r.hasPending {
		if err := r.surveyAudio(step, q.Ask, true); err != nil {
			return surveyAnswer{}, err
		}
		return r.surveyKey(q.Kind, timeout)
	}
	var prompts []string
	var audio []int16
	switch {
	case q.Ask.Prompt != "":
		prompts = []string{q.Ask.Prompt}
	case q.Ask.Say != "":
		pcm, err := r.synthesize(step, q.Ask.Say)
		if err != nil {
			return surveyAnswer{}, err
		}
		audio = pcm
	}
	res, err := r.listen(step, prompts, audio, SurveyGrammar(q.Kind), timeout)
	switch {
	case err != nil:
		return surveyAnswer{}, err
	case res.Key:
		return r.surveyKey(q.Kind, timeout)
	case !res.Heard || res.Speech.NoSpeech:
		r.emit(EventSpeechNoInput, step, nil)
		return surveyAnswer{reason: "no_input"}, nil
	}
	ev := res.Speech
	r.emit(EventSpeech, step, speechData(res, ev.Text, ev.Choice))
	a := surveyAnswer{method: SurveyBySpeech, input: ev.Text}
	// No confirmation question: a survey answer is not worth a second
	// question, and a doubtful one is better asked again than stored.
	if ev.Choice == "" || ev.Confidence < DefaultRejectBelow {
		a.reason = "not_understood"
		return a, nil
	}
	if q.Kind == SurveyYesNo {
		a.yes = ev.Choice == confirmYes
		return a, nil
	}
	a.score, _ = strconv.Atoi(ev.Choice)
	if a.score < 1 || a.score > 5 {
		a.reason = "not_understood"
	}
	return a, nil
}

// surveyKey reads one key as an answer: 1-5 for a score, 1 (yes) or 2
// (no) for a yes/no question.
func (r *runner) surveyKey(k SurveyKind, timeout time.Duration) (surveyAnswer, error) {
	key, ok, err := r.readDigit(timeout)
	if err != nil {
		return surveyAnswer{}, err
	}
	if !ok {
		return surveyAnswer{reason: "no_input"}, nil
	}
	a := surveyAnswer{method: SurveyByDTMF, input: string(key)}
	switch {
	case k == SurveyYesNo && (key == keyYes || key == keyNo):
		a.yes = key == keyYes
	case k == SurveyScore && key >= '1' && key <= '5':
		a.score = int(key - '0')
	default:
		a.reason = "out_of_range"
		r.flush() // "99" is one wrong answer, not two
	}
	return a, nil
}

// surveyAudio plays a prompt or speaks text. Interruptible audio stops at
// the first key, which stays readable: the answer typed ahead.
func (r *runner) surveyAudio(step string, a SurveyAudio, interruptible bool) error {
	switch {
	case a.Prompt != "":
		return r.playPrompts(step, []string{a.Prompt}, interruptible)
	case a.Say != "":
		if r.env.Synthesizer == nil {
			r.emit(EventSay, step, map[string]string{"text": a.Say, "spoken": "false"})
			return nil
		}
		return r.speak(step, a.Say, interruptible, false)
	}
	return nil
}

// synthesize speaks text for Listen; a missing or failing synthesizer
// leaves the caller to answer without hearing it (the event says so).
func (r *runner) synthesize(step, text string) ([]int16, error) {
	if r.env.Synthesizer == nil {
		r.emit(EventSay, step, map[string]string{"text": text, "spoken": "false"})
		return nil, nil
	}
	pcm, err := r.env.Synthesizer.Synthesize(r.ctx, text)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, r.ctx.Err()
		}
		r.emit(EventSay, step, map[string]string{"text": text, "spoken": "false", "error": err.Error()})
		return nil, nil
	}
	r.emit(EventSay, step, map[string]string{"text": text, "spoken": "true"})
	return pcm, nil
}
