package e2e

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/recordings"
	"hotline/store"
)

// TestLearnedAnswersPage is the learned-answers page in headless Chromium
// (test/browser/answers.test.mjs): a demo call recorded by the recordings
// package into the server's recordings directory, whose agent side is
// silence, then a 1 kHz tone from 1 s to 3 s, then silence, and a
// proposal of that reply (800-3200 ms; the question holds markup). Sam
// signs in on /answers, opens the proposal, trims it to 1.0-3.0 s, hears
// the trimmed preview (the player's duration), approves it with the
// keyboard and sets a text answer for another intent. The stored answer
// must be the trimmed tone, faded at its ends, and the markup never runs.
func TestLearnedAnswersPage(t *testing.T) {
	recDir := t.TempDir()
	srv, b := startBrowserServer(t, serverOptions{Name: "answers-page", Edit: func(t testing.TB, cfg map[string]any) {
		rec, _ := cfg["recordings"].(map[string]any)
		if rec == nil {
			rec = map[string]any{"enabled": true}
			cfg["recordings"] = rec
		}
		rec["dir"] = recDir
	}})
	checkPageCSP(t, b.base, "/answers")

	// The call, recorded as the server records one (the demo tenant's
	// recordings are plain; the server's manager reads the same tree).
	m, err := recordings.New(recordings.Config{Dir: recDir, Store: srv.DB, RingFrames: 256}) // holds the whole call
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	call := uuid.New()
	rec, err := m.Start(recordings.Meta{TenantID: "demo", CallID: call.String(), AgentID: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	left, right := make([]int16, recordings.FrameSamples), make([]int16, recordings.FrameSamples)
	for f := range 200 { // 4 s
		for i := range right {
			n := f*recordings.FrameSamples + i
			right[i] = 0
			if n >= recordings.SampleRate && n < 3*recordings.SampleRate {
				right[i] = int16(9000 * math.Sin(2*math.Pi*1000*float64(n)/recordings.SampleRate))
			}
			left[i] = int16(3000 * math.Sin(2*math.Pi*440*float64(n)/recordings.SampleRate))
		}
		rec.WriteFrame(left, right)
		if f%20 == 19 {
			time.Sleep(5 * time.Millisecond) // let the writer drain the ring
		}
	}
	if _, err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const markup = `<img src=x onerror="window.pwned=1">`
	if _, err := srv.DB.ProposeAnswer(ctx, store.AnswerProposal{TenantID: "demo", Intent: "opening-hours", CallID: call, AgentID: "agent",
		Question: "when are you open " + markup, Answer: "we are open nine to five", StartMS: 800, EndMS: 3200}); err != nil {
		t.Fatal(err)
	}

	events := runPageScript(t, 90*time.Second, "answers.test.mjs", "the learned-answers page", b.vars(map[string]string{
		"SUPER_TENANT": "demo", "SUPER_USER": "sam", "SUPER_PASSWORD": "sam-demo",
	}))
	var review struct {
		Question string  `json:"question"`
		Duration float64 `json:"preview_duration"`
		Pwned    any     `json:"pwned"`
		Images   int     `json:"images"`
	}
	decodeEvent(t, events, "review", &review)
	if review.Question != "when are you open "+markup || review.Pwned != nil || review.Images != 0 {
		t.Errorf("the question's markup: shown %q, pwned %v, %d images", review.Question, review.Pwned, review.Images)
	}
	if math.Abs(review.Duration-2.0) > 0.05 {
		t.Errorf("the trimmed preview lasts %.3f s, want 2.0", review.Duration)
	}
	var approved struct {
		Approved int `json:"approved"`
		Answers  []struct {
			Intent, Kind, Text string
		} `json:"answers"`
	}
	decodeEvent(t, events, "approved", &approved)
	if approved.Approved != 1 || len(approved.Answers) != 2 {
		t.Fatalf("after approval: %+v", approved)
	}

	kind, text, wav, ok, err := srv.DB.IntentAnswer(ctx, "demo", "opening-hours")
	if err != nil || !ok || kind != store.AnswerAudio || text != "we are open nine to five" {
		t.Fatalf("the stored answer: %q %q %v %v", kind, text, ok, err)
	}
	if len(wav) != 44+2*2*recordings.SampleRate || binary.LittleEndian.Uint16(wav[22:]) != 1 {
		t.Fatalf("the stored answer is %d bytes, want a 2 s mono WAV", len(wav))
	}
	pcm := make([]float64, (len(wav)-44)/2)
	var peak float64
	for i := range pcm {
		pcm[i] = float64(int16(binary.LittleEndian.Uint16(wav[44+2*i:])))
		peak = math.Max(peak, math.Abs(pcm[i]))
	}
	if pcm[0] != 0 || pcm[len(pcm)-1] != 0 || peak < 8500 {
		t.Errorf("the answer's ends %v %v, peak %v: want faded ends around the agent's tone", pcm[0], pcm[len(pcm)-1], peak)
	}
	if p1k, p440 := power(pcm, 1000), power(pcm, 440); p1k < 1000*p440 {
		t.Errorf("the answer holds the caller's side: 1 kHz %.3g, 440 Hz %.3g", p1k, p440)
	}
	kind, text, _, ok, _ = srv.DB.IntentAnswer(ctx, "demo", "balance")
	if !ok || kind != store.AnswerText || text != "Your balance is ${crm.balance}." {
		t.Errorf("the text answer: %q %q %v", kind, text, ok)
	}
}

// power is x's power at freq (Goertzel), normalised by length.
func power(x []float64, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/recordings.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+k*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(x)*len(x))
}
