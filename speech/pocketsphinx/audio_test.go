package pocketsphinx

import (
	"hotline/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hotline/media"
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
	if _, err := exec.LookPath(v.cmd("", "").Path); err != nil {
		testenv.Missing(t, "%s is not installed (apt-get install flite espeak-ng)", v.name)
	}
	out := filepath.Join(t.TempDir(), "tts.wav")
	if b, err := v.cmd(text, out).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", v.name, text, err, b)
	}
	p, err := media.LoadWAV(out)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out)
	pcm := make([]int16, p.Samples())
	media.NewPlayer(p, false).ReadFrame(pcm)
	pad := make([]int16, 2400)
	all := append(append(append([]int16{}, pad...), pcm...), pad...)
	u := make([]byte, len(all))
	media.EncodePCMU(u, all)
	media.DecodePCMU(all, u)
	return all
}
