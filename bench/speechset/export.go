package speechset

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"hotline/media"
)

// Helpers for other generated sets (bench/assist): the same TTS voices and
// telephone line, for texts and conversations this package does not hold.

// Render speaks text with v into out (a WAV at the engine's own rate).
// Festival voices start a festival process per call (~1.5 s); batch them
// with the set's own generator when that matters.
func Render(ctx context.Context, v Voice, text, out string) error {
	if v.Engine == "festival" {
		return renderFestival(ctx, filepath.Dir(out), []string{out}, func(int) (Voice, string) { return v, text })
	}
	return render(ctx, v, text, out)
}

// Telephone puts one rendering (8 kHz) on a line as the set's items are:
// trimmed, set to a level between -26 and -16 dBFS, padded with 300-1000
// ms of silence each side, noise at snr dB (0: none), the 300 Hz
// high-pass and a G.711 µ-law round trip. id seeds the level, pads and
// noise, so the same id gives the same audio. It returns the line audio
// and where the speech is in it.
func Telephone(id string, speechPCM []int16, snr int) (pcm []int16, startMs, endMs int, err error) {
	it := Item{ID: id + "_" + SNRLabel(snr), SNR: snr}
	sig, err := speechSignal(&it, speechPCM)
	if err != nil {
		return nil, 0, 0, err
	}
	return lineCode(sig), it.SpeechStartMs, it.SpeechEndMs, nil
}

// Clip is one stretch of speech on a Track: 8 kHz TTS output placed so
// that its speech (after trimming) starts at AtMs.
type Clip struct {
	AtMs int
	PCM  []int16
}

// ClipSpan is where a clip's speech ended up on a track.
type ClipSpan struct{ StartMs, EndMs int }

// Track builds one side of a conversation: durMs of line, each clip's
// speech trimmed and placed at its time at one level for the whole side
// (drawn from the set's range), noise at snr dB below that level over the
// whole track (0: none), then the channel and µ-law. id seeds the level
// and noise.
func Track(id string, durMs int, clips []Clip, snr int) ([]int16, []ClipSpan, error) {
	rng := seeded(id)
	target := dbToAmp(minLevelDB + rng.Float64()*(maxLevelDB-minLevelDB))
	sig := make([]float64, durMs*ms)
	spans := make([]ClipSpan, len(clips))
	for i, c := range clips {
		x := toFloat(c.PCM)
		lo, hi := activeBounds(x)
		if hi <= lo {
			return nil, nil, fmt.Errorf("speechset: %s clip %d: the TTS output is silent", id, i)
		}
		x = x[lo:hi]
		g := target / rms(x)
		at := c.AtMs * ms
		if at+len(x) > len(sig) {
			return nil, nil, fmt.Errorf("speechset: %s clip %d ends after the track (%d ms)", id, i, durMs)
		}
		for j, v := range x {
			sig[at+j] += g * v
		}
		spans[i] = ClipSpan{StartMs: c.AtMs, EndMs: (at + len(x)) / ms}
	}
	if snr > 0 {
		addNoise(seeded(id+"_noise_"+SNRLabel(snr)), sig, target/dbToAmp(float64(snr)))
	}
	return lineCode(sig), spans, nil
}

// SpeechMs is how long a rendering's speech lasts once trimmed as Track
// and Telephone trim it.
func SpeechMs(speechPCM []int16) int {
	lo, hi := activeBounds(toFloat(speechPCM))
	return max(hi-lo, 0) / ms
}

// speechSignal is writeSpeech without the writing: the levelled, padded,
// noisy speech of it, with its speech bounds set.
func speechSignal(it *Item, speechPCM []int16) ([]float64, error) {
	rng := seeded(strings.TrimSuffix(it.ID, "_"+SNRLabel(it.SNR)))
	noise := seeded(it.ID)
	x := toFloat(speechPCM)
	lo, hi := activeBounds(x)
	if hi <= lo {
		return nil, fmt.Errorf("speechset: %s: the TTS output is silent", it.ID)
	}
	lo = max(0, lo-20*ms)
	hi = min(len(x), hi+20*ms)
	x = x[lo:hi]
	target := dbToAmp(minLevelDB + rng.Float64()*(maxLevelDB-minLevelDB))
	g := target / rms(x)
	for i := range x {
		x[i] *= g
	}
	lead := (minPadMs + rng.IntN(maxPadMs-minPadMs+1)) * ms
	trail := (minPadMs + rng.IntN(maxPadMs-minPadMs+1)) * ms
	sig := make([]float64, lead+len(x)+trail)
	copy(sig[lead:], x)
	if it.SNR > 0 {
		addNoise(noise, sig, target/dbToAmp(float64(it.SNR)))
	}
	it.SpeechStartMs = lead / ms
	it.SpeechEndMs = (lead + len(x)) / ms
	return sig, nil
}

// lineCode is writeLine without the writing.
func lineCode(sig []float64) []int16 {
	highPass(sig, 300)
	pcm := make([]int16, len(sig))
	for i, v := range sig {
		pcm[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(v*32768))))
	}
	ulaw := make([]byte, len(pcm))
	media.EncodePCMU(ulaw, pcm)
	media.DecodePCMU(pcm, ulaw)
	return pcm
}

// RenderJob is one text for RenderAll.
type RenderJob struct {
	Voice Voice
	Text  string
	Out   string
}

// RenderAll renders jobs on workers processes at once (0: one per CPU),
// festival ones in one batch.
func RenderAll(ctx context.Context, jobs []RenderJob, workers int) error {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	outs := make([]string, len(jobs))
	for i, j := range jobs {
		outs[i] = j.Out
	}
	if len(jobs) > 0 {
		if err := renderFestival(ctx, filepath.Dir(jobs[0].Out), outs, func(i int) (Voice, string) { return jobs[i].Voice, jobs[i].Text }); err != nil {
			return err
		}
	}
	return parallel(ctx, len(jobs), workers, func(i int) error {
		if jobs[i].Voice.Engine == "festival" {
			return nil
		}
		return render(ctx, jobs[i].Voice, jobs[i].Text, jobs[i].Out)
	})
}

// WriteWAV writes 8 kHz audio.
func WriteWAV(path string, pcm []int16) error {
	if err := os.WriteFile(path, media.EncodeWAV(pcm, 8000), 0o644); err != nil {
		return fmt.Errorf("speechset: %w", err)
	}
	return nil
}
