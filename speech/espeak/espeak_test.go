package espeak

import (
	"context"
	"hotline/internal/testenv"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/speech"
)

func newSynth(t *testing.T, cfg Config) *Synthesizer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		if _, lookErr := os.Stat("/usr/bin/espeak-ng"); lookErr != nil {
			testenv.Missing(t, "espeak-ng is not installed (apt-get install espeak-ng)")
		}
		t.Fatal(err)
	}
	return s
}

func rmsDB(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return 10 * math.Log10(sum/float64(len(pcm))/(32768*32768)+1e-12)
}

func TestHello(t *testing.T) {
	s := newSynth(t, Config{})
	ctx := context.Background()
	start := time.Now()
	pcm, err := s.Synthesize(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	dur := time.Duration(len(pcm)) * time.Second / speech.SampleRate
	if dur < 250*time.Millisecond || dur > 1500*time.Millisecond {
		t.Errorf("hello lasts %v", dur)
	}
	if db := rmsDB(pcm); db < -40 {
		t.Errorf("hello is silent: %.1f dBFS", db)
	}
	// A repeat must not run espeak-ng at all: with the binary gone it
	// still answers.
	s.cfg.Binary = "/nonexistent"
	start = time.Now()
	again, err := s.Synthesize(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	cached := time.Since(start)
	if len(again) != len(pcm) || again[len(again)/2] != pcm[len(pcm)/2] {
		t.Error("cached render differs")
	}
	again[0] = 12345 // the caller's copy: the cache must not change
	if third, _ := s.Synthesize(ctx, "hello"); third[0] == 12345 {
		t.Error("Synthesize returned the cache's own slice")
	}
	t.Logf("hello: %v of audio at %.1f dBFS; render %v, cached %v", dur, rmsDB(pcm), first, cached)
}

// Text that looks like options is spoken, not obeyed.
func TestTextIsNotArgv(t *testing.T) {
	s := newSynth(t, Config{})
	victim := filepath.Join(t.TempDir(), "x.wav")
	pcm, err := s.Synthesize(context.Background(), "-w "+victim+" --help")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(victim); err == nil {
		t.Error("text was taken as an option")
	}
	if len(pcm) < speech.SampleRate/2 {
		t.Errorf("only %d samples for a spoken sentence", len(pcm))
	}
}

func TestDiskCacheAndLRU(t *testing.T) {
	dir := t.TempDir()
	s := newSynth(t, Config{CacheDir: dir, CacheEntries: 2})
	ctx := context.Background()
	a, err := s.Synthesize(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	s.Synthesize(ctx, "two")
	s.Synthesize(ctx, "three")
	if s.lru.Len() != 2 {
		t.Errorf("memory cache holds %d, want 2", s.lru.Len())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	if len(files) != 3 {
		t.Errorf("disk cache holds %d files, want 3", len(files))
	}
	// A new synthesizer with a broken binary still answers from disk.
	s2 := newSynth(t, Config{CacheDir: dir})
	s2.cfg.Binary = "/nonexistent"
	b, err := s2.Synthesize(ctx, "one")
	if err != nil || len(b) != len(a) {
		t.Errorf("disk cache miss: %d samples, err %v", len(b), err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := New(Config{Voice: "-x"}); err == nil {
		t.Error("voice starting with - accepted")
	}
	s := newSynth(t, Config{MaxText: 10})
	if _, err := s.Synthesize(context.Background(), "this is far too long"); err == nil {
		t.Error("long text accepted")
	}
	if pcm, err := s.Synthesize(context.Background(), "   "); err != nil || len(pcm) != 0 {
		t.Errorf("blank text: %d samples, %v", len(pcm), err)
	}
}

func BenchmarkSynthesizeCached(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	s.Synthesize(ctx, "your balance is one hundred dollars")
	for b.Loop() {
		s.Synthesize(ctx, "your balance is one hundred dollars")
	}
}
