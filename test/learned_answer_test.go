package e2e

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/internal/testenv"
	"hotline/store"
)

// TestLearnedAnswer is the learned answer, end to end:
//
//	(a) a first caller presses 3 at the demo bank's main menu and asks
//	    "check my account balance" at the ask step (flite speech, transcribed by
//	    the server's speech worker); the intent has no answer yet, so the
//	    call goes to the general queue, where alice answers it through a
//	    WebRTC peer whose microphone plays recorded speech. The caller asks
//	    again; alice replies; live assist proposes her reply as the
//	    balance intent's answer;
//	(b) sam approves the reply on the /answers page in headless Chromium;
//	(c) a second caller asks the same question at the ask step and hears
//	    the approved clip: the clip is found in the caller's received audio
//	    by cross-correlation, and ask_outcomes says answered with audio.
func TestLearnedAnswer(t *testing.T) {
	testenv.NeedTools(t, "apt-get install flite: the callers' and agent's voices", "flite")
	srv, b := startBrowserServer(t, serverOptions{Name: "learned-answer", Transcripts: true})
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(srv.log.String(), "live transcripts on"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			testenv.Missing(t, "the server has no live transcripts (speech workers):\n%s", srv.logTail(20))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Words the dictation engine hears reliably in flite's voice (it
	// misses about 40 % of words on phone audio: "what is my balance"
	// comes out as "by midnight talent").
	question := say(t, "check my account balance")
	reply := say(t, "your account balance is one hundred and twenty dollars")

	// (a) The first call reaches alice with the question on its timeline.
	alice := demoDesk(t, srv, "alice", true)
	ua1, ask1 := askCall(t, srv, question)
	if ask1.Data["outcome"] != "queued" || ask1.Data["reason"] != "no_answer" || ask1.Data["intent"] != "balance" {
		t.Fatalf("first call's ask: %v, want balance queued for want of an answer", ask1.Data)
	}
	offer := alice.expect("offer", 30*time.Second, nil)
	callID, _ := offer["call"].(string)
	// Alice sees the caller's question beside the softphone.
	cc := alice.expect("caller_context", 10*time.Second, func(m map[string]any) bool { return m["call"] == callID })
	// As the IVR heard it: the recognizer may miss a word on a busy machine.
	if !askedInContext(cc, ask1.Data["question"]) {
		t.Errorf("the caller context lacks the question: %v", cc)
	}
	alice.send(map[string]any{"type": "answer", "call": callID})
	wo := alice.expect("webrtc_offer", 10*time.Second, nil)
	mic := newFakeBrowserMic(t)
	alice.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": mic.answer(t, wo["sdp"].(string))})
	alice.expect("connected", 10*time.Second, nil)
	id1 := uuid.MustParse(callID)

	time.Sleep(time.Second)
	ua1.RTP.Play(question)
	waitTranscript(t, ctx, srv, id1, store.SideCaller, "balance", 30*time.Second)
	mic.play(reply)
	waitTranscript(t, ctx, srv, id1, store.SideAgent, "", 30*time.Second)
	time.Sleep(time.Second)
	ua1.Bye(demoNumber)
	srv.findCall(t, ua1.CallID, true, 10*time.Second)

	var proposal store.AnswerProposal
	for deadline := time.Now().Add(30 * time.Second); proposal.ID == uuid.Nil; time.Sleep(250 * time.Millisecond) {
		list, err := srv.DB.ListProposals(ctx, "demo", store.ProposalOpen, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list {
			if p.Intent == "balance" && p.CallID == id1 {
				proposal = p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no balance proposal from call %s; proposals %+v\n%s", id1, list, srv.logTail(30))
		}
	}
	t.Logf("proposal: %q -> %q (%d-%d ms)", proposal.Question, proposal.Answer, proposal.StartMS, proposal.EndMS)

	// (b) Sam approves it on the page.
	events := runPageScript(t, 2*time.Minute, "learned.test.mjs", "the approval on /answers", b.vars(map[string]string{
		"SUPER_TENANT": "demo", "SUPER_USER": "sam", "SUPER_PASSWORD": "sam-demo", "INTENT": "balance",
	}))
	var approved struct {
		Answers []struct{ Intent, Kind string }
	}
	decodeEvent(t, events, "approved", &approved)
	kind, _, wav, ok, err := srv.DB.IntentAnswer(ctx, "demo", "balance")
	if err != nil || !ok || kind != store.AnswerAudio {
		t.Fatalf("balance's answer after the approval: %q %v %v", kind, ok, err)
	}
	clip := wavPCM(t, wav)

	// (c) The next caller asking the same question hears the clip.
	ua2, ask2 := askCall(t, srv, question)
	if ask2.Data["outcome"] != "answered" || ask2.Data["answer"] != "audio" || ask2.Data["intent"] != "balance" {
		t.Fatalf("second call's ask: %v, want balance answered with audio", ask2.Data)
	}
	// The clip has been played when the flow moves on.
	if e, ev := waitEvent(t, srv, ua2, 30*time.Second, func(e store.Event) bool { return e.Kind == "step" && e.Step == "anything_else" }); e == nil {
		t.Fatalf("the flow did not move on after the answer:\n%s", formatEvents(ev))
	}
	got, _ := ua2.RTP.Received()
	lag, corr := findClip(got, clip)
	t.Logf("the clip (%.1f s) is in the caller's audio at %.2f s, correlation %.3f", float64(len(clip))/sampleRate, float64(lag)/sampleRate, corr)
	if corr < 0.9 {
		t.Errorf("the caller did not hear the approved clip: best correlation %.3f at %.2f s", corr, float64(lag)/sampleRate)
	}
	c2 := srv.findCall(t, ua2.CallID, false, 5*time.Second)
	outs, err := srv.DB.AskOutcomes(ctx, "demo", c2.ID)
	if err != nil || len(outs) != 1 || outs[0].Outcome != store.AskAnswered || outs[0].Answer != store.AnswerAudio || outs[0].Intent != "balance" {
		t.Errorf("second call's ask outcomes %+v %v", outs, err)
	}
	ua2.Bye(demoNumber)
	outs, err = srv.DB.AskOutcomes(ctx, "demo", id1)
	if err != nil || len(outs) != 1 || outs[0].Outcome != store.AskQueued || !strings.Contains(outs[0].Question, "balance") {
		t.Errorf("first call's ask outcomes %+v %v", outs, err)
	}

	// The containment report counts the second call as answered by the robot.
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	var rep store.AskReport
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if code := sam.get(t, "/api/v1/reports/ask?from="+from+"&to="+to, &rep); code != 200 {
		t.Fatalf("ask report: %d", code)
	}
	if rep.Calls != 2 || rep.Contained != 1 || len(rep.Intents) != 1 || rep.Intents[0].Answered != 1 || rep.Intents[0].Queued != 1 {
		t.Errorf("ask report %+v", rep)
	}
}

// askedInContext reports whether a caller_context message holds an ask
// choice with the question.
func askedInContext(m map[string]any, question string) bool {
	cc, _ := m["context"].(map[string]any)
	choices, _ := cc["choices"].([]any)
	for _, c := range choices {
		ch, _ := c.(map[string]any)
		if ch["kind"] == "ask" && ch["said"] == question && ch["value"] == "balance" {
			return true
		}
	}
	return false
}

// askCall calls the demo bank, presses 3 at the main menu and asks
// question at the ask step; it returns the caller and the step's final
// ask event.
func askCall(t *testing.T, srv *server, question []int16) (*sipUA, store.Event) {
	t.Helper()
	ua := dialDemo(t, srv, "", nil)
	ua.RTP.SendDigit('3')
	if e, ev := waitEvent(t, srv, ua, 15*time.Second, func(e store.Event) bool { return e.Kind == "step" && e.Step == "ask_question" }); e == nil {
		t.Fatalf("no ask step:\n%s", formatEvents(ev))
	}
	time.Sleep(time.Second) // into the question prompt: the caller barges in
	ua.RTP.Play(question)
	e, ev := waitEvent(t, srv, ua, 30*time.Second, func(e store.Event) bool { return e.Kind == "ask" && e.Data["outcome"] != "retry" })
	if e == nil {
		t.Fatalf("the ask step did not decide:\n%s", formatEvents(ev))
	}
	t.Logf("ask: %v", e.Data)
	return ua, *e
}

// waitTranscript waits for a line of side containing word in the call's
// transcript.
func waitTranscript(t *testing.T, ctx context.Context, srv *server, call uuid.UUID, side, word string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines, err := srv.DB.CallTranscript(ctx, "demo", call)
		if err != nil {
			t.Fatal(err)
		}
		for _, ln := range lines {
			if ln.Side == side && strings.Contains(ln.Text, word) {
				t.Logf("%s said %q (%d-%d ms)", side, ln.Text, ln.StartMS, ln.EndMS)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s line with %q in the transcript of %s: %+v\n%s", side, word, call, lines, srv.logTail(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wavPCM reads a 16-bit mono WAV's samples (the answers' format).
func wavPCM(t *testing.T, wav []byte) []int16 {
	t.Helper()
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || binary.LittleEndian.Uint16(wav[22:]) != 1 || binary.LittleEndian.Uint16(wav[34:]) != 16 {
		t.Fatalf("not a 16-bit mono WAV (%d bytes)", len(wav))
	}
	for off := 12; off+8 <= len(wav); {
		size := int(binary.LittleEndian.Uint32(wav[off+4:]))
		if string(wav[off:off+4]) == "data" {
			body := wav[off+8 : min(len(wav), off+8+size)]
			pcm := make([]int16, len(body)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return pcm
		}
		off += 8 + size + size&1
	}
	t.Fatal("WAV without data")
	return nil
}

// findClip finds clip in x: the offset and normalised correlation of the
// best match. A coarse search on 10 ms energy envelopes picks the
// region, then samples are correlated around it.
func findClip(x, clip []int16) (int, float64) {
	const frame = 80
	env := func(s []int16) []float64 {
		out := make([]float64, len(s)/frame)
		for i := range out {
			var e float64
			for _, v := range s[i*frame : (i+1)*frame] {
				e += float64(v) * float64(v)
			}
			out[i] = math.Sqrt(e / frame)
		}
		return out
	}
	ex, ec := env(x), env(clip)
	if len(ec) == 0 || len(ex) < len(ec) {
		return 0, 0
	}
	best, bestF := -1.0, 0
	for f := 0; f+len(ec) <= len(ex); f++ {
		if c := clipNCC(ex[f:f+len(ec)], ec); c > best {
			best, bestF = c, f
		}
	}
	fx := make([]float64, len(clip))
	for i, v := range clip {
		fx[i] = float64(v)
	}
	bestLag, bestC := 0, -1.0
	for lag := max(0, bestF*frame-2*frame); lag <= bestF*frame+2*frame && lag+len(clip) <= len(x); lag++ {
		w := make([]float64, len(clip))
		for i := range w {
			w[i] = float64(x[lag+i])
		}
		if c := clipNCC(w, fx); c > bestC {
			bestC, bestLag = c, lag
		}
	}
	return bestLag, bestC
}

// clipNCC is the normalised cross-correlation of two equal-length signals
// (not mean-removed: audio has none to speak of).
func clipNCC(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
