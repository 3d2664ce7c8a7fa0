package recordings

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/google/uuid"

	"hotline/store"
)

// Errors of AgentClip, for the caller to tell a supervisor what is wrong.
var (
	// ErrNoRecording: the call was not recorded, or the recording was
	// deleted by retention (it also wraps store.ErrNotFound for a
	// missing row).
	ErrNoRecording = errors.New("recordings: the call has no recording")
	// ErrStillRecording: the call is still going on; its file is not
	// final yet.
	ErrStillRecording = errors.New("recordings: the call is still being recorded")
	// ErrSpanOutside: the requested span does not overlap the recording.
	ErrSpanOutside = errors.New("recordings: the span is outside the recording")
)

const (
	// MaxClip bounds a clip: it is held in memory and stored in the
	// database, and no spoken answer is longer.
	MaxClip = 3 * 60 * 1000 // ms
	// clipFade ramps the clip in and out so the cut does not click.
	clipFade = 15 * samplesPerMs
	// monoHeaderSize is the canonical WAV header of the clips.
	monoHeaderSize = 44
)

// CallAgentClip finds a call's recording and cuts the agent's side
// between startMS and endMS (see AgentClip).
func (m *Manager) CallAgentClip(ctx context.Context, tenantID string, callID uuid.UUID, startMS, endMS int64) ([]byte, error) {
	rec, err := m.RecordingInfo(ctx, tenantID, callID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w (call %s): %w", ErrNoRecording, callID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("recordings: clip of call %s: %w", callID, err)
	}
	return m.AgentClip(ctx, rec, startMS, endMS)
}

// AgentClip reads a finished recording (decrypting it when encrypted at
// rest) and returns what the caller heard from the agent (the right
// channel) between startMS and endMS from the start of the recording, as
// an 8 kHz 16-bit mono WAV with a short fade at each end. The span is
// clamped to the recording; a span that does not overlap it is
// ErrSpanOutside.
//
// Paused spans (PCI) are silence in the file, not cut out of it, so the
// recording's clock is the call's: offsets need no adjustment, and a
// paused stretch inside the span stays silent in the clip.
func (m *Manager) AgentClip(ctx context.Context, rec *store.Recording, startMS, endMS int64) ([]byte, error) {
	switch rec.Status {
	case store.RecordingDeleted:
		return nil, fmt.Errorf("%w (call %s): deleted by the retention policy", ErrNoRecording, rec.CallID)
	case store.RecordingActive:
		return nil, fmt.Errorf("%w (call %s)", ErrStillRecording, rec.CallID)
	}
	rs, err := m.OpenRecording(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("recordings: clip of call %s: %w", rec.CallID, err)
	}
	defer rs.Close()
	clip, err := agentClip(rs, startMS, endMS)
	if err != nil {
		return nil, fmt.Errorf("recordings: clip of call %s: %w", rec.CallID, err)
	}
	return clip, nil
}

// agentClip cuts the right channel of a stereo WAV stream of this
// package's format.
func agentClip(rs io.ReadSeeker, startMS, endMS int64) ([]byte, error) {
	if endMS <= startMS {
		return nil, fmt.Errorf("%w: empty span %d-%d ms", ErrSpanOutside, startMS, endMS)
	}
	if endMS-startMS > MaxClip {
		return nil, fmt.Errorf("span of %d ms is longer than the %d ms a clip may hold", endMS-startMS, MaxClip)
	}
	var h [wavHeaderSize]byte
	if _, err := io.ReadFull(rs, h[:]); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if err := checkWAVHeader(h[:]); err != nil {
		return nil, err
	}
	size, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	// The file's length, not the header's, is the truth: a repaired file
	// and a decrypted stream agree on it, and a trailing partial sample
	// frame is ignored.
	total := (size - wavHeaderSize) / sampleBytes
	from := max(startMS, 0) * samplesPerMs
	to := min(endMS*samplesPerMs, total)
	if from >= to {
		return nil, fmt.Errorf("%w: %d-%d ms, the recording lasts %d ms", ErrSpanOutside, startMS, endMS, total/samplesPerMs)
	}
	if _, err := rs.Seek(wavHeaderSize+from*sampleBytes, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek to %d ms: %w", from/samplesPerMs, err)
	}
	stereo := make([]byte, (to-from)*sampleBytes)
	if _, err := io.ReadFull(rs, stereo); err != nil {
		return nil, fmt.Errorf("read %d-%d ms: %w", from/samplesPerMs, to/samplesPerMs, err)
	}
	n := int(to - from)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(stereo[i*sampleBytes+2:]))
	}
	fade(pcm)
	return MonoWAV(pcm), nil
}

// fade ramps both ends with half a cosine (shorter for a very short
// clip), so the clip starts and ends at zero.
func fade(pcm []int16) {
	f := min(clipFade, len(pcm)/2)
	for i := range f {
		g := 0.5 - 0.5*math.Cos(math.Pi*float64(i)/float64(f))
		pcm[i] = int16(math.Round(float64(pcm[i]) * g))
		j := len(pcm) - 1 - i
		pcm[j] = int16(math.Round(float64(pcm[j]) * g))
	}
}

// MonoWAV wraps 8 kHz 16-bit samples in a canonical WAV header (the
// format the IVR plays prompts in).
func MonoWAV(pcm []int16) []byte {
	b := make([]byte, monoHeaderSize+2*len(pcm))
	dataLen := uint32(2 * len(pcm))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36+dataLen)
	copy(b[8:], "WAVE")
	copy(b[12:], "fmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], SampleRate)
	binary.LittleEndian.PutUint32(b[28:], SampleRate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], dataLen)
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[monoHeaderSize+2*i:], uint16(v))
	}
	return b
}
