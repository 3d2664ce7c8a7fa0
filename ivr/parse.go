package ivr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	stepNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	// Dotted names hold a lookup's result fields (verify.name); the parts
	// after the first come from JSON keys, so they may start with a digit.
	varNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
	varPartRE    = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	promptNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

const maxGatherDigits = 64

// ParseFlow parses and validates one flow file. name is used in diagnostics
// (usually the path). It returns every problem found, sorted by line; the
// Flow is nil when any of them is an error rather than a warning.
func ParseFlow(name string, data []byte, opts CheckOptions) (*Flow, []Diagnostic) {
	p := &parser{file: name, opts: opts}
	var f *Flow
	if root := p.decode(data); root != nil {
		f = p.flow(root)
	}
	sort.SliceStable(p.diags, func(i, j int) bool {
		a, b := p.diags[i], p.diags[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return !a.Warning && b.Warning
	})
	for _, d := range p.diags {
		if !d.Warning {
			return nil, p.diags
		}
	}
	if f != nil {
		f.Warnings = p.diags
	}
	return f, p.diags
}

type parser struct {
	file  string
	opts  CheckOptions
	diags []Diagnostic
	refs  []stepRef
}

// stepRef is a use of a step name, checked once all steps are known.
type stepRef struct {
	what, name string
	line       int
}

// field is one mapping entry. line is where the key is written, which is
// where a reader looks for a problem with the entry.
type field struct {
	key  string
	line int
	val  *yaml.Node
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(line int, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...), Warning: true})
}

func (p *parser) decode(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || (err == nil && len(doc.Content) == 0) {
		p.errorf(1, "empty flow file")
		return nil
	}
	if err != nil {
		p.yamlError(err, data)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.errorf(extra.Line, "a flow file holds one YAML document; remove the extra ---")
	case !errors.Is(err, io.EOF):
		p.yamlError(err, data)
	}
	return doc.Content[0]
}

// yamlError turns a yaml.v3 syntax error into a diagnostic. yaml.v3's own
// line numbers are unreliable: it often reports the line before the
// enclosing block (0-based context mark) or none at all. The line reported
// is instead the end of the shortest prefix of the file that already fails
// with the same message, which is where the problem is.
func (p *parser) yamlError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	yamlLine := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		yamlLine, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	line := errorLine(data, msg)
	if line == 0 {
		line = yamlLine
	}
	p.errorf(line, "YAML syntax: %s", msg)
}

func errorLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	for k := 1; k <= len(lines); k++ {
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:k], nil)))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == nil {
				continue
			}
			got := strings.TrimPrefix(err.Error(), "yaml: ")
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				got = m[2]
			}
			if got == msg {
				return k
			}
			break
		}
	}
	return 0
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty value"
		}
		return "single value"
	}
	return "document"
}

// fields lists a mapping's entries in file order, reporting duplicate keys
// (which yaml.v3 keeps silently when decoding into a Node).
func (p *parser) fields(n *yaml.Node, line int, what string) ([]field, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(line, "%s must be a mapping, not a %s", what, nodeKind(n))
		return nil, false
	}
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyLine := n.Content[i].Line
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(keyLine, "%s: keys must be plain words, not a %s", what, nodeKind(k))
			continue
		case k.Tag == "!!merge":
			p.errorf(keyLine, "%s: merge keys (<<) are not supported", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(keyLine, "%s: duplicate key %q (first on line %d)", what, k.Value, first)
			continue
		}
		seen[k.Value] = keyLine
		out = append(out, field{key: k.Value, line: keyLine, val: v})
	}
	return out, true
}

// keyed is fields for mappings with a fixed set of keys.
func (p *parser) keyed(n *yaml.Node, line int, what string, allowed ...string) (map[string]field, bool) {
	fs, ok := p.fields(n, line, what)
	m := map[string]field{}
	for _, f := range fs {
		if !slices.Contains(allowed, f.key) {
			p.errorf(f.line, "%s: unknown key %q%s", what, f.key, hint(f.key, allowed))
			continue
		}
		m[f.key] = f
	}
	return m, ok
}

// hint suggests the closest allowed word, or lists them all.
func hint(got string, allowed []string) string {
	if s := closest(got, allowed); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(allowed) > 12 {
		return ""
	}
	return " (want " + strings.Join(allowed, ", ") + ")"
}

func closest(got string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(got), strings.ToLower(c)); d < bestDist && d < len(c) {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str reads a single value; empty values are reported as missing.
func (p *parser) str(f field, what string) (string, bool) {
	v := f.val
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		if v.Kind == yaml.ScalarNode {
			p.errorf(f.line, "%s: %s needs a value", what, f.key)
		} else {
			p.errorf(f.line, "%s: %s must be a single value, not a %s", what, f.key, nodeKind(v))
		}
		return "", false
	}
	return v.Value, true
}

func (p *parser) integer(f field, what string, lo, hi int) (int, bool) {
	s, ok := p.str(f, what)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || f.val.Tag != "!!int" {
		p.errorf(f.line, "%s: %s must be a whole number, not %q", what, f.key, s)
		return 0, false
	}
	if n < lo || n > hi {
		p.errorf(f.line, "%s: %s must be between %d and %d, not %d", what, f.key, lo, hi, n)
		return 0, false
	}
	return n, true
}

func (p *parser) boolean(f field, what string) bool {
	s, ok := p.str(f, what)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil || f.val.Tag != "!!bool" {
		p.errorf(f.line, "%s: %s must be true or false, not %q", what, f.key, s)
	}
	return b
}

// duration demands a unit: a bare "5" could mean seconds or milliseconds
// depending on who wrote it.
func (p *parser) duration(f field, what string) time.Duration {
	s, ok := p.str(f, what)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(f.line, "%s: %s: invalid duration %q (use a unit, e.g. 5s, 500ms, 2m)", what, f.key, s)
		return 0
	}
	if d <= 0 {
		p.errorf(f.line, "%s: %s must be positive, not %q", what, f.key, s)
		return 0
	}
	return d
}

// durationOr reads an optional duration.
func (p *parser) durationOr(m map[string]field, key, what string, def time.Duration) time.Duration {
	f, ok := m[key]
	if !ok {
		return def
	}
	return p.duration(f, what)
}

// durationUpTo is durationOr for a duration with a ceiling: a value
// beyond ceiling is an error, reported, and def is kept.
func (p *parser) durationUpTo(m map[string]field, key, what string, def, ceiling time.Duration) time.Duration {
	f, ok := m[key]
	if !ok {
		return def
	}
	d := p.duration(f, what)
	if d > ceiling {
		p.errorf(f.line, "%s: %s must be at most %s, not %s", what, key, ceiling, d)
		return def
	}
	if d > 0 {
		return d
	}
	return def
}

// prompts reads "name", or a list of names.
func (p *parser) prompts(f field, what string) []string {
	var nodes []*yaml.Node
	switch v := f.val; v.Kind {
	case yaml.ScalarNode:
		if _, ok := p.str(f, what); !ok {
			return nil
		}
		nodes = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			p.errorf(f.line, "%s: %s: empty prompt list", what, f.key)
			return nil
		}
		nodes = v.Content
	default:
		p.errorf(f.line, "%s: %s must be a prompt name or a list of them, not a %s", what, f.key, nodeKind(v))
		return nil
	}
	var out []string
	for _, n := range nodes {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			p.errorf(n.Line, "%s: %s: prompt must be a name, not a %s", what, f.key, nodeKind(n))
			continue
		}
		name := n.Value
		switch {
		case !promptNameRE.MatchString(name):
			p.errorf(n.Line, "%s: invalid prompt name %q (letters, digits, _ . - and / between parts)", what, name)
		case p.opts.PromptExists != nil && !p.opts.PromptExists(name):
			p.errorf(n.Line, "%s: prompt %q does not exist", what, name)
		}
		out = append(out, name)
	}
	return out
}

// ref reads a step name whose existence is checked at the end.
func (p *parser) ref(f field, what string) string {
	name, ok := p.str(f, what)
	if !ok {
		return ""
	}
	p.refs = append(p.refs, stepRef{what: what + ": " + f.key, name: name, line: f.line})
	return name
}

func (p *parser) varName(f field, what string) string {
	name, ok := p.str(f, what)
	if ok && !varNameRE.MatchString(name) {
		p.errorf(f.line, "%s: %s: invalid variable name %q (letters, digits and _, not starting with a digit; dots between parts)", what, f.key, name)
	}
	return name
}

func (p *parser) missing(line int, what, key string) {
	p.errorf(line, "%s: missing %s", what, key)
}

// required reads key with read, for a key the step cannot do without:
// absent, it is reported missing as desc (the key, or the key with what
// it is for) and the zero T stands in. A function, not a method: methods
// cannot have type parameters.
func required[T any](p *parser, m map[string]field, key string, line int, what, desc string, read func(field, string) T) T {
	f, ok := m[key]
	if !ok {
		p.missing(line, what, desc)
		var zero T
		return zero
	}
	return read(f, what)
}

func (p *parser) flow(root *yaml.Node) *Flow {
	f := &Flow{File: p.file, Steps: map[string]*Step{}}
	m, ok := p.keyed(root, root.Line, "flow", "tenant", "description", "start", "steps")
	if !ok {
		return nil
	}
	if v, ok := m["tenant"]; ok {
		f.Tenant, _ = p.str(v, "flow")
	}
	if v, ok := m["description"]; ok {
		f.Description, _ = p.str(v, "flow")
	}
	steps, ok := m["steps"]
	if !ok {
		p.missing(root.Line, "flow", "steps")
	} else if fs, ok := p.fields(steps.val, steps.line, "steps"); ok {
		if len(fs) == 0 {
			p.errorf(steps.line, "steps: no steps")
		}
		for _, sf := range fs {
			p.step(f, sf)
		}
	}
	if v, ok := m["start"]; ok {
		f.Start = p.ref(v, "flow")
	} else {
		p.missing(root.Line, "flow", "start")
	}
	p.checkRefs(f)
	p.checkReachable(f)
	p.checkLoops(f)
	return f
}

func (p *parser) step(f *Flow, sf field) {
	name := sf.key
	what := "step " + name
	s := &Step{Name: name, Line: sf.line}
	f.Steps[name] = s
	if !stepNameRE.MatchString(name) {
		p.errorf(sf.line, "invalid step name %q (letters, digits, _ . -)", name)
	}
	fs, ok := p.fields(sf.val, sf.line, what)
	if !ok {
		return
	}
	var kindFields, unknown []field
	var next, failure *field
	for i := range fs {
		switch k := fs[i].key; {
		case slices.Contains(kinds, Kind(k)):
			kindFields = append(kindFields, fs[i])
		case k == "next":
			next = &fs[i]
		case k == "failure":
			failure = &fs[i]
		default:
			unknown = append(unknown, fs[i])
		}
	}
	kindList := kindNames()
	if len(kindFields) == 0 {
		for _, u := range unknown {
			p.errorf(u.line, "%s: unknown step kind %q%s", what, u.key, hint(u.key, kindList))
		}
		if len(unknown) == 0 {
			p.errorf(sf.line, "%s: no step kind (want one of %s)", what, strings.Join(kindList, ", "))
		}
		return
	}
	for _, u := range unknown {
		p.errorf(u.line, "%s: unknown key %q%s", what, u.key, hint(u.key, append([]string{"next", "failure"}, kindList...)))
	}
	for _, extra := range kindFields[1:] {
		p.errorf(extra.line, "%s: more than one step kind: %s and %s", what, kindFields[0].key, extra.key)
	}
	s.Kind = Kind(kindFields[0].key)
	for _, kf := range kindFields {
		p.stepKind(s, kf, what)
	}

	switch s.Kind {
	case KindPlay, KindGather, KindSet, KindSay:
		if next == nil {
			p.errorf(sf.line, "%s: missing next (a %s step needs to know where to go)", what, s.Kind)
		} else {
			s.Next = p.ref(*next, what)
		}
	case KindLookup:
		// next may sit beside lookup or inside it, not both.
		switch {
		case next != nil && s.Lookup != nil && s.Lookup.hasNext:
			p.errorf(next.line, "%s: next given twice (here and inside lookup)", what)
		case next != nil:
			s.Next = p.ref(*next, what)
		case s.Lookup != nil && !s.Lookup.hasNext:
			p.errorf(sf.line, "%s: missing next (a lookup step needs to know where to go)", what)
		}
	case KindStasis:
		// next may sit beside stasis, like other steps' next, or inside it
		// (stasis.go); it is optional: without it the call hangs up once
		// the application lets it go, as at the end of a dialplan.
		if next != nil {
			if s.Stasis != nil && s.Stasis.hasNext {
				p.errorf(next.line, "%s: next given twice (here and inside stasis)", what)
			} else {
				s.Next = p.ref(*next, what)
			}
		}
	default:
		if next != nil {
			p.errorf(next.line, "%s: next is not used by a %s step%s", what, s.Kind, nextHint[s.Kind])
		}
	}
	if failure != nil {
		target := p.ref(*failure, what)
		var dst *string
		switch {
		case s.Menu != nil:
			dst = &s.Menu.Failure
		case s.Gather != nil:
			dst = &s.Gather.Failure
		case s.Lookup != nil:
			dst = &s.Lookup.Failure
		}
		switch {
		case dst == nil && s.Kind == KindStasis:
			p.errorf(failure.line, "%s: failure is only used by menu, gather and lookup steps (a stasis step's failover is stasis: {failed: STEP})", what)
		case dst == nil:
			p.errorf(failure.line, "%s: failure is only used by menu, gather and lookup steps", what)
		case *dst != "":
			p.errorf(failure.line, "%s: failure given twice (here and inside %s)", what, s.Kind)
		default:
			*dst = target
		}
	}
}

var nextHint = map[Kind]string{
	KindMenu:   " (use options and failure)",
	KindBranch: " (use cases and default)",
	KindHours:  " (use open_step and closed_step)",
	KindGoto:   " (goto already names the next step)",
	KindHangup: " (the call ends here)",
	KindQueue:  " (use timeout and timeout_step)",
	KindAsk:    " (use answered and queue inside ask)",
}

func kindNames() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

func (p *parser) stepKind(s *Step, kf field, what string) {
	switch Kind(kf.key) {
	case KindPlay:
		s.Play = p.play(kf, what)
	case KindMenu:
		s.Menu = p.menu(kf, what)
	case KindGather:
		s.Gather = p.gather(kf, what)
	case KindSet:
		s.Set = p.set(kf, what)
	case KindBranch:
		s.Branch = p.branch(kf, what)
	case KindHours:
		s.Hours = p.hours(kf, what)
	case KindGoto:
		s.Goto = p.ref(kf, what)
	case KindHangup:
		s.Hangup = p.hangup(kf, what)
	case KindQueue:
		s.Queue = p.queue(kf, what)
	case KindSay:
		s.Say = p.say(kf, what)
	case KindStasis:
		s.Stasis = p.stasis(s, kf, what)
	case KindLookup:
		s.Lookup = p.lookup(s, kf, what)
	case KindAsk:
		s.Ask = p.ask(kf, what)
	}
}

func (p *parser) play(kf field, what string) *Play {
	pl := &Play{}
	if kf.val.Kind != yaml.MappingNode {
		pl.Prompts = p.prompts(kf, what)
		return pl
	}
	what += ": play"
	m, _ := p.keyed(kf.val, kf.line, what, "prompt", "interruptible")
	pl.Prompts = required(p, m, "prompt", kf.line, what, "prompt", p.prompts)
	if f, ok := m["interruptible"]; ok {
		pl.Interruptible = p.boolean(f, what)
	}
	return pl
}

func (p *parser) menu(kf field, what string) *Menu {
	what += ": menu"
	mn := &Menu{Options: map[string]string{}, Phrases: map[string][]string{}}
	m, ok := p.keyed(kf.val, kf.line, what, "prompt", "options", "timeout", "retries", "invalid", "no_input", "failure", "speech")
	if !ok {
		return mn
	}
	mn.Prompts = required(p, m, "prompt", kf.line, what, "prompt", p.prompts)
	if f, ok := m["options"]; ok {
		if fs, ok := p.fields(f.val, f.line, what+": options"); ok {
			if len(fs) == 0 {
				p.errorf(f.line, "%s: options: no options", what)
			}
			// phraseAt remembers where each phrase was first given, so a
			// phrase that two options share names both places.
			phraseAt := map[string]phraseUse{}
			for _, o := range fs {
				p.menuOption(mn, o, what, phraseAt)
			}
		}
	} else {
		p.missing(kf.line, what, "options")
	}
	mn.Timeout = p.durationOr(m, "timeout", what, DefaultMenuTimeout)
	mn.Retries = DefaultRetries
	if f, ok := m["retries"]; ok {
		mn.Retries, _ = p.integer(f, what, 1, 20)
	}
	if f, ok := m["invalid"]; ok {
		mn.Invalid = p.prompts(f, what)
	}
	if f, ok := m["no_input"]; ok {
		mn.NoInput = p.prompts(f, what)
	}
	if f, ok := m["failure"]; ok {
		mn.Failure = p.ref(f, what)
	}
	mn.Speech = p.speechOptions(m, what)
	return mn
}

// phraseUse is where a menu phrase was given.
type phraseUse struct {
	option string
	line   int
}

// speechOnlyRE is the shape of an option that has no key: a word, so it
// cannot be mistaken for a mistyped key.
var speechOnlyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// menuOption reads `"1": STEP` or `"1": {next: STEP, say: [phrases]}`.
func (p *parser) menuOption(mn *Menu, o field, what string, phraseAt map[string]phraseUse) {
	ow := fmt.Sprintf("%s: option %q", what, o.key)
	var phrases []string
	if o.val.Kind == yaml.MappingNode {
		om, _ := p.keyed(o.val, o.line, ow, "next", "say")
		if nf, ok := om["next"]; ok {
			mn.Options[o.key] = p.ref(nf, ow)
		} else {
			p.missing(o.line, ow, "next")
			mn.Options[o.key] = ""
		}
		if sf, ok := om["say"]; ok {
			phrases = p.phrases(sf, ow, o.key, phraseAt)
		}
	} else {
		mn.Options[o.key] = p.ref(o, what+": options")
	}
	mn.Order = append(mn.Order, o.key)
	if len(phrases) > 0 {
		mn.Phrases[o.key] = phrases
	}
	if isKey(o.key) {
		return
	}
	switch {
	case !speechOnlyRE.MatchString(o.key):
		p.errorf(o.line, "%s: option %q is not a phone key (use one of 0-9, * or #, quoted: \"*\")", what, o.key)
	case len(phrases) == 0:
		p.errorf(o.line, "%s: option %q is not a phone key (0-9, * or #), so it needs say: phrases to be reachable", what, o.key)
	}
}

// phrases reads `say: phrase` or `say: [phrase, ...]`, and checks each
// phrase's words against the engine's vocabulary when one is given.
func (p *parser) phrases(f field, what, option string, phraseAt map[string]phraseUse) []string {
	var nodes []*yaml.Node
	switch v := f.val; v.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			p.errorf(f.line, "%s: say: empty phrase list", what)
		}
		nodes = v.Content
	default:
		p.errorf(f.line, "%s: say must be a phrase or a list of phrases, not a %s", what, nodeKind(v))
		return nil
	}
	var out []string
	for _, n := range nodes {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			p.errorf(n.Line, "%s: say: a phrase must be text, not a %s", what, nodeKind(n))
			continue
		}
		text := strings.Join(strings.Fields(n.Value), " ")
		key := strings.ToLower(text)
		switch {
		case text == "":
			p.errorf(n.Line, "%s: say: empty phrase", what)
			continue
		case phraseAt[key].line != 0:
			prev := phraseAt[key]
			if prev.option == option {
				p.errorf(n.Line, "%s: say: phrase %q given twice (first on line %d)", what, text, prev.line)
			} else {
				p.errorf(n.Line, "%s: say: phrase %q already chooses option %q (line %d)", what, text, prev.option, prev.line)
			}
			continue
		}
		phraseAt[key] = phraseUse{option: option, line: n.Line}
		p.vocabulary(n.Line, what, text)
		out = append(out, text)
	}
	return out
}

// vocabulary reports the words of phrase the speech engine cannot
// recognize: such a phrase would silently never match on a live call.
func (p *parser) vocabulary(line int, what, phrase string) {
	if p.opts.Vocabulary == nil {
		return
	}
	if missing := p.opts.Vocabulary.Missing(phrase); len(missing) > 0 {
		p.errorf(line, "%s: say: phrase %q: the speech engine does not know %s; rephrase it", what, phrase, quoteWords(missing))
	}
}

func quoteWords(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = strconv.Quote(w)
	}
	return strings.Join(q, ", ")
}

// speechOptions reads a menu's or gather's optional `speech:` mapping.
func (p *parser) speechOptions(m map[string]field, what string) SpeechOptions {
	so := SpeechOptions{ConfirmBelow: DefaultConfirmBelow, RejectBelow: DefaultRejectBelow}
	f, ok := m["speech"]
	if !ok {
		return so
	}
	what += ": speech"
	if f.val.Kind == yaml.ScalarNode && f.val.Tag == "!!bool" {
		so.Off = !p.boolean(f, what)
		return so
	}
	sm, ok := p.keyed(f.val, f.line, what, "confirm_below", "reject_below", "help", "enabled")
	if !ok {
		return so
	}
	if ef, ok := sm["enabled"]; ok {
		so.Off = !p.boolean(ef, what)
	}
	confirm, hasConfirm := p.fraction(sm, "confirm_below", what, DefaultConfirmBelow)
	reject, hasReject := p.fraction(sm, "reject_below", what, DefaultRejectBelow)
	so.ConfirmBelow, so.RejectBelow = confirm, reject
	if reject > confirm {
		line := f.line
		if hasReject {
			line = sm["reject_below"].line
		} else if hasConfirm {
			line = sm["confirm_below"].line
		}
		p.errorf(line, "%s: reject_below (%g) must not be above confirm_below (%g)", what, reject, confirm)
	}
	if hf, ok := sm["help"]; ok {
		var nodes []*yaml.Node
		switch hf.val.Kind {
		case yaml.ScalarNode:
			nodes = []*yaml.Node{hf.val}
		case yaml.SequenceNode:
			nodes = hf.val.Content
		default:
			p.errorf(hf.line, "%s: help must be a text or a list of texts (one per failed attempt), not a %s", what, nodeKind(hf.val))
		}
		for _, n := range nodes {
			n = deref(n)
			if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
				p.errorf(n.Line, "%s: help: want a text, not a %s", what, nodeKind(n))
				continue
			}
			if err := checkTemplate(n.Value); err != nil {
				p.errorf(n.Line, "%s: help: %v", what, err)
			}
			so.Help = append(so.Help, n.Value)
		}
	}
	return so
}

// fraction reads an optional number in [0,1].
func (p *parser) fraction(m map[string]field, key, what string, def float64) (float64, bool) {
	f, ok := m[key]
	if !ok {
		return def, false
	}
	s, ok := p.str(f, what)
	if !ok {
		return def, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || (f.val.Tag != "!!float" && f.val.Tag != "!!int") {
		p.errorf(f.line, "%s: %s must be a number between 0 and 1, not %q", what, key, s)
		return def, true
	}
	if v < 0 || v > 1 {
		p.errorf(f.line, "%s: %s must be between 0 and 1, not %g", what, key, v)
		return def, true
	}
	return v, true
}

// say reads `say: "text ${var}"` or `say: {text: ..., interruptible: bool}`.
func (p *parser) say(kf field, what string) *Say {
	what += ": say"
	sy := &Say{}
	tf := kf
	if kf.val.Kind == yaml.MappingNode {
		m, _ := p.keyed(kf.val, kf.line, what, "text", "interruptible")
		var ok bool
		if tf, ok = m["text"]; !ok {
			p.missing(kf.line, what, "text")
			return sy
		}
		if f, ok := m["interruptible"]; ok {
			sy.Interruptible = p.boolean(f, what)
		}
	}
	text, ok := p.str(tf, what)
	if !ok {
		return sy
	}
	if strings.TrimSpace(text) == "" {
		p.errorf(tf.line, "%s: nothing to say", what)
	}
	if err := checkTemplate(text); err != nil {
		p.errorf(tf.line, "%s: %v", what, err)
	}
	sy.Text = text
	return sy
}

func (p *parser) gather(kf field, what string) *Gather {
	what += ": gather"
	g := &Gather{}
	m, ok := p.keyed(kf.val, kf.line, what, "prompt", "digits", "min_digits", "terminator", "timeout",
		"inter_digit_timeout", "into", "retries", "invalid", "no_input", "failure", "mask", "speech")
	if !ok {
		return g
	}
	g.Prompts = required(p, m, "prompt", kf.line, what, "prompt", p.prompts)
	if f, ok := m["digits"]; ok {
		g.MaxDigits, _ = p.integer(f, what, 1, maxGatherDigits)
	} else {
		p.missing(kf.line, what, "digits")
	}
	g.MinDigits = 1
	if f, ok := m["min_digits"]; ok {
		if n, ok := p.integer(f, what, 1, maxGatherDigits); ok {
			g.MinDigits = n
			if g.MaxDigits > 0 && n > g.MaxDigits {
				p.errorf(f.line, "%s: min_digits %d is more than digits %d", what, n, g.MaxDigits)
			}
		}
	}
	if f, ok := m["terminator"]; ok {
		if t, ok := p.str(f, what); ok {
			if t != "#" && t != "*" {
				p.errorf(f.line, "%s: terminator must be \"#\" or \"*\", not %q", what, t)
			}
			g.Terminator = t
		}
	}
	g.Timeout = p.durationOr(m, "timeout", what, DefaultGatherTimeout)
	g.InterDigitTimeout = p.durationOr(m, "inter_digit_timeout", what, DefaultInterDigitTimeout)
	g.Into = required(p, m, "into", kf.line, what, "into", p.varName)
	g.Retries = DefaultRetries
	if f, ok := m["retries"]; ok {
		g.Retries, _ = p.integer(f, what, 1, 20)
	}
	if f, ok := m["invalid"]; ok {
		g.Invalid = p.prompts(f, what)
	}
	if f, ok := m["no_input"]; ok {
		g.NoInput = p.prompts(f, what)
	}
	if f, ok := m["failure"]; ok {
		g.Failure = p.ref(f, what)
	}
	if f, ok := m["mask"]; ok {
		g.Mask = p.boolean(f, what)
	}
	g.Speech = p.speechOptions(m, what)
	return g
}

func (p *parser) set(kf field, what string) []Assign {
	what += ": set"
	fs, ok := p.fields(kf.val, kf.line, what)
	if !ok {
		return nil
	}
	if len(fs) == 0 {
		p.errorf(kf.line, "%s: nothing to set", what)
	}
	var out []Assign
	for _, f := range fs {
		if !varNameRE.MatchString(f.key) {
			p.errorf(f.line, "%s: invalid variable name %q (letters, digits and _, not starting with a digit; dots between parts)", what, f.key)
		}
		v, ok := p.str(f, what)
		if !ok {
			continue
		}
		if err := checkTemplate(v); err != nil {
			p.errorf(f.line, "%s: %s: %v", what, f.key, err)
		}
		out = append(out, Assign{Var: f.key, Value: v})
	}
	return out
}

func (p *parser) branch(kf field, what string) *Branch {
	what += ": branch"
	b := &Branch{Cases: map[string]string{}}
	m, ok := p.keyed(kf.val, kf.line, what, "var", "cases", "default")
	if !ok {
		return b
	}
	b.Var = required(p, m, "var", kf.line, what, "var", p.varName)
	if f, ok := m["cases"]; ok {
		if fs, ok := p.fields(f.val, f.line, what+": cases"); ok {
			if len(fs) == 0 {
				p.errorf(f.line, "%s: cases: no cases", what)
			}
			for _, c := range fs {
				b.Cases[c.key] = p.ref(c, what+": cases")
			}
		}
	} else {
		p.missing(kf.line, what, "cases")
	}
	b.Default = required(p, m, "default", kf.line, what, "default", p.ref)
	return b
}

func (p *parser) hours(kf field, what string) *Hours {
	what += ": hours"
	h := &Hours{}
	m, ok := p.keyed(kf.val, kf.line, what, "timezone", "open", "holidays", "open_step", "closed_step")
	if !ok {
		return h
	}
	if f, ok := m["timezone"]; ok {
		if tz, ok := p.str(f, what); ok {
			h.Location = p.location(f, tz, what)
		}
	}
	h.Open = required(p, m, "open", kf.line, what, "open", p.openRanges)
	if f, ok := m["holidays"]; ok {
		h.Holidays = p.dates(f, what)
	}
	h.OpenStep = required(p, m, "open_step", kf.line, what, "open_step", p.ref)
	h.ClosedStep = required(p, m, "closed_step", kf.line, what, "closed_step", p.ref)
	return h
}

// location rejects "Local": a flow must mean the same on every server.
func (p *parser) location(f field, tz, what string) *time.Location {
	if tz == "Local" {
		p.errorf(f.line, "%s: timezone: unknown time zone %q (use an IANA name such as Europe/Paris)", what, tz)
		return nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		p.errorf(f.line, "%s: timezone: unknown time zone %q (use an IANA name such as Europe/Paris)", what, tz)
		return nil
	}
	return loc
}

func (p *parser) openRanges(f field, what string) []OpenRange {
	v := f.val
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.errorf(f.line, "%s: open must be a list of {days, from, to}", what)
		return nil
	}
	var out []OpenRange
	for _, item := range v.Content {
		item = deref(item)
		w := what + ": open"
		m, ok := p.keyed(item, item.Line, w, "days", "from", "to")
		if !ok {
			continue
		}
		var r OpenRange
		good := true
		if df, ok := m["days"]; ok {
			if s, ok := p.str(df, w); ok {
				days, err := parseDays(s)
				if err != nil {
					p.errorf(df.line, "%s: days %q: %v", w, s, err)
					good = false
				}
				r.Days = days
			}
		} else {
			p.missing(item.Line, w, "days")
			good = false
		}
		clock := func(key string) int {
			cf, ok := m[key]
			if !ok {
				p.missing(item.Line, w, key)
				good = false
				return 0
			}
			s, ok := p.str(cf, w)
			if !ok {
				good = false
				return 0
			}
			t, err := parseClock(s)
			if err != nil {
				p.errorf(cf.line, "%s: %s: %v", w, key, err)
				good = false
			}
			return t
		}
		r.From, r.To = clock("from"), clock("to")
		if good && r.From == 24*60 {
			p.errorf(m["from"].line, "%s: from cannot be 24:00", w)
		} else if good && r.To <= r.From {
			p.errorf(m["to"].line, "%s: to (%s) must be later than from (%s); split overnight hours into two ranges",
				w, m["to"].val.Value, m["from"].val.Value)
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) dates(f field, what string) []string {
	v := f.val
	if v.Kind != yaml.SequenceNode {
		p.errorf(f.line, "%s: holidays must be a list of dates (YYYY-MM-DD)", what)
		return nil
	}
	var out []string
	for _, n := range v.Content {
		n = deref(n)
		if n.Kind != yaml.ScalarNode {
			p.errorf(n.Line, "%s: holidays: want a date (YYYY-MM-DD), not a %s", what, nodeKind(n))
			continue
		}
		if t, err := time.Parse(dateLayout, n.Value); err != nil || t.Format(dateLayout) != n.Value {
			p.errorf(n.Line, "%s: holidays: invalid date %q (use YYYY-MM-DD)", what, n.Value)
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

func (p *parser) hangup(kf field, what string) *Hangup {
	what += ": hangup"
	h := &Hangup{Cause: CauseNormal}
	v := kf.val
	var cause field
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return h
	case v.Kind == yaml.ScalarNode && v.Tag == "!!bool":
		if b := p.boolean(kf, what); !b {
			p.errorf(kf.line, "%s: hangup: false is not allowed (use hangup: true)", what)
		}
		return h
	case v.Kind == yaml.ScalarNode:
		cause = kf
	default:
		m, ok := p.keyed(v, kf.line, what, "cause")
		if !ok {
			return h
		}
		if cause, ok = m["cause"]; !ok {
			return h
		}
	}
	if c, ok := p.str(cause, what); ok {
		if !slices.Contains(causes, c) {
			p.errorf(cause.line, "%s: unknown cause %q%s", what, c, hint(c, causes))
		}
		h.Cause = c
	}
	return h
}

func (p *parser) queue(kf field, what string) *Queue {
	what += ": queue"
	q := &Queue{Music: DefaultMusic}
	var name field
	if kf.val.Kind == yaml.ScalarNode {
		name = kf
	} else {
		m, ok := p.keyed(kf.val, kf.line, what, "name", "music", "timeout", "timeout_step")
		if !ok {
			return q
		}
		if name, ok = m["name"]; !ok {
			p.missing(kf.line, what, "name")
		}
		if f, ok := m["music"]; ok {
			if s, ok := p.str(f, what); ok {
				if !promptNameRE.MatchString(s) {
					p.errorf(f.line, "%s: invalid music class %q", what, s)
				}
				q.Music = s
			}
		}
		q.Timeout = p.durationOr(m, "timeout", what, 0)
		if f, ok := m["timeout_step"]; ok {
			q.TimeoutStep = p.ref(f, what)
			if _, ok := m["timeout"]; !ok {
				p.errorf(f.line, "%s: timeout_step needs timeout", what)
			}
		}
	}
	if name.val != nil {
		if s, ok := p.str(name, what); ok {
			if !stepNameRE.MatchString(s) {
				p.errorf(name.line, "%s: invalid queue name %q", what, s)
			}
			q.Name = s
		}
	}
	return q
}

func (p *parser) checkRefs(f *Flow) {
	names := sortedKeys(f.Steps)
	for _, r := range p.refs {
		if r.name == "" {
			continue
		}
		if _, ok := f.Steps[r.name]; !ok {
			h := ""
			if s := closest(r.name, names); s != "" {
				h = fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errorf(r.line, "%s: unknown step %q%s", r.what, r.name, h)
		}
	}
}

// checkReachable warns rather than fails: a step kept around while a flow
// is being reworked is harmless, but usually a sign of a wrong reference.
func (p *parser) checkReachable(f *Flow) {
	if f.Steps[f.Start] == nil {
		return
	}
	seen := map[string]bool{f.Start: true}
	queue := []string{f.Start}
	for len(queue) > 0 {
		s := f.Steps[queue[0]]
		queue = queue[1:]
		for _, t := range s.targets() {
			if !seen[t] && f.Steps[t] != nil {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, s := range f.Steps {
		if !seen[s.Name] {
			p.warnf(s.Line, "step %s is unreachable from start %s", s.Name, f.Start)
		}
	}
}

// checkLoops rejects cycles made only of steps that take no time (set,
// branch, hours, goto, lookup, and a stasis step's failover when its
// application is not connected): at run time such a cycle would spin until the step limit
// without the caller hearing anything. Cycles are strongly connected
// components of the graph of those instant moves (Step.instantTargets,
// Tarjan).
func (p *parser) checkLoops(f *Flow) {
	instant := func(name string) *Step {
		if s := f.Steps[name]; s != nil && len(s.instantTargets()) > 0 {
			return s
		}
		return nil
	}
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		index[name] = len(index)
		low[name] = index[name]
		stack = append(stack, name)
		onStack[name] = true
		selfLoop := false
		for _, t := range f.Steps[name].instantTargets() {
			if instant(t) == nil {
				continue
			}
			if t == name {
				selfLoop = true
			}
			if _, seen := index[t]; !seen {
				visit(t)
				low[name] = min(low[name], low[t])
			} else if onStack[t] {
				low[name] = min(low[name], index[t])
			}
		}
		if low[name] != index[name] {
			return
		}
		var comp []*Step
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			comp = append(comp, f.Steps[top])
			if top == name {
				break
			}
		}
		if len(comp) == 1 && !selfLoop {
			return
		}
		sort.Slice(comp, func(i, j int) bool { return comp[i].Line < comp[j].Line })
		p.errorf(comp[0].Line, "steps %s loop without playing a prompt or waiting for input",
			strings.Join(cyclePath(f, comp), " -> "))
	}
	for _, name := range sortedKeys(f.Steps) {
		if _, seen := index[name]; !seen && instant(name) != nil {
			visit(name)
		}
	}
}

// cyclePath returns the shortest cycle through comp[0] inside the strongly
// connected component comp, as step names with the first repeated at the end.
func cyclePath(f *Flow, comp []*Step) []string {
	in := map[string]bool{}
	for _, s := range comp {
		in[s.Name] = true
	}
	start := comp[0].Name
	parent := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, t := range f.Steps[cur].instantTargets() {
			if !in[t] {
				continue
			}
			if t == start {
				path := []string{start}
				for n := cur; n != start; n = parent[n] {
					path = append(path, n)
				}
				slices.Reverse(path)
				return append([]string{start}, append(path[:len(path)-1], start)...)
			}
			if _, seen := parent[t]; !seen {
				parent[t] = cur
				queue = append(queue, t)
			}
		}
	}
	return []string{start, start}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
