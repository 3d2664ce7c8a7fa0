package recordings

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

// testKey is the acme tenant's key in the tests, base64 as in a key file.
const testKey = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="

var t0 = time.Date(2030, 5, 6, 8, 0, 0, 0, time.UTC)

func newTestManager(t testing.TB, db *store.Store, tenants map[string]TenantConfig) *Manager {
	t.Helper()
	if db != nil {
		ctx := context.Background()
		if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{
		Dir: t.TempDir(), Tenants: tenants, Now: func() time.Time { return t0 },
		Getenv: func(name string) string {
			if name == "ACME_KEY" {
				return testKey
			}
			return ""
		},
	}
	if db != nil {
		cfg.Store = db
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func encTenants() map[string]TenantConfig {
	return map[string]TenantConfig{"demo": {RetentionDays: 30}, "acme": {KeyEnv: "ACME_KEY"}}
}

// tone fills n frames with sine waves of fl Hz (left) and fr Hz (right).
func tone(n int, fl, fr float64) (left, right [][]int16) {
	for f := range n {
		l, r := make([]int16, FrameSamples), make([]int16, FrameSamples)
		for i := range FrameSamples {
			t := float64(f*FrameSamples+i) / SampleRate
			l[i] = int16(8000 * math.Sin(2*math.Pi*fl*t))
			r[i] = int16(8000 * math.Sin(2*math.Pi*fr*t))
		}
		left, right = append(left, l), append(right, r)
	}
	return left, right
}

// noise fills n frames with random samples that are never zero, so any
// zero in the file is silence the recorder put there.
func noise(n int, seed uint64) (left, right [][]int16) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for range n {
		l, r := make([]int16, FrameSamples), make([]int16, FrameSamples)
		for i := range FrameSamples {
			l[i] = int16(1 + rng.IntN(20000))
			r[i] = int16(-1 - rng.IntN(20000))
		}
		left, right = append(left, l), append(right, r)
	}
	return left, right
}

// feed writes frames at the pacer's pace (minus the waiting), giving the
// writer a moment every second so the ring never overflows.
func feed(rec *Recorder, left, right [][]int16) {
	for i := range left {
		rec.WriteFrame(left[i], right[i])
		if (i+1)%chunkFrames == 0 {
			waitDrained(rec)
		}
	}
}

// waitDrained wakes the writer (its own wake-up may be up to a chunk
// away, at the call's phase) and waits until the ring is empty.
func waitDrained(rec *Recorder) {
	for rec.head.Load() != rec.tail.Load() {
		rec.nudge()
		runtime.Gosched()
	}
}

// parseWAV checks the header against the bytes and returns the channels.
func parseWAV(t *testing.T, b []byte) (left, right []int16) {
	t.Helper()
	if err := checkWAVHeader(b); err != nil {
		t.Fatal(err)
	}
	dataLen := int(binary.LittleEndian.Uint32(b[40:]))
	if riff := int(binary.LittleEndian.Uint32(b[4:])); riff != 36+dataLen {
		t.Fatalf("RIFF size %d, data %d", riff, dataLen)
	}
	if wavHeaderSize+dataLen != len(b) {
		t.Fatalf("header says %d data bytes, file has %d", dataLen, len(b)-wavHeaderSize)
	}
	if dataLen%sampleBytes != 0 {
		t.Fatalf("data length %d is not whole sample frames", dataLen)
	}
	for i := wavHeaderSize; i < len(b); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(b[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(b[i+2:])))
	}
	return left, right
}

// goertzel is the power of x at freq, normalised by length.
func goertzel(x []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return p / float64(len(x)*len(x))
}

func readAll(t *testing.T, m *Manager, rec *store.Recording) []byte {
	t.Helper()
	rc, err := m.OpenRecording(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func start(t testing.TB, m *Manager, tenant, agent string) (*Recorder, uuid.UUID) {
	t.Helper()
	id := uuid.New()
	rec, err := m.Start(Meta{TenantID: tenant, CallID: id.String(), AgentID: agent, Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	return rec, id
}

func TestStereoChannelsLandLeftAndRight(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())
	rec, id := start(t, m, "demo", "agent-1")
	l, r := tone(250, 440, 1000) // 5 s
	feed(rec, l, r)
	info, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Duration != 5*time.Second || info.Status != store.RecordingComplete || info.Encrypted {
		t.Fatalf("info = %+v", info)
	}
	if info.RelPath != filepath.Join("demo", "2030", "05", "06", id.String()+".wav") {
		t.Fatalf("path = %s", info.RelPath)
	}
	b, err := os.ReadFile(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	left, right := parseWAV(t, b)
	if len(left) != 5*SampleRate {
		t.Fatalf("%d samples per channel, want %d", len(left), 5*SampleRate)
	}
	l440, l1k := goertzel(left, 440), goertzel(left, 1000)
	r440, r1k := goertzel(right, 440), goertzel(right, 1000)
	if l440 < 1000*l1k || r1k < 1000*r440 {
		t.Fatalf("left 440/1k = %.3g/%.3g, right 440/1k = %.3g/%.3g", l440, l1k, r440, r1k)
	}
	row, err := db.GetRecording(context.Background(), "demo", id)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != store.RecordingComplete || row.DurationMs != 5000 || row.SizeBytes != int64(len(b)) ||
		row.SHA256 != info.SHA256 || len(row.AgentIDs) != 1 || row.AgentIDs[0] != "agent-1" || row.Encrypted {
		t.Fatalf("row = %+v", row)
	}
	if n := len(row.SHA256); n != 64 {
		t.Fatalf("sha256 %q", row.SHA256)
	}
	// Another tenant cannot see it.
	if _, err := db.GetRecording(context.Background(), "acme", id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme sees demo's recording: %v", err)
	}
}

// silenceSpans lists the zero runs of both channels, in samples.
func silenceSpans(left, right []int16) [][2]int64 {
	var out [][2]int64
	start := int64(-1)
	for i := range left {
		z := left[i] == 0 && right[i] == 0
		switch {
		case z && start < 0:
			start = int64(i)
		case !z && start >= 0:
			out = append(out, [2]int64{start, int64(i)})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, [2]int64{start, int64(len(left))})
	}
	return out
}

func checkSilenceIsSpans(t *testing.T, left, right []int16, spans []store.PausedSpan) {
	t.Helper()
	got := silenceSpans(left, right)
	if len(got) != len(spans) {
		t.Fatalf("silence %v, spans %v", got, spans)
	}
	for i, s := range spans {
		if got[i][0] != s.StartMs*samplesPerMs || got[i][1] != s.EndMs*samplesPerMs {
			t.Fatalf("silence %d is samples %v, span is %v ms", i, got[i], s)
		}
	}
}

func TestPauseResumeSilencesExactlyTheSpan(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())

	t.Run("known in advance", func(t *testing.T) {
		rec, id := start(t, m, "demo", "a")
		// A pause that begins and ends mid-frame: spans are in whole ms,
		// silence is sample-exact.
		if err := rec.Pause(t0.Add(1013 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if err := rec.Resume(t0.Add(2507 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		l, r := noise(200, 1)
		feed(rec, l, r)
		info, err := rec.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := []store.PausedSpan{{StartMs: 1013, EndMs: 2507}}
		if len(info.Paused) != 1 || info.Paused[0] != want[0] {
			t.Fatalf("spans %v, want %v", info.Paused, want)
		}
		b, _ := os.ReadFile(info.Path)
		left, right := parseWAV(t, b)
		checkSilenceIsSpans(t, left, right, info.Paused)
		// Outside the span the audio is what was written.
		if left[0] != l[0][0] || right[8000*3] != r[150][0] {
			t.Fatal("audio outside the pause changed")
		}
		row, err := db.GetRecording(context.Background(), "demo", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(row.PausedSpans) != 1 || row.PausedSpans[0] != want[0] {
			t.Fatalf("stored spans %v", row.PausedSpans)
		}
	})

	t.Run("live, late and still open at close", func(t *testing.T) {
		rec, _ := start(t, m, "demo", "a")
		l, r := noise(300, 2)
		feed(rec, l[:100], r[:100])
		// The writer has written 2 s already; a pause dated 1.5 s cannot
		// unwrite it and starts at the first unwritten sample instead.
		if err := rec.Pause(t0.Add(1500 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		feed(rec, l[100:150], r[100:150])
		if err := rec.Resume(t0.Add(2700 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		feed(rec, l[150:250], r[150:250])
		if err := rec.Pause(t0.Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		feed(rec, l[250:], r[250:])
		info, err := rec.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Paused) != 2 || info.Paused[0].StartMs < 1500 || info.Paused[0].StartMs > 2000 ||
			info.Paused[1] != (store.PausedSpan{StartMs: 5000, EndMs: 6000}) {
			t.Fatalf("spans %v", info.Paused)
		}
		b, _ := os.ReadFile(info.Path)
		left, right := parseWAV(t, b)
		checkSilenceIsSpans(t, left, right, info.Paused)
		if err := rec.Pause(t0); !errors.Is(err, ErrClosed) {
			t.Fatalf("pause after close: %v", err)
		}
	})
}

func TestEncryptedRoundTripAndNoPlaintextOnDisk(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())
	l, r := noise(173, 3) // 3.46 s: a short last chunk
	plain, pid := start(t, m, "demo", "a")
	enc, eid := start(t, m, "acme", "b")
	for _, rec := range []*Recorder{plain, enc} {
		_ = rec.Pause(t0.Add(time.Second))
		_ = rec.Resume(t0.Add(1200 * time.Millisecond))
		feed(rec, l, r)
	}
	pinfo, err := plain.Close()
	if err != nil {
		t.Fatal(err)
	}
	einfo, err := enc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !einfo.Encrypted || einfo.KeyID == "" || filepath.Ext(einfo.Path) != ".enc" {
		t.Fatalf("encrypted info %+v", einfo)
	}
	if einfo.SHA256 != pinfo.SHA256 || einfo.Duration != pinfo.Duration || einfo.Duration != 3460*time.Millisecond {
		t.Fatalf("plain %s %v, encrypted %s %v", pinfo.SHA256, pinfo.Duration, einfo.SHA256, einfo.Duration)
	}

	ctx := context.Background()
	prow, _ := db.GetRecording(ctx, "demo", pid)
	erow, err := db.GetRecording(ctx, "acme", eid)
	if err != nil {
		t.Fatal(err)
	}
	if !erow.Encrypted || erow.KeyID != einfo.KeyID || erow.SizeBytes != einfo.Size {
		t.Fatalf("row %+v", erow)
	}
	want, _ := os.ReadFile(pinfo.Path)
	got := readAll(t, m, erow)
	if !bytes.Equal(got, want) {
		t.Fatalf("decrypted WAV (%d bytes) differs from the plain one (%d bytes)", len(got), len(want))
	}
	if !bytes.Equal(readAll(t, m, prow), want) {
		t.Fatal("plain playback differs from the file")
	}

	// No 20 ms frame of audio, nor any 64-byte piece of one, is on disk.
	disk, _ := os.ReadFile(einfo.Path)
	pcm := want[wavHeaderSize:]
	for off := 0; off+64 <= len(pcm); off += 64 {
		if bytes.Contains(disk, pcm[off:off+64]) {
			t.Fatalf("plaintext audio at PCM offset %d found in the encrypted file", off)
		}
	}

	// Seeking into the middle of a chunk serves the same bytes.
	rc, _ := m.OpenRecording(ctx, erow)
	defer rc.Close()
	for _, off := range []int64{0, 10, 43, 44, 45, chunkPlain + 44 - 3, int64(len(want)) - 7} {
		if _, err := rc.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 50)
		n, _ := io.ReadFull(rc, buf)
		if !bytes.Equal(buf[:n], want[off:min(int(off)+50, len(want))]) {
			t.Fatalf("bytes at %d differ", off)
		}
	}

	// A flipped bit fails authentication instead of playing garbage.
	disk[encHeaderSize+chunkSealed+100] ^= 1
	if err := os.WriteFile(einfo.Path, disk, 0o640); err != nil {
		t.Fatal(err)
	}
	rc2, _ := m.OpenRecording(ctx, erow)
	defer rc2.Close()
	if _, err := io.ReadAll(rc2); err == nil {
		t.Fatal("tampered chunk decrypted")
	}

	// Another key cannot open it.
	other := newTestManager(t, nil, nil)
	other.keys["acme"] = &tenantKey{id: "ffffffffffffffff", key: make([]byte, 32)}
	if _, err := other.OpenRecording(ctx, &store.Recording{TenantID: "acme", Path: erow.Path, Encrypted: true}); err == nil {
		t.Fatal("opened with the wrong key")
	}
}

func TestKeysFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	hexKey := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte(hexKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b64, _ := base64.StdEncoding.DecodeString(testKey)
	for _, c := range []struct {
		tc  TenantConfig
		ok  bool
		raw []byte
	}{
		{TenantConfig{KeyFile: filepath.Join(dir, "k")}, true, nil},
		{TenantConfig{KeyEnv: "K"}, true, b64},
		{TenantConfig{KeyEnv: "MISSING"}, false, nil},
		{TenantConfig{KeyFile: filepath.Join(dir, "nope")}, false, nil},
		{TenantConfig{KeyFile: filepath.Join(dir, "k"), KeyEnv: "K"}, false, nil},
	} {
		k, err := loadKey("demo", c.tc, func(n string) string {
			if n == "K" {
				return testKey
			}
			return ""
		})
		if (err == nil) != c.ok {
			t.Fatalf("%+v: err %v", c.tc, err)
		}
		if c.raw != nil && !bytes.Equal(k.key, c.raw) {
			t.Fatalf("%+v: wrong key", c.tc)
		}
	}
	if _, err := decodeKey("c2hvcnQ="); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestCrashRepair(t *testing.T) {
	for _, tenant := range []string{"demo", "acme"} {
		t.Run(tenant, func(t *testing.T) {
			db := storetest.NewStore(t)
			m := newTestManager(t, db, encTenants())
			ctx := context.Background()
			rec, id := start(t, m, tenant, "agent-7")
			if err := rec.Pause(t0.Add(2 * time.Second)); err != nil {
				t.Fatal(err)
			}
			l, r := noise(165, 4) // 3.3 s written by the "pacer"
			feed(rec, l, r)
			waitRow(t, db, tenant, id, func(row *store.Recording) bool {
				return len(row.PausedSpans) == 1 && row.Status == store.RecordingActive
			})
			// kill -9: the writer stops where it is; the half second in the
			// chunk being filled never reaches the disk.
			rec.abandon()
			// ...and the last write was torn in the middle of a frame/chunk.
			st, _ := os.Stat(rec.path)
			cut := int64(frameBytes/2 + 2)
			if tenant == "acme" {
				cut = chunkSealed / 2
			}
			if err := os.Truncate(rec.path, st.Size()-cut); err != nil {
				t.Fatal(err)
			}

			// A restarted server.
			m2 := newTestManager(t, db, encTenants())
			m2.cfg.Dir = m.cfg.Dir
			rep, err := m2.Repair(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Repaired != 1 || rep.Failed != 0 {
				t.Fatalf("report %+v", rep)
			}
			row, err := db.GetRecording(ctx, tenant, id)
			if err != nil {
				t.Fatal(err)
			}
			written := 3300 * time.Millisecond
			got := time.Duration(row.DurationMs) * time.Millisecond
			if row.Status != store.RecordingIncomplete || got > written || written-got > time.Second {
				t.Fatalf("row %s %v after %v written", row.Status, got, written)
			}
			if len(row.PausedSpans) != 1 || row.PausedSpans[0] != (store.PausedSpan{StartMs: 2000, EndMs: row.DurationMs}) ||
				len(row.AgentIDs) != 1 || row.AgentIDs[0] != "agent-7" {
				t.Fatalf("row spans %v agents %v", row.PausedSpans, row.AgentIDs)
			}
			wav := readAll(t, m2, row)
			left, right := parseWAV(t, wav)
			if int64(len(left)) != row.DurationMs*samplesPerMs {
				t.Fatalf("%d samples for %d ms", len(left), row.DurationMs)
			}
			for i := range 2 * SampleRate {
				if left[i] != l[i/FrameSamples][i%FrameSamples] || right[i] != r[i/FrameSamples][i%FrameSamples] {
					t.Fatalf("sample %d differs after repair", i)
				}
			}
			checkSilenceIsSpans(t, left, right, row.PausedSpans)
			if st, _ := os.Stat(rec.path); st.Size() != row.SizeBytes {
				t.Fatalf("size %d, row %d", st.Size(), row.SizeBytes)
			}
			// A second repair finds nothing to do.
			if rep, err := m2.Repair(ctx); err != nil || rep.Repaired != 0 || rep.Scanned != 1 {
				t.Fatalf("second repair %+v %v", rep, err)
			}
		})
	}
}

func waitRow(t *testing.T, db *store.Store, tenant string, id uuid.UUID, ok func(*store.Recording) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		row, err := db.GetRecording(context.Background(), tenant, id)
		if err == nil && ok(row) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("row not as expected: %+v %v", row, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRepairFileWithoutRowAndRowWithoutFile(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())
	ctx := context.Background()
	// A row left "recording" whose file is gone.
	gone := uuid.New()
	if err := db.SaveRecording(ctx, store.Recording{TenantID: "demo", CallID: gone, Path: "demo/2030/05/06/" + gone.String() + ".wav",
		StartedAt: t0, Status: store.RecordingActive, PausedSpans: []store.PausedSpan{{StartMs: 10, EndMs: -1}}}); err != nil {
		t.Fatal(err)
	}
	// A file with no row (the database was down during the call), with a
	// header that still says 0 bytes.
	orphan := uuid.New()
	p := filepath.Join(m.Dir(), "demo", "2030", "05", "06", orphan.String()+".wav")
	_ = os.MkdirAll(filepath.Dir(p), 0o750)
	h := wavHeader(0)
	body := append(h[:], make([]byte, 8000*4+frameBytes-3)...)
	if err := os.WriteFile(p, body, 0o640); err != nil {
		t.Fatal(err)
	}
	// Something that is not a recording is left alone.
	stray := filepath.Join(m.Dir(), "demo", "notes.txt")
	_ = os.WriteFile(stray, []byte("hello"), 0o640)

	rep, err := m.Repair(ctx)
	if err != nil || rep.Repaired != 1 || rep.Missing != 1 {
		t.Fatalf("report %+v %v", rep, err)
	}
	row, err := db.GetRecording(ctx, "demo", orphan)
	if err != nil || row.DurationMs != 1000 || row.Status != store.RecordingIncomplete {
		t.Fatalf("orphan row %+v %v", row, err)
	}
	row, err = db.GetRecording(ctx, "demo", gone)
	if err != nil || row.Status != store.RecordingIncomplete || len(row.PausedSpans) != 0 {
		t.Fatalf("gone row %+v %v", row, err)
	}
	if b, _ := os.ReadFile(stray); string(b) != "hello" {
		t.Fatal("stray file touched")
	}
}

func TestDiskStallDropsFramesButKeepsTheTimeline(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())
	rec, _ := start(t, m, "demo", "a")
	l, r := noise(200, 5)
	// Holding the recorder's lock stalls the writer at its next batch, as a
	// blocked disk write would.
	rec.mu.Lock()
	for i := range l {
		rec.WriteFrame(l[i], r[i])
	}
	rec.mu.Unlock()
	info, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.DroppedFrames == 0 || info.Duration != 4*time.Second {
		t.Fatalf("dropped %d, duration %v", info.DroppedFrames, info.Duration)
	}
	b, _ := os.ReadFile(info.Path)
	left, _ := parseWAV(t, b)
	// The first ring's worth is intact and the dropped frames are silence
	// in their place, so what follows is still at its true time.
	if left[0] != l[0][0] || left[FrameSamples*199] != 0 {
		t.Fatalf("timeline shifted: first %d, last %d", left[0], left[FrameSamples*199])
	}
}

func TestSweepDeletesPastRetention(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())
	ctx := context.Background()
	var old, recent uuid.UUID
	var oldPath, recentPath string
	for i, age := range []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour} {
		id := uuid.New()
		rec, err := m.Start(Meta{TenantID: "demo", CallID: id.String(), Started: t0.Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
		l, r := noise(10, 6)
		feed(rec, l, r)
		info, err := rec.Close()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			old, oldPath = id, info.Path
		} else {
			recent, recentPath = id, info.Path
		}
	}
	// acme keeps forever: its old recording stays.
	keep, err := m.Start(Meta{TenantID: "acme", CallID: uuid.NewString(), Started: t0.Add(-400 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	keepInfo, _ := keep.Close()

	n, err := m.Sweep(ctx, t0)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
	if _, err := os.Stat(oldPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(oldPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("emptied day directory left behind")
	}
	for _, p := range []string{recentPath, keepInfo.Path} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("kept file gone: %v", err)
		}
	}
	row, _ := db.GetRecording(ctx, "demo", old)
	if row.Status != store.RecordingDeleted || row.DeletedAt == nil {
		t.Fatalf("old row %+v", row)
	}
	if row, _ := db.GetRecording(ctx, "demo", recent); row.Status != store.RecordingComplete {
		t.Fatalf("recent row %+v", row)
	}
	if n, err := m.Sweep(ctx, t0); err != nil || n != 0 {
		t.Fatalf("second sweep %d %v", n, err)
	}

	// RunSweeper stops with its context.
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.RunSweeper(sctx, time.Hour); close(done) }()
	cancel()
	<-done
}

func TestStartRejectsBadIDsAndDuplicates(t *testing.T) {
	m := newTestManager(t, nil, nil)
	if _, err := m.Start(Meta{TenantID: "../x", CallID: uuid.NewString()}); err == nil {
		t.Fatal("bad tenant accepted")
	}
	if _, err := m.Start(Meta{TenantID: "demo", CallID: "../../etc/passwd"}); err == nil {
		t.Fatal("bad call id accepted")
	}
	id := uuid.NewString()
	rec, err := m.Start(Meta{TenantID: "demo", CallID: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(Meta{TenantID: "demo", CallID: id}); err == nil {
		t.Fatal("second recorder for one call")
	}
	if _, err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(Meta{TenantID: "demo", CallID: id}); err == nil {
		t.Fatal("an existing file was overwritten")
	}
	if _, err := m.fullPath("demo", "acme/2030/01/01/x.wav"); err == nil {
		t.Fatal("a path of another tenant resolved")
	}
}

func TestWriteFrameDoesNotAllocate(t *testing.T) {
	m := newTestManager(t, nil, encTenants())
	rec, _ := start(t, m, "acme", "")
	defer rec.Close()
	l, r := noise(1, 7)
	if a := testing.AllocsPerRun(1000, func() { rec.WriteFrame(l[0], r[0]) }); a != 0 {
		t.Fatalf("WriteFrame allocates %.1f times", a)
	}
}

// BenchmarkWriteFrame is the pacer's cost per frame, with the writer
// draining concurrently (into a real file).
func BenchmarkWriteFrame(b *testing.B) {
	for _, tenant := range []string{"demo", "acme"} {
		b.Run(map[string]string{"demo": "plain", "acme": "encrypted"}[tenant], func(b *testing.B) {
			m := newTestManager(b, nil, encTenants())
			rec, _ := start(b, m, tenant, "")
			l, r := noise(1, 8)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rec.WriteFrame(l[0], r[0])
			}
			b.StopTimer()
			_, _ = rec.Close()
		})
	}
}

// BenchmarkPipeline is the whole cost of one second of a call's audio:
// 50 frames through the ring, interleaving, (sealing) and the write.
func BenchmarkPipeline(b *testing.B) {
	for _, tenant := range []string{"demo", "acme"} {
		b.Run(map[string]string{"demo": "plain", "acme": "encrypted"}[tenant], func(b *testing.B) {
			m := newTestManager(b, nil, encTenants())
			rec, _ := start(b, m, tenant, "")
			l, r := noise(1, 9)
			b.SetBytes(2 * chunkPlain)
			b.ResetTimer()
			for range b.N {
				for range 2 * chunkFrames {
					rec.WriteFrame(l[0], r[0])
				}
				waitDrained(rec)
			}
			b.StopTimer()
			if d := rec.Dropped(); d != 0 {
				b.Fatalf("%d frames dropped", d)
			}
			_, _ = rec.Close()
		})
	}
}

// TestLoadThousandCalls feeds 1000 recorders at the pacer's real pace
// (one frame each per 20 ms) for a few seconds and reports the CPU the
// whole recording path costs. HOTLINE_REC_LOAD=1 runs it (it takes 6 s).
func TestLoadThousandCalls(t *testing.T) {
	if os.Getenv("HOTLINE_REC_LOAD") == "" {
		t.Skip("HOTLINE_REC_LOAD=1 runs the load measurement")
	}
	for _, tenant := range []string{"demo", "acme"} {
		m := newTestManager(t, nil, encTenants())
		const calls, seconds = 1000, 5
		recs := make([]*Recorder, calls)
		for i := range recs {
			recs[i], _ = start(t, m, tenant, "")
		}
		l, r := noise(1, 10)
		// The rings were just allocated: collect now, not during the
		// measurement.
		runtime.GC()
		var before, after syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		begin := time.Now()
		tick := time.NewTicker(20 * time.Millisecond)
		var ticks []time.Duration
		for range seconds * 50 {
			<-tick.C
			t1 := time.Now()
			for _, rec := range recs {
				rec.WriteFrame(l[0], r[0])
			}
			ticks = append(ticks, time.Since(t1))
		}
		tick.Stop()
		wall := time.Since(begin)
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		slices.Sort(ticks)
		var dropped int64
		for _, rec := range recs {
			if _, err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			dropped += rec.Dropped()
		}
		cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
		t.Logf("%s: %d calls x %d s: CPU %v over %v wall (%.1f%% of one core); a tick's 1000 WriteFrames: median %v, p99 %v, max %v; dropped %d",
			tenant, calls, seconds, cpu.Round(time.Millisecond), wall.Round(time.Millisecond),
			100*cpu.Seconds()/wall.Seconds(), ticks[len(ticks)/2], ticks[len(ticks)*99/100], ticks[len(ticks)-1], dropped)
	}
}

// BenchmarkWriteFrameAccepted is WriteFrame's cost when the frame goes
// into the ring (BenchmarkWriteFrame mostly measures the drop path, since
// it produces far faster than real time): no writer runs, and the ring is
// emptied by hand.
func BenchmarkWriteFrameAccepted(b *testing.B) {
	m := newTestManager(b, nil, nil)
	f, err := os.CreateTemp(b.TempDir(), "x")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := newRecorder(m, Meta{TenantID: "demo", Started: t0}, uuid.New(), "x", f.Name(), f, nil, "", wavHeaderSize)
	rec.queued.Store(true) // no writer: nudges are no-ops
	l, r := noise(1, 11)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec.WriteFrame(l[0], r[0])
		rec.tail.Store(rec.head.Load())
	}
	b.StopTimer()
	if rec.Dropped() != 0 {
		b.Fatal("dropped")
	}
}
