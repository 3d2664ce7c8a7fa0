package recordings

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

// monoSamples checks a clip's header and returns its samples.
func monoSamples(t *testing.T, b []byte) []int16 {
	t.Helper()
	if len(b) < monoHeaderSize || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("not a WAV: % x", b[:min(len(b), 44)])
	}
	if ch, rate, bits := binary.LittleEndian.Uint16(b[22:]), binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint16(b[34:]); ch != 1 || rate != 8000 || bits != 16 {
		t.Fatalf("format %d ch %d Hz %d bit", ch, rate, bits)
	}
	n := int(binary.LittleEndian.Uint32(b[40:]))
	if n != len(b)-monoHeaderSize || binary.LittleEndian.Uint32(b[4:]) != uint32(36+n) {
		t.Fatalf("header sizes %d/%d for %d bytes", n, binary.LittleEndian.Uint32(b[4:]), len(b))
	}
	out := make([]int16, n/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[monoHeaderSize+2*i:]))
	}
	return out
}

// recordAgentTones records 4 s: the caller at 440 Hz throughout, the
// agent at 1000 Hz for two seconds then 1500 Hz, with a PCI pause from
// 3.0 to 3.2 s.
func recordAgentTones(t *testing.T, m *Manager, tenant string) uuid.UUID {
	t.Helper()
	rec, id := start(t, m, tenant, "agent-1")
	if err := rec.Pause(t0.Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Resume(t0.Add(3200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	l1, r1 := tone(100, 440, 1000)
	l2, r2 := tone(100, 440, 1500)
	feed(rec, append(l1, l2...), append(r1, r2...))
	if _, err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestAgentClipCutsTheAgentSide: the clip is the right channel at the
// recording's own offsets (pauses are silence, not cut out), faded at
// both ends, clamped to the file, the same from an encrypted recording,
// with clear errors for no recording and a span outside it.
func TestAgentClipCutsTheAgentSide(t *testing.T) {
	db := storetest.NewStore(t)
	m := newTestManager(t, db, encTenants())
	ctx := context.Background()
	plain := recordAgentTones(t, m, "demo")
	enc := recordAgentTones(t, m, "acme")

	clip, err := m.CallAgentClip(ctx, "demo", plain, 1000, 3500)
	if err != nil {
		t.Fatal(err)
	}
	pcm := monoSamples(t, clip)
	if len(pcm) != 2500*samplesPerMs {
		t.Fatalf("%d samples, want %d", len(pcm), 2500*samplesPerMs)
	}
	// 1.0-2.0 s: 1000 Hz; 2.0-3.0 s: 1500 Hz; 3.0-3.2 s paused: silence;
	// never the caller's 440 Hz.
	a, b := pcm[100*samplesPerMs:900*samplesPerMs], pcm[1100*samplesPerMs:1900*samplesPerMs]
	if goertzel(a, 1000) < 1000*goertzel(a, 1500) || goertzel(b, 1500) < 1000*goertzel(b, 1000) {
		t.Fatalf("tones: first %.3g/%.3g, second %.3g/%.3g", goertzel(a, 1000), goertzel(a, 1500), goertzel(b, 1500), goertzel(b, 1000))
	}
	if goertzel(a, 440) > goertzel(a, 1000)/1000 {
		t.Fatal("the caller's side leaks into the clip")
	}
	for i, v := range pcm[2000*samplesPerMs : 2200*samplesPerMs] {
		if v != 0 {
			t.Fatalf("paused span not silent at %d ms into the clip: %d", 2000+i/samplesPerMs, v)
		}
	}
	// The fades: the ends are zero and the first milliseconds quieter than
	// the tone's full amplitude.
	if pcm[0] != 0 || pcm[len(pcm)-1] != 0 {
		t.Fatalf("ends %d %d", pcm[0], pcm[len(pcm)-1])
	}
	peak := func(x []int16) (p int) {
		for _, v := range x {
			p = max(p, abs(int(v)))
		}
		return p
	}
	if p := peak(pcm[:2*samplesPerMs]); p > 3000 {
		t.Fatalf("no fade in: peak %d in the first 2 ms", p)
	}
	if p := peak(pcm[2300*samplesPerMs : 2400*samplesPerMs]); p < 7000 {
		t.Fatalf("the middle is faded: peak %d", p)
	}

	// Encrypted at rest: the same clip.
	eclip, err := m.CallAgentClip(ctx, "acme", enc, 1000, 3500)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(eclip, clip) {
		t.Fatal("the encrypted recording gives another clip")
	}

	// Clamped to the file: the recording lasts 4 s.
	tail, err := m.CallAgentClip(ctx, "demo", plain, 3500, 9000)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(monoSamples(t, tail)); n != 500*samplesPerMs {
		t.Fatalf("clamped clip %d samples", n)
	}
	if head, err := m.CallAgentClip(ctx, "demo", plain, -200, 100); err != nil || len(monoSamples(t, head)) != 100*samplesPerMs {
		t.Fatalf("clip before the start: %v", err)
	}

	for _, span := range [][2]int64{{4000, 5000}, {9000, 9500}, {2000, 2000}, {-500, 0}} {
		if _, err := m.CallAgentClip(ctx, "demo", plain, span[0], span[1]); !errors.Is(err, ErrSpanOutside) {
			t.Fatalf("span %v: %v", span, err)
		}
	}
	if _, err := m.CallAgentClip(ctx, "demo", plain, 0, MaxClip+1); err == nil || errors.Is(err, ErrSpanOutside) {
		t.Fatalf("over-long span: %v", err)
	}
	// No recording, and another tenant's: the same error.
	for _, c := range []struct {
		tenant string
		id     uuid.UUID
	}{{"demo", uuid.New()}, {"acme", plain}} {
		_, err := m.CallAgentClip(ctx, c.tenant, c.id, 0, 1000)
		if !errors.Is(err, ErrNoRecording) || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s/%s: %v", c.tenant, c.id, err)
		}
	}
	// A recording still in progress, and one deleted by retention.
	row, _ := db.GetRecording(ctx, "demo", plain)
	active, deleted := *row, *row
	active.Status, deleted.Status = store.RecordingActive, store.RecordingDeleted
	if _, err := m.AgentClip(ctx, &active, 0, 1000); !errors.Is(err, ErrStillRecording) {
		t.Fatalf("active: %v", err)
	}
	if _, err := m.AgentClip(ctx, &deleted, 0, 1000); !errors.Is(err, ErrNoRecording) {
		t.Fatalf("deleted: %v", err)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
