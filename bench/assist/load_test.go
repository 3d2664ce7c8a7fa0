package assistbench

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hotline/bench/speechset"
	"hotline/speech"
	"hotline/speech/pocketsphinx"
)

// warnCounter counts the dictation engine's warnings: audio dropped
// because a stream fell behind, or a phrase lost waiting for a decoder.
type warnCounter struct {
	n    atomic.Int64
	mu   sync.Mutex
	seen []string
}

func (w *warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	w.n.Add(1)
	w.mu.Lock()
	if len(w.seen) < 20 {
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
		w.seen = append(w.seen, msg)
	}
	w.mu.Unlock()
	return nil
}
func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }

// TestAssistLoad finds how many concurrently transcribed calls (both
// sides, through the speech.Transcriber path assist.Live uses, with the
// demo bank's vocabulary) the process's CPUs carry in real time with the
// phrase latency (end of speech to phrase) p95 under 1 s and nothing
// dropped. make bench-assist runs it pinned to one core (taskset -c 0),
// so the answer is per core.
//
//	HOTLINE_ASSIST_BENCH=1 taskset -c 0 go test -count=1 -timeout 30m -run '^TestAssistLoad$' -v ./bench/assist/
//
// Environment: HOTLINE_ASSIST_LOAD_SECONDS (per level, default 40),
// HOTLINE_ASSIST_LOAD_LEVELS (calls per level, default 1,2,3,4,5,6,8,10,12,16),
// HOTLINE_ASSIST_POOL (decoders, default the CPUs), HOTLINE_ASSIST_SPECULATION=0
// (no early decode), HOTLINE_ASSIST_INCREMENTAL=0 (phrases decoded whole at
// their end), HOTLINE_ASSIST_SECOND_PASS=1 (the decoder's second pass, off in the
// workers by default), HOTLINE_ASSIST_LOAD_VOCAB=0 (no tenant vocabulary),
// HOTLINE_ASSIST_MAXHMM (the search's HMMs per frame; 0: the engine's default).
func TestAssistLoad(t *testing.T) {
	gate(t)
	b := setup(t)
	cpus := runtime.NumCPU() // taskset's affinity, read at start
	pool, _ := strconv.Atoi(env("HOTLINE_ASSIST_POOL", strconv.Itoa(cpus)))
	secs, _ := strconv.Atoi(env("HOTLINE_ASSIST_LOAD_SECONDS", "40"))
	var levels []int
	for _, f := range strings.Split(env("HOTLINE_ASSIST_LOAD_LEVELS", "1,2,3,4,5,6,8,10,12,16"), ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("HOTLINE_ASSIST_LOAD_LEVELS: %v", err)
		}
		levels = append(levels, n)
	}
	warns := &warnCounter{}
	noSpec := env("HOTLINE_ASSIST_SPECULATION", "1") == "0"
	noInc := env("HOTLINE_ASSIST_INCREMENTAL", "1") == "0"
	secondPass := env("HOTLINE_ASSIST_SECOND_PASS", "0") == "1"
	maxHMM, _ := strconv.Atoi(env("HOTLINE_ASSIST_MAXHMM", "0"))
	d, err := pocketsphinx.NewDictation(pocketsphinx.DictationConfig{PoolSize: pool, Logger: slog.New(warns),
		NoSpeculation: noSpec, NoIncremental: noInc, NoSecondPass: !secondPass, MaxHMMPerFrame: maxHMM})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	caller, agent, speechShare := b.loadTracks(t)
	vocab := b.kb.Vocabulary("demo")
	if env("HOTLINE_ASSIST_LOAD_VOCAB", "1") == "0" {
		vocab = nil
	}

	// Each decoder builds the vocabulary's search on first use (~0.4 s):
	// done before measuring, as a running server has.
	parallel(pool, pool, func(int) {
		_, _ = decode(d, caller[:min(len(caller), 8*speech.SampleRate)], vocab)
	})

	var rep strings.Builder
	fmt.Fprintf(&rep, "Agent assist load, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&rep, "machine: %s; this process on %d CPU(s) (runtime.NumCPU under the affinity mask), GOMAXPROCS %d; dictation pool %d decoders, early decode %v, incremental %v, second pass %v, vocabulary %d entries; %d s per level\n",
		cpuModel(), cpus, runtime.GOMAXPROCS(0), pool, !noSpec, !noInc, secondPass, len(vocab), secs)
	fmt.Fprintf(&rep, "calls: two streams each (caller, agent: the conversation set at %s, flite kal / slt, looped, each call at its own offset); speech %.0f%% / %.0f%% of the time; fed in 20 ms frames in real time through Dictation.Transcribe (the path assist.Live uses), demo vocabulary\n\n",
		speechset.SNRLabel(loadSNR()), 100*speechShare[0], 100*speechShare[1])
	var rows [][]string
	best := 0
	for _, n := range levels {
		r := runLoad(d, caller, agent, vocab, n, time.Duration(secs)*time.Second, warns)
		ok := r.p95 < time.Second && r.warns == 0
		mark := "yes"
		if !ok {
			mark = "no"
		}
		rows = append(rows, []string{strconv.Itoa(n), fmt.Sprintf("%.1f", float64(n)/float64(cpus)), strconv.Itoa(r.phrases),
			fmt.Sprintf("%.0f", r.perCallMin), ms(r.p50), ms(r.p95), ms(r.max), strconv.FormatInt(r.warns, 10),
			fmt.Sprintf("%.0f%%", 100*r.cpu), mark})
		t.Logf("%d calls: %d phrases, p50 %s p95 %s max %s, warnings %d, CPU %.0f%%", n, r.phrases, ms(r.p50), ms(r.p95), ms(r.max), r.warns, 100*r.cpu)
		if !ok {
			warns.mu.Lock()
			for _, m := range warns.seen {
				t.Logf("engine warning: %s", m)
			}
			warns.mu.Unlock()
			break
		}
		best = n
	}
	table(&rep, []string{"calls", "calls/core", "phrases", "phrases/call/min", "p50 ms", "p95 ms", "max ms", "drop warnings", "CPU", "p95<1s, none dropped"}, rows)
	fmt.Fprintf(&rep, "\nsustained: %d calls on %d CPU(s) = %.1f calls per core (both sides transcribed)\n", best, cpus, float64(best)/float64(cpus))
	writeReport(t, "assist-load", rep.String())
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// loadSNR is the load's line noise: HOTLINE_ASSIST_LOAD_SNR dB (default
// 0: a clean line). At 20 dB the energy VAD rarely sees a phrase end, so
// phrases run to the 15 s cut and one core does not carry one call; the
// clean line is the capacity figure.
func loadSNR() int {
	n, _ := strconv.Atoi(env("HOTLINE_ASSIST_LOAD_SNR", "0"))
	return max(n, 0)
}

// loadTracks joins the conversations' two sides (kal / slt, loadSNR)
// into one long call, and reports how much of each side is speech.
func (b *bench) loadTracks(t *testing.T) (caller, agent []int16, share [2]float64) {
	pair := pairs[0]
	var speechMs [2]int
	total := 0
	for _, cv := range conversations {
		pcms := make([][]int16, len(cv.Turns))
		durs := make([]int, len(cv.Turns))
		for i, tn := range cv.Turns {
			v := pair[0]
			if tn.Agent {
				v = pair[1]
			}
			p, err := b.set.pcm(v, tn.Text)
			if err != nil {
				t.Fatal(err)
			}
			pcms[i], durs[i] = p, speechset.SpeechMs(p)
		}
		// Quick turns (100-500 ms pauses), so each side speaks close to
		// half the time; the track ends 300 ms after the last turn.
		starts, dur := layoutPaused(cv, func(i int) int { return durs[i] }, 100)
		dur -= 1200
		for side, name := range []string{"caller", "agent"} {
			var clips []speechset.Clip
			for i, tn := range cv.Turns {
				if tn.Agent == (side == 1) {
					clips = append(clips, speechset.Clip{AtMs: starts[i], PCM: pcms[i]})
					speechMs[side] += durs[i]
				}
			}
			tr, _, err := speechset.Track(cv.ID+"_load_"+name, dur, clips, loadSNR())
			if err != nil {
				t.Fatal(err)
			}
			if side == 0 {
				caller = append(caller, tr...)
			} else {
				agent = append(agent, tr...)
			}
		}
		total += dur
	}
	return caller, agent, [2]float64{float64(speechMs[0]) / float64(total), float64(speechMs[1]) / float64(total)}
}

type loadResult struct {
	phrases       int
	perCallMin    float64 // phrases per call and minute (both sides)
	p50, p95, max time.Duration
	warns         int64
	cpu           float64 // process CPU over wall time, per CPU
}

// runLoad plays n calls for dur in real time.
func runLoad(d *pocketsphinx.Dictation, caller, agent []int16, vocab []string, n int, dur time.Duration, warns *warnCounter) loadResult {
	w0 := warns.n.Load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type stream struct {
		tr     speech.Transcription
		pcm    []int16
		offset int // samples into pcm
	}
	var streams []*stream
	for i := range n {
		// Offsets spread the calls over the loop (17.3 s apart) so their
		// phrases do not end together.
		off := (i * 17300 * speech.SampleRate / 1000) % len(caller)
		off -= off % speech.FrameSamples
		for side, pcm := range [][]int16{caller, agent} {
			tr, err := d.Transcribe(ctx, speech.TranscribeOptions{Vocabulary: vocab, Label: fmt.Sprintf("load %d/%d", i, side)})
			if err != nil {
				panic(err)
			}
			streams = append(streams, &stream{tr: tr, pcm: pcm, offset: off})
		}
	}
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
	)
	start := time.Now()
	for _, s := range streams {
		wg.Go(func() {
			for p := range s.tr.Phrases() {
				l := time.Since(start.Add(p.End))
				mu.Lock()
				lats = append(lats, l)
				mu.Unlock()
			}
		})
	}
	cpu0 := processCPU()
	// One pacer for all streams, like the media session's: every 20 ms
	// the frames due are written, catching up after a late tick.
	tick := time.NewTicker(20 * time.Millisecond)
	sent := 0 // frames per stream
	for now := range tick.C {
		due := int(now.Sub(start) / (20 * time.Millisecond))
		for ; sent < due; sent++ {
			for _, s := range streams {
				at := (s.offset + sent*speech.FrameSamples) % (len(s.pcm) - speech.FrameSamples)
				_ = s.tr.Write(s.pcm[at : at+speech.FrameSamples])
			}
		}
		if now.Sub(start) >= dur {
			break
		}
	}
	tick.Stop()
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	// Phrases cut by the end of the level are not counted: close after
	// the measured stretch, so their latency would include the close.
	mu.Lock()
	measured := len(lats)
	mu.Unlock()
	for _, s := range streams {
		_ = s.tr.Close()
	}
	wg.Wait()
	lats = lats[:measured]
	slices.Sort(lats)
	r := loadResult{phrases: len(lats), warns: warns.n.Load() - w0, cpu: cpu.Seconds() / wall.Seconds() / float64(runtime.NumCPU())}
	if len(lats) > 0 {
		r.p50 = lats[len(lats)/2]
		r.p95 = lats[min(len(lats)-1, len(lats)*95/100)]
		r.max = lats[len(lats)-1]
	}
	r.perCallMin = float64(len(lats)) / float64(n) / dur.Minutes()
	return r
}

// processCPU is the process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
