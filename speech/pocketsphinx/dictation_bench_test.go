package pocketsphinx

import (
	"context"
	"os"
	"runtime"
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
