package ivr

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// src drops the newline after the opening backquote so that line 1 of the
// file is the first line of text.
func src(s string) string { return strings.TrimPrefix(s, "\n") }

func TestParseAllForms(t *testing.T) {
	f := mustParse(t, src(`
tenant: demo
description: every kind of step
start: hello
steps:
  hello:
    play: {prompt: [welcome, news], interruptible: true}
    next: open
  open:
    hours:
      timezone: Europe/Paris
      open:
        - {days: mon-fri, from: "08:00", to: "18:00"}
        - {days: "sat,sun", from: "10:00", to: "24:00"}
      holidays: [2026-12-25, "2027-01-01"]
      open_step: main
      closed_step: closed
  closed:
    play: closed
    next: bye
  main:
    menu:
      prompt: main_menu
      options: {1: acct, "0": agent, "*": main, "#": bye}
      timeout: 2500ms
      retries: 2
      invalid: [invalid, main_menu_short]
      no_input: no_input
  acct:
    gather: {prompt: enter_account, digits: 8, into: account, mask: true}
    next: tag
    failure: bye
  tag:
    set: {queue: "accounts-${account}", n: 1}
    next: route
  route:
    branch: {var: n, cases: {"1": agent}, default: bye}
  agent:
    queue: {name: general, music: moh, timeout: 10m, timeout_step: bye}
  bye:
    goto: end
  end:
    hangup:
`))
	if f.Tenant != "demo" || f.Description != "every kind of step" || f.Start != "hello" || len(f.Steps) != 10 || len(f.Warnings) != 0 {
		t.Fatalf("flow = %+v", f)
	}
	if p := f.Steps["hello"].Play; !p.Interruptible || strings.Join(p.Prompts, ",") != "welcome,news" {
		t.Errorf("play = %+v", p)
	}
	h := f.Steps["open"].Hours
	if h.Location.String() != "Europe/Paris" || len(h.Open) != 2 || h.Open[1].To != 1440 ||
		!h.Open[1].Days[time.Sunday] || h.Open[1].Days[time.Monday] || strings.Join(h.Holidays, ",") != "2026-12-25,2027-01-01" {
		t.Errorf("hours = %+v", h)
	}
	m := f.Steps["main"].Menu
	if m.Timeout != 2500*time.Millisecond || m.Retries != 2 || m.Options["1"] != "acct" || m.Options["#"] != "bye" ||
		len(m.Invalid) != 2 || m.Failure != "" {
		t.Errorf("menu = %+v", m)
	}
	g := f.Steps["acct"].Gather
	if g.MaxDigits != 8 || g.MinDigits != 1 || g.Terminator != "" || g.Timeout != DefaultGatherTimeout ||
		g.InterDigitTimeout != DefaultInterDigitTimeout || g.Failure != "bye" || !g.Mask || f.Steps["acct"].Next != "tag" {
		t.Errorf("gather = %+v", g)
	}
	if s := f.Steps["tag"].Set; len(s) != 2 || s[0] != (Assign{"queue", "accounts-${account}"}) || s[1] != (Assign{"n", "1"}) {
		t.Errorf("set = %+v", s)
	}
	if q := f.Steps["agent"].Queue; *q != (Queue{Name: "general", Music: "moh", Timeout: 10 * time.Minute, TimeoutStep: "bye"}) {
		t.Errorf("queue = %+v", q)
	}
	if f.Steps["end"].Hangup.Cause != CauseNormal || f.Steps["bye"].Goto != "end" {
		t.Errorf("hangup/goto wrong")
	}
}

type want struct {
	line int
	msg  string // substring of the message
}

func checkDiags(t *testing.T, diags []Diagnostic, wantErrs []want) {
	t.Helper()
	var errs []Diagnostic
	for _, d := range diags {
		if d.File != "bad.yaml" {
			t.Errorf("diagnostic file %q", d.File)
		}
		if !d.Warning {
			errs = append(errs, d)
		}
	}
	used := make([]bool, len(errs))
	for _, w := range wantErrs {
		found := false
		for i, d := range errs {
			if !used[i] && d.Line == w.line && strings.Contains(d.Msg, w.msg) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing error at line %d containing %q", w.line, w.msg)
		}
	}
	for i, d := range errs {
		if !used[i] {
			t.Errorf("unexpected error %s", d)
		}
	}
	if t.Failed() {
		t.Logf("all diagnostics:\n%s", joinDiags(diags))
	}
}

func TestDiagnostics(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		prompt func(string) bool
		errs   []want
	}{
		{"unknown top-level key", `
start: a
stpes:
  a:
    hangup: true
`, nil, []want{
			{1, `flow: missing steps`},
			{1, `flow: start: unknown step "a"`},
			{2, `flow: unknown key "stpes" (did you mean "steps"?)`},
		}},
		{"unknown keys and step kinds", `
start: a
steps:
  a:
    play: hi
    nxt: b
    next: b
  b:
    plya: bye
  c: play
`, nil, []want{
			{5, `step a: unknown key "nxt" (did you mean "next"?)`},
			{8, `step b: unknown step kind "plya" (did you mean "play"?)`},
			{9, `step c must be a mapping, not a single value`},
		}},
		{"two kinds in one step", `
start: a
steps:
  a:
    play: hi
    goto: b
    next: b
  b:
    hangup: true
`, nil, []want{
			{5, `step a: more than one step kind: play and goto`},
		}},
		{"next missing or not used", `
start: a
steps:
  a:
    play: hi
  b:
    hangup: true
    next: a
  c:
    menu: {prompt: p, options: {"1": b}}
    next: b
`, nil, []want{
			{3, `step a: missing next`},
			{7, `step b: next is not used by a hangup step`},
			{10, `step c: next is not used by a menu step (use options and failure)`},
		}},
		{"references to missing steps", `
start: main
steps:
  main:
    menu:
      prompt: m
      options:
        "1": cards
        "2": acounts
      failure: nowhere
  accounts:
    hangup: true
`, nil, []want{
			{7, `step main: menu: options: 1: unknown step "cards"`},
			{8, `unknown step "acounts" (did you mean "accounts"?)`},
			{9, `step main: menu: failure: unknown step "nowhere"`},
		}},
		{"invalid durations", `
start: m
steps:
  m:
    menu:
      prompt: p
      options: {"1": m}
      timeout: 5
  g:
    gather: {prompt: p, digits: 4, into: x, timeout: -1s, inter_digit_timeout: soon}
    next: m
  q:
    queue: {name: sales, timeout: 0s}
`, nil, []want{
			{7, `step m: menu: timeout: invalid duration "5" (use a unit`},
			{9, `step g: gather: timeout must be positive, not "-1s"`},
			{9, `step g: gather: inter_digit_timeout: invalid duration "soon"`},
			{12, `step q: queue: timeout must be positive, not "0s"`},
		}},
		{"bad menu keys", `
start: m
steps:
  m:
    menu:
      prompt: p
      options:
        "1": m
        "10": m
        a: m
        "#": m
        1: m
`, nil, []want{
			{8, `step m: menu: option "10" is not a phone key`},
			{9, `step m: menu: option "a" is not a phone key`},
			{11, `step m: menu: options: duplicate key "1" (first on line 7)`},
		}},
		{"gather digits and names", `
start: g
steps:
  g:
    gather:
      prompt: p
      digits: 0
      into: 1x
      terminator: "5"
      retries: many
    next: g
  h:
    gather: {prompt: p, digits: 4, min_digits: 6, into: x}
    next: g
`, nil, []want{
			{6, `step g: gather: digits must be between 1 and 64, not 0`},
			{7, `step g: gather: into: invalid variable name "1x"`},
			{8, `step g: gather: terminator must be "#" or "*", not "5"`},
			{9, `step g: gather: retries must be a whole number, not "many"`},
			{12, `step h: gather: min_digits 6 is more than digits 4`},
		}},
		{"hours: times, dates and time zones", `
start: h
steps:
  h:
    hours:
      timezone: Mars/Olympus
      open:
        - {days: mon-fry, from: "08:00", to: "18:00"}
        - {days: sat, from: "8am", to: "13:00"}
        - {days: sun, from: "18:00", to: "08:00"}
        - {days: sun, from: "24:00", to: "24:00"}
        - {days: mon, from: "09:00"}
      holidays: ["2026-02-30", "2026-12-25", "25/12/2026"]
      open_step: h2
      closed_step: h2
  h2:
    hangup: true
  h3:
    hours: {timezone: Local, open: [{days: mon, from: "09:00", to: "25:00"}], open_step: h2}
`, nil, []want{
			{5, `step h: hours: timezone: unknown time zone "Mars/Olympus"`},
			{7, `step h: hours: open: days "mon-fry": unknown day "fry"`},
			{8, `step h: hours: open: from: time "8am" must be HH:MM`},
			{9, `step h: hours: open: to (08:00) must be later than from (18:00); split overnight hours`},
			{10, `step h: hours: open: from cannot be 24:00`},
			{11, `step h: hours: open: missing to`},
			{12, `step h: hours: holidays: invalid date "2026-02-30" (use YYYY-MM-DD)`},
			{12, `step h: hours: holidays: invalid date "25/12/2026"`},
			{18, `step h3: hours: timezone: unknown time zone "Local"`},
			{18, `step h3: hours: open: to: time "25:00" must be HH:MM between 00:00 and 24:00`},
			{18, `step h3: hours: missing closed_step`},
		}},
		{"prompts that do not exist", `
start: a
steps:
  a:
    play: [welcome, welcom]
    next: m
  m:
    menu:
      prompt: menu
      options: {"1": a}
      invalid: bad prompt
      no_input: ../etc/passwd
`, func(name string) bool { return name == "welcome" || name == "menu" }, []want{
			{4, `step a: prompt "welcom" does not exist`},
			{10, `step m: menu: invalid prompt name "bad prompt"`},
			{11, `step m: menu: invalid prompt name "../etc/passwd"`},
		}},
		{"loops that never wait", `
start: a
steps:
  a:
    set: {x: "1"}
    next: b
  b:
    branch: {var: x, cases: {"1": c}, default: p}
  c:
    goto: a
  p:
    play: beep
    next: d
  d:
    goto: d
  e:
    play: ok
    next: e
`, nil, []want{
			{3, `steps a -> b -> c -> a loop without playing a prompt or waiting for input`},
			{13, `steps d -> d loop without playing a prompt or waiting for input`},
		}},
		{"duplicate step", `
start: a
steps:
  a:
    hangup: true
  a:
    hangup: busy
`, nil, []want{
			{5, `steps: duplicate key "a" (first on line 3)`},
		}},
		{"misc step errors", `
start: a
steps:
  a:
    set: {x: "${y", 2bad: v}
    next: b
  b:
    branch: {var: x, cases: {"1": c}}
  c:
    hangup: false
  d:
    hangup: {cause: bsy}
  e:
    queue: {name: q, timeout_step: c}
  f:
    play: {interruptible: true}
    next: c
    failure: c
  g:
    menu: {prompt: p, optoins: {"1": c}, failure: c}
    failure: d
  h: {}
`, nil, []want{
			{4, `step a: set: x: unterminated ${ in "${y"`},
			{4, `step a: set: invalid variable name "2bad"`},
			{7, `step b: branch: missing default`},
			{9, `step c: hangup: hangup: false is not allowed`},
			{11, `step d: hangup: unknown cause "bsy" (did you mean "busy"?)`},
			{13, `step e: queue: timeout_step needs timeout`},
			{15, `step f: play: missing prompt`},
			{17, `step f: failure is only used by menu, gather and lookup steps`},
			{19, `step g: menu: unknown key "optoins" (did you mean "options"?)`},
			{19, `step g: menu: missing options`},
			{20, `step g: failure given twice`},
			{21, `step h: no step kind (want one of play, menu, gather, set, branch, hours, goto, hangup, queue, say, stasis, lookup, ask)`},
		}},
		{"YAML syntax: unquoted star key", `
start: m
steps:
  m:
    menu:
      prompt: p
      options:
        *: m
`, nil, []want{
			{7, `YAML syntax: did not find expected alphabetic or numeric character`},
		}},
		{"YAML syntax without a line in yaml.v3's message", `
start: a
steps:
  a:
    play: hi: there
    next: a
`, nil, []want{
			{4, `YAML syntax: mapping values are not allowed in this context`},
		}},
		// yaml.v3 itself says "line 3" for the next three.
		{"YAML syntax: unclosed list", "start: a\nsteps:\n  a:\n    play: [x, y\n    next: a\n  b:\n    hangup: true\n", nil, []want{
			{4, `YAML syntax: did not find expected ',' or ']'`},
		}},
		{"YAML syntax: bad indentation", "start: a\nsteps:\n  a:\n    play: x\n   next: a\n", nil, []want{
			{5, `YAML syntax: did not find expected key`},
		}},
		{"YAML syntax: unterminated quote", "start: a\nsteps:\n  a:\n    play: \"x\n    next: a\n", nil, []want{
			{4, `YAML syntax: found unexpected end of stream`},
		}},
		{"YAML syntax: unknown alias", "start: a\nsteps:\n  a:\n    play: x\n    next: *nope\n", nil, []want{
			{5, `YAML syntax: unknown anchor 'nope' referenced`},
		}},
		{"YAML syntax: tab", "start: a\nsteps:\n  a:\n\thangup: true\n", nil, []want{
			{4, `YAML syntax: found character that cannot start any token`},
		}},
		{"empty file", "# nothing yet\n", nil, []want{{1, `empty flow file`}}},
		{"not a mapping", "- a\n- b\n", nil, []want{{1, `flow must be a mapping, not a list`}}},
		{"two documents", "start: a\nsteps:\n  a:\n    hangup: true\n---\nstart: b\n", nil, []want{
			{5, `a flow file holds one YAML document; remove the extra ---`},
		}},
		{"empty steps", "start: a\nsteps: {}\n", nil, []want{
			{1, `flow: start: unknown step "a"`},
			{2, `steps: no steps`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := ParseFlow("bad.yaml", []byte(src(tt.src)), CheckOptions{PromptExists: tt.prompt})
			if f != nil {
				t.Errorf("flow with errors was returned")
			}
			checkDiags(t, diags, tt.errs)
		})
	}
}

func TestUnreachableIsWarning(t *testing.T) {
	f, diags := ParseFlow("w.yaml", []byte(src(`
start: a
steps:
  a:
    hangup: true
  old_menu:
    play: x
    next: a
`)), CheckOptions{})
	if f == nil || len(diags) != 1 || len(f.Warnings) != 1 {
		t.Fatalf("flow %v, diags %v", f, diags)
	}
	if got := diags[0].String(); got != "w.yaml:5: warning: step old_menu is unreachable from start a" {
		t.Errorf("warning = %q", got)
	}
}

func TestDiagnosticString(t *testing.T) {
	for d, want := range map[Diagnostic]string{
		{File: "a.yaml", Line: 3, Msg: "boom"}:               "a.yaml:3: boom",
		{File: "a.yaml", Line: 3, Msg: "meh", Warning: true}: "a.yaml:3: warning: meh",
		{File: "a.yaml", Msg: "no line"}:                     "a.yaml: no line",
	} {
		if d.String() != want {
			t.Errorf("%q, want %q", d.String(), want)
		}
	}
}

func TestCheckFilesAndLoadFlow(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	missing := filepath.Join(dir, "missing.yaml")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(src(s)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(good, `
start: a
steps:
  a:
    hangup: true
  spare:
    hangup: true
`)
	write(bad, `
start: a
steps:
  a:
    play: hello
    next: b
  c:
    menu: {prompt: p, options: {"12": a}}
`)
	var out bytes.Buffer
	n := CheckFiles([]string{good, bad, missing}, CheckOptions{PromptExists: func(p string) bool { return p != "hello" }}, &out)
	wantOut := good + ":5: warning: step spare is unreachable from start a\n" +
		bad + ":4: step a: prompt \"hello\" does not exist\n" +
		bad + ":5: step a: next: unknown step \"b\"\n" +
		bad + ":6: warning: step c is unreachable from start a\n" +
		bad + ":7: step c: menu: option \"12\" is not a phone key (use one of 0-9, * or #, quoted: \"*\")\n" +
		missing + ": no such file or directory\n"
	if out.String() != wantOut || n != 4 {
		t.Errorf("CheckFiles = %d, output:\n%s\nwant 4, output:\n%s", n, out.String(), wantOut)
	}

	f, err := LoadFlow(good, CheckOptions{})
	if err != nil || f.Start != "a" || f.File != good || len(f.Warnings) != 1 {
		t.Errorf("LoadFlow(good) = %+v, %v", f, err)
	}
	_, err = LoadFlow(bad, CheckOptions{})
	if err == nil || !strings.Contains(err.Error(), "2 error(s)") ||
		!strings.Contains(err.Error(), bad+":5: step a: next: unknown step") ||
		!strings.Contains(err.Error(), bad+":7: step c: menu: option") {
		t.Errorf("LoadFlow(bad) error = %v", err)
	}
	if _, err := LoadFlow(missing, CheckOptions{}); err == nil {
		t.Error("LoadFlow(missing) succeeded")
	}
}
