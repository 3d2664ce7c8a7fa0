package main

import (
	"bytes"
	"context"
	"hotline/internal/testenv"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/media"
	"hotline/speech"
)

// speechFlow has a spoken menu, a gather and a play step.
const speechFlow = `start: menu
steps:
  menu:
    menu:
      prompt: main_menu
      options:
        "1": {next: cards, say: [cards, card]}
        lost_card: {next: cards, say: [lost card, stolen card, i lost my card]}
        "0": {next: bye, say: [agent, talk to an agent, operator]}
      speech: {confirm_below: 0.7, reject_below: 0.4}
  cards:
    gather:
      prompt: account_number
      digits: 8
      min_digits: 3
      into: account
    next: bye
  bye:
    play: goodbye
    next: hangup
  hangup:
    hangup: {cause: normal}
`

// scriptedRecognizer answers every stream with a fixed Final once it has
// been fed at least minMs of audio, and records the grammar it was given.
type scriptedRecognizer struct {
	ev      speech.Event
	minMs   int
	grammar *speech.Grammar
}

func (r scriptedRecognizer) Start(ctx context.Context, g speech.Grammar) (speech.Stream, error) {
	if r.grammar != nil {
		*r.grammar = g
	}
	return &scriptedStream{r: r, ch: make(chan speech.Event, 1)}, nil
}

type scriptedStream struct {
	r    scriptedRecognizer
	ch   chan speech.Event
	fed  int
	done bool
}

func (s *scriptedStream) Write(pcm []int16) error {
	s.fed += len(pcm)
	if !s.done && s.fed >= s.r.minMs*8 {
		s.done = true
		ev := s.r.ev
		ev.Type = speech.Final
		s.ch <- ev
		close(s.ch)
	}
	return nil
}

func (s *scriptedStream) Events() <-chan speech.Event { return s.ch }

func (s *scriptedStream) Close() error {
	if !s.done {
		s.done = true
		s.ch <- speech.Event{Type: speech.Final, NoSpeech: true}
		close(s.ch)
	}
	return nil
}

type fixedSynth struct{ pcm []int16 }

func (f fixedSynth) Synthesize(ctx context.Context, text string) ([]int16, error) { return f.pcm, nil }

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func toneWAV(rate int, dur time.Duration) []byte {
	n := int(dur.Seconds() * float64(rate))
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return media.EncodeWAV(pcm, rate)
}

func TestSpeechRecognizeCLI(t *testing.T) {
	dir := t.TempDir()
	flow := writeFile(t, dir, "flow.yaml", []byte(speechFlow))
	wav8 := writeFile(t, dir, "a.wav", toneWAV(8000, time.Second))
	wav16 := writeFile(t, dir, "b.wav", toneWAV(16000, time.Second))
	var got speech.Grammar
	eng := speechEngines{recognizer: func() (speech.Recognizer, error) {
		return scriptedRecognizer{ev: speech.Event{Text: "lost card", Choice: "lost_card", Confidence: 0.55}, minMs: 1200, grammar: &got}, nil
	}}
	var out, errb bytes.Buffer
	err := runSpeech(context.Background(), []string{"recognize", "--flow", flow, "--step", "menu", wav8, wav16}, &out, &errb, eng)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	want := wav8 + `: choice=lost_card confidence=0.55 text="lost card" decision="confirm"` + "\n" +
		wav16 + `: choice=lost_card confidence=0.55 text="lost card" decision="confirm" (resampled from 16000 Hz)` + "\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if len(got.Choices) != 3 || got.Choices[1].Name != "lost_card" {
		t.Errorf("grammar given to the recognizer: %+v", got)
	}

	// A gather step recognizes digits; flags may follow the files.
	eng.recognizer = func() (speech.Recognizer, error) {
		return scriptedRecognizer{ev: speech.Event{Text: "four two seven", Digits: "427", Confidence: 0.9}}, nil
	}
	out.Reset()
	if err := runSpeech(context.Background(), []string{"recognize", wav8, "--flow", flow, "--step", "cards"}, &out, &errb, eng); err != nil {
		t.Fatal(err)
	}
	if want := wav8 + `: digits=427 confidence=0.90 text="four two seven" decision="accept"` + "\n"; out.String() != want {
		t.Errorf("gather output %q, want %q", out.String(), want)
	}
}

func TestSpeechRecognizeCLIErrors(t *testing.T) {
	dir := t.TempDir()
	flow := writeFile(t, dir, "flow.yaml", []byte(speechFlow))
	bad := writeFile(t, dir, "flow-bad.yaml", []byte("start: nowhere\nsteps: {}\n"))
	wav := writeFile(t, dir, "a.wav", toneWAV(8000, time.Second))
	junk := writeFile(t, dir, "junk.wav", []byte("not a wav file at all"))
	started := false
	eng := speechEngines{recognizer: func() (speech.Recognizer, error) {
		started = true
		return scriptedRecognizer{}, nil
	}}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"recognize", "--flow", flow, "--step", "nosuch", wav}, `no step "nosuch"`},
		{[]string{"recognize", "--flow", flow, "--step", "bye", wav}, "not a menu or gather"},
		{[]string{"recognize", "--flow", flow, "--step", "menu", filepath.Join(dir, "missing.wav")}, "no such file"},
		{[]string{"recognize", "--flow", flow, "--step", "menu", junk}, "invalid WAV"},
		{[]string{"recognize", "--flow", bad, "--step", "menu", wav}, "has errors"},
		{[]string{"recognize", "--flow", flow, "--step", "menu"}, "flag: help requested"},
		{[]string{"nosuch"}, "flag: help requested"},
	} {
		var out, errb bytes.Buffer
		err := runSpeech(context.Background(), tc.args, &out, &errb, eng)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
	if started {
		t.Error("the recognizer was started although every command had a bad argument")
	}
}

func TestSpeechSayCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hello.wav")
	pcm := make([]int16, 4000)
	for i := range pcm {
		pcm[i] = int16(i)
	}
	eng := speechEngines{synthesizer: func(string, int) (speech.Synthesizer, error) { return fixedSynth{pcm}, nil }}
	var stdout, stderr bytes.Buffer
	if err := runSpeech(context.Background(), []string{"say", "hello", "there", "-o", out}, &stdout, &stderr, eng); err != nil {
		t.Fatal(err)
	}
	p, err := media.LoadWAV(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Samples() != len(pcm) || wavRate(out) != speech.SampleRate {
		t.Errorf("wrote %d samples at %d Hz, want %d at 8000", p.Samples(), wavRate(out), len(pcm))
	}
	if !strings.Contains(stdout.String(), "0.50 s at 8000 Hz") {
		t.Errorf("stdout %q", stdout.String())
	}
}

// fliteWAV renders text with flite at its native rate (16 kHz for slt),
// which also exercises the resampling path.
func fliteWAV(t *testing.T, dir, voice, text string) string {
	t.Helper()
	testenv.NeedTools(t, "apt-get install flite", "flite")
	out := filepath.Join(dir, voice+"-"+strings.ReplaceAll(text, " ", "_")+".wav")
	if b, err := exec.Command("flite", "-voice", voice, "-t", text, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v: %s", err, b)
	}
	return out
}

// TestSpeechCLIEngines runs both subcommands with the embedded engines on
// real speech: flite renders callers' answers (slt at 16 kHz exercises the
// resampling, kal is 8 kHz), espeak-ng renders a prompt.
func TestSpeechCLIEngines(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the PocketSphinx model")
	}
	dir := t.TempDir()
	flow := writeFile(t, dir, "flow.yaml", []byte(speechFlow))
	agent := fliteWAV(t, dir, "slt", "talk to an agent")
	lost := fliteWAV(t, dir, "kal", "i lost my card")
	digits := fliteWAV(t, dir, "slt", "one two three four")
	rec, err := defaultSpeechEngines.recognizer()
	if err != nil {
		testenv.Missing(t, "no recognizer: %v", err)
	}
	if c, ok := rec.(io.Closer); ok {
		c.Close()
	}
	var out, errb bytes.Buffer
	if err := runSpeech(context.Background(), []string{"recognize", "--flow", flow, "--step", "menu", agent, lost}, &out, &errb, defaultSpeechEngines); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], agent+": choice=0 ") || !strings.Contains(lines[0], "(resampled from 16000 Hz)") ||
		!strings.HasPrefix(lines[1], lost+": choice=lost_card ") {
		t.Errorf("menu output:\n%s", out.String())
	}
	out.Reset()
	if err := runSpeech(context.Background(), []string{"recognize", "--flow", flow, "--step", "cards", digits}, &out, &errb, defaultSpeechEngines); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.HasPrefix(out.String(), digits+": digits=1234 ") {
		t.Errorf("gather output: %s", out.String())
	}

	testenv.NeedTools(t, "apt-get install espeak-ng", "espeak-ng")
	prompt := filepath.Join(dir, "prompt.wav")
	out.Reset()
	if err := runSpeech(context.Background(), []string{"say", "Welcome to Demo Bank.", "-o", prompt}, &out, &errb, defaultSpeechEngines); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	p, err := media.LoadWAV(prompt)
	if err != nil {
		t.Fatal(err)
	}
	if wavRate(prompt) != speech.SampleRate || p.Duration() < 500*time.Millisecond || p.Duration() > 5*time.Second {
		t.Errorf("say wrote %v at %d Hz", p.Duration(), wavRate(prompt))
	}
}
