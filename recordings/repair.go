package recordings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// RepairReport says what a startup repair found.
type RepairReport struct {
	Scanned  int // recording files seen
	Repaired int // files without a finished row, fixed and stored as incomplete
	Missing  int // "recording" rows whose file does not exist, stored as incomplete
	Failed   int // files that could not be repaired (logged)
}

// Repair runs at startup, before calls are taken: every file in the tree
// without a finished metadata row (the process died while recording it)
// is cut back to its last whole 20 ms frame (plain) or last chunk that
// authenticates (encrypted), its WAV header is rewritten to the bytes
// present, and its row is stored as incomplete with what the file holds.
// Recordings in progress in this process are left alone.
func (m *Manager) Repair(ctx context.Context) (RepairReport, error) {
	var rep RepairReport
	tenants := map[string]bool{}
	for t := range m.cfg.Tenants {
		tenants[t] = true
	}
	err := filepath.WalkDir(m.cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(m.cfg.Dir, path)
		if err != nil {
			return nil
		}
		tenant, call, enc, ok := parseRecordingPath(rel)
		if !ok {
			return nil // not ours
		}
		tenants[tenant] = true
		rep.Scanned++
		if m.isActive(tenant, call) {
			return nil
		}
		var row *store.Recording
		if m.cfg.Store != nil {
			row, err = m.cfg.Store.GetRecording(ctx, tenant, call)
			switch {
			case errors.Is(err, store.ErrNotFound):
				row = nil
			case err != nil:
				return fmt.Errorf("recordings: repair %s: %w", rel, err)
			case row.Status != store.RecordingActive:
				return nil
			}
		}
		if err := m.repairOne(ctx, tenant, call, rel, path, enc, row); err != nil {
			rep.Failed++
			m.log.Error("recording repair failed", "path", rel, "error", err)
			return nil
		}
		rep.Repaired++
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("recordings: repair: %w", err)
	}
	if m.cfg.Store == nil {
		return rep, nil
	}
	// Rows still "recording" now have no file (or one that failed, kept
	// as it was): stored as incomplete so they stop looking live.
	for t := range tenants {
		rows, err := m.cfg.Store.RecordingsInStatus(ctx, t, store.RecordingActive)
		if err != nil {
			return rep, fmt.Errorf("recordings: repair: %w", err)
		}
		for _, row := range rows {
			if m.isActive(t, row.CallID) {
				continue
			}
			if p, err := m.fullPath(t, row.Path); err == nil {
				if _, err := os.Stat(p); err == nil {
					continue // a file repair failed on; left for a person to look at
				}
			}
			row.Status, row.DurationMs, row.SizeBytes, row.SHA256 = store.RecordingIncomplete, 0, 0, ""
			row.PausedSpans = closeSpans(row.PausedSpans, 0)
			if err := m.cfg.Store.SaveRecording(ctx, row); err != nil {
				return rep, fmt.Errorf("recordings: repair: %w", err)
			}
			rep.Missing++
		}
	}
	if rep.Repaired+rep.Missing+rep.Failed > 0 {
		m.log.Warn("recordings repaired after an unclean stop", "repaired", rep.Repaired, "missing", rep.Missing, "failed", rep.Failed)
	}
	return rep, nil
}

// parseRecordingPath takes <tenant>/YYYY/MM/DD/<call>.wav[.enc] apart.
func parseRecordingPath(rel string) (tenant string, call uuid.UUID, enc, ok bool) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 5 || !validTenantID(parts[0]) {
		return "", uuid.Nil, false, false
	}
	name := parts[4]
	switch {
	case strings.HasSuffix(name, ".wav.enc"):
		name, enc = strings.TrimSuffix(name, ".wav.enc"), true
	case strings.HasSuffix(name, ".wav"):
		name = strings.TrimSuffix(name, ".wav")
	default:
		return "", uuid.Nil, false, false
	}
	id, err := uuid.Parse(name)
	if err != nil || id.String() != name {
		return "", uuid.Nil, false, false
	}
	return parts[0], id, enc, true
}

func (m *Manager) repairOne(ctx context.Context, tenant string, call uuid.UUID, rel, path string, enc bool, row *store.Recording) error {
	var (
		dataLen, size int64
		sum           string
		keyID         string
		err           error
	)
	if enc {
		dataLen, size, sum, keyID, err = m.repairEncrypted(tenant, path)
	} else {
		dataLen, size, sum, err = repairWAV(path)
	}
	if err != nil {
		return err
	}
	durMs := dataLen / sampleBytes / samplesPerMs
	rec := store.Recording{TenantID: tenant, CallID: call, Path: rel, Encrypted: enc, KeyID: keyID}
	if row != nil {
		rec.AgentIDs, rec.StartedAt, rec.DroppedFrames = row.AgentIDs, row.StartedAt, row.DroppedFrames
		rec.PausedSpans = closeSpans(row.PausedSpans, durMs)
	} else {
		// No row at all (the database was unreachable when the call
		// started): the last write is about when the audio ended.
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("stat: %w", err)
		}
		rec.StartedAt = st.ModTime().Add(-time.Duration(durMs) * time.Millisecond)
	}
	rec.DurationMs, rec.SizeBytes, rec.SHA256, rec.Status = durMs, size, sum, store.RecordingIncomplete
	if m.cfg.Store == nil {
		return nil
	}
	if err := m.cfg.Store.SaveRecording(ctx, rec); err != nil {
		return err
	}
	return nil
}

// closeSpans ends open spans (end -1, the pause was still on at the crash)
// at the end of the audio and drops what lies beyond it.
func closeSpans(spans []store.PausedSpan, durMs int64) []store.PausedSpan {
	out := []store.PausedSpan{}
	for _, s := range spans {
		if s.StartMs >= durMs {
			continue
		}
		if s.EndMs < 0 || s.EndMs > durMs {
			s.EndMs = durMs
		}
		out = append(out, s)
	}
	return out
}

// repairWAV cuts a plain recording to whole 20 ms frames and
// writes the header's lengths to match.
func repairWAV(path string) (dataLen, size int64, sum string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, "", fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, "", fmt.Errorf("stat: %w", err)
	}
	var hb [wavHeaderSize]byte
	if st.Size() >= wavHeaderSize {
		if _, err := f.ReadAt(hb[:], 0); err != nil {
			return 0, 0, "", fmt.Errorf("read header: %w", err)
		}
		if err := checkWAVHeader(hb[:]); err != nil {
			return 0, 0, "", err // not a file this package wrote; leave it be
		}
	}
	dataLen = max(st.Size()-wavHeaderSize, 0)
	// Whole 20 ms frames, as the writer appends them: a torn frame's
	// first half is audio too, but the duration stays a whole number of
	// milliseconds and paused spans stay exact.
	dataLen -= dataLen % frameBytes
	dataLen = min(dataLen, maxWAVData-maxWAVData%frameBytes)
	if err := f.Truncate(wavHeaderSize + dataLen); err != nil {
		return 0, 0, "", fmt.Errorf("truncate: %w", err)
	}
	h := wavHeader(uint32(dataLen))
	if _, err := f.WriteAt(h[:], 0); err != nil {
		return 0, 0, "", fmt.Errorf("write header: %w", err)
	}
	hs := sha256.New()
	if _, err := io.Copy(hs, io.NewSectionReader(f, wavHeaderSize, dataLen)); err != nil {
		return 0, 0, "", fmt.Errorf("checksum: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, "", fmt.Errorf("sync: %w", err)
	}
	return dataLen, wavHeaderSize + dataLen, hex.EncodeToString(hs.Sum(nil)), nil
}

// repairEncrypted keeps the chunks that authenticate, in order, and cuts
// the file after the last of them: a torn final write fails GCM and goes.
func (m *Manager) repairEncrypted(tenant, path string) (dataLen, size int64, sum, keyID string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	var hb [encHeaderSize]byte
	if _, err := io.ReadFull(f, hb[:]); err != nil {
		// Start writes the header in one write; without it there is no
		// audio either, but the key id is unknown: leave it for a person.
		return 0, 0, "", "", fmt.Errorf("read header: %w", err)
	}
	h, err := parseEncHeader(hb[:])
	if err != nil {
		return 0, 0, "", "", err
	}
	cc, err := m.cryptoFor(tenant, h)
	if err != nil {
		return 0, 0, "", "", err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("stat: %w", err)
	}
	hs := sha256.New()
	sealed := make([]byte, chunkSealed)
	plain := make([]byte, 0, chunkPlain)
	good := int64(encHeaderSize)
	for i := uint64(0); ; i++ {
		n := min(st.Size()-good, chunkSealed)
		if n <= gcmOverhead {
			break
		}
		if _, err := f.ReadAt(sealed[:n], good); err != nil {
			return 0, 0, "", "", fmt.Errorf("read chunk %d: %w", i, err)
		}
		p, err := cc.open(plain[:0], sealed[:n], i)
		if err != nil {
			break
		}
		hs.Write(p)
		dataLen += int64(len(p))
		good += n
		if n < chunkSealed {
			break // a short chunk is the last one
		}
	}
	if err := f.Truncate(good); err != nil {
		return 0, 0, "", "", fmt.Errorf("truncate: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, "", "", fmt.Errorf("sync: %w", err)
	}
	return dataLen, good, hex.EncodeToString(hs.Sum(nil)), h.keyID, nil
}

// retentionDays is the tenant's policy; 0 or less keeps forever.
func (m *Manager) retentionDays(tenant string) int {
	if tc, ok := m.cfg.Tenants[tenant]; ok && tc.RetentionDays != 0 {
		return tc.RetentionDays
	}
	return m.cfg.DefaultRetentionDays
}

// Sweep deletes the recordings that started more than their tenant's
// retention before now: the file first, then the row is marked deleted
// (kept, with the audit trail that references it). A crash between the
// two leaves a row whose file is gone, which the next sweep marks. It
// returns how many recordings it deleted.
// textPurger removes the text of calls (transcripts, checklist evidence,
// summaries) older than the retention, when the store keeps any.
type textPurger interface {
	PurgeCallText(ctx context.Context, tenantID string, cutoff time.Time) (int64, error)
}

func (m *Manager) Sweep(ctx context.Context, now time.Time) (int, error) {
	if m.cfg.Store == nil {
		return 0, nil
	}
	tenants := map[string]bool{}
	for t := range m.cfg.Tenants {
		tenants[t] = true
	}
	if entries, err := os.ReadDir(m.cfg.Dir); err == nil {
		for _, e := range entries {
			if e.IsDir() && validTenantID(e.Name()) {
				tenants[e.Name()] = true
			}
		}
	}
	const batch = 200
	deleted := 0
	var errs []error
	for t := range tenants {
		days := m.retentionDays(t)
		if days <= 0 {
			continue
		}
		cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
		// The words said on the calls go with their audio.
		if p, ok := m.cfg.Store.(textPurger); ok {
			if _, err := p.PurgeCallText(ctx, t, cutoff); err != nil {
				errs = append(errs, err)
			}
		}
		for {
			recs, err := m.cfg.Store.ExpiredRecordings(ctx, t, cutoff, batch)
			if err != nil {
				errs = append(errs, err)
				break
			}
			progress := 0
			for _, rec := range recs {
				if m.isActive(t, rec.CallID) {
					continue
				}
				path, err := m.fullPath(t, rec.Path)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("recordings: sweep %s: %w", rec.Path, err))
					continue
				}
				if err := m.cfg.Store.MarkRecordingDeleted(ctx, t, rec.CallID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					errs = append(errs, err)
					continue
				}
				m.removeEmptyDirs(t, filepath.Dir(path))
				deleted++
				progress++
			}
			if len(recs) < batch || progress == 0 {
				break
			}
		}
	}
	return deleted, errors.Join(errs...)
}

// removeEmptyDirs removes emptied day, month and year directories; a
// directory still holding files refuses and stops the climb.
func (m *Manager) removeEmptyDirs(tenant, dir string) {
	stop := filepath.Join(m.cfg.Dir, tenant)
	for d := dir; len(d) > len(stop) && strings.HasPrefix(d, stop); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}

// RunSweeper sweeps now and then every interval until ctx ends; the
// caller owns the goroutine it runs on.
func (m *Manager) RunSweeper(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := m.Sweep(ctx, m.now())
		if err != nil && ctx.Err() == nil {
			m.log.Error("recordings retention sweep", "deleted", n, "error", err)
		} else if n > 0 {
			m.log.Info("recordings retention sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
