package ivr

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/speech"
)

const speechFlow = `
start: main
steps:
  main:
    menu:
      prompt: main_menu
      options:
        "1": {next: cards, say: [cards, card]}
        "2": {next: balance, say: [balance, "account balance"]}
        "0": agent
        lost_card: {next: lost, say: [lost card, stolen card, I lost my card]}
      timeout: 4s
      invalid: invalid
      no_input: no_input
      failure: bye
      speech: {confirm_below: 0.6, reject_below: 0.3}
  cards:
    hangup: true
  balance:
    gather:
      prompt: account_number
      digits: 4
      min_digits: 4
      into: account
      invalid: account_invalid
      failure: bye
    next: tell
  tell:
    say: "Your account is ${account}"
    next: bye
  agent:
    hangup: true
  lost:
    hangup: true
  bye:
    hangup: true
`

func speechEnv(synth *fakeSynth) Env {
	env := Env{Recognizer: fakeRecognizer{}}
	if synth != nil {
		env.Synthesizer = synth
	}
	return env
}

func TestSpeechMenu(t *testing.T) {
	f := mustParse(t, speechFlow)
	tests := []struct {
		name, script string
		end          string
		events       []string // speech and menu events
		said         []string // synthesized texts
	}{
		{"spoken speech-only option", "~lost_card:0.9", "lost",
			[]string{"speech main barge_in=true choice=lost_card confidence=0.90 text=lost card",
				"menu main choice=lost_card input=speech next=lost"}, nil},
		{"spoken keyed option by a synonym", "~card:0.75", "cards",
			[]string{"speech main barge_in=true choice=1 confidence=0.75 text=card",
				"menu main choice=1 input=speech next=cards"}, nil},
		{"keypad still works", "0", "agent",
			[]string{"digit main key=0", "menu main choice=0 next=agent"}, nil},
		{"out of grammar then key", "~the_weather_is_nice:0.8 1", "cards",
			[]string{"speech main barge_in=true choice= confidence=0.80 text=the weather is nice",
				"speech_nomatch main confidence=0.80 reason=out_of_grammar text=the weather is nice",
				"digit main key=1", "menu main choice=1 next=cards"}, nil},
		{"low confidence is rejected", "~lost_card:0.2 ~lost_card:0.95", "lost",
			[]string{"speech main barge_in=true choice=lost_card confidence=0.20 text=lost card",
				"speech_nomatch main confidence=0.20 reason=low_confidence text=lost card",
				"speech main barge_in=true choice=lost_card confidence=0.95 text=lost card",
				"menu main choice=lost_card input=speech next=lost"}, nil},
		{"middling confidence confirmed by voice", "~lost_card:0.5 ~yes:0.7", "lost",
			[]string{"speech main barge_in=true choice=lost_card confidence=0.50 text=lost card",
				"speech_confirm main answer=asked choice=lost_card",
				"speech main barge_in=true choice=yes confidence=0.70 text=yes",
				"speech_confirm main answer=yes choice=lost_card",
				"menu main choice=lost_card input=speech next=lost"},
			[]string{"Did you say lost card? Say yes or no, or press 1 for yes, 2 for no."}},
		{"middling confidence denied by key", "~lost_card:0.5 2 ~balance:0.9", "balance",
			[]string{"speech main barge_in=true choice=lost_card confidence=0.50 text=lost card",
				"speech_confirm main answer=asked choice=lost_card",
				"digit main key=2",
				"speech_confirm main answer=no choice=lost_card",
				"speech_nomatch main confidence=0.50 reason=not_confirmed text=lost card",
				"speech main barge_in=true choice=2 confidence=0.90 text=balance",
				"menu main choice=2 input=speech next=balance"},
			[]string{"Did you say lost card? Say yes or no, or press 1 for yes, 2 for no."}},
		{"no input escalates to help", "- - -", "bye",
			[]string{"speech_noinput main", "menu_timeout main", "speech_noinput main", "menu_timeout main",
				"speech_noinput main", "menu_timeout main", "menu_failure main next=bye"},
			[]string{"You can say cards, or press 1. Or say balance, or press 2. Or say lost card."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synth := &fakeSynth{}
			res, _, rec := run(t, f, tt.script, speechEnv(synth))
			if res.Step != tt.end {
				t.Errorf("ended at %s, want %s\n%s", res.Step, tt.end, strings.Join(rec.events, "\n"))
			}
			got := rec.only(EventSpeech, EventSpeechNoMatch, EventSpeechNoInput, EventSpeechConfirm, EventMenu,
				EventMenuTimeout, EventMenuFailure, EventDigit)
			got = slices.DeleteFunc(got, func(e string) bool { return !strings.Contains(e, " main") })
			equal(t, "events", got, tt.events)
			equal(t, "synthesized", synth.texts, tt.said)
		})
	}
}

func TestSpeechMenuGrammarAndListen(t *testing.T) {
	f := mustParse(t, speechFlow)
	_, ch, _ := run(t, f, "~agent:0.9 0", speechEnv(nil))
	if len(ch.grammars) == 0 {
		t.Fatal("the menu did not listen")
	}
	g := ch.grammars[0]
	var names []string
	for _, c := range g.Choices {
		names = append(names, c.Name+"="+strings.Join(c.Phrases, "|"))
	}
	equal(t, "grammar", names, []string{"1=cards|card", "2=balance|account balance", "lost_card=lost card|stolen card|I lost my card"})
	if ch.timeouts[0] != 4e9 {
		t.Errorf("listen timeout %v, want the menu's 4s", ch.timeouts[0])
	}
	mg, err := f.MenuGrammar("main")
	if err != nil || len(mg.Choices) != 3 || mg.Digits {
		t.Errorf("MenuGrammar(main) = %+v, %v", mg, err)
	}
	gg, err := f.MenuGrammar("balance")
	if err != nil || !gg.Digits || gg.MinDigits != 4 || gg.MaxDigits != 4 {
		t.Errorf("MenuGrammar(balance) = %+v, %v", gg, err)
	}
	for _, step := range []string{"tell", "nope"} {
		if _, err := f.MenuGrammar(step); err == nil {
			t.Errorf("MenuGrammar(%s) did not fail", step)
		}
	}
}

func TestSpeechWithoutRecognizerIsKeypadOnly(t *testing.T) {
	f := mustParse(t, speechFlow)
	res, ch, rec := run(t, f, "@main_menu=0", Env{})
	if res.Step != "agent" || len(ch.grammars) != 0 {
		t.Fatalf("ended at %s, listened %d times", res.Step, len(ch.grammars))
	}
	equal(t, "events", rec.only(EventDigit, EventMenu), []string{"digit main key=0", "menu main choice=0 next=agent"})
}

func TestSpeechGatherAndSay(t *testing.T) {
	f := mustParse(t, speechFlow)
	synth := &fakeSynth{}
	res, ch, rec := run(t, f, "~balance:0.9 ~4_2_7_1:0.8", speechEnv(synth))
	if res.Step != "bye" || res.Vars["account"] != "4271" {
		t.Fatalf("result %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	equal(t, "gather events", rec.only(EventGather, EventSay), []string{
		"gather balance input=speech value=4271 var=account",
		"say tell spoken=true text=Your account is 4271",
	})
	equal(t, "synthesized", synth.texts, []string{"Your account is 4271"})
	if ch.audio != 1 {
		t.Errorf("PlayAudio %d times, want 1", ch.audio)
	}
	if g := ch.grammars[1]; !g.Digits || g.MinDigits != 4 || g.MaxDigits != 4 {
		t.Errorf("gather grammar %+v", g)
	}

	// Wrong length is a no-match; typed digits still work after it.
	res, _, rec = run(t, f, "~balance:0.9 ~1_2:0.9 1234", speechEnv(nil))
	if res.Vars["account"] != "1234" {
		t.Fatalf("account = %q\n%s", res.Vars["account"], strings.Join(rec.events, "\n"))
	}
	equal(t, "nomatch", rec.only(EventSpeechNoMatch, EventSay), []string{
		"speech_nomatch balance confidence=0.90 reason=wrong_length text=1 2",
		"say tell spoken=false text=Your account is 1234",
	})
}

func TestSpeechMaskedGatherNeverEchoes(t *testing.T) {
	f := mustParse(t, `
start: pin
steps:
  pin:
    gather: {prompt: pin, digits: 4, min_digits: 4, into: pin, mask: true}
    next: done
  done:
    hangup: true
`)
	synth := &fakeSynth{}
	// Middling confidence at a masked gather is rejected, not read back.
	res, _, rec := run(t, f, "~1_2_3_4:0.5 ~1_2_3_4:0.9", speechEnv(synth))
	if res.Vars["pin"] != "1234" {
		t.Fatalf("pin = %q", res.Vars["pin"])
	}
	for _, e := range rec.events {
		if strings.Contains(e, "1") && !strings.HasPrefix(e, "flow_end") {
			t.Errorf("event leaks the PIN: %s", e)
		}
	}
	if len(synth.texts) != 0 {
		t.Errorf("synthesized %q at a masked gather", synth.texts)
	}
}

func TestSaySynthesizerFailureGoesOn(t *testing.T) {
	f := mustParse(t, `
start: s
steps:
  s:
    say: {text: "Hello ${caller}", interruptible: true}
    next: done
  done:
    hangup: true
`)
	synth := &fakeSynth{err: errors.New("espeak-ng: not found")}
	res, _, rec := run(t, f, "", Env{Synthesizer: synth, Vars: map[string]string{"caller": "+1555"}})
	if res.Step != "done" {
		t.Fatalf("result %+v", res)
	}
	equal(t, "say", rec.only(EventSay), []string{"say s error=espeak-ng: not found spoken=false text=Hello +1555"})
}

func TestSpeechParse(t *testing.T) {
	f := mustParse(t, speechFlow)
	m := f.Steps["main"].Menu
	if m.Speech.ConfirmBelow != 0.6 || m.Speech.RejectBelow != 0.3 || m.Options["lost_card"] != "lost" {
		t.Fatalf("menu %+v", m)
	}
	if g := f.Steps["balance"].Gather; g.Speech.ConfirmBelow != DefaultConfirmBelow || g.Speech.RejectBelow != DefaultRejectBelow || g.Speech.Off {
		t.Fatalf("gather defaults %+v", g.Speech)
	}
	if f.Steps["tell"].Say.Text != "Your account is ${account}" {
		t.Fatalf("say %+v", f.Steps["tell"].Say)
	}
}

// vocab knows a fixed word list.
type vocab map[string]bool

func (v vocab) Missing(phrase string) []string {
	var out []string
	for _, w := range strings.Fields(strings.ToLower(phrase)) {
		if !v[w] {
			out = append(out, w)
		}
	}
	return out
}

func TestSpeechDiagnostics(t *testing.T) {
	src := `start: m
steps:
  m:
    menu:
      prompt: p
      options:
        "1": {next: done, say: [cards, card]}
        "2": {next: done, say: [card]}
        lost: done
        "lost card": {next: done, say: lost card}
        "3": {next: done, say: [blorfy account]}
        "4": {say: x}
      speech: {confirm_below: 0.2, reject_below: 0.5, halp: x}
  done:
    say: "bad ${var"
    next: end
  end:
    hangup: true
`
	_, diags := ParseFlow("f.yaml", []byte(src), CheckOptions{Vocabulary: vocab{"cards": true, "card": true, "account": true, "lost": true, "x": true}})
	want := []string{
		`f.yaml:8: step m: menu: option "2": say: phrase "card" already chooses option "1" (line 7)`,
		`f.yaml:9: step m: menu: option "lost" is not a phone key (0-9, * or #), so it needs say: phrases to be reachable`,
		`f.yaml:10: step m: menu: option "lost card" is not a phone key (use one of 0-9, * or #, quoted: "*")`,
		`f.yaml:11: step m: menu: option "3": say: phrase "blorfy account": the speech engine does not know "blorfy"; rephrase it`,
		`f.yaml:12: step m: menu: option "4": missing next`,
		`f.yaml:13: step m: menu: speech: unknown key "halp" (did you mean "help"?)`,
		`f.yaml:13: step m: menu: speech: reject_below (0.5) must not be above confirm_below (0.2)`,
		`f.yaml:15: step done: say: unterminated ${ in "bad ${var"`,
	}
	var got []string
	for _, d := range diags {
		if !d.Warning {
			got = append(got, d.String())
		}
	}
	equal(t, "diagnostics", got, want)
}

var _ speech.Recognizer = fakeRecognizer{}

// The shipped demo bank by voice: the same paths as by keys, plus "lost
// card" straight from the main menu. Keys behave as without a recognizer.
func TestDemoBankBySpeech(t *testing.T) {
	f := loadDemo(t, "demo-main.yaml", "demo")
	tests := []struct {
		name, script string
		queue        string
		path         []string
	}{
		{"lost card", "~lost_card:0.9 ~1_2_3_4_5_6_7_8:0.9 ~1_2_3_4:0.9", "cards",
			[]string{"welcome", "check_hours", "main_menu", "lost_card", "lost_card_account", "enter_pin",
				"verify_pin", "pin_checked", "pin_verified", "queue_cards"}},
		{"balance then spoken account", "~balance:0.8 ~1_2_3_4_5_6_7_8:0.9", "accounts",
			[]string{"welcome", "check_hours", "main_menu", "account_number", "account_thanks", "queue_accounts"}},
		{"agent", "~talk_to_an_agent:0.95", "general",
			[]string{"welcome", "check_hours", "main_menu", "queue_general"}},
		{"cards by voice, stolen, digits by keys", "~cards:0.85 ~stolen:0.85 12345678# 1234", "cards",
			[]string{"welcome", "check_hours", "main_menu", "cards_menu", "lost_card", "lost_card_account", "enter_pin",
				"verify_pin", "pin_checked", "pin_verified", "queue_cards"}},
		{"keys as before", "1 9 0", "general",
			[]string{"welcome", "check_hours", "main_menu", "cards_menu", "main_menu", "queue_general"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := speechEnv(&fakeSynth{})
			env.Now = func() time.Time { return utc("2026-03-02T14:15:00Z") }
			env.Vars = map[string]string{"crm": demoCRM(t)}
			res, _, rec := run(t, f, tt.script, env)
			if res.Reason != EndQueue || res.Queue != tt.queue {
				t.Errorf("result %+v, want queue %s\n%s", res, tt.queue, strings.Join(rec.events, "\n"))
			}
			equal(t, "path", rec.path(), tt.path)
		})
	}
}
