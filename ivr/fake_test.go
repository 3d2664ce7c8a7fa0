package ivr

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/speech"
)

// fakeChannel plays a scripted caller. The script is space-separated:
//
//	"12#"  keys, each read by one blocking ReadDigit
//	"-"    the next blocking ReadDigit times out
//	"@3"   key 3 is pressed during the next Play
//	"@p=3" key 3 is pressed during the next Play of prompt p
//	"!"    the caller hangs up at the next operation
//	"~lost_card:0.9"  at the next Listen the caller says "lost card"
//	       (underscores are spaces), recognized with confidence 0.9; the
//	       choice is the grammar's option with that phrase, the digits
//	       those of the text when the grammar takes digits
//	"~"    at the next Listen the recognizer hears noise but no words
//
// A key or "-" met by Listen is a key pressed during the prompt, or no
// input at all.
//
// When the script runs out the caller hangs up, so a wrong flow cannot make
// a test hang.
type fakeChannel struct {
	script   []string
	buf      []rune
	hungUp   bool
	played   []string
	music    []string
	timeouts []time.Duration // blocking ReadDigit timeouts, in order
	flushes  int
	audio    int              // PlayAudio calls
	pcms     [][]int16        // what PlayAudio played
	grammars []speech.Grammar // one per Listen
}

func newFake(script string) *fakeChannel {
	c := &fakeChannel{}
	for _, tok := range strings.Fields(script) {
		switch {
		case tok == "-" || tok == "!" || strings.HasPrefix(tok, "~"):
			c.script = append(c.script, tok)
		case strings.HasPrefix(tok, "@"):
			c.script = append(c.script, tok)
		default:
			for _, k := range tok {
				c.script = append(c.script, string(k))
			}
		}
	}
	return c
}

func (c *fakeChannel) peek() string {
	if len(c.script) == 0 {
		return ""
	}
	return c.script[0]
}

func (c *fakeChannel) pop() string {
	t := c.script[0]
	c.script = c.script[1:]
	return t
}

func (c *fakeChannel) Play(ctx context.Context, prompt string, interruptible bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.hungUp || c.peek() == "!" {
		c.hungUp = true
		return ErrHangup
	}
	c.played = append(c.played, prompt)
	if t := c.peek(); strings.HasPrefix(t, "@") {
		name, keys, named := strings.Cut(t[1:], "=")
		if !named {
			keys = name
		}
		if !named || name == prompt {
			c.pop()
			for _, k := range keys {
				c.buf = append(c.buf, k)
			}
		}
	}
	return nil
}

func (c *fakeChannel) Music(ctx context.Context, class string) error {
	c.music = append(c.music, class)
	if _, ok := ctx.Deadline(); ok && c.peek() != "!" {
		<-ctx.Done()
		return ctx.Err()
	}
	c.hungUp = true
	return ErrHangup
}

func (c *fakeChannel) ReadDigit(ctx context.Context, timeout time.Duration) (rune, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if c.hungUp {
		return 0, false, ErrHangup
	}
	if len(c.buf) > 0 {
		k := c.buf[0]
		c.buf = c.buf[1:]
		return k, true, nil
	}
	if timeout == 0 {
		return 0, false, nil
	}
	c.timeouts = append(c.timeouts, timeout)
	if len(c.script) == 0 {
		c.hungUp = true
		return 0, false, ErrHangup
	}
	switch t := c.pop(); {
	case t == "-":
		return 0, false, nil
	case t == "!":
		c.hungUp = true
		return 0, false, ErrHangup
	default:
		return []rune(strings.TrimPrefix(t, "@"))[0], true, nil
	}
}

func (c *fakeChannel) PlayAudio(ctx context.Context, pcm []int16, interruptible bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.hungUp || c.peek() == "!" {
		c.hungUp = true
		return ErrHangup
	}
	c.audio++
	c.pcms = append(c.pcms, pcm)
	return nil
}

func (c *fakeChannel) Listen(ctx context.Context, req ListenRequest) (ListenResult, error) {
	if err := ctx.Err(); err != nil {
		return ListenResult{}, err
	}
	if req.Recognizer == nil {
		return ListenResult{}, fmt.Errorf("listen without a recognizer")
	}
	c.played = append(c.played, req.Prompts...)
	if req.Audio != nil {
		c.audio++
	}
	c.grammars = append(c.grammars, req.Grammar)
	if len(c.buf) > 0 {
		return ListenResult{Key: true}, nil
	}
	if c.hungUp || len(c.script) == 0 || c.peek() == "!" {
		c.hungUp = true
		return ListenResult{}, ErrHangup
	}
	c.timeouts = append(c.timeouts, req.Timeout)
	switch t := c.pop(); {
	case t == "-":
		return ListenResult{}, nil
	case t == "~":
		return ListenResult{Heard: true, Speech: speech.Event{Type: speech.Final, NoSpeech: true}}, nil
	case strings.HasPrefix(t, "~"):
		text, conf, _ := strings.Cut(t[1:], ":")
		text = strings.ReplaceAll(text, "_", " ")
		ev := speech.Event{Type: speech.Final, Text: text}
		ev.Confidence, _ = strconv.ParseFloat(conf, 64)
		for _, ch := range req.Grammar.Choices {
			for _, p := range ch.Phrases {
				if strings.EqualFold(p, text) {
					ev.Choice = ch.Name
				}
			}
		}
		if req.Grammar.Digits {
			ev.Digits = strings.ReplaceAll(text, " ", "")
			if _, err := strconv.Atoi(ev.Digits); err != nil {
				ev.Digits = ""
			}
		}
		return ListenResult{Heard: true, Speech: ev, BargeIn: true}, nil
	default:
		for _, k := range strings.TrimPrefix(t, "@") {
			c.buf = append(c.buf, k)
		}
		return ListenResult{Key: true, BargeIn: true}, nil
	}
}

// fakeRecognizer stands for the engine in Env; the fake channel scripts
// what it hears.
type fakeRecognizer struct{}

func (fakeRecognizer) Start(context.Context, speech.Grammar) (speech.Stream, error) {
	return nil, fmt.Errorf("fakeRecognizer: the fake channel recognizes")
}

// fakeSynth records what it is asked to say.
type fakeSynth struct {
	texts []string
	err   error
}

func (s *fakeSynth) Synthesize(_ context.Context, text string) ([]int16, error) {
	s.texts = append(s.texts, text)
	if s.err != nil {
		return nil, s.err
	}
	return make([]int16, 160), nil
}

func (c *fakeChannel) FlushDigits() {
	c.buf = nil
	c.flushes++
}

// recorder keeps the timeline as "kind step k=v k=v" lines (data sorted).
type recorder struct {
	events []string
}

func (r *recorder) Event(kind, step string, data map[string]string) {
	var kv []string
	for k, v := range data {
		if k == "time" {
			continue // asserted separately where it matters
		}
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	line := kind + " " + step
	if len(kv) > 0 {
		line += " " + strings.Join(kv, " ")
	}
	r.events = append(r.events, line)
}

// only keeps the events of the given kinds.
func (r *recorder) only(kinds ...string) []string {
	var out []string
	for _, e := range r.events {
		k, _, _ := strings.Cut(e, " ")
		for _, want := range kinds {
			if k == want {
				out = append(out, e)
			}
		}
	}
	return out
}

// path lists the steps entered, in order.
func (r *recorder) path() []string {
	var out []string
	for _, e := range r.only(EventStep) {
		out = append(out, strings.Fields(e)[1])
	}
	return out
}

func mustParse(t *testing.T, src string) *Flow {
	t.Helper()
	f, diags := ParseFlow("test.yaml", []byte(src), CheckOptions{})
	if f == nil {
		t.Fatalf("parse failed:\n%s", joinDiags(diags))
	}
	return f
}

func joinDiags(diags []Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintln(&b, d.String())
	}
	return b.String()
}

// run executes f with a scripted caller and a fixed clock.
func run(t *testing.T, f *Flow, script string, env Env) (Result, *fakeChannel, *recorder) {
	t.Helper()
	ch := newFake(script)
	rec := &recorder{}
	env.Events = rec
	if env.Now == nil {
		env.Now = func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }
	}
	res, err := f.Run(context.Background(), ch, env)
	if err != nil {
		t.Fatalf("Run: %v\nevents:\n%s", err, strings.Join(rec.events, "\n"))
	}
	return res, ch, rec
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
