package ivr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Ask lets the caller ask a question in their own words: the words are
// transcribed, matched to an intent of the tenant's knowledge base, and
// the intent's standard answer (a clip learned from an agent, or text
// spoken by the synthesizer) is played. Whatever the robot cannot answer
// goes to an agent, who sees the question (the ask event).
type Ask struct {
	Prompts []string // played before listening; or Say
	Say     string   // ${var} text spoken instead of Prompts
	// Intents are the only intents the robot answers; empty: any intent
	// with an answer.
	Intents       []string
	MinConfidence float64
	Timeout       time.Duration // no speech within it (after the prompt): a miss
	MaxSpeech     time.Duration
	RetryPrompts  []string // after the first miss; or RetrySay
	RetrySay      string
	Answered      string // after an answer was played
	Queue         string // the step that hands the caller to an agent
}

// Ask defaults.
const (
	DefaultAskTimeout       = 6 * time.Second
	DefaultAskMaxSpeech     = 12 * time.Second
	DefaultAskMinConfidence = 0.5
	MaxAskMaxSpeech         = time.Minute
)

// EventAsk is an ask step's result: question (the caller's words as
// transcribed), intent, confidence, outcome (answered, queued,
// agent_asked, no_match, retry, hangup), answer (audio, text or ""),
// next, and reason when the robot gave up (no_transcriber,
// low_confidence, not_allowed, no_answer, answer_error, no_synthesizer,
// no_speech, no_intent, key). The agent's caller context shows the
// question from it.
const EventAsk = "ask"

// Ask outcomes, as stored in ask_outcomes. AskRetry is only an event: the
// first miss, after which the caller is asked again.
const (
	AskAnswered   = "answered"
	AskQueued     = "queued"
	AskAgentAsked = "agent_asked"
	AskNoMatch    = "no_match"
	AskHangup     = "hangup"
	AskRetry      = "retry"
)

// IntentMatcher finds the intent of a caller's words in a tenant's
// knowledge base (*assist.Base): ok when the match is confident.
type IntentMatcher interface {
	Intent(tenant, text string) (intent string, confidence float64, ok bool)
}

// vocabularySource is an IntentMatcher that also lists the tenant's
// words and phrases (*assist.Base does).
type vocabularySource interface {
	Vocabulary(tenant string) []string
}

// AnswerSource gives an intent's standard answer: kind "audio" with wav
// an 8 kHz 16-bit mono WAV, or kind "text" (with ${var}s) to synthesize;
// ok false when the intent has none.
type AnswerSource interface {
	Answer(ctx context.Context, tenant, intent string) (kind, text string, wav []byte, ok bool, err error)
}

// AskOutcome is one ask step's end, for containment reports.
type AskOutcome struct {
	Step       string
	Question   string
	Intent     string
	Confidence float64
	Outcome    string // AskAnswered ... AskHangup
	Answer     string // "audio", "text" or ""
}

// AskLog records ask outcomes; the call and tenant are the log's own.
// It is called on the flow's goroutine, also after the caller hung up
// (with a context that is no longer the call's).
type AskLog interface {
	AskOutcome(ctx context.Context, o AskOutcome) error
}

// agentWords are what callers say when they want a person; any of them
// anywhere in the question sends the call to the queue at once.
var agentWords = []string{"agent", "agents", "representative", "operator", "person", "human", "somebody", "someone"}

// ask reads `ask: {prompt | say, intents, min_confidence, timeout,
// max_speech, retry_prompt | retry_say, answered, queue}`.
func (p *parser) ask(kf field, what string) *Ask {
	what += ": ask"
	a := &Ask{MinConfidence: DefaultAskMinConfidence, Timeout: DefaultAskTimeout, MaxSpeech: DefaultAskMaxSpeech}
	m, ok := p.keyed(kf.val, kf.line, what, "prompt", "say", "intents", "min_confidence", "timeout", "max_speech",
		"retry_prompt", "retry_say", "answered", "queue")
	if !ok {
		return a
	}
	a.Prompts, a.Say = p.askPrompt(m, "prompt", "say", what, true, kf.line)
	a.RetryPrompts, a.RetrySay = p.askPrompt(m, "retry_prompt", "retry_say", what, false, kf.line)
	if f, ok := m["intents"]; ok {
		a.Intents = p.intentList(f, what)
	}
	if v, ok := p.fraction(m, "min_confidence", what, DefaultAskMinConfidence); ok {
		a.MinConfidence = v
	}
	a.Timeout = p.durationOr(m, "timeout", what, DefaultAskTimeout)
	a.MaxSpeech = p.durationUpTo(m, "max_speech", what, DefaultAskMaxSpeech, MaxAskMaxSpeech)
	a.Answered = required(p, m, "answered", kf.line, what, "answered (the step after an answer was played)", p.ref)
	a.Queue = required(p, m, "queue", kf.line, what, "queue (the step that hands the caller to an agent)", p.ref)
	return a
}

// askPrompt reads a prompt name (or list) or a say text, not both.
func (p *parser) askPrompt(m map[string]field, promptKey, sayKey, what string, required bool, line int) ([]string, string) {
	pf, hasPrompt := m[promptKey]
	sf, hasSay := m[sayKey]
	switch {
	case hasPrompt && hasSay:
		p.errorf(sf.line, "%s: %s and %s both given (one says what the other plays)", what, promptKey, sayKey)
	case hasPrompt:
		return p.prompts(pf, what), ""
	case hasSay:
		text, ok := p.str(sf, what)
		if !ok {
			return nil, ""
		}
		if strings.TrimSpace(text) == "" {
			p.errorf(sf.line, "%s: %s: nothing to say", what, sayKey)
		} else if err := checkTemplate(text); err != nil {
			p.errorf(sf.line, "%s: %s: %v", what, sayKey, err)
		}
		return nil, text
	case required:
		p.missing(line, what, promptKey+" or "+sayKey)
	}
	return nil, ""
}

func (p *parser) intentList(f field, what string) []string {
	v := f.val
	if v.Kind != yaml.SequenceNode {
		p.errorf(f.line, "%s: intents must be a list of intent names, not a %s", what, nodeKind(v))
		return nil
	}
	if len(v.Content) == 0 {
		p.errorf(f.line, "%s: intents: empty list (leave it out to answer any intent)", what)
	}
	var out []string
	for _, n := range v.Content {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || !varPartRE.MatchString(n.Value) {
			p.errorf(n.Line, "%s: intents: invalid intent name %q (letters, digits and _)", what, n.Value)
			continue
		}
		if slices.Contains(out, n.Value) {
			p.errorf(n.Line, "%s: intents: %q listed twice", what, n.Value)
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

// askTurn is what one listening turn of an ask step heard.
type askTurn struct {
	question   string
	intent     string
	confidence float64
	outcome    string
	reason     string
	answer     string // audio, text
}

// ask runs an ask step: at most two turns (the second after a miss), then
// the answer or the queue step.
func (r *runner) ask(s *Step) (string, *Result, error) {
	a := s.Ask
	delete(r.vars, "ask.question")
	delete(r.vars, "ask.intent")
	delete(r.vars, "ask.confidence")
	if r.env.Transcriber == nil {
		return r.askEnd(s, askTurn{outcome: AskQueued, reason: "no_transcriber"})
	}
	prompts, say := a.Prompts, a.Say
	for attempt := 1; ; attempt++ {
		t, err := r.askTurn(s, prompts, say)
		if err != nil {
			if r.hungUp(err) {
				t.outcome = AskHangup
				r.askEnd(s, t)
			}
			return "", nil, err
		}
		if t.outcome != AskNoMatch || attempt == 2 {
			return r.askEnd(s, t)
		}
		t.outcome = AskRetry
		r.emitAsk(s, t, "")
		prompts, say = a.RetryPrompts, a.RetrySay
		if len(prompts) == 0 && say == "" {
			prompts, say = a.Prompts, a.Say
		}
	}
}

// askTurn plays the question prompt, listens for one phrase and answers
// it when it can. The outcome is answered, no_match (nothing usable
// heard) or a reason to queue.
func (r *runner) askTurn(s *Step, prompts []string, say string) (askTurn, error) {
	a := s.Ask
	var audio []int16
	if say != "" {
		text := expand(say, r.vars)
		if r.env.Synthesizer == nil {
			r.emit(EventSay, s.Name, map[string]string{"text": text, "spoken": "false"})
		} else if pcm, err := r.env.Synthesizer.Synthesize(r.ctx, text); err != nil {
			if r.ctx.Err() != nil {
				return askTurn{}, r.ctx.Err()
			}
			r.emit(EventSay, s.Name, map[string]string{"text": text, "spoken": "false", "error": err.Error()})
		} else {
			r.emit(EventSay, s.Name, map[string]string{"text": text, "spoken": "true"})
			audio = pcm
		}
	}
	r.flush()
	for _, p := range prompts {
		r.emit(EventPrompt, s.Name, map[string]string{"prompt": p})
	}
	rec := transcriberRecognizer{tr: r.env.Transcriber, label: "ask " + s.Name}
	// The knowledge base's words bias engines that can use them: callers
	// ask about the tenant's products, in the tenant's words.
	if v, ok := r.env.Intents.(vocabularySource); ok {
		rec.vocabulary = v.Vocabulary(r.askTenant())
	}
	res, err := r.ch.Listen(r.ctx, ListenRequest{
		Prompts: prompts, Audio: audio, Recognizer: rec,
		Timeout: a.Timeout, MaxSpeech: a.MaxSpeech,
	})
	if err != nil {
		return askTurn{}, fmt.Errorf("listen: %w", err)
	}
	if res.Key {
		key, ok, err := r.readDigit(0)
		if err != nil {
			return askTurn{}, fmt.Errorf("read digit: %w", err)
		}
		if ok {
			r.emit(EventDigit, s.Name, map[string]string{"key": string(key)})
		}
		r.flush()
		// 0 is the keypad's way of asking for a person.
		if ok && key == '0' {
			return askTurn{outcome: AskAgentAsked, reason: "key"}, nil
		}
		return askTurn{outcome: AskNoMatch, reason: "key"}, nil
	}
	question := strings.TrimSpace(res.Speech.Text)
	if !res.Heard || question == "" {
		return askTurn{outcome: AskNoMatch, reason: "no_speech"}, nil
	}
	t := askTurn{question: question}
	r.vars["ask.question"] = question
	if wantsAgent(question) {
		t.outcome, t.reason = AskAgentAsked, "asked_for_agent"
		return t, nil
	}
	if r.env.Intents == nil {
		t.outcome, t.reason = AskQueued, "no_intents"
		return t, nil
	}
	intent, conf, confident := r.env.Intents.Intent(r.askTenant(), question)
	t.intent, t.confidence = intent, conf
	if intent == "" {
		t.outcome, t.reason = AskNoMatch, "no_intent"
		return t, nil
	}
	r.vars["ask.intent"] = intent
	r.vars["ask.confidence"] = confidence(conf)
	switch {
	case !confident || conf < a.MinConfidence:
		t.outcome, t.reason = AskQueued, "low_confidence"
		return t, nil
	case len(a.Intents) > 0 && !slices.Contains(a.Intents, intent):
		t.outcome, t.reason = AskQueued, "not_allowed"
		return t, nil
	}
	return r.answer(s, t)
}

// answer plays the intent's answer; anything missing hands the caller to
// an agent rather than leaving them with silence.
func (r *runner) answer(s *Step, t askTurn) (askTurn, error) {
	if r.env.Answers == nil {
		t.outcome, t.reason = AskQueued, "no_answer"
		return t, nil
	}
	kind, text, wav, ok, err := r.env.Answers.Answer(r.ctx, r.askTenant(), t.intent)
	switch {
	case err != nil && r.ctx.Err() != nil:
		return t, r.ctx.Err()
	case err != nil:
		t.outcome, t.reason = AskQueued, "answer_error"
		r.emit("ask_error", s.Name, map[string]string{"intent": t.intent, "error": err.Error()})
		return t, nil
	case !ok:
		t.outcome, t.reason = AskQueued, "no_answer"
		return t, nil
	}
	var pcm []int16
	switch kind {
	case "audio":
		pcm, err = decodeWAV8k(wav)
		if err != nil {
			t.outcome, t.reason = AskQueued, "answer_error"
			r.emit("ask_error", s.Name, map[string]string{"intent": t.intent, "error": err.Error()})
			return t, nil
		}
	case "text":
		if r.env.Synthesizer == nil {
			t.outcome, t.reason = AskQueued, "no_synthesizer"
			return t, nil
		}
		spoken := expand(text, r.vars)
		pcm, err = r.env.Synthesizer.Synthesize(r.ctx, spoken)
		if err != nil {
			if r.ctx.Err() != nil {
				return t, r.ctx.Err()
			}
			t.outcome, t.reason = AskQueued, "answer_error"
			r.emit("ask_error", s.Name, map[string]string{"intent": t.intent, "error": err.Error()})
			return t, nil
		}
		r.emit(EventSay, s.Name, map[string]string{"text": spoken, "spoken": "true"})
	default:
		t.outcome, t.reason = AskQueued, "answer_error"
		r.emit("ask_error", s.Name, map[string]string{"intent": t.intent, "error": "unknown answer kind " + strconv.Quote(kind)})
		return t, nil
	}
	t.answer = kind
	if err := r.ch.PlayAudio(r.ctx, pcm, false); err != nil {
		return t, fmt.Errorf("play answer to %s: %w", t.intent, err)
	}
	r.flush()
	t.outcome = AskAnswered
	return t, nil
}

// askEnd writes the step's event and outcome and picks the next step.
func (r *runner) askEnd(s *Step, t askTurn) (string, *Result, error) {
	next := s.Ask.Queue
	if t.outcome == AskAnswered {
		next = s.Ask.Answered
	}
	if t.outcome == AskHangup {
		next = ""
	}
	r.emitAsk(s, t, next)
	if r.env.AskLog != nil {
		// The outcome is written even when the caller hung up: the report
		// counts those calls too.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*time.Second)
		defer cancel()
		out := t.outcome
		if out == AskRetry {
			out = AskNoMatch
		}
		if err := r.env.AskLog.AskOutcome(ctx, AskOutcome{Step: s.Name, Question: t.question, Intent: t.intent,
			Confidence: t.confidence, Outcome: out, Answer: t.answer}); err != nil {
			r.emit("ask_error", s.Name, map[string]string{"error": "record outcome: " + err.Error()})
		}
	}
	return next, nil, nil
}

func (r *runner) emitAsk(s *Step, t askTurn, next string) {
	d := map[string]string{"question": t.question, "intent": t.intent, "confidence": confidence(t.confidence),
		"outcome": t.outcome, "answer": t.answer}
	if t.reason != "" {
		d["reason"] = t.reason
	}
	if next != "" {
		d["next"] = next
	}
	r.emit(EventAsk, s.Name, d)
}

// askTenant is the tenant whose knowledge base and answers the step uses.
func (r *runner) askTenant() string {
	if r.env.Tenant != "" {
		return r.env.Tenant
	}
	return r.vars["tenant"]
}

func wantsAgent(text string) bool {
	for _, w := range strings.Fields(strings.ToLower(text)) {
		if slices.Contains(agentWords, strings.Trim(w, ".,!?'\"")) {
			return true
		}
	}
	return false
}

// decodeWAV8k reads the answers' WAV format: 8 kHz, 16-bit, mono PCM.
// Anything else is refused rather than played at the wrong speed.
func decodeWAV8k(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errors.New("answer audio: not a RIFF/WAVE file")
	}
	fmtOK := false
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body) // a recording cut short still plays
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, errors.New("answer audio: short fmt chunk")
			}
			tag, ch := binary.LittleEndian.Uint16(body), binary.LittleEndian.Uint16(body[2:])
			rate, bits := binary.LittleEndian.Uint32(body[4:]), binary.LittleEndian.Uint16(body[14:])
			if tag != 1 || ch != 1 || rate != 8000 || bits != 16 {
				return nil, fmt.Errorf("answer audio: want 8 kHz 16-bit mono PCM, got format %d, %d channels, %d Hz, %d bits", tag, ch, rate, bits)
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return nil, errors.New("answer audio: data before fmt")
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return pcm, nil
		}
		off += 8 + size + size&1
	}
	return nil, errors.New("answer audio: no data chunk")
}
