package ivr

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPlayThenHangup(t *testing.T) {
	f := mustParse(t, `
start: hello
steps:
  hello:
    play: [welcome, terms]
    next: bye
  bye:
    hangup: {cause: busy}
`)
	res, ch, rec := run(t, f, "", Env{})
	if res.Reason != EndHangup || res.Cause != CauseBusy || res.Step != "bye" || res.Steps != 2 || res.CallerHungUp {
		t.Errorf("result = %+v", res)
	}
	equal(t, "played", ch.played, []string{"welcome", "terms"})
	equal(t, "events", rec.events, []string{
		"step hello kind=play",
		"prompt hello prompt=welcome",
		"prompt hello prompt=terms",
		"step bye kind=hangup",
		"hangup bye cause=busy",
		"flow_end bye cause=busy reason=hangup",
	})
}

const menuFlow = `
start: intro
steps:
  intro:
    play: intro
    next: main
  main:
    menu:
      prompt: main_menu
      options: {"1": one, "2": two, "*": star}
      timeout: 4s
      retries: 3
      invalid: invalid
      no_input: no_input
      failure: sorry
  one:
    hangup: true
  two:
    hangup: true
  star:
    hangup: true
  sorry:
    play: goodbye
    next: end
  end:
    hangup: normal
`

func TestMenu(t *testing.T) {
	f := mustParse(t, menuFlow)
	tests := []struct {
		name, script string
		end          string // last step
		played       []string
		menuEvents   []string
	}{
		{"first try", "1", "one",
			[]string{"intro", "main_menu"},
			[]string{"digit main key=1", "menu main choice=1 next=one"}},
		{"star key", "*", "star",
			[]string{"intro", "main_menu"},
			[]string{"digit main key=*", "menu main choice=* next=star"}},
		{"invalid then valid", "7 2", "two",
			[]string{"intro", "main_menu", "invalid", "main_menu"},
			[]string{"digit main key=7", "menu_invalid main key=7", "digit main key=2", "menu main choice=2 next=two"}},
		{"no input then valid", "- 1", "one",
			[]string{"intro", "main_menu", "no_input", "main_menu"},
			[]string{"menu_timeout main", "digit main key=1", "menu main choice=1 next=one"}},
		{"barge-in during menu prompt", "@main_menu=2", "two",
			[]string{"intro", "main_menu"},
			[]string{"digit main key=2", "menu main choice=2 next=two"}},
		{"key during intro is discarded", "@1 2", "two",
			[]string{"intro", "main_menu"},
			[]string{"digit main key=2", "menu main choice=2 next=two"}},
		{"retries exhausted", "9 - #", "end",
			[]string{"intro", "main_menu", "invalid", "main_menu", "no_input", "main_menu", "invalid", "goodbye"},
			[]string{"digit main key=9", "menu_invalid main key=9", "menu_timeout main",
				"digit main key=#", "menu_invalid main key=#", "menu_failure main next=sorry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ch, rec := run(t, f, tt.script, Env{})
			if res.Reason != EndHangup || res.Step != tt.end {
				t.Errorf("result = %+v, want hangup at %s", res, tt.end)
			}
			equal(t, "played", ch.played, tt.played)
			equal(t, "menu events", rec.only(EventDigit, EventMenu, EventMenuInvalid, EventMenuTimeout, EventMenuFailure), tt.menuEvents)
			for _, d := range ch.timeouts {
				if d != 4*time.Second {
					t.Errorf("ReadDigit timeout %v, want the menu's 4s", d)
				}
			}
		})
	}
}

func TestMenuDefaults(t *testing.T) {
	f := mustParse(t, `
start: m
steps:
  m:
    menu:
      prompt: p
      options: {"1": done}
  done:
    hangup: true
`)
	m := f.Steps["m"].Menu
	if m.Timeout != DefaultMenuTimeout || m.Retries != DefaultRetries || m.Failure != "" {
		t.Fatalf("defaults = %+v", m)
	}
	// Without a failure step the call is hung up after the retries, and
	// without invalid/no_input prompts the menu prompt just repeats.
	res, ch, rec := run(t, f, "- - -", Env{})
	if res.Reason != EndHangup || res.Cause != CauseNormal || res.Step != "m" {
		t.Errorf("result = %+v", res)
	}
	equal(t, "played", ch.played, []string{"p", "p", "p"})
	equal(t, "end", rec.only(EventMenuFailure, EventHangup), []string{"menu_failure m next=", "hangup m cause=normal"})
}

func TestInterruptiblePlayTypeAhead(t *testing.T) {
	f := mustParse(t, `
start: hello
steps:
  hello:
    play: {prompt: [welcome, news], interruptible: true}
    next: main
  main:
    menu: {prompt: main_menu, options: {"1": one}}
  one:
    hangup: true
`)
	res, ch, rec := run(t, f, "@1", Env{})
	if res.Step != "one" {
		t.Errorf("result = %+v", res)
	}
	// The key pressed during "welcome" skips "news" and the menu prompt.
	equal(t, "played", ch.played, []string{"welcome"})
	equal(t, "prompts", rec.only(EventPrompt), []string{"prompt hello prompt=welcome"})
}

const gatherFlow = `
start: acct
steps:
  acct:
    gather:
      prompt: enter_account
      digits: 8
      min_digits: 4
      terminator: "#"
      timeout: 6s
      inter_digit_timeout: 2s
      into: account
      retries: 2
      invalid: too_short
      no_input: no_input
      failure: sorry
    next: thanks
  thanks:
    play: thanks
    next: done
  done:
    hangup: true
  sorry:
    hangup: rejected
`

func TestGather(t *testing.T) {
	f := mustParse(t, gatherFlow)
	tests := []struct {
		name, script string
		account      string // "" when the gather failed
		played       []string
		timeouts     []time.Duration
		events       []string
	}{
		{"terminator", "1234#", "1234",
			[]string{"enter_account", "thanks"},
			[]time.Duration{6 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second},
			[]string{"gather acct value=1234 var=account"}},
		{"max digits stops reading", "12345678", "12345678",
			[]string{"enter_account", "thanks"},
			[]time.Duration{6 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second},
			[]string{"gather acct value=12345678 var=account"}},
		{"inter-digit timeout ends input", "12345 -", "12345",
			[]string{"enter_account", "thanks"},
			nil,
			[]string{"gather acct value=12345 var=account"}},
		{"no input then success", "- 4321#", "4321",
			[]string{"enter_account", "no_input", "enter_account", "thanks"},
			nil,
			[]string{"gather_timeout acct", "gather acct value=4321 var=account"}},
		{"too short then success", "12# 99999#", "99999",
			[]string{"enter_account", "too_short", "enter_account", "thanks"},
			nil,
			[]string{"gather_invalid acct value=12", "gather acct value=99999 var=account"}},
		{"terminator alone is invalid", "# -", "",
			[]string{"enter_account", "too_short", "enter_account", "no_input"},
			nil,
			[]string{"gather_invalid acct value=", "gather_timeout acct", "gather_failure acct next=sorry"}},
		{"barge-in digits typed during the prompt", "@12345678", "12345678",
			[]string{"enter_account", "thanks"},
			[]time.Duration{},
			[]string{"gather acct value=12345678 var=account"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ch, rec := run(t, f, tt.script, Env{})
			equal(t, "played", ch.played, tt.played)
			equal(t, "gather events", rec.only(EventGather, EventGatherInvalid, EventGatherTimeout, EventGatherFailure), tt.events)
			if tt.timeouts != nil {
				if len(ch.timeouts) != len(tt.timeouts) {
					t.Fatalf("timeouts = %v, want %v", ch.timeouts, tt.timeouts)
				}
				for i := range tt.timeouts {
					if ch.timeouts[i] != tt.timeouts[i] {
						t.Errorf("timeouts = %v, want %v", ch.timeouts, tt.timeouts)
						break
					}
				}
			}
			if tt.account == "" {
				if res.Cause != CauseRejected {
					t.Errorf("result = %+v, want failure step's hangup", res)
				}
				return
			}
			if res.Vars["account"] != tt.account || res.Step != "done" {
				t.Errorf("result = %+v, want account %s", res, tt.account)
			}
		})
	}
}

func TestGatherFlushesTrailingTerminator(t *testing.T) {
	f := mustParse(t, `
start: g
steps:
  g:
    gather: {prompt: p, digits: 2, terminator: "#", into: x}
    next: m
  m:
    menu: {prompt: menu, options: {"1": done}}
  done:
    hangup: true
`)
	// The caller types "12#" quickly: the "#" arrives after the gather has
	// its two digits and must not count as a menu choice.
	res, ch, _ := run(t, f, "@12# 1", Env{})
	if res.Step != "done" || res.Vars["x"] != "12" {
		t.Errorf("result = %+v", res)
	}
	equal(t, "played", ch.played, []string{"p", "menu"})
}

func TestGatherMask(t *testing.T) {
	f := mustParse(t, `
start: pin
steps:
  pin:
    gather: {prompt: enter_pin, digits: 4, into: pin, mask: true}
    next: done
  done:
    hangup: true
`)
	res, _, rec := run(t, f, "1234", Env{})
	if res.Vars["pin"] != "1234" {
		t.Errorf("pin = %q", res.Vars["pin"])
	}
	for _, e := range rec.events {
		if strings.Contains(e, "1") && !strings.HasPrefix(e, "step") {
			t.Errorf("masked digits leaked into event %q", e)
		}
	}
	equal(t, "gather", rec.only(EventGather), []string{"gather pin value=**** var=pin"})
}

func TestSetAndBranch(t *testing.T) {
	f := mustParse(t, `
start: s
steps:
  s:
    set: {greeting: "hi ${caller}", lang: "${dnis_lang}", tier: gold}
    next: b
  b:
    branch:
      var: tier
      cases: {gold: vip, silver: std}
      default: std
  vip:
    set: {tier: other}
    next: b2
  b2:
    branch: {var: tier, cases: {gold: vip2}, default: std}
  vip2:
    hangup: busy
  std:
    hangup: true
`)
	caller := map[string]string{"caller": "+3312345678"}
	res, _, rec := run(t, f, "", Env{Vars: caller})
	equal(t, "path", rec.path(), []string{"s", "b", "vip", "b2", "std"})
	equal(t, "set/branch", rec.only(EventSet, EventBranch), []string{
		"set s greeting=hi +3312345678 lang= tier=gold",
		"branch b next=vip value=gold var=tier",
		"set vip tier=other",
		"branch b2 next=std value=other var=tier",
	})
	if res.Vars["greeting"] != "hi +3312345678" || caller["greeting"] != "" {
		t.Errorf("vars = %v, env vars changed: %v", res.Vars, caller)
	}
}

func TestGoto(t *testing.T) {
	f := mustParse(t, `
start: a
steps:
  a:
    goto: b
  b:
    hangup: true
`)
	_, _, rec := run(t, f, "", Env{})
	equal(t, "path", rec.path(), []string{"a", "b"})
}

func TestQueue(t *testing.T) {
	t.Run("caller hangs up while holding", func(t *testing.T) {
		f := mustParse(t, `
start: q
steps:
  q:
    queue: {name: sales, music: moh}
`)
		res, ch, rec := run(t, f, "", Env{})
		if res.Reason != EndQueue || res.Queue != "sales" || !res.CallerHungUp {
			t.Errorf("result = %+v", res)
		}
		equal(t, "music", ch.music, []string{"moh"})
		equal(t, "events", rec.only(EventQueue, EventFlowEnd), []string{
			"queue q music=moh queue=sales",
			"flow_end q queue=sales reason=queue",
		})
	})
	t.Run("shorthand uses default music", func(t *testing.T) {
		f := mustParse(t, "start: q\nsteps:\n  q:\n    queue: sales\n")
		_, ch, _ := run(t, f, "", Env{})
		equal(t, "music", ch.music, []string{DefaultMusic})
	})
	t.Run("timeout goes to timeout_step", func(t *testing.T) {
		f := mustParse(t, `
start: q
steps:
  q:
    queue: {name: sales, timeout: 10ms, timeout_step: later}
  later:
    play: call_back_later
    next: bye
  bye:
    hangup: true
`)
		res, ch, rec := run(t, f, "", Env{})
		if res.Reason != EndHangup || res.Step != "bye" {
			t.Errorf("result = %+v", res)
		}
		equal(t, "played", ch.played, []string{"call_back_later"})
		equal(t, "timeout", rec.only(EventQueueTimeout), []string{"queue_timeout q next=later"})
	})
	t.Run("timeout without step hangs up", func(t *testing.T) {
		f := mustParse(t, "start: q\nsteps:\n  q:\n    queue: {name: sales, timeout: 5ms}\n")
		res, _, _ := run(t, f, "", Env{})
		if res.Reason != EndHangup || res.Cause != CauseNormal {
			t.Errorf("result = %+v", res)
		}
	})
}

func TestCallerHangup(t *testing.T) {
	f := mustParse(t, menuFlow)
	res, _, rec := run(t, f, "- !", Env{})
	if res.Reason != EndCallerHangup || !res.CallerHungUp || res.Step != "main" {
		t.Errorf("result = %+v", res)
	}
	equal(t, "end", rec.only(EventFlowEnd), []string{"flow_end main reason=caller_hangup"})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := f.Run(ctx, newFake("1"), Env{})
	if err != nil || res.Reason != EndCallerHangup || res.Steps != 0 {
		t.Errorf("cancelled context: %+v, %v", res, err)
	}
}

type failingChannel struct{ *fakeChannel }

func (failingChannel) Play(context.Context, string, bool) error { return errors.New("media gone") }

func TestChannelError(t *testing.T) {
	f := mustParse(t, menuFlow)
	rec := &recorder{}
	res, err := f.Run(context.Background(), failingChannel{newFake("")}, Env{Events: rec})
	if err == nil || !strings.Contains(err.Error(), "step intro: play intro: media gone") || res.Reason != EndError {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if last := rec.events[len(rec.events)-1]; !strings.HasPrefix(last, "flow_end intro error=") {
		t.Errorf("last event %q", last)
	}
}

func TestStepLimit(t *testing.T) {
	// Passes validation (the loop plays a prompt) but never ends: the
	// runtime guard must stop it.
	f := mustParse(t, `
start: again
steps:
  again:
    play: beep
    next: again
`)
	rec := &recorder{}
	res, err := f.Run(context.Background(), newFake(""), Env{Events: rec, MaxSteps: 50})
	if !errors.Is(err, ErrStepLimit) || res.Reason != EndError || res.Steps != 50 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	res, err = f.Run(context.Background(), newFake(""), Env{})
	if !errors.Is(err, ErrStepLimit) || res.Steps != DefaultMaxSteps {
		t.Fatalf("default limit: %+v, %v", res, err)
	}
}

func TestConcurrentRuns(t *testing.T) {
	f := mustParse(t, gatherFlow)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digits := strings.Repeat(string(rune('1'+i)), 4) + "#"
			res, err := f.Run(context.Background(), newFake(digits), Env{Vars: map[string]string{"n": "x"}})
			if err != nil || res.Vars["account"] != digits[:4] {
				t.Errorf("run %d: %+v, %v", i, res, err)
			}
		}()
	}
	wg.Wait()
}

func TestEventFuncAndNilSink(t *testing.T) {
	f := mustParse(t, "start: h\nsteps:\n  h:\n    hangup:\n")
	var kinds []string
	sink := EventFunc(func(kind, step string, data map[string]string) {
		if data == nil {
			t.Errorf("%s event with nil data", kind)
		}
		kinds = append(kinds, kind)
	})
	if _, err := f.Run(context.Background(), newFake(""), Env{Events: sink}); err != nil {
		t.Fatal(err)
	}
	equal(t, "kinds", kinds, []string{EventStep, EventHangup, EventFlowEnd})
	if _, err := f.Run(context.Background(), newFake(""), Env{}); err != nil {
		t.Fatal(err)
	}
}
