package e2e

import (
	"strings"
	"testing"
	"time"

	"hotline/internal/testenv"
	"hotline/store"
)

// TestCallbackSpeech: a caller (the Go SIP/RTP caller) waiting in the
// general queue says "call me back" (flite) over the hold music instead of
// pressing the key; Hotline stops the music, speaks the confirmation, the
// caller presses 1 and Hotline hangs up. The callback is recorded for the
// caller's number and their queue stint ends 'callback'.
func TestCallbackSpeech(t *testing.T) {
	testenv.NeedTools(t, "apt-get install flite: the caller's voice", "flite")
	// The outbound trunk only has to exist: nobody is called back here.
	srv := callbackServer(t, "callback-speech", allocPorts(t, 1, false), time.Minute)
	needRecognizer(t, srv)
	// An agent on break keeps the queue open without answering.
	demoDesk(t, srv, "alice", false)

	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start() // silence: a caller listening to the menu, then the music
	time.Sleep(menuOpens(t))
	ua.RTP.SendDigit('0')
	c := srv.findCall(t, ua.CallID, false, 10*time.Second)
	waitKind(t, srv, c, "queue", 10*time.Second)
	time.Sleep(2 * time.Second) // a while on hold

	ua.RTP.Play(say(t, "call me back"))
	heard := waitKind(t, srv, c, "callback_speech", 15*time.Second)
	t.Logf("heard %q (choice %s, confidence %s)", heard.Data["text"], heard.Data["choice"], heard.Data["confidence"])
	if heard.Data["accepted"] != "true" {
		t.Fatalf("\"call me back\" not accepted: %v", heard.Data)
	}
	ask := waitKind(t, srv, c, "say", 10*time.Second)
	if !strings.HasPrefix(ask.Data["text"], "We will call you back at") {
		t.Fatalf("the dialogue's first prompt %q, want the confirmation", ask.Data["text"])
	}
	// The caller hears it: speech, where the music was stopped.
	time.Sleep(3 * time.Second)
	rx, first := ua.RTP.Received()
	from := int(ask.At.Sub(first).Seconds()*sampleRate) + sampleRate/2
	if from < 0 || from+2*sampleRate > len(rx) {
		t.Fatalf("received audio %d samples, want 2.5 s after the prompt began (sample %d)", len(rx), from)
	}
	if level := rms(rx[from : from+2*sampleRate]); level < 200 {
		t.Errorf("the confirmation prompt is silent (rms %.0f)", level)
	}
	ua.RTP.SendDigit('1')
	if _, ok := ua.WaitBye(30 * time.Second); !ok {
		t.Fatal("Hotline did not hang up after the confirmation")
	}

	cb := waitCallback(t, srv, store.CallbackWaiting, 10*time.Second)
	if cb.Number != ua.From || cb.Queue != "general" || cb.CallID != c.ID {
		t.Errorf("callback %+v: want one for %s in general from call %s", cb, ua.From, c.ID)
	}
	if got := queueEntryOutcomes(t, srv, c.ID); len(got) != 1 || got[0] != store.OutcomeCallback {
		t.Errorf("queue entries %v, want [callback]", got)
	}
	ev := srv.settledEvents(t, srv.findCall(t, ua.CallID, true, 10*time.Second))
	if len(eventsOf(ev, "callback_requested")) != 1 || len(eventsOf(ev, "callback_key")) != 0 {
		t.Errorf("timeline: want callback_requested by speech, no key:\n%s", formatEvents(ev))
	}
}
