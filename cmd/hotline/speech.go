package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hotline/ivr"
	"hotline/media"
	"hotline/speech"
	"hotline/speech/espeak"
	"hotline/speech/pocketsphinx"
)

// speechEngines makes the engines the speech subcommands use. They are
// values so tests can substitute engines, and so a missing engine fails only
// the subcommand that needs it.
type speechEngines struct {
	recognizer func() (speech.Recognizer, error)
	// synthesizer takes a voice and a speed ("" and 0: the engine's
	// defaults).
	synthesizer func(voice string, speed int) (speech.Synthesizer, error)
}

// defaultSpeechEngines are the embedded engines with their defaults, as
// `hotline serve` runs them.
var defaultSpeechEngines = speechEngines{
	recognizer: func() (speech.Recognizer, error) {
		return pocketsphinx.New(pocketsphinx.Config{})
	},
	synthesizer: func(voice string, speed int) (speech.Synthesizer, error) {
		return espeak.New(espeak.Config{Voice: voice, Speed: speed})
	},
}

const speechUsage = `usage:
  hotline speech recognize --flow FILE --step NAME WAV...
  hotline speech say [-o OUT.wav] [-voice V] [-speed WPM] TEXT...
  hotline speech serve --listen ADDR|fd:N [--pool N] [--lm FILE] [--model DIR] [--dict FILE]
`

func speechCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSpeech(ctx, args, stdout, stderr, defaultSpeechEngines)
}

func runSpeech(ctx context.Context, args []string, stdout, stderr io.Writer, eng speechEngines) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, speechUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "recognize":
		return recognizeCmd(ctx, args[1:], stdout, stderr, eng)
	case "say":
		return sayCmd(ctx, args[1:], stdout, stderr, eng)
	case "serve":
		return speechServeCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, speechUsage)
		return nil
	}
	fmt.Fprintf(stderr, "hotline speech: unknown command %q\n%s", args[0], speechUsage)
	return flag.ErrHelp
}

// parseInterspersed parses flags anywhere among the arguments ("say TEXT
// -o out.wav" reads naturally) and returns the positional ones. "--" ends
// flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at the first non-flag; after a literal "--" it has
		// consumed the "--" and everything left is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func recognizeCmd(ctx context.Context, args []string, stdout, stderr io.Writer, eng speechEngines) error {
	fs := flag.NewFlagSet("speech recognize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flowPath := fs.String("flow", "", "flow file (YAML)")
	stepName := fs.String("step", "", "menu or gather step whose grammar is used")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *flowPath == "" || *stepName == "" || len(files) == 0 {
		fmt.Fprint(stderr, "usage: hotline speech recognize --flow FILE --step NAME WAV...\n")
		return flag.ErrHelp
	}
	data, err := os.ReadFile(*flowPath)
	if err != nil {
		return fmt.Errorf("speech recognize: %w", err)
	}
	flow, diags := ivr.ParseFlow(*flowPath, data, ivr.CheckOptions{})
	if flow == nil {
		for _, d := range diags {
			fmt.Fprintln(stderr, d)
		}
		return fmt.Errorf("speech recognize: %s has errors (see hotline flow check %s)", *flowPath, *flowPath)
	}
	g, err := flow.MenuGrammar(*stepName)
	if err != nil {
		return fmt.Errorf("speech recognize: %w", err)
	}
	so := stepSpeechOptions(flow.Steps[*stepName])

	// Every file is read before the engine starts: loading the model takes
	// a while, and a typo in the last file name should not wait for it.
	type input struct {
		path string
		pcm  []int16
		note string
	}
	var inputs []input
	for _, path := range files {
		pcm, note, err := readSpeechWAV(path)
		if err != nil {
			return fmt.Errorf("speech recognize: %w", err)
		}
		inputs = append(inputs, input{path, pcm, note})
	}
	rec, err := eng.recognizer()
	if err != nil {
		return fmt.Errorf("speech recognize: %w", err)
	}
	if c, ok := rec.(io.Closer); ok {
		defer c.Close()
	}
	for _, in := range inputs {
		ev, err := recognizePCM(ctx, rec, g, in.pcm)
		if err != nil {
			return fmt.Errorf("speech recognize: %s: %w", in.path, err)
		}
		fmt.Fprintln(stdout, formatRecognition(in.path, g, so, ev, in.note))
	}
	return nil
}

// stepSpeechOptions returns the thresholds the IVR applies at s.
func stepSpeechOptions(s *ivr.Step) ivr.SpeechOptions {
	switch {
	case s == nil:
	case s.Menu != nil:
		return s.Menu.Speech
	case s.Gather != nil:
		return s.Gather.Speech
	}
	return ivr.SpeechOptions{ConfirmBelow: ivr.DefaultConfirmBelow, RejectBelow: ivr.DefaultRejectBelow}
}

// formatRecognition prints one result as the IVR reads it, with the step's
// verdict (accept, confirm, reject) so flow authors see what their
// thresholds do.
func formatRecognition(path string, g speech.Grammar, so ivr.SpeechOptions, ev speech.Event, note string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", path)
	if ev.NoSpeech {
		b.WriteString(" no speech")
	} else {
		answer := ev.Choice
		if len(g.Choices) > 0 {
			fmt.Fprintf(&b, " choice=%s", orNone(ev.Choice))
		}
		if g.Digits {
			fmt.Fprintf(&b, " digits=%s", orNone(ev.Digits))
			if answer == "" {
				answer = ev.Digits
			}
		}
		fmt.Fprintf(&b, " confidence=%.2f text=%q", ev.Confidence, ev.Text)
		verdict := "accept"
		switch {
		case answer == "":
			verdict = "no match"
		case ev.Confidence < so.RejectBelow:
			verdict = "reject"
		case ev.Confidence < so.ConfirmBelow:
			verdict = "confirm"
		}
		fmt.Fprintf(&b, " decision=%q", verdict)
	}
	if note != "" {
		fmt.Fprintf(&b, " (%s)", note)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// readSpeechWAV loads a WAV as 8 kHz mono PCM. Other rates, stereo and
// G.711 files are converted rather than refused (a softphone recording is
// often 16 or 48 kHz); the note says so.
func readSpeechWAV(path string) ([]int16, string, error) {
	p, err := media.LoadWAV(path)
	if err != nil {
		return nil, "", err
	}
	pcm := make([]int16, p.Samples())
	if len(pcm) > 0 {
		// media keeps a prompt's samples private; one frame as long as the
		// prompt reads them all.
		media.NewPlayer(p, false).ReadFrame(pcm)
	}
	note := ""
	if rate := wavRate(path); rate != 0 && rate != speech.SampleRate {
		note = fmt.Sprintf("resampled from %d Hz", rate)
	}
	return pcm, note, nil
}

// wavRate returns the sample rate in a WAV's fmt chunk, 0 if it cannot
// tell (LoadWAV has validated the file already; this is only for the note).
func wavRate(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	for off := 12; off+16 <= len(head); {
		size := int(binary.LittleEndian.Uint32(head[off+4:]))
		if string(head[off:off+4]) == "fmt " {
			return int(binary.LittleEndian.Uint32(head[off+12:]))
		}
		off += 8 + size + size&1
	}
	return 0
}

// recognizeTail is the silence fed after a file so the engine's end of
// speech detection fires as it would on a call, where the line goes on.
const recognizeTail = 1500 * time.Millisecond

// recognizePCM streams pcm in 20 ms frames, as a call does, and returns
// the Final event.
func recognizePCM(ctx context.Context, rec speech.Recognizer, g speech.Grammar, pcm []int16) (speech.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	st, err := rec.Start(ctx, g)
	if err != nil {
		return speech.Event{}, fmt.Errorf("start recognition: %w", err)
	}
	// Events are drained on their own goroutine: a stream may send several
	// before the Final, and the writer must never wait on the reader.
	final := make(chan speech.Event, 1)
	go func() {
		got := false
		for ev := range st.Events() {
			if ev.Type == speech.Final && !got {
				got = true
				final <- ev
			}
		}
		if !got {
			close(final)
		}
	}()
	tail := int(recognizeTail / (time.Second / speech.SampleRate))
	all := append(append([]int16(nil), pcm...), make([]int16, tail)...)
	frame := make([]int16, speech.FrameSamples)
	var werr error
	for off := 0; off < len(all); off += speech.FrameSamples {
		n := copy(frame, all[off:])
		clear(frame[n:])
		if werr = st.Write(frame); werr != nil {
			break
		}
	}
	// Close makes the engine decide on what it heard if it has not yet.
	cerr := st.Close()
	select {
	case ev, ok := <-final:
		if ok {
			return ev, nil
		}
	case <-ctx.Done():
		return speech.Event{}, fmt.Errorf("no result: %w", ctx.Err())
	}
	return speech.Event{}, errors.Join(errors.New("the recognizer ended without a result"), werr, cerr)
}

func sayCmd(ctx context.Context, args []string, stdout, stderr io.Writer, eng speechEngines) error {
	fs := flag.NewFlagSet("speech say", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "say.wav", "output WAV (8 kHz, 16-bit mono)")
	voice := fs.String("voice", "", "espeak-ng voice, e.g. en-us+f3 (default: the engine's)")
	speed := fs.Int("speed", 0, "words per minute (default: the engine's)")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(strings.Join(words, " "))
	if text == "" {
		fmt.Fprint(stderr, "usage: hotline speech say [-o OUT.wav] [-voice V] [-speed WPM] TEXT...\n")
		return flag.ErrHelp
	}
	syn, err := eng.synthesizer(*voice, *speed)
	if err != nil {
		return fmt.Errorf("speech say: %w", err)
	}
	pcm, err := syn.Synthesize(ctx, text)
	if err != nil {
		return fmt.Errorf("speech say: %w", err)
	}
	// Written under a temporary name and renamed, so a failed run never
	// leaves a truncated prompt where a good one was.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".say-*.wav")
	if err != nil {
		return fmt.Errorf("speech say: %w", err)
	}
	_, werr := tmp.Write(media.EncodeWAV(pcm, speech.SampleRate))
	// CreateTemp makes the file private; a prompt is read by the server.
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("speech say: write %s: %w", *out, err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("speech say: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %.2f s at %d Hz\n", *out, float64(len(pcm))/speech.SampleRate, speech.SampleRate)
	return nil
}
