package pocketsphinx

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline/speech"
	"hotline/speech/speechtest"
)

// TestDictationBench measures word error rate and real-time factor on
// flite voices through µ-law, and memory per decoder. Run with
// HOTLINE_TRANSCRIBE_BENCH=1 go test ./speech/pocketsphinx -run TestDictationBench -v
func TestDictationBench(t *testing.T) {
	if os.Getenv("HOTLINE_TRANSCRIBE_BENCH") == "" {
		t.Skip("set HOTLINE_TRANSCRIBE_BENCH=1")
	}
	d := dictation(t)
	// The early decode runs on another thread, which this thread's CPU
	// clock would not count; the decodes are the same either way.
	d.cfg.NoSpeculation = true
	defer func() { d.cfg.NoSpeculation = false }()
	var audio, busy time.Duration
	var errs, words int
	for _, v := range fliteVoices {
		var vErrs, vWords int
		for _, s := range speechtest.CallSentences {
			pcm := telephone(t, v, s)
			st, err := d.Open(speech.TranscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Thread CPU time, not wall time: the machine may be busy
			// with other work.
			runtime.LockOSThread()
			start := threadCPU()
			ps := append(st.Write(pcm), st.Flush()...)
			busy += threadCPU() - start
			runtime.UnlockOSThread()
			audio += time.Duration(len(pcm)) * time.Second / speech.SampleRate
			var hyp []string
			for _, p := range ps {
				hyp = append(hyp, p.Text)
			}
			e := speechtest.WordErrors(strings.Fields(s), strings.Fields(strings.Join(hyp, " ")))
			vErrs += e
			vWords += len(strings.Fields(s))
			if e > 0 {
				t.Logf("%s: %q -> %q", v.name, s, strings.Join(hyp, " "))
			}
		}
		t.Logf("%s: WER %.0f%% (%d/%d)", v.name, 100*float64(vErrs)/float64(vWords), vErrs, vWords)
		errs += vErrs
		words += vWords
	}
	t.Logf("all voices: WER %.0f%% (%d/%d); RTF %.3f (%.1f s decoding %.1f s of audio, CPU of one thread, 300 ms pads included)",
		100*float64(errs)/float64(words), errs, words, busy.Seconds()/audio.Seconds(), busy.Seconds(), audio.Seconds())

	// Memory: a fresh engine's resident set grows by this much per decoder.
	before := rssKB(t)
	d2, err := NewDictation(DictationConfig{PoolSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	var decs []*decoder
	for range 2 {
		dec, err := d2.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		decs = append(decs, dec)
	}
	if len(d2.idle) != 0 {
		dec, _ := d2.acquire(context.Background())
		decs = append(decs, dec)
	}
	after := rssKB(t)
	for _, dec := range decs {
		d2.release(dec)
	}
	t.Logf("memory: %d decoders: RSS +%d MB, %d MB per decoder", len(decs), (after-before)/1024, (after-before)/1024/len(decs))
}

// threadCPU is the calling OS thread's CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssKB(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestIncrementalBench compares decoding phrases whole at their end with
// decoding them as they arrive (incremental.go): word error rate, and the
// work left when the phrase's end silence is heard (the CPU time of the
// Write that returns the phrase, which the line waits for after the end
// silence). One stream per voice carries its sentences as one side of a
// conversation, 0.7 s apart.
// HOTLINE_TRANSCRIBE_BENCH=1 go test ./speech/pocketsphinx -run TestIncrementalBench -v
func TestIncrementalBench(t *testing.T) {
	if os.Getenv("HOTLINE_TRANSCRIBE_BENCH") == "" {
		t.Skip("set HOTLINE_TRANSCRIBE_BENCH=1")
	}
	dictation(t) // the model's presence
	modes := []struct {
		name string
		cfg  DictationConfig
	}{
		{"whole phrases", DictationConfig{NoIncremental: true, NoSpeculation: true}},
		{"incremental, first phrase whole", DictationConfig{firstPhraseWhole: true, NoSpeculation: true}},
		{"incremental, first phrase shared mean", DictationConfig{NoSpeculation: true}},
		{"incremental, no fwdflat", DictationConfig{NoSpeculation: true, NoSecondPass: true}},
		{"incremental, no bestpath", DictationConfig{NoSpeculation: true, args: []string{"-bestpath", "no"}}},
	}
	gap := make([]int16, speech.SampleRate*4/10)
	for _, m := range modes {
		cfg := m.cfg
		cfg.PoolSize = 1
		d, err := NewDictation(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var errs, words int
		var ends []time.Duration
		var busy, audio time.Duration
		for _, v := range fliteVoices {
			if only := os.Getenv("HOTLINE_TRANSCRIBE_VOICE"); only != "" && v.name != only {
				continue
			}
			st, err := d.Open(speech.TranscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var hyp []string
			var ref []string
			for _, s := range speechtest.CallSentences {
				pcm := append(telephone(t, v, s), gap...)
				ref = append(ref, strings.Fields(s)...)
				for len(pcm) > 0 {
					n := min(len(pcm), speech.FrameSamples)
					runtime.LockOSThread()
					start := threadCPU()
					ps := st.Write(pcm[:n])
					took := threadCPU() - start
					runtime.UnlockOSThread()
					busy += took
					audio += time.Duration(n) * time.Second / speech.SampleRate
					pcm = pcm[n:]
					for _, p := range ps {
						hyp = append(hyp, p.Text)
						ends = append(ends, took)
					}
				}
			}
			for _, p := range st.Flush() {
				hyp = append(hyp, p.Text)
			}
			st.Close()
			errs += speechtest.WordErrors(ref, strings.Fields(strings.Join(hyp, " ")))
			words += len(ref)
		}
		t.Logf("%s: the engine's last mean estimate: %v", m.name, d.sharedCMN())
		d.Close()
		slices.Sort(ends)
		pct := func(q float64) time.Duration {
			if len(ends) == 0 {
				return 0
			}
			return ends[min(int(q*float64(len(ends))), len(ends)-1)]
		}
		t.Logf("%s: RTF %.3f; WER %.1f%% (%d/%d); work left at the phrase's end p50 %v p95 %v max %v (%d phrases)",
			m.name, busy.Seconds()/audio.Seconds(), 100*float64(errs)/float64(words), errs, words,
			pct(0.5).Round(time.Millisecond), pct(0.95).Round(time.Millisecond), pct(1).Round(time.Millisecond), len(ends))
	}
}
