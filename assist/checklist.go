package assist

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Checklists are the steps an agent should go through for a kind of call
// ("lost card: verify identity, block the card, offer a replacement,
// confirm the address"), each ticked by a condition with its evidence.
// They live in the tenant's knowledge-base directory, in files whose top
// level is a `checklists:` mapping (docs/assist.md).

// Checklist is one intent's list of steps.
type Checklist struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Intents and IVR choose the checklist for a call: the caller's
	// intent (from the knowledge base, on what they said) is one of
	// Intents, or the call passed one of the IVR flow steps.
	Intents []string        `json:"intents,omitempty"`
	IVR     []string        `json:"ivr,omitempty"`
	Steps   []ChecklistStep `json:"steps"`

	File string `json:"-"`
	Line int    `json:"-"`
}

// ChecklistStep is one thing to do; any of its conditions ticks it.
type ChecklistStep struct {
	ID    string      `json:"id"`
	Title string      `json:"title"`
	When  []Condition `json:"-"`
	Line  int         `json:"-"`
}

// Condition kinds.
const (
	CondIVR      = "ivr"      // the call passed a flow step
	CondEvent    = "event"    // an IVR event of a kind, at a step, with data
	CondLookup   = "lookup"   // a variable the IVR set (an HTTP lookup's result) has a value
	CondSaid     = "said"     // a phrase said by the caller, the agent or either
	CondExchange = "exchange" // the agent asks (phrases), the caller answers (a kind of answer)
)

// Answer kinds an exchange's caller side may name.
const (
	AnswerDate   = "date"
	AnswerNumber = "number"
	AnswerYes    = "yes"
	AnswerAny    = "any"
)

// Condition ticks a step when it holds.
type Condition struct {
	Kind string
	// ivr and event: the flow step; event: the event kind and the data
	// it must carry.
	Step  string
	Event string
	Data  map[string]string
	// lookup: the variable and the value it must have ("" : any value).
	Var, Equals string
	// said: who (caller, agent or "" for either) and the phrases.
	By      string
	Phrases []string
	// exchange: the agent's phrases (Phrases) and the caller's answer:
	// a kind (date, number, yes, any) or phrases.
	Answer        string
	AnswerPhrases []string

	Line int
}

// ChecklistRefs are what a checklist's conditions may name, to report
// unknown ones with their lines: the IVR's event kinds, and the tenant's
// flow steps when known (nil: not checked).
type ChecklistRefs struct {
	Events []string
	Steps  map[string]bool
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// IsChecklistFile tells a checklist file among a knowledge base's files:
// its top level is a mapping with a checklists key.
func IsChecklistFile(data []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return false
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "checklists" {
			return true
		}
	}
	return false
}

// ParseChecklists reads one checklist file, returning the valid checklists
// and every problem at its line.
func ParseChecklists(path string, data []byte, refs ChecklistRefs) ([]Checklist, Errors) {
	p := &clParser{path: path, refs: refs}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlError(err)
		p.bad(line, "%s", msg)
		return nil, p.errs
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		p.bad(0, "want a mapping with a checklists list")
		return nil, p.errs
	}
	doc := root.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if k.Value != "checklists" {
			p.bad(k.Line, "unknown key %q (a checklist file has only checklists)", k.Value)
			continue
		}
		list = v
	}
	if list == nil {
		p.bad(doc.Line, "no checklists key")
		return nil, p.errs
	}
	if list.Kind != yaml.SequenceNode {
		p.bad(list.Line, "checklists must be a list, found %s", kindName(list))
		return nil, p.errs
	}
	var out []Checklist
	seen := map[string]int{}
	for _, n := range list.Content {
		cl, ok := p.checklist(n)
		if !ok {
			continue
		}
		if first, dup := seen[cl.ID]; dup {
			p.bad(n.Line, "duplicate checklist id %q (first at line %d)", cl.ID, first)
			continue
		}
		seen[cl.ID] = n.Line
		out = append(out, cl)
	}
	return out, p.errs
}

type clParser struct {
	path string
	refs ChecklistRefs
	errs Errors
}

func (p *clParser) bad(line int, format string, args ...any) {
	p.errs = append(p.errs, Error{File: p.path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// fields splits a mapping into its values by key, reporting unknown and
// repeated keys.
func (p *clParser) fields(n *yaml.Node, what string, known ...string) (map[string]*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		p.bad(n.Line, "%s must be a mapping (%s), found %s", what, strings.Join(known, ", "), kindName(n))
		return nil, false
	}
	out := map[string]*yaml.Node{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			p.bad(k.Line, "%s: unknown key %q (want %s)", what, k.Value, strings.Join(known, ", "))
			ok = false
		case out[k.Value] != nil:
			p.bad(k.Line, "%s: key %q given twice", what, k.Value)
			ok = false
		default:
			out[k.Value] = v
		}
	}
	return out, ok
}

func (p *clParser) text(v *yaml.Node, what string) (string, bool) {
	if v == nil {
		return "", true
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.bad(v.Line, "%s must be text, found %s", what, kindName(v))
		return "", false
	}
	return strings.TrimSpace(v.Value), true
}

func (p *clParser) texts(v *yaml.Node, what string) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return []string{strings.TrimSpace(v.Value)}, true
	}
	if v.Kind != yaml.SequenceNode {
		p.bad(v.Line, "%s must be a list of text, found %s", what, kindName(v))
		return nil, false
	}
	var out []string
	ok := true
	for _, it := range v.Content {
		s, good := p.text(it, what)
		if !good || s == "" {
			if good {
				p.bad(it.Line, "%s: empty entry", what)
			}
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}

func (p *clParser) checklist(n *yaml.Node) (Checklist, bool) {
	cl := Checklist{File: p.path, Line: n.Line}
	f, ok := p.fields(n, "a checklist", "id", "title", "intents", "ivr", "steps")
	if !ok {
		return cl, false
	}
	var good bool
	if cl.ID, good = p.text(f["id"], "id"); !good {
		ok = false
	}
	if cl.Title, good = p.text(f["title"], "title"); !good {
		ok = false
	}
	if cl.Intents, good = p.texts(f["intents"], "intents"); !good {
		ok = false
	}
	if cl.IVR, good = p.texts(f["ivr"], "ivr"); !good {
		ok = false
	}
	switch {
	case cl.ID == "":
		p.bad(n.Line, "a checklist needs an id")
		ok = false
	case !idRE.MatchString(cl.ID):
		p.bad(f["id"].Line, "checklist id %q: use lower-case letters, digits, '.', '_' and '-' (at most 64)", cl.ID)
		ok = false
	}
	if cl.Title == "" {
		p.bad(n.Line, "checklist %s needs a title", cl.ID)
		ok = false
	}
	if len(cl.Intents) == 0 && len(cl.IVR) == 0 {
		p.bad(n.Line, "checklist %s applies to no call: give intents (the knowledge base's) or ivr (flow steps)", cl.ID)
		ok = false
	}
	for i, s := range cl.IVR {
		if p.refs.Steps != nil && !p.refs.Steps[s] {
			p.bad(f["ivr"].Line, "checklist %s: ivr names flow step %q, which no flow of the tenant has", cl.ID, cl.IVR[i])
			ok = false
		}
	}
	steps := f["steps"]
	switch {
	case steps == nil:
		p.bad(n.Line, "checklist %s has no steps", cl.ID)
		return cl, false
	case steps.Kind != yaml.SequenceNode || len(steps.Content) == 0:
		p.bad(steps.Line, "checklist %s: steps must be a non-empty list", cl.ID)
		return cl, false
	case len(steps.Content) > 20:
		p.bad(steps.Line, "checklist %s has %d steps: keep it to 20 at most (8-12 reads best)", cl.ID, len(steps.Content))
		ok = false
	}
	seen := map[string]int{}
	for _, sn := range steps.Content {
		st, good := p.step(cl.ID, sn)
		if first, dup := seen[st.ID]; dup && st.ID != "" {
			p.bad(sn.Line, "checklist %s: duplicate step id %q (first at line %d)", cl.ID, st.ID, first)
			ok = false
			continue
		}
		seen[st.ID] = sn.Line
		if !good {
			ok = false
			continue
		}
		cl.Steps = append(cl.Steps, st)
	}
	return cl, ok
}

func (p *clParser) step(cl string, n *yaml.Node) (ChecklistStep, bool) {
	st := ChecklistStep{Line: n.Line}
	f, ok := p.fields(n, "a checklist step", "id", "title", "when")
	if !ok {
		return st, false
	}
	var good bool
	if st.ID, good = p.text(f["id"], "id"); !good {
		ok = false
	}
	if st.Title, good = p.text(f["title"], "title"); !good {
		ok = false
	}
	if !idRE.MatchString(st.ID) {
		p.bad(n.Line, "checklist %s: step id %q: use lower-case letters, digits, '.', '_' and '-'", cl, st.ID)
		ok = false
	}
	if st.Title == "" {
		p.bad(n.Line, "checklist %s: step %s needs a title (verb first: \"Verify identity\")", cl, st.ID)
		ok = false
	}
	// A step without conditions is ticked by hand only.
	if w := f["when"]; w != nil {
		if w.Kind != yaml.SequenceNode {
			p.bad(w.Line, "checklist %s: step %s: when must be a list of conditions", cl, st.ID)
			return st, false
		}
		for _, cn := range w.Content {
			c, good := p.condition(cl, st.ID, cn)
			if !good {
				ok = false
				continue
			}
			st.When = append(st.When, c)
		}
	}
	return st, ok
}

func (p *clParser) condition(cl, step string, n *yaml.Node) (Condition, bool) {
	c := Condition{Line: n.Line}
	where := fmt.Sprintf("checklist %s: step %s", cl, step)
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		p.bad(n.Line, "%s: a condition is one of ivr, event, lookup, said, exchange (e.g. - ivr: pin_verified)", where)
		return c, false
	}
	k, v := n.Content[0], n.Content[1]
	c.Kind = k.Value
	ok := true
	switch c.Kind {
	case CondIVR:
		c.Step, ok = p.text(v, "ivr")
		if ok && c.Step == "" {
			p.bad(v.Line, "%s: ivr needs a flow step name", where)
			ok = false
		}
		if ok && p.refs.Steps != nil && !p.refs.Steps[c.Step] {
			p.bad(v.Line, "%s: ivr names flow step %q, which no flow of the tenant has", where, c.Step)
			ok = false
		}
	case CondEvent:
		f, good := p.fields(v, "event", "kind", "step", "data")
		if !good {
			return c, false
		}
		c.Event, ok = p.text(f["kind"], "kind")
		if s, good := p.text(f["step"], "step"); good {
			c.Step = s
		} else {
			ok = false
		}
		if d := f["data"]; d != nil {
			c.Data = map[string]string{}
			if d.Kind != yaml.MappingNode {
				p.bad(d.Line, "%s: event data must be a mapping (choice: lost_card)", where)
				ok = false
			}
			for i := 0; d.Kind == yaml.MappingNode && i+1 < len(d.Content); i += 2 {
				c.Data[d.Content[i].Value] = d.Content[i+1].Value
			}
		}
		if c.Event == "" {
			p.bad(v.Line, "%s: event needs a kind (%s)", where, strings.Join(p.refs.Events, ", "))
			ok = false
		} else if len(p.refs.Events) > 0 && !slices.Contains(p.refs.Events, c.Event) {
			p.bad(f["kind"].Line, "%s: unknown IVR event %q (known: %s)", where, c.Event, strings.Join(p.refs.Events, ", "))
			ok = false
		}
		if c.Step != "" && p.refs.Steps != nil && !p.refs.Steps[c.Step] {
			p.bad(f["step"].Line, "%s: event names flow step %q, which no flow of the tenant has", where, c.Step)
			ok = false
		}
	case CondLookup:
		f, good := p.fields(v, "lookup", "var", "equals")
		if !good {
			return c, false
		}
		c.Var, ok = p.text(f["var"], "var")
		if eq, good := p.text(f["equals"], "equals"); good {
			c.Equals = eq
		} else {
			ok = false
		}
		if c.Var == "" {
			p.bad(v.Line, "%s: lookup needs the var a lookup set (verify.verified)", where)
			ok = false
		}
	case CondSaid:
		f, good := p.fields(v, "said", "caller", "agent", "anyone")
		if !good {
			return c, false
		}
		if len(f) != 1 {
			p.bad(v.Line, "%s: said takes one of caller, agent or anyone, with its phrases", where)
			return c, false
		}
		for by, pv := range f {
			c.By = by
			c.Phrases, ok = p.texts(pv, "said "+by)
		}
		if c.By == "anyone" {
			c.By = ""
		}
		ok = ok && p.phrasesUsable(where, v.Line, c.Phrases)
	case CondExchange:
		f, good := p.fields(v, "exchange", "agent", "caller")
		if !good {
			return c, false
		}
		if f["agent"] == nil || f["caller"] == nil {
			p.bad(v.Line, "%s: exchange needs agent (what the agent asks) and caller (date, number, yes, any, or phrases)", where)
			return c, false
		}
		c.Phrases, ok = p.texts(f["agent"], "exchange agent")
		ok = ok && p.phrasesUsable(where, v.Line, c.Phrases)
		ans, good := p.texts(f["caller"], "exchange caller")
		if !good {
			return c, false
		}
		if len(ans) == 1 && slices.Contains([]string{AnswerDate, AnswerNumber, AnswerYes, AnswerAny}, ans[0]) {
			c.Answer = ans[0]
		} else {
			c.AnswerPhrases = ans
			ok = ok && p.phrasesUsable(where, v.Line, ans)
		}
	default:
		p.bad(k.Line, "%s: unknown condition %q (want ivr, event, lookup, said or exchange)", where, c.Kind)
		return c, false
	}
	return c, ok
}

// phrasesUsable refuses phrases of stop words only ("is it"): they would
// match every line.
func (p *clParser) phrasesUsable(where string, line int, phrases []string) bool {
	if len(phrases) == 0 {
		p.bad(line, "%s: no phrases", where)
		return false
	}
	ok := true
	for _, ph := range phrases {
		if len(terms(ph)) == 0 {
			p.bad(line, "%s: phrase %q has no words that count (only words like \"the\", \"is\")", where, ph)
			ok = false
		}
	}
	return ok
}

// LoadChecklists reads the checklist files of a knowledge-base directory
// (the other files are articles). Any problem fails the load, every
// problem listed.
func LoadChecklists(dir string, refs ChecklistRefs) ([]Checklist, error) {
	paths, err := kbFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []Checklist
	var errs Errors
	seen := map[string]Checklist{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("checklists: %w", err)
		}
		if !IsChecklistFile(data) {
			continue
		}
		cls, perrs := ParseChecklists(path, data, refs)
		errs = append(errs, perrs...)
		for _, cl := range cls {
			if first, dup := seen[cl.ID]; dup {
				errs = append(errs, Error{File: path, Line: cl.Line, Msg: fmt.Sprintf("duplicate checklist id %q (first at %s:%d)", cl.ID, first.File, first.Line)})
				continue
			}
			seen[cl.ID] = cl
			out = append(out, cl)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
