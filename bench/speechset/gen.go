package speechset

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"hotline/media"
	"hotline/speech"
)

// Item is one WAV of the set and its label.
type Item struct {
	ID      string `json:"id"`
	File    string `json:"file"` // relative to the set's directory
	Text    string `json:"text"` // what was said; "" for noise-only items
	Engine  string `json:"engine"`
	Voice   string `json:"voice"`
	Speed   int    `json:"speed,omitempty"`
	Pitch   int    `json:"pitch,omitempty"`
	SNR     int    `json:"snr"` // dB; 0 = no added noise
	Grammar string `json:"grammar"`
	Expect  string `json:"expect"` // choice name, digits, or OOG
	// Where the speech is in the file, so latency can be measured from
	// the true end of speech (0, 0 for noise-only items).
	SpeechStartMs int `json:"speech_start_ms"`
	SpeechEndMs   int `json:"speech_end_ms"`
	DurationMs    int `json:"duration_ms"`
}

// Family is the engine, the grouping reports use.
func (it Item) Family() string { return it.Engine }

// InGrammar tells whether a grammar choice (or digit string) is expected.
func (it Item) InGrammar() bool { return it.Expect != OOG }

// Manifest lists a generated set.
type Manifest struct {
	Version int    `json:"version"`
	Items   []Item `json:"items"`
}

// Options tune Generate.
type Options struct {
	// Workers run TTS engines in parallel; 0 means one per CPU.
	Workers int
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

const manifestName = "manifest.json"

// Ensure returns the set in dir, generating it when dir has none or an
// older Version. The benchmark calls it so `make bench` needs no extra step.
func Ensure(ctx context.Context, dir string, opts Options) (*Manifest, error) {
	m, err := Load(dir)
	if err == nil && m.Version == Version {
		return m, nil
	}
	return Generate(ctx, dir, opts)
}

// Load reads dir's manifest.
func Load(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("speechset: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("speechset: %s: %w", filepath.Join(dir, manifestName), err)
	}
	return &m, nil
}

// ReadPCM returns an item's audio (8 kHz mono).
func ReadPCM(path string) ([]int16, error) {
	p, err := media.LoadWAV(path)
	if err != nil {
		return nil, err
	}
	return PromptPCM(p), nil
}

// PromptPCM copies a prompt's samples out. media keeps them private; a
// Player handing out one frame as long as the prompt is the exported way to
// read them.
func PromptPCM(p *media.Prompt) []int16 {
	pcm := make([]int16, p.Samples())
	if len(pcm) > 0 {
		media.NewPlayer(p, false).ReadFrame(pcm)
	}
	return pcm
}

// Tools are the commands Generate runs; missing ones are reported up front.
var Tools = []string{"espeak-ng", "flite", "text2wave"}

// Generate renders the whole set into dir (created if needed), replacing a
// previous set there.
func Generate(ctx context.Context, dir string, opts Options) (*Manifest, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return nil, fmt.Errorf("speechset: %s not found (scripts/deps.sh installs espeak-ng, flite, festival and festvox-us-slt-hts): %w", t, err)
		}
	}
	rawDir := filepath.Join(dir, "raw")
	if err := os.MkdirAll(rawDir, 0o755); err != nil {
		return nil, fmt.Errorf("speechset: %w", err)
	}
	us := utterances()

	// Render the TTS once per voice and text; the SNR variants are derived
	// from the same rendering.
	type job struct {
		v Voice
		u utterance
	}
	var jobs []job
	for _, v := range voices {
		for _, u := range us {
			jobs = append(jobs, job{v, u})
		}
	}
	raw := make([]string, len(jobs))
	for i, j := range jobs {
		raw[i] = filepath.Join(rawDir, j.v.ID()+"_"+sanitize(j.u.text)+".wav")
	}
	logf("speechset: rendering %d utterances with %d voices", len(us), len(voices))
	if err := renderFestival(ctx, rawDir, raw, func(i int) (Voice, string) { return jobs[i].v, jobs[i].u.text }); err != nil {
		return nil, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if err := parallel(ctx, len(jobs), workers, func(i int) error {
		if jobs[i].v.Engine == "festival" {
			return nil // done in one batch above
		}
		return render(ctx, jobs[i].v, jobs[i].u.text, raw[i])
	}); err != nil {
		return nil, err
	}

	m := &Manifest{Version: Version}
	var mu sync.Mutex
	err := parallel(ctx, len(jobs), workers, func(i int) error {
		j := jobs[i]
		speechPCM, err := ReadPCM(raw[i])
		if err != nil {
			return fmt.Errorf("speechset: %s %q: %w", j.v.ID(), j.u.text, err)
		}
		for _, snr := range SNRs {
			it := Item{
				Text: j.u.text, Engine: j.v.Engine, Voice: j.v.Name, Speed: j.v.Speed, Pitch: j.v.Pitch,
				SNR: snr, Grammar: j.u.grammar, Expect: j.u.expect,
			}
			it.ID = j.v.ID() + "_" + sanitize(j.u.text) + "_" + SNRLabel(snr)
			it.File = it.ID + ".wav"
			if err := writeSpeech(dir, &it, speechPCM); err != nil {
				return err
			}
			mu.Lock()
			m.Items = append(m.Items, it)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, snr := range SNRs {
		for _, kind := range noiseKinds {
			it := Item{Engine: "synthetic", Voice: kind, SNR: snr, Grammar: GrammarMenu, Expect: OOG}
			it.ID = "synthetic-" + kind + "_" + SNRLabel(snr)
			it.File = it.ID + ".wav"
			if err := writeNoise(dir, &it, kind); err != nil {
				return nil, err
			}
			m.Items = append(m.Items, it)
		}
	}
	sortItems(m.Items)
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	// The raw renderings are large (up to 32 kHz) and derived; drop them.
	if err := os.RemoveAll(rawDir); err != nil {
		return nil, fmt.Errorf("speechset: %w", err)
	}
	logf("speechset: %d items in %s", len(m.Items), dir)
	return m, nil
}

func sortItems(items []Item) {
	// Stable, readable order for the manifest: by file name.
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.File, b.File) })
}

// render runs one command-line TTS engine.
func render(ctx context.Context, v Voice, text, out string) error {
	var cmd *exec.Cmd
	switch v.Engine {
	case "espeak":
		args := []string{"-v", v.Name, "-w", out}
		if v.Speed > 0 {
			args = append(args, "-s", strconv.Itoa(v.Speed))
		}
		if v.Pitch > 0 {
			args = append(args, "-p", strconv.Itoa(v.Pitch))
		}
		// "--" keeps a text from being read as an option.
		cmd = exec.CommandContext(ctx, "espeak-ng", append(args, "--", text)...)
	case "flite":
		cmd = exec.CommandContext(ctx, "flite", "-voice", v.Name, "-t", text, "-o", out)
	default:
		return fmt.Errorf("speechset: unknown engine %q", v.Engine)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("speechset: %s %q: %w: %s", v.ID(), text, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// renderFestival renders every festival job in one festival process:
// starting festival and loading an HTS voice takes about 1.5 s, the
// synthesis itself a fraction of that.
func renderFestival(ctx context.Context, dir string, raw []string, at func(int) (Voice, string)) error {
	var script strings.Builder
	cur := ""
	for i := range raw {
		v, text := at(i)
		if v.Engine != "festival" {
			continue
		}
		if v.Name != cur {
			fmt.Fprintf(&script, "(voice_%s)\n", v.Name)
			cur = v.Name
		}
		fmt.Fprintf(&script, "(utt.save.wave (SynthText %s) %s 'riff)\n", schemeString(text), schemeString(raw[i]))
	}
	if cur == "" {
		return nil
	}
	path := filepath.Join(dir, "festival.scm")
	if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
		return fmt.Errorf("speechset: %w", err)
	}
	if _, err := exec.LookPath("festival"); err != nil {
		return fmt.Errorf("speechset: festival not found: %w", err)
	}
	cmd := exec.CommandContext(ctx, "festival", "-b", path)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("speechset: festival -b %s: %w: %s", path, err, strings.TrimSpace(string(b)))
	}
	// festival -b exits 0 even when a voice is missing; check the outputs.
	for i := range raw {
		if v, _ := at(i); v.Engine == "festival" {
			if _, err := os.Stat(raw[i]); err != nil {
				return fmt.Errorf("speechset: festival did not write %s (is festvox-us-slt-hts installed?): %s", raw[i], strings.TrimSpace(string(b)))
			}
		}
	}
	return nil
}

func schemeString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// Telephone-line processing.
const (
	ms = speech.SampleRate / 1000
	// Speech levels on a call vary; each utterance is set to an active
	// level drawn from this range (dBFS, RMS over the speech).
	minLevelDB, maxLevelDB = -26.0, -16.0
	// The caller's silence around the speech: short enough to be a quick
	// answer, long enough that endpointing has something to work with.
	minPadMs, maxPadMs = 300, 1000
)

// writeSpeech places speech (8 kHz) between silences, scales it, adds line
// noise at it.SNR, band-limits and µ-law codes it, and writes it.
func writeSpeech(dir string, it *Item, speechPCM []int16) error {
	// Level and silences come from the item without its SNR, so the SNR
	// variants of an utterance differ only in the noise.
	rng := seeded(strings.TrimSuffix(it.ID, "_"+SNRLabel(it.SNR)))
	noise := seeded(it.ID)
	x := toFloat(speechPCM)
	lo, hi := activeBounds(x)
	if hi <= lo {
		return fmt.Errorf("speechset: %s: the TTS output is silent", it.ID)
	}
	// Keep 20 ms on each side so the trim never clips a soft onset.
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
	return writeLine(dir, it, sig)
}

// noiseKinds are the no-speech items: what a caller's line carries when
// they say nothing but the line is not silent.
var noiseKinds = []string{"hiss", "cough", "clicks"}

// Background level of the noise-only items per SNR condition, as if the
// speech of the set (around -20 dBFS) were at that SNR.
func noiseFloor(snr int) float64 {
	if snr == 0 {
		return dbToAmp(-55)
	}
	return dbToAmp(-21 - float64(snr))
}

func writeNoise(dir string, it *Item, kind string) error {
	rng := seeded(it.ID)
	sig := make([]float64, 2000*ms)
	addNoise(rng, sig, noiseFloor(it.SNR))
	switch kind {
	case "cough":
		// Two bursts of noise shaped like a cough: fast attack, ~150 ms
		// decay, energy in the low-mid band (a one-pole low-pass).
		for _, at := range []int{500 * ms, 950 * ms} {
			var lp float64
			peak := dbToAmp(-10 - rng.Float64()*6)
			for i := range 300 * ms {
				env := (1 - math.Exp(-float64(i)/(5*ms))) * math.Exp(-float64(i)/(80*ms))
				lp += 0.25 * (rng.NormFloat64() - lp)
				sig[at+i] += 3 * peak * env * lp
			}
		}
	case "clicks":
		// Keyboard or handset clicks: a dozen 3 ms impulses.
		for range 12 {
			at := 200*ms + rng.IntN(1600*ms)
			a := dbToAmp(-12 - rng.Float64()*10)
			for i := range 3 * ms {
				sig[at+i] += a * rng.NormFloat64() * math.Exp(-float64(i)/ms)
			}
		}
	}
	it.DurationMs = len(sig) / ms
	return writeLine(dir, it, sig)
}

// writeLine applies the telephone channel (300 Hz high-pass; the 3.4 kHz
// side is the resampler's low-pass) and G.711 µ-law, then writes the WAV.
func writeLine(dir string, it *Item, sig []float64) error {
	highPass(sig, 300)
	pcm := make([]int16, len(sig))
	for i, v := range sig {
		pcm[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(v*32768))))
	}
	ulaw := make([]byte, len(pcm))
	media.EncodePCMU(ulaw, pcm)
	media.DecodePCMU(pcm, ulaw)
	it.DurationMs = len(pcm) / ms
	path := filepath.Join(dir, it.File)
	if err := os.WriteFile(path, media.EncodeWAV(pcm, speech.SampleRate), 0o644); err != nil {
		return fmt.Errorf("speechset: %w", err)
	}
	return nil
}

// activeBounds finds the first and last 10 ms block whose level is within
// 40 dB of the loudest block: the TTS engines pad their output with
// silence of their own, which would distort the set's silence lengths and
// the true end of speech.
func activeBounds(x []float64) (int, int) {
	const block = 10 * ms
	var peak float64
	for i := 0; i+block <= len(x); i += block {
		peak = max(peak, rms(x[i:i+block]))
	}
	thr := peak * dbToAmp(-40)
	lo, hi := -1, -1
	for i := 0; i+block <= len(x); i += block {
		if rms(x[i:i+block]) >= thr {
			if lo < 0 {
				lo = i
			}
			hi = i + block
		}
	}
	return lo, hi
}

func addNoise(rng *rand.Rand, x []float64, amp float64) {
	for i := range x {
		x[i] += amp * rng.NormFloat64()
	}
}

// highPass is a second-order Butterworth high-pass (bilinear transform).
func highPass(x []float64, fc float64) {
	w := math.Tan(math.Pi * fc / speech.SampleRate)
	k := 1 / (1 + math.Sqrt2*w + w*w)
	b0, b1, b2 := k, -2*k, k
	a1 := 2 * (w*w - 1) * k
	a2 := (1 - math.Sqrt2*w + w*w) * k
	var x1, x2, y1, y2 float64
	for i, v := range x {
		y := b0*v + b1*x1 + b2*x2 - a1*y1 - a2*y2
		x2, x1 = x1, v
		y2, y1 = y1, y
		x[i] = y
	}
}

func toFloat(pcm []int16) []float64 {
	x := make([]float64, len(pcm))
	for i, s := range pcm {
		x[i] = float64(s) / 32768
	}
	return x
}

func rms(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

func dbToAmp(db float64) float64 { return math.Pow(10, db/20) }

// seeded gives each item its own random stream, so regenerating one item
// or reordering the set never changes another item's audio.
func seeded(id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id))
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("speechset: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("speechset: %w", err)
	}
	// The CSV is for people (spreadsheets, grep); programs read the JSON.
	f, err := os.Create(filepath.Join(dir, "manifest.csv"))
	if err != nil {
		return fmt.Errorf("speechset: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"file", "engine", "voice", "speed", "pitch", "snr", "grammar", "expect", "text", "speech_start_ms", "speech_end_ms", "duration_ms"})
	for _, it := range m.Items {
		w.Write([]string{it.File, it.Engine, it.Voice, strconv.Itoa(it.Speed), strconv.Itoa(it.Pitch), SNRLabel(it.SNR),
			it.Grammar, it.Expect, it.Text, strconv.Itoa(it.SpeechStartMs), strconv.Itoa(it.SpeechEndMs), strconv.Itoa(it.DurationMs)})
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == '-':
			b.WriteRune('-')
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
