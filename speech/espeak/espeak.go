// Package espeak is the embedded text-to-speech engine: espeak-ng run as a
// process per render, resampled to telephone rate, with a memory and an
// optional disk cache so a prompt said again costs a map lookup.
//
// espeak-ng is fast (a sentence renders in tens of milliseconds) but
// robotic; it suits dynamic text (amounts, names, dates) around recorded
// prompts. Static prompts should be recorded or rendered once by a better
// engine and shipped as WAV files.
package espeak

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/media"
	"hotline/speech"
)

// Config configures a Synthesizer. Zero values take the defaults.
type Config struct {
	// Binary is the espeak-ng executable (default "espeak-ng" on PATH).
	Binary string
	// Voice is an espeak-ng voice name (default "en-us"); variants as
	// "en-us+f3".
	Voice string
	// Speed in words per minute (default 165; espeak's 175 is hurried on
	// the phone).
	Speed int
	// CacheEntries bounds the in-memory cache of rendered texts (default
	// 512 entries; a 3 s prompt is 48 KB).
	CacheEntries int
	// CacheDir, when set, also keeps renders as 8 kHz WAV files there, so
	// a restart does not render every prompt again. Created if missing.
	CacheDir string
	// Timeout bounds one render (default 10 s).
	Timeout time.Duration
	// MaxText bounds the text length in bytes (default 4000): a flow that
	// says a whole document is a mistake, not a prompt.
	MaxText int
}

// voiceName is what espeak-ng voice names look like; anything else (in
// particular a leading '-') is refused so a configured voice cannot turn
// into an option.
var voiceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_+/.-]*$`)

// ErrTooLong is returned for texts over Config.MaxText.
var ErrTooLong = errors.New("espeak: text too long")

// Synthesizer implements speech.Synthesizer. Safe for concurrent use.
type Synthesizer struct {
	cfg Config

	mu       sync.Mutex
	lru      *list.List               // of *entry, most recent first
	byKey    map[string]*list.Element // key → element of lru
	inflight map[string]*render       // renders in progress, shared by concurrent callers
}

type entry struct {
	key string
	pcm []int16
}

type render struct {
	done chan struct{}
	pcm  []int16
	err  error
}

var _ speech.Synthesizer = (*Synthesizer)(nil)

// New checks the binary and the voice and prepares the caches.
func New(cfg Config) (*Synthesizer, error) {
	if cfg.Binary == "" {
		cfg.Binary = "espeak-ng"
	}
	if cfg.Voice == "" {
		cfg.Voice = "en-us"
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 165
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = 512
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxText <= 0 {
		cfg.MaxText = 4000
	}
	if !voiceName.MatchString(cfg.Voice) {
		return nil, fmt.Errorf("espeak: invalid voice name %q", cfg.Voice)
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("espeak: %w (install espeak-ng, see scripts/deps.sh)", err)
	}
	cfg.Binary = bin
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("espeak: cache dir: %w", err)
		}
	}
	return &Synthesizer{
		cfg:      cfg,
		lru:      list.New(),
		byKey:    map[string]*list.Element{},
		inflight: map[string]*render{},
	}, nil
}

// Synthesize implements speech.Synthesizer. The returned slice is the
// caller's (a copy of the cached render). Empty text gives no samples.
func (s *Synthesizer) Synthesize(ctx context.Context, text string) ([]int16, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	if len(text) > s.cfg.MaxText {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(text), s.cfg.MaxText)
	}
	key := s.key(text)

	s.mu.Lock()
	if el, ok := s.byKey[key]; ok {
		s.lru.MoveToFront(el)
		pcm := el.Value.(*entry).pcm
		s.mu.Unlock()
		return append([]int16(nil), pcm...), nil
	}
	r, busy := s.inflight[key]
	if !busy {
		r = &render{done: make(chan struct{})}
		s.inflight[key] = r
	}
	s.mu.Unlock()

	if busy {
		// Someone is rendering the same text (a prompt many callers
		// reach at once): wait for that render instead of starting
		// another process.
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("espeak: %w", ctx.Err())
		}
		if r.err != nil {
			return nil, r.err
		}
		return append([]int16(nil), r.pcm...), nil
	}

	// The render is not tied to this caller's context beyond the
	// timeout: others may be waiting for it, and its result is cached.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	r.pcm, r.err = s.load(rctx, key, text)
	cancel()
	s.mu.Lock()
	delete(s.inflight, key)
	if r.err == nil {
		s.add(key, r.pcm)
	}
	s.mu.Unlock()
	close(r.done)
	if r.err != nil {
		return nil, r.err
	}
	return append([]int16(nil), r.pcm...), nil
}

// key identifies a render: everything that changes the audio.
func (s *Synthesizer) key(text string) string {
	h := sha256.New()
	fmt.Fprintf(h, "espeak-ng\x00%s\x00%d\x00%s", s.cfg.Voice, s.cfg.Speed, text)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// add caches pcm under key; s.mu held.
func (s *Synthesizer) add(key string, pcm []int16) {
	if _, ok := s.byKey[key]; ok {
		return
	}
	s.byKey[key] = s.lru.PushFront(&entry{key: key, pcm: pcm})
	for s.lru.Len() > s.cfg.CacheEntries {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.byKey, old.Value.(*entry).key)
	}
}

// load reads the disk cache or renders.
func (s *Synthesizer) load(ctx context.Context, key, text string) ([]int16, error) {
	var path string
	if s.cfg.CacheDir != "" {
		path = filepath.Join(s.cfg.CacheDir, key+".wav")
		if p, err := media.LoadWAV(path); err == nil {
			return promptPCM(p), nil
		}
	}
	pcm, err := s.render(ctx, text)
	if err != nil {
		return nil, err
	}
	if path != "" {
		// Best effort: a cache that cannot be written only costs a
		// render next time. Write then rename, so a concurrent reader
		// (another process) never sees half a file.
		tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, media.EncodeWAV(pcm, speech.SampleRate), 0o644) == nil {
			if os.Rename(tmp, path) != nil {
				os.Remove(tmp)
			}
		}
	}
	return pcm, nil
}

// render runs espeak-ng. The text goes through stdin, never argv, so text
// such as "--help" or "-w /etc/x" is spoken, not obeyed. espeak-ng writes
// 22050 Hz WAV; media.LoadWAV resamples it to 8 kHz with a windowed-sinc
// low-pass (plain decimation would fold its 4-11 kHz band into the
// telephone band).
func (s *Synthesizer) render(ctx context.Context, text string) ([]int16, error) {
	dir, err := os.MkdirTemp("", "hotline-espeak-")
	if err != nil {
		return nil, fmt.Errorf("espeak: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.wav")
	cmd := exec.CommandContext(ctx, s.cfg.Binary,
		"-b", "1", // input is UTF-8
		"-v", s.cfg.Voice,
		"-s", strconv.Itoa(s.cfg.Speed),
		"-w", out,
		"--stdin")
	cmd.Stdin = strings.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("espeak: render: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	p, err := media.LoadWAV(out)
	if err != nil {
		return nil, fmt.Errorf("espeak: render output: %w", err)
	}
	return promptPCM(p), nil
}

// promptPCM reads a Prompt's samples back out (media keeps them private;
// a non-looping player hands them over in one frame).
func promptPCM(p *media.Prompt) []int16 {
	pcm := make([]int16, p.Samples())
	if len(pcm) > 0 {
		media.NewPlayer(p, false).ReadFrame(pcm)
	}
	return pcm
}
