package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"hotline/speech"
)

// Speech at menus and gathers. The recognizer's rejection of out-of-grammar
// speech is weak (docs/flows.md), so the flow never trusts a middling
// answer: between RejectBelow and ConfirmBelow it asks "Did you say ...?",
// the keypad works at every prompt, and failed attempts get more help.

// answerKind is how a menu attempt ended.
type answerKind uint8

const (
	answerNone    answerKind = iota // no input within the timeout
	answerKey                       // a key: answer.key
	answerSpeech                    // an accepted spoken choice: answer.choice
	answerNoMatch                   // speech that was not understood or not confirmed
)

type answer struct {
	kind   answerKind
	key    rune
	choice string
}

// Confirmation answers: the choices of the yes/no grammar, and the keys
// that say the same for callers who would rather press.
const (
	confirmYes = "yes"
	confirmNo  = "no"
	keyYes     = '1'
	keyNo      = '2'
)

var confirmGrammar = speech.Grammar{Choices: []speech.Choice{
	{Name: confirmYes, Phrases: []string{"yes", "yeah", "yep", "correct", "that's right", "right", "yes please"}},
	{Name: confirmNo, Phrases: []string{"no", "nope", "wrong", "no it isn't", "that's wrong"}},
}}

// MenuGrammar returns what the named step accepts by voice: a menu's
// options that have phrases (choice names are the option names), or a
// gather's digits. It errors for other steps and for menus without
// phrases.
func (f *Flow) MenuGrammar(step string) (speech.Grammar, error) {
	s := f.Steps[step]
	if s == nil {
		return speech.Grammar{}, fmt.Errorf("flow %s: no step %q", f.File, step)
	}
	switch {
	case s.Menu != nil:
		g := menuGrammar(s.Menu)
		if len(g.Choices) == 0 {
			return g, fmt.Errorf("flow %s: step %s: the menu has no say: phrases", f.File, step)
		}
		return g, nil
	case s.Gather != nil:
		return gatherGrammar(s.Gather), nil
	}
	return speech.Grammar{}, fmt.Errorf("flow %s: step %s is a %s step, not a menu or gather", f.File, step, s.Kind)
}

func menuGrammar(m *Menu) speech.Grammar {
	var g speech.Grammar
	for _, name := range m.Order {
		if ps := m.Phrases[name]; len(ps) > 0 {
			g.Choices = append(g.Choices, speech.Choice{Name: name, Phrases: ps})
		}
	}
	return g
}

func gatherGrammar(g *Gather) speech.Grammar {
	return speech.Grammar{Digits: true, MinDigits: g.MinDigits, MaxDigits: g.MaxDigits}
}

// listens reports whether a step recognizes speech on this call.
func (r *runner) listens(so SpeechOptions, g speech.Grammar) bool {
	return r.env.Recognizer != nil && !so.Off && (len(g.Choices) > 0 || g.Digits)
}

// listen plays prompts (and audio) while listening. The prompt events are
// written first: they are the prompts the caller starts hearing.
func (r *runner) listen(step string, prompts []string, audio []int16, g speech.Grammar, timeout time.Duration) (ListenResult, error) {
	for _, p := range prompts {
		r.emit(EventPrompt, step, map[string]string{"prompt": p})
	}
	res, err := r.ch.Listen(r.ctx, ListenRequest{
		Prompts: prompts, Audio: audio, Recognizer: r.env.Recognizer, Grammar: g, Timeout: timeout,
	})
	if err != nil {
		return res, fmt.Errorf("listen: %w", err)
	}
	return res, nil
}

// accept applies the step's confidence thresholds to a recognized answer
// (value is how the timeline shows it, said how a confirmation question
// says it; "" forbids asking). It writes the nomatch and confirm events.
func (r *runner) accept(step string, so SpeechOptions, ev speech.Event, text, value, said string, timeout time.Duration) (bool, error) {
	switch {
	case ev.Confidence < so.RejectBelow:
		r.noMatch(step, ev, text, "low_confidence")
		return false, nil
	case ev.Confidence >= so.ConfirmBelow:
		return true, nil
	case said == "" || r.env.Synthesizer == nil:
		// Nobody can ask; a wrong branch costs the caller more than
		// another try or the keypad.
		r.noMatch(step, ev, text, "low_confidence")
		return false, nil
	}
	yes, err := r.confirm(step, value, said, so.RejectBelow, timeout)
	if err != nil || yes {
		return yes, err
	}
	r.noMatch(step, ev, text, "not_confirmed")
	return false, nil
}

// confirm asks "Did you say X?" and listens for yes or no (or keys 1 and
// 2). Silence, anything else and a failing synthesizer count as no.
func (r *runner) confirm(step, value, said string, rejectBelow float64, timeout time.Duration) (bool, error) {
	question, err := r.env.Synthesizer.Synthesize(r.ctx, "Did you say "+said+"? Say yes or no, or press 1 for yes, 2 for no.")
	if err != nil {
		if r.ctx.Err() != nil {
			return false, r.ctx.Err()
		}
		r.emit(EventSpeechConfirm, step, map[string]string{"choice": value, "answer": confirmNo, "error": err.Error()})
		return false, nil
	}
	r.emit(EventSpeechConfirm, step, map[string]string{"choice": value, "answer": "asked"})
	r.flush()
	res, err := r.listen(step, nil, question, confirmGrammar, timeout)
	if err != nil {
		return false, err
	}
	yes := false
	switch {
	case res.Key:
		key, ok, err := r.readDigit(0)
		if err != nil {
			return false, fmt.Errorf("read digit: %w", err)
		}
		if ok {
			r.emit(EventDigit, step, map[string]string{"key": string(key)})
		}
		yes = ok && key == keyYes
	case res.Heard && !res.Speech.NoSpeech:
		ev := res.Speech
		r.emit(EventSpeech, step, speechData(res, ev.Text, ev.Choice))
		// A yes is taken at the step's rejection threshold, not its
		// confirmation one: it answers a two-way question, where
		// confusions are rarer, and asking again would loop.
		yes = ev.Choice == confirmYes && ev.Confidence >= rejectBelow
	}
	r.flush()
	answer := confirmNo
	if yes {
		answer = confirmYes
	}
	r.emit(EventSpeechConfirm, step, map[string]string{"choice": value, "answer": answer})
	return yes, nil
}

func (r *runner) noMatch(step string, ev speech.Event, text, reason string) {
	r.emit(EventSpeechNoMatch, step, map[string]string{
		"text": text, "confidence": confidence(ev.Confidence), "reason": reason,
	})
}

// speechData is a speech event's data. Dropped audio is noted because it
// explains a wrong answer: the recognizer heard holes.
func speechData(res ListenResult, text, choice string) map[string]string {
	d := map[string]string{
		"text": text, "confidence": confidence(res.Speech.Confidence), "choice": choice,
		"barge_in": strconv.FormatBool(res.BargeIn),
	}
	if res.Dropped > 0 {
		d["dropped_frames"] = strconv.FormatUint(res.Dropped, 10)
	}
	return d
}

func confidence(c float64) string { return strconv.FormatFloat(c, 'f', 2, 64) }

// spaced reads digits one by one ("4 2 7") for a confirmation question.
func spaced(digits string) string {
	return strings.Join(strings.Split(digits, ""), " ")
}

// help speaks the step's help after failed attempt n: the flow's Help[n-1]
// (the last repeating), else a text made from the options from the second
// failure on, so a caller who did not understand the first time hears what
// to say. Without a synthesizer there is nothing to do.
func (r *runner) help(step string, so SpeechOptions, n int, generated string) error {
	if r.env.Synthesizer == nil {
		return nil
	}
	var text string
	switch {
	case len(so.Help) > 0:
		text = expand(so.Help[min(n, len(so.Help))-1], r.vars)
	case n >= 2:
		text = generated
	}
	if text == "" {
		return nil
	}
	return r.speak(step, text, false, true)
}

// menuHelp names each spoken option with its first phrase and its key.
func menuHelp(m *Menu) string {
	var parts []string
	for _, name := range m.Order {
		ps := m.Phrases[name]
		if len(ps) == 0 {
			continue
		}
		if isKey(name) {
			parts = append(parts, fmt.Sprintf("say %s, or press %s", ps[0], keyWord(name)))
		} else {
			parts = append(parts, "say "+ps[0])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "You can " + strings.Join(parts, ". Or ") + "."
}

func keyWord(k string) string {
	switch k {
	case "*":
		return "star"
	case "#":
		return "pound"
	}
	return k
}

func gatherHelp(g *Gather) string {
	n := strconv.Itoa(g.MaxDigits)
	if g.MinDigits != g.MaxDigits {
		n = "up to " + n
	}
	return "Please say the " + n + " digits one by one, or type them on your keypad."
}

// say runs a say step. A missing or failing synthesizer skips the text
// (with an event) rather than ending the call: the flow goes on.
func (r *runner) say(s *Step) error {
	text := expand(s.Say.Text, r.vars)
	if r.env.Synthesizer == nil {
		r.emit(EventSay, s.Name, map[string]string{"text": text, "spoken": "false"})
		return nil
	}
	return r.speak(s.Name, text, s.Say.Interruptible, false)
}

// speak synthesizes text and plays it. quiet leaves help texts out of the
// timeline: the step's failure events already imply them.
func (r *runner) speak(step, text string, interruptible, quiet bool) error {
	if interruptible {
		waiting, err := r.keyWaiting()
		if err != nil || waiting {
			return err
		}
	}
	pcm, err := r.env.Synthesizer.Synthesize(r.ctx, text)
	if err != nil {
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		if !quiet {
			r.emit(EventSay, step, map[string]string{"text": text, "spoken": "false", "error": err.Error()})
		}
		return nil
	}
	if !quiet {
		r.emit(EventSay, step, map[string]string{"text": text, "spoken": "true"})
	}
	if err := r.ch.PlayAudio(r.ctx, pcm, interruptible); err != nil {
		return fmt.Errorf("play synthesized speech: %w", err)
	}
	if !interruptible {
		r.flush()
	}
	return nil
}

// keyWaiting polls for a key typed ahead, keeping it for the next reader.
func (r *runner) keyWaiting() (bool, error) {
	if r.hasPending {
		return true, nil
	}
	key, ok, err := r.ch.ReadDigit(r.ctx, 0)
	if err != nil {
		return false, fmt.Errorf("read digit: %w", err)
	}
	r.pending, r.hasPending = key, ok
	return ok, nil
}
