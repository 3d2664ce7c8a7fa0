// Package recordings records calls to disk: one stereo WAV per call
// (caller left, agent right), written incrementally so a killed process
// leaves a playable file, optionally encrypted at rest per tenant, with
// metadata and an access audit in PostgreSQL and per-tenant retention.
// docs/recordings.md describes the formats and the policies.
package recordings

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// Manager starts recorders, repairs what a crash left, applies retention
// and opens recordings for playback. It is safe for concurrent use.
type Manager struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	ringFrames int
	keys       map[string]*tenantKey // tenant → its key; absent: plaintext

	mu     sync.Mutex
	active map[string]*Recorder // "<tenant>/<call>" → recorder

	// The writers: a few goroutines shared by all recorders move frames
	// from rings to files. Close stops them.
	work    chan *Recorder
	stop    chan struct{}
	writers sync.WaitGroup
	closed  sync.Once
}

// New checks the configuration and loads the tenants' keys, so a missing
// or malformed key stops the server at startup instead of leaving a
// tenant's calls unencrypted.
func New(cfg Config) (*Manager, error) {
	if cfg.Dir == "" {
		return nil, errors.New("recordings: no directory configured")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("recordings: directory %s: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recordings: create directory: %w", err)
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, now: cfg.Now, ringFrames: cfg.RingFrames,
		keys: map[string]*tenantKey{}, active: map[string]*Recorder{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if m.ringFrames <= 0 {
		m.ringFrames = 64
	}
	// The writer is woken once per chunk; the ring must hold more than
	// that or every batch would drop frames.
	m.ringFrames = max(m.ringFrames, 2*chunkFrames)
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for tenant, tc := range cfg.Tenants {
		if !validTenantID(tenant) {
			return nil, fmt.Errorf("recordings: tenant %q: not a valid tenant id", tenant)
		}
		k, err := loadKey(tenant, tc, getenv)
		if err != nil {
			return nil, fmt.Errorf("recordings: %w", err)
		}
		if k != nil {
			m.keys[tenant] = k
		}
	}
	// Each active recorder is queued at most once, so this only fills
	// when the writers are stalled; then frames wait in the rings.
	m.work = make(chan *Recorder, 4096)
	m.stop = make(chan struct{})
	for range cfg.Writers {
		m.writers.Add(1)
		go m.writer()
	}
	return m, nil
}

// writer is one of the manager's writer goroutines.
func (m *Manager) writer() {
	defer m.writers.Done()
	for {
		select {
		case <-m.stop:
			return
		case r := <-m.work:
			r.writeQueued()
		}
	}
}

// Close stops the writer goroutines. Recorders still open keep working
// until their own Close, which writes what their rings hold; only the
// half-second batches stop, so close recorders first.
func (m *Manager) Close() {
	m.closed.Do(func() {
		close(m.stop)
		m.writers.Wait()
	})
}

// Dir is the absolute root of the recordings tree.
func (m *Manager) Dir() string { return m.cfg.Dir }

func activeKey(tenant string, call uuid.UUID) string { return tenant + "/" + call.String() }

// Start opens the call's file and starts its writer. The file exists, with
// a valid header, when Start returns.
func (m *Manager) Start(meta Meta) (*Recorder, error) {
	if !validTenantID(meta.TenantID) {
		return nil, fmt.Errorf("recordings: start: bad tenant id %q", meta.TenantID)
	}
	callID, err := uuid.Parse(meta.CallID)
	if err != nil {
		return nil, fmt.Errorf("recordings: start: call id %q: %w", meta.CallID, err)
	}
	if meta.Started.IsZero() {
		meta.Started = m.now()
	}
	key := m.keys[meta.TenantID]
	name := callID.String() + ".wav"
	if key != nil {
		name += ".enc"
	}
	rel := filepath.Join(meta.TenantID, meta.Started.UTC().Format("2006/01/02"), name)
	path := filepath.Join(m.cfg.Dir, rel)

	ak := activeKey(meta.TenantID, callID)
	m.mu.Lock()
	if _, dup := m.active[ak]; dup {
		m.mu.Unlock()
		return nil, fmt.Errorf("recordings: call %s is already being recorded", meta.CallID)
	}
	m.active[ak] = nil // reserved while the file is made
	m.mu.Unlock()
	r, err := m.open(meta, callID, rel, path, key)
	m.mu.Lock()
	if err != nil {
		delete(m.active, ak)
	} else {
		m.active[ak] = r
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	go r.rowLoop()
	r.mu.Lock()
	r.saveRowSoon()
	r.mu.Unlock()
	return r, nil
}

func (m *Manager) open(meta Meta, callID uuid.UUID, rel, path string, key *tenantKey) (*Recorder, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("recordings: start %s: %w", rel, err)
	}
	// O_EXCL: a second recording of the same call must not truncate the
	// first (a restarted call id, or a file a crash left for the repair).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("recordings: start %s: %w", rel, err)
	}
	var (
		header []byte
		crypto *chunkCrypto
		keyID  string
	)
	if key == nil {
		h := wavHeader(0)
		header = h[:]
	} else {
		var random [24]byte
		if _, err := rand.Read(random[:]); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("recordings: start %s: random salt: %w", rel, err)
		}
		eh, err := newEncHeader(key.id, random[:])
		if err == nil {
			var aead cipher.AEAD
			if aead, err = fileAEAD(key.key, eh); err == nil {
				crypto = newChunkCrypto(aead, eh)
			}
		}
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return nil, fmt.Errorf("recordings: start %s: %w", rel, err)
		}
		header, keyID = eh.raw[:], key.id
	}
	if _, err := f.Write(header); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("recordings: start %s: write header: %w", rel, err)
	}
	return newRecorder(m, meta, callID, rel, path, f, crypto, keyID, int64(len(header))), nil
}

func (m *Manager) forget(r *Recorder) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active[activeKey(r.meta.TenantID, r.callID)] == r {
		delete(m.active, activeKey(r.meta.TenantID, r.callID))
	}
}

func (m *Manager) isActive(tenant string, call uuid.UUID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.active[activeKey(tenant, call)]
	return ok
}

// Active is the number of recordings in progress.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.active)
}

// syncDir fsyncs the directories from file's up to root, so a new file's
// directory entries survive a machine crash, not only its bytes.
func syncDir(root, file string) error {
	for d := filepath.Dir(file); ; d = filepath.Dir(d) {
		f, err := os.Open(d)
		if err != nil {
			return fmt.Errorf("sync directory: %w", err)
		}
		err = f.Sync()
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("sync directory %s: %w", d, err)
		}
		if d == root || len(d) <= len(root) {
			return nil
		}
	}
}

// RecordingInfo returns a call's recording metadata (store.ErrNotFound for
// none, or another tenant's).
func (m *Manager) RecordingInfo(ctx context.Context, tenantID string, callID uuid.UUID) (*store.Recording, error) {
	if m.cfg.Store == nil {
		return nil, errors.New("recordings: no metadata store")
	}
	return m.cfg.Store.GetRecording(ctx, tenantID, callID)
}

// AuditRecordingAccess writes one row of the access audit.
func (m *Manager) AuditRecordingAccess(ctx context.Context, a store.RecordingAccess) error {
	if m.cfg.Store == nil {
		return errors.New("recordings: no metadata store")
	}
	if a.At.IsZero() {
		a.At = m.now()
	}
	return m.cfg.Store.AddRecordingAccess(ctx, a)
}

// OpenRecording opens a finished recording as a WAV stream for playback:
// the file itself when plain, a decrypting reader when encrypted.
func (m *Manager) OpenRecording(ctx context.Context, rec *store.Recording) (io.ReadSeekCloser, error) {
	path, err := m.fullPath(rec.TenantID, rec.Path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recordings: open %s: %w", rec.Path, err)
	}
	if !rec.Encrypted {
		var h [wavHeaderSize]byte
		if _, err := io.ReadFull(f, h[:]); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("recordings: open %s: %w", rec.Path, err)
		}
		if err := checkWAVHeader(h[:]); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("recordings: open %s: %w", rec.Path, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("recordings: open %s: %w", rec.Path, err)
		}
		return f, nil
	}
	dr, err := m.newDecryptReader(rec.TenantID, f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("recordings: open %s: %w", rec.Path, err)
	}
	return dr, nil
}

// fullPath resolves a stored relative path, refusing anything that would
// leave the tenant's own subtree.
func (m *Manager) fullPath(tenant, rel string) (string, error) {
	if !validTenantID(tenant) || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("recordings: bad path %q", rel)
	}
	clean := filepath.Clean(rel)
	if first, _, _ := cutPath(clean); first != tenant {
		return "", fmt.Errorf("recordings: path %q is not under tenant %s", rel, tenant)
	}
	return filepath.Join(m.cfg.Dir, clean), nil
}

func cutPath(p string) (first, rest string, ok bool) {
	for i := 0; i < len(p); i++ {
		if os.IsPathSeparator(p[i]) {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}
