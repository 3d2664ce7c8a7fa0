package assist

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"hotline/call"
)

// Who ticked a step.
const (
	ByAuto  = "auto"
	ByAgent = "agent"
)

// StepState is one checklist step on one call.
type StepState struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Done     bool      `json:"done"`
	By       string    `json:"by,omitempty"`       // auto or agent; "" while untouched
	Evidence string    `json:"evidence,omitempty"` // what ticked it, as the agent reads it
	At       time.Time `json:"at,omitzero"`
	AgentID  string    `json:"agent_id,omitempty"` // who ticked or unticked it by hand
}

// ChecklistState is a call's checklist as it stands.
type ChecklistState struct {
	Checklist string      `json:"checklist"`
	Title     string      `json:"title"`
	Intent    string      `json:"intent,omitempty"` // the caller's intent, when it chose the checklist
	Reason    string      `json:"reason"`           // why this checklist: "IVR: lost_card" or "caller said: ..."
	Steps     []StepState `json:"steps"`
}

// Done counts the steps done.
func (s *ChecklistState) Done() int {
	n := 0
	for _, st := range s.Steps {
		if st.Done {
			n++
		}
	}
	return n
}

// exchangeWindow is how long after the agent's question a caller's
// answer still counts as its answer.
const exchangeWindow = 30 * time.Second

// tracker follows one call's checklist: it picks the checklist (the IVR
// path first, else the caller's intent from the transcript) and ticks its
// steps as their conditions hold. Not safe for concurrent use: the call's
// transcript goroutine owns it.
type tracker struct {
	lists   []Checklist
	journal []call.Event
	answer  time.Time // the transcript's clock starts here
	cl      *Checklist
	state   *ChecklistState
	manual  map[string]bool // steps the agent decided by hand: conditions no longer change them
}

func newTracker(lists []Checklist, journal []call.Event, answered time.Time) *tracker {
	t := &tracker{lists: lists, journal: journal, answer: answered, manual: map[string]bool{}}
	for i := range lists {
		cl := &lists[i]
		for _, e := range journal {
			if e.Kind == "step" && slices.Contains(cl.IVR, e.Step) {
				// The IVR path names the caller's intent as well as the
				// checklist: the checklist's first.
				intent := ""
				if len(cl.Intents) > 0 {
					intent = cl.Intents[0]
				}
				t.choose(cl, intent, "IVR: "+e.Step)
				return t
			}
		}
	}
	return t
}

// choose makes cl the call's checklist and ticks what the IVR already did.
func (t *tracker) choose(cl *Checklist, intent, reason string) {
	t.cl = cl
	t.state = &ChecklistState{Checklist: cl.ID, Title: cl.Title, Intent: intent, Reason: reason}
	for _, st := range cl.Steps {
		t.state.Steps = append(t.state.Steps, StepState{ID: st.ID, Title: st.Title})
	}
	for i, st := range cl.Steps {
		for _, c := range st.When {
			if ev, ok := t.ivrHolds(c); ok {
				t.tick(i, ev, t.answer)
				break
			}
		}
	}
}

// chooseByIntent picks the checklist for the caller's intent, if none is
// chosen yet; it reports whether one was.
func (t *tracker) chooseByIntent(intent, heard string) bool {
	if t.cl != nil || intent == "" {
		return false
	}
	for i := range t.lists {
		if slices.Contains(t.lists[i].Intents, intent) {
			t.choose(&t.lists[i], intent, fmt.Sprintf("caller said: %q", clipText(heard, 80)))
			return true
		}
	}
	return false
}

func (t *tracker) tick(i int, evidence string, at time.Time) bool {
	st := &t.state.Steps[i]
	if st.Done || t.manual[st.ID] {
		return false
	}
	st.Done, st.By, st.Evidence, st.At = true, ByAuto, evidence, at
	return true
}

// ivrHolds checks a condition on what happened before the answer.
func (t *tracker) ivrHolds(c Condition) (string, bool) {
	switch c.Kind {
	case CondIVR:
		for _, e := range t.journal {
			if e.Step == c.Step {
				return fmt.Sprintf("IVR: passed %s at %s", c.Step, e.At.Format("15:04:05")), true
			}
		}
	case CondEvent:
		for _, e := range t.journal {
			if e.Kind != c.Event || (c.Step != "" && e.Step != c.Step) {
				continue
			}
			match := true
			for k, v := range c.Data {
				if e.Data[k] != v {
					match = false
					break
				}
			}
			if match {
				where := ""
				if e.Step != "" {
					where = " at " + e.Step
				}
				return fmt.Sprintf("IVR: %s%s %s", e.Kind, where, dataText(c.Data)), true
			}
		}
	case CondLookup:
		if v, ok := t.variable(c.Var); ok && (c.Equals == "" && v != "" || c.Equals != "" && v == c.Equals) {
			return fmt.Sprintf("Lookup: %s = %s", c.Var, v), true
		}
	}
	return "", false
}

// variable finds the latest value the IVR gave a variable: a lookup's
// result field (into.field), a set, or a gather (masked gathers keep
// only their mask).
func (t *tracker) variable(name string) (string, bool) {
	val, found := "", false
	for _, e := range t.journal {
		switch e.Kind {
		case "lookup":
			into := e.Data["into"]
			if v, ok := e.Data[name]; ok && into != "" && strings.HasPrefix(name, into+".") {
				val, found = v, true
			} else if f, ok := strings.CutPrefix(name, into+"."); ok && into != "" {
				if v, ok := e.Data[f]; ok {
					val, found = v, true
				}
			}
		case "set":
			if v, ok := e.Data[name]; ok {
				val, found = v, true
			}
		case "gather":
			if e.Data["var"] == name {
				val, found = e.Data["value"], true
			}
		}
	}
	return val, found
}

func dataText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k]
	}
	return strings.Join(parts, " ")
}

// line checks the transcript's newest line (lines holds it, last) against
// the spoken conditions; it reports whether a step changed.
func (t *tracker) line(lines []Line) bool {
	if t.cl == nil || len(lines) == 0 {
		return false
	}
	ln := lines[len(lines)-1]
	at := t.answer.Add(time.Duration(ln.EndMS) * time.Millisecond)
	changed := false
	for i, st := range t.cl.Steps {
		for _, c := range st.When {
			ev, ok := spokenHolds(c, lines)
			if ok {
				if t.tick(i, ev, at) {
					changed = true
				}
				break
			}
		}
	}
	return changed
}

// recheck runs every line so far (a checklist chosen late, from the
// transcript, may have steps done before it was chosen).
func (t *tracker) recheck(lines []Line) {
	for i := range lines {
		t.line(lines[:i+1])
	}
}

// spokenHolds checks a said or exchange condition on the newest line.
func spokenHolds(c Condition, lines []Line) (string, bool) {
	ln := lines[len(lines)-1]
	switch c.Kind {
	case CondSaid:
		if c.By != "" && c.By != ln.Side {
			return "", false
		}
		if _, ok := saysAny(ln.Text, c.Phrases); ok {
			return fmt.Sprintf("%s said at %s: %q", sideName(ln.Side), mmss(ln.StartMS), ln.Text), true
		}
	case CondExchange:
		if ln.Side != SideCaller || !answers(c, ln.Text) {
			return "", false
		}
		for j := len(lines) - 2; j >= 0; j-- {
			q := lines[j]
			if ln.StartMS-q.EndMS > exchangeWindow.Milliseconds() {
				break
			}
			if q.Side != SideAgent {
				continue
			}
			if _, ok := saysAny(q.Text, c.Phrases); ok {
				return fmt.Sprintf("Agent asked at %s: %q; caller answered: %q", mmss(q.StartMS), q.Text, ln.Text), true
			}
		}
	}
	return "", false
}

func sideName(side string) string {
	if side == SideAgent {
		return "Agent"
	}
	return "Caller"
}

func mmss(ms int64) string {
	s := ms / 1000
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// saysAny reports the first phrase text says. Recognition drops and
// swaps words (~40 % on phone audio), so a phrase counts when most of its
// content words are heard, in any order: all of one or two, two of
// three, three of four or five...
func saysAny(text string, phrases []string) (string, bool) {
	heard := terms(text)
	for _, p := range phrases {
		want := terms(p)
		if len(want) == 0 {
			continue
		}
		got := 0
		for _, w := range want {
			if slices.ContainsFunc(heard, func(h string) bool { return sameTerm(h, w) }) {
				got++
			}
		}
		need := len(want)
		if need >= 3 {
			need = (2*len(want) + 2) / 3
		}
		if got >= need {
			return p, true
		}
	}
	return "", false
}

// sameTerm: equal stems, or one edit apart for longer words ("blocked"
// heard as "block", "address" as "adress").
func sameTerm(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) < 5 || len(b) < 5 {
		return false
	}
	return editsAtMostOne(a, b)
}

func editsAtMostOne(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 {
		return false
	}
	i, j, edits := 0, 0, 0
	for i < len(a) && j < len(b) {
		if a[i] == b[j] {
			i++
			j++
			continue
		}
		edits++
		if edits > 1 {
			return false
		}
		if len(a) == len(b) {
			j++
		}
		i++
	}
	return edits+(len(a)-i) <= 1
}

var (
	monthWords = []string{"january", "february", "march", "april", "may", "june", "july", "august",
		"september", "october", "november", "december"}
	numberWords = []string{"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
		"nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand"}
	ordinalWords = []string{"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
		"tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
		"eighteenth", "nineteenth", "twentieth", "thirtieth"}
	yesWords = []string{"yes", "yeah", "yep", "correct", "right", "sure", "absolutely", "exactly"}
)

// answers tells whether the caller's line is the kind of answer the
// exchange waits for.
func answers(c Condition, text string) bool {
	if c.Answer == "" {
		_, ok := saysAny(text, c.AnswerPhrases)
		return ok
	}
	words := strings.Fields(strings.ToLower(text))
	count := func(set []string) int {
		n := 0
		for _, w := range words {
			w = strings.Trim(w, ".,!?")
			if slices.Contains(set, w) || isDigits(w) && slices.Equal(set, numberWords) {
				n++
			}
		}
		return n
	}
	switch c.Answer {
	case AnswerAny:
		// "yes please" is an answer, though both are stop words.
		return len(words) > 0
	case AnswerYes:
		return count(yesWords) > 0
	case AnswerNumber:
		return count(numberWords) >= 2
	case AnswerDate:
		// A month, or an ordinal with a number, or a year ("nineteen
		// eighty"), or digits with slashes.
		months, ords, nums := count(monthWords), count(ordinalWords), count(numberWords)
		if months > 0 && ords+nums > 0 || ords > 0 && nums > 0 || nums >= 2 && strings.Contains(" "+strings.Join(words, " ")+" ", " nineteen ") {
			return true
		}
		for _, w := range words {
			if strings.Count(w, "/") == 2 || strings.Count(w, "-") == 2 && isDigits(strings.ReplaceAll(w, "-", "")) {
				return true
			}
		}
		return months > 0 && len(words) <= 4
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// setManual records the agent's own tick or untick of a step; it reports
// whether the step exists.
func (t *tracker) setManual(step string, done bool, agentID string, at time.Time) bool {
	if t.state == nil {
		return false
	}
	for i := range t.state.Steps {
		st := &t.state.Steps[i]
		if st.ID != step {
			continue
		}
		t.manual[step] = true
		st.Done, st.By, st.AgentID, st.At = done, ByAgent, agentID, at
		if done {
			st.Evidence = "ticked by the agent"
		} else {
			st.Evidence = ""
		}
		return true
	}
	return false
}

// snapshot copies the state for handlers and the store.
func (t *tracker) snapshot() *ChecklistState {
	if t.state == nil {
		return nil
	}
	s := *t.state
	s.Steps = slices.Clone(t.state.Steps)
	return &s
}
