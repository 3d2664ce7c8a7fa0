package pocketsphinx

import (
	"os/exec"
	"testing"

	"hotline/speech/speechtest"
)

// Test speech is generated with the TTS engines installed on the machine,
// then passed through G.711 µ-law at 8 kHz like a caller's audio.

type voice struct {
	name string
	cmd  func(text, out string) *exec.Cmd
}

var fliteVoices = []voice{
	{"flite-slt", func(text, out string) *exec.Cmd { return exec.Command("flite", "-voice", "slt", "-t", text, "-o", out) }},
	{"flite-kal", func(text, out string) *exec.Cmd { return exec.Command("flite", "-voice", "kal", "-t", text, "-o", out) }},
	{"flite-awb", func(text, out string) *exec.Cmd { return exec.Command("flite", "-voice", "awb", "-t", text, "-o", out) }},
	{"flite-rms", func(text, out string) *exec.Cmd { return exec.Command("flite", "-voice", "rms", "-t", text, "-o", out) }},
}

var espeakVoices = []voice{
	{"espeak-en-us", func(text, out string) *exec.Cmd { return exec.Command("espeak-ng", "-v", "en-us", "-w", out, text) }},
}

// telephone renders text with v and returns it as 8 kHz PCM after a µ-law
// round trip, with 300 ms of silence before and after.
func telephone(t testing.TB, v voice, text string) []int16 {
	t.Helper()
	return speechtest.Telephone(t, v.name, v.cmd, text)
}
