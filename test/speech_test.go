package e2e

import (
	"fmt"
	"hotline/internal/testenv"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/store"
)

// needRecognizer waits (up to 5 s) for srv to say its speech recognizer
// is ready. The engine may be missing on a developer machine (no model, no
// cgo): the server then runs keypad only and says so in its log; the test
// is skipped there and fails in CI.
func needRecognizer(t *testing.T, srv *server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(srv.log.String(), "speech recognition ready"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			testenv.Missing(t, "the server has no speech recognizer (pocketsphinx-en-us?):\n%s", srv.logTail(20))
		}
	}
}

// TestSpeech calls the demo bank and talks to its main menu: the caller's
// words are generated with flite (a voice the recognizer was not tuned on)
// and sent as PCMU by the Go caller, barging in on the menu prompt.
func TestSpeech(t *testing.T) {
	t.Parallel()
	testenv.NeedTools(t, "apt-get install flite: the callers' voice", "flite")
	srv := startServer(t, serverOptions{Name: "speech"})
	needRecognizer(t, srv)
	t.Run("LostCard", func(t *testing.T) { t.Parallel(); testSpeechLostCard(t, srv) })
	t.Run("OutOfGrammar", func(t *testing.T) { t.Parallel(); testSpeechOutOfGrammar(t, srv) })
	t.Run("KeyBargeIn", func(t *testing.T) { t.Parallel(); testSpeechKeyBargeIn(t, srv) })
	t.Run("BaresipLostCard", func(t *testing.T) { t.Parallel(); testSpeechBaresip(t, srv) })
}

// 4. A real softphone: baresip's microphone is a WAV that stays silent
// through the welcome prompt and says "lost card" a second into the main
// menu's prompt.
func testSpeechBaresip(t *testing.T, srv *server) {
	user := fmt.Sprintf("+1555820%04d", rand.IntN(10000))
	lead := menuOpens(t) + time.Second
	mic := make([]int16, int(lead.Seconds()*sampleRate))
	mic = append(mic, say(t, "lost card")...)
	mic = append(mic, make([]int16, 20*sampleRate)...)
	b := startBaresipMic(t, user, mic)
	b.command("dial", fmt.Sprintf("sip:%s@127.0.0.1:%d", demoNumber, srv.SIPPort))
	b.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	// The words end about lead + 2 s; the decision and the lost-card
	// step follow within a few seconds.
	time.Sleep(lead + 7*time.Second)
	b.command("hangup", "")
	b.waitEvent("CALL_CLOSED", 10*time.Second)
	b.command("quit", "")
	c := srv.callByCaller(t, user, 10*time.Second)
	srv.report(t, c.SIPCallID)
	ev := srv.settledEvents(t, c)
	if got := menuChoices(ev); len(got) == 0 || got[0] != "main_menu:lost_card->lost_card" {
		t.Errorf("baresip said \"lost card\": menu choices = %v, want main_menu:lost_card->lost_card", got)
	}
	for _, e := range eventsOf(ev, "speech") {
		t.Logf("baresip: recognized %q (choice %q, confidence %s)", e.Data["text"], e.Data["choice"], e.Data["confidence"])
	}
}

// say renders text with flite's slt voice as 8 kHz PCM, with 300 ms of
// silence before (onset detection) and a second after (end of speech).
func say(t testing.TB, text string) []int16 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "say.wav")
	if out, err := exec.Command("flite", "-voice", "slt", "-t", text, "-o", path).CombinedOutput(); err != nil {
		t.Fatalf("flite %q: %v\n%s", text, err, out)
	}
	s, rate, err := readWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	s = resampleTo8k(s, rate)
	out := make([]int16, 0, len(s)+sampleRate*13/10)
	out = append(out, make([]int16, sampleRate*3/10)...)
	out = append(out, s...)
	return append(out, make([]int16, sampleRate)...)
}

// speechCall answers a call to the demo bank's main menu with the Go
// caller, audio flowing both ways, and waits for the menu prompt.
func speechCall(t *testing.T, srv *server) *sipUA {
	t.Helper()
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	res := ua.Invite(demoNumber, ua.offer(true, "sendrecv"))
	if res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(menuOpens(t) + time.Second) // a second into the menu prompt
	return ua
}

// waitEvent polls the live timeline until match finds an event.
func waitEvent(t *testing.T, srv *server, ua *sipUA, timeout time.Duration, match func(store.Event) bool) (*store.Event, []store.Event) {
	t.Helper()
	c := srv.findCall(t, ua.CallID, false, 5*time.Second)
	deadline := time.Now().Add(timeout)
	for {
		ev := srv.events(t, c)
		for i := range ev {
			if match(ev[i]) {
				return &ev[i], ev
			}
		}
		if time.Now().After(deadline) {
			return nil, ev
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isKind(kinds ...string) func(store.Event) bool {
	return func(e store.Event) bool { return slices.Contains(kinds, e.Kind) }
}

// answerConfirmation says yes (or no) when the menu asks "Did you say
// ...?", which it does for middling confidence; it reports whether it was
// asked.
func answerConfirmation(t *testing.T, ua *sipUA, decided *store.Event, yes bool) bool {
	if decided == nil || decided.Kind != "speech_confirm" {
		return false
	}
	word := "no"
	if yes {
		word = "yes"
	}
	ua.RTP.Play(say(t, word))
	return true
}

func hangUp(t *testing.T, srv *server, ua *sipUA) []store.Event {
	t.Helper()
	if code := ua.Bye(demoNumber); code != 200 {
		t.Errorf("BYE: %d, want 200", code)
	}
	c := srv.findCall(t, ua.CallID, true, 10*time.Second)
	return srv.settledEvents(t, c)
}

// 1. "lost card" at the main menu goes straight to the lost-card step.
func testSpeechLostCard(t *testing.T, srv *server) {
	ua := speechCall(t, srv)
	ua.RTP.Play(say(t, "lost card"))
	decided, _ := waitEvent(t, srv, ua, 10*time.Second, isKind("menu", "speech_nomatch", "speech_confirm"))
	if answerConfirmation(t, ua, decided, true) {
		t.Logf("the recognizer was unsure; the caller confirmed")
		decided, _ = waitEvent(t, srv, ua, 15*time.Second, isKind("menu", "speech_nomatch"))
	}
	if decided == nil || decided.Kind != "menu" {
		t.Errorf("no menu choice after the caller said \"lost card\" (decision: %v)", decided)
	} else {
		// The lost-card prompt plays; stay for it to be entered.
		waitEvent(t, srv, ua, 5*time.Second, func(e store.Event) bool { return e.Kind == "step" && e.Step == "lost_card" })
	}
	ev := hangUp(t, srv, ua)
	if got := menuChoices(ev); len(got) == 0 || got[0] != "main_menu:lost_card->lost_card" {
		t.Errorf("menu choices = %v, want main_menu:lost_card->lost_card first", got)
	}
	checkSubsequence(t, "IVR steps", stepPath(ev), []string{"welcome", "main_menu", "lost_card"})
	sp := eventsOf(ev, "speech")
	if len(sp) == 0 {
		t.Fatalf("no speech event")
	}
	first := sp[0]
	t.Logf("recognized %q (choice %q, confidence %s, barge-in %s)", first.Data["text"], first.Data["choice"], first.Data["confidence"], first.Data["barge_in"])
	if first.Step != "main_menu" || first.Data["choice"] != "lost_card" || first.Data["confidence"] == "" {
		t.Errorf("speech event %+v, want main_menu's lost_card with a confidence", first.Data)
	}
	if first.Data["barge_in"] != "true" {
		t.Errorf("speech during the menu prompt did not barge in: %v", first.Data)
	}
	if m := eventsOf(ev, "menu"); len(m) > 0 && m[0].Data["input"] != "speech" {
		t.Errorf("menu event %v, want input=speech", m[0].Data)
	}
}

// 2. Speech outside the menu's grammar is not a choice: the caller hears
// the reprompt (speech_nomatch), and never a wrong branch.
func testSpeechOutOfGrammar(t *testing.T, srv *server) {
	ua := speechCall(t, srv)
	ua.RTP.Play(say(t, "the weather is nice today"))
	decided, _ := waitEvent(t, srv, ua, 10*time.Second, isKind("menu", "speech_nomatch", "speech_confirm"))
	if answerConfirmation(t, ua, decided, false) {
		t.Logf("the recognizer asked for confirmation; the caller said no")
		decided, _ = waitEvent(t, srv, ua, 15*time.Second, isKind("menu", "speech_nomatch"))
	}
	if decided == nil || decided.Kind != "speech_nomatch" {
		t.Errorf("decision %v, want speech_nomatch", decided)
	}
	// The reprompt: the invalid prompt, then the menu again.
	waitEvent(t, srv, ua, 8*time.Second, func(e store.Event) bool { return e.Kind == "prompt" && e.Data["prompt"] == "invalid" })
	ev := hangUp(t, srv, ua)
	if got := menuChoices(ev); len(got) > 0 {
		t.Errorf("menu choices = %v after out-of-grammar speech, want none", got)
	}
	nm := eventsOf(ev, "speech_nomatch")
	if len(nm) == 0 {
		t.Fatal("no speech_nomatch event")
	}
	t.Logf("rejected %q: %s (confidence %s)", nm[0].Data["text"], nm[0].Data["reason"], nm[0].Data["confidence"])
	var prompts []string
	for _, e := range eventsOf(ev, "prompt") {
		prompts = append(prompts, e.Data["prompt"])
	}
	checkSubsequence(t, "prompts", prompts, []string{"welcome", "main_menu", "invalid"})
}

// 3. A key during the menu prompt stops it and chooses, with the
// recognizer listening: keys keep working exactly as before.
func testSpeechKeyBargeIn(t *testing.T, srv *server) {
	ua := speechCall(t, srv)
	ua.RTP.SendDigit('0')
	chosen, _ := waitEvent(t, srv, ua, 5*time.Second, isKind("menu"))
	if chosen == nil {
		t.Fatal("the key did not choose within 5s")
	}
	ev := hangUp(t, srv, ua)
	if got := menuChoices(ev); !slices.Equal(got, []string{"main_menu:0->queue_general"}) {
		t.Errorf("menu choices = %v, want [main_menu:0->queue_general]", got)
	}
	var menuPrompt *store.Event
	for i, e := range ev {
		if e.Kind == "prompt" && e.Data["prompt"] == "main_menu" {
			menuPrompt = &ev[i]
		}
	}
	if menuPrompt == nil {
		t.Fatal("no main_menu prompt event")
	}
	// Chosen about a second into a prompt of several: it was cut short.
	if d := chosen.At.Sub(menuPrompt.At); d > promptDur(t, "main_menu")-time.Second {
		t.Errorf("choice %v after the prompt began: the key did not barge in", d)
	}
	if hasKind(ev, "speech") {
		t.Errorf("a speech event without speech: %v", eventsOf(ev, "speech"))
	}
}
