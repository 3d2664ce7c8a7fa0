// Package speechtest makes test speech: text rendered by a TTS program
// installed on the machine, then passed through G.711 µ-law at 8 kHz like
// a caller's audio.
package speechtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hotline/internal/testenv"
	"hotline/media"
)

// Telephone renders text with cmd (which writes a WAV file to out) and
// returns it as 8 kHz PCM after a µ-law round trip, with 300 ms of
// silence before and after. A missing program skips the test (fails it
// in CI).
func Telephone(t testing.TB, name string, cmd func(text, out string) *exec.Cmd, text string) []int16 {
	t.Helper()
	if _, err := exec.LookPath(cmd("", "").Path); err != nil {
		testenv.Missing(t, "%s is not installed (apt-get install flite espeak-ng)", name)
	}
	out := filepath.Join(t.TempDir(), "tts.wav")
	if b, err := cmd(text, out).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", name, text, err, b)
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

// Flite says text with a flite voice (kal, awb, rms, slt) through
// Telephone.
func Flite(t testing.TB, voice, text string) []int16 {
	t.Helper()
	return Telephone(t, "flite-"+voice, func(text, out string) *exec.Cmd {
		return exec.Command("flite", "-voice", voice, "-t", text, "-o", out)
	}, text)
}

// CallSentences are things callers and agents say, for measuring
// transcription of telephone speech.
var CallSentences = []string{
	"i lost my credit card yesterday",
	"can you tell me my account balance",
	"i would like to cancel my subscription",
	"the payment did not go through this morning",
	"please send me a new card to my home address",
	"i want to speak to someone about my bill",
	"my phone number has changed",
	"how long will the refund take",
}

// WordErrors is the edit distance between two word sequences (the
// numerator of the word error rate).
func WordErrors(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			c := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)]
}
