package recordings

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// recError is a string type so sentinel errors can be constants (no
// mutable globals), and errors.Is still works by equality.
type recError string

func (e recError) Error() string { return string(e) }

// ErrClosed is returned by Pause, Resume and AddAgent after Close.
const ErrClosed = recError("recordings: recorder closed")

// Meta names a recording when it starts.
type Meta struct {
	TenantID string
	CallID   string // the call's UUID
	// AgentID is the agent on the call, if one is already; AddAgent adds
	// the agents that join later (answer after the IVR, transfers).
	AgentID string
	Started time.Time // the answer; zero means now
}

// Info is what Close reports about a finished recording.
type Info struct {
	TenantID      string
	CallID        string
	AgentIDs      []string
	Path          string // absolute
	RelPath       string // relative to the recordings directory, as stored
	Started       time.Time
	Duration      time.Duration
	Size          int64  // bytes on disk
	SHA256        string // of the PCM audio (the WAV data chunk, decrypted)
	Encrypted     bool
	KeyID         string
	Paused        []store.PausedSpan
	DroppedFrames int64 // frames lost to a stalled disk, recorded as silence
	Status        string
}

// frameSlot is one 20 ms frame in the ring. idx is the frame's position
// on the timeline, so the writer can tell where dropped frames were.
type frameSlot struct {
	idx   uint64
	left  [FrameSamples]int16
	right [FrameSamples]int16
}

// span is a paused stretch in samples from the start; end < 0 while open.
// Both ends are whole milliseconds, so the stored spans are exact.
type span struct{ start, end int64 }

// Recorder writes one call's recording. WriteFrame is for the media pacer
// (one goroutine); Pause, Resume, AddAgent and Close may be called from
// any goroutine.
//
// The pacer hands frames to a single-producer single-consumer ring; one
// of the manager's writer goroutines (shared by all calls) interleaves
// them, masks paused spans, and appends to the file; Close does the last
// batch itself. The pacer therefore never waits on the disk:
// when the ring is full (the disk stalled for more than the ring's length)
// the frame is dropped and counted, and the writer later fills its place
// with silence so the timeline stays true.
type Recorder struct {
	m      *Manager
	meta   Meta
	callID uuid.UUID
	rel    string
	path   string
	f      *os.File
	crypto *chunkCrypto // nil: plain WAV
	keyID  string

	ring    []frameSlot
	head    atomic.Uint64 // slots published by WriteFrame
	tail    atomic.Uint64 // slots consumed by the writer
	next    atomic.Uint64 // timeline index of the next frame, dropped ones included
	dropped atomic.Int64
	closing atomic.Bool
	phase   uint64 // this call's wake-up slot within a chunk

	queued atomic.Bool // on the manager's work queue (or about to be)

	// wmu serialises the writer side: a manager's writer draining the
	// ring, and Close finishing the file. It guards w, f and finished.
	wmu      sync.Mutex
	finished bool

	rowCtx    context.Context // the row goroutine's requests; cancelled by Close
	rowCancel context.CancelFunc
	rowWake   chan struct{} // cap 1: "metadata changed, save the row"
	rowDone   chan struct{}

	mu        sync.Mutex
	spans     []span
	processed int64 // samples the writer has claimed; pauses cannot start before
	agents    []string
	closed    bool

	closeOnce sync.Once
	info      Info
	closeErr  error

	w writerState // guarded by wmu
}

type writerState struct {
	pcm      []byte // the chunk being filled, cap chunkPlain
	sealed   []byte // scratch for a sealed chunk, cap chunkSealed
	spans    []span // snapshot of Recorder.spans for the batch
	expected uint64 // timeline index of the next frame to append
	dataLen  int64  // PCM bytes in the file (sealed ones when encrypted)
	size     int64  // file size
	chunks   uint64 // sealed chunks written
	hash     hash.Hash
	err      error // first write error; later audio is not written
	lastSync time.Time
}

func newRecorder(m *Manager, meta Meta, callID uuid.UUID, rel, path string, f *os.File, crypto *chunkCrypto, keyID string, headerSize int64) *Recorder {
	r := &Recorder{
		m: m, meta: meta, callID: callID, rel: rel, path: path, f: f, crypto: crypto, keyID: keyID,
		ring:    make([]frameSlot, m.ringFrames),
		rowWake: make(chan struct{}, 1),
		rowDone: make(chan struct{}),
	}
	if crypto != nil {
		// Wake when a chunk is complete: it can be sealed and written at
		// once, so a kill loses at most half a second.
		r.phase = 1
	} else {
		r.phase = binary.BigEndian.Uint64(callID[8:]) % chunkFrames
	}
	if meta.AgentID != "" {
		r.agents = []string{meta.AgentID}
	}
	r.rowCtx, r.rowCancel = context.WithCancel(context.Background())
	r.w = writerState{
		pcm:      make([]byte, 0, chunkPlain),
		sealed:   make([]byte, 0, chunkSealed),
		size:     headerSize,
		hash:     sha256.New(),
		lastSync: time.Now(),
	}
	return r
}

// WriteFrame takes one 20 ms frame: 160 samples of the caller (left) and
// of the agent (right). A short or nil slice is padded with silence (no
// agent yet, a leg on hold). It never blocks and never allocates; it must
// be called from one goroutine at a time (the pacer's).
func (r *Recorder) WriteFrame(left, right []int16) {
	if r.closing.Load() {
		return
	}
	idx := r.next.Load()
	r.next.Store(idx + 1)
	h := r.head.Load()
	n := uint64(len(r.ring))
	if h-r.tail.Load() >= n {
		r.dropped.Add(1)
		r.nudge()
		return
	}
	s := &r.ring[h%n]
	s.idx = idx
	c := copy(s.left[:], left)
	clear(s.left[c:])
	c = copy(s.right[:], right)
	clear(s.right[c:])
	r.head.Store(h + 1)
	// One wake-up per chunk rather than per frame: the writer does its
	// work in half-second batches, which is all crash safety needs. For
	// plain files the phase spreads the calls' wake-ups over the half
	// second, so the writers of calls started on the same tick do not all
	// compete with the pacer at once; encrypted ones wake as a chunk fills.
	if (idx+r.phase)%chunkFrames == 0 {
		r.nudge()
	}
}

// nudge puts the recorder on the manager's work queue, once: a recorder
// already queued is not queued again. When the queue is full (the writers
// are stalled) the frames stay in the ring for the next nudge.
func (r *Recorder) nudge() {
	if !r.queued.CompareAndSwap(false, true) {
		return
	}
	select {
	case r.m.work <- r:
	default:
		r.queued.Store(false)
	}
}

// Dropped is how many frames were lost because the ring was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Pause starts a paused span at time at (PCI: the agent is about to take a
// card number). From there on the recording holds silence until Resume.
// A pause asked for a moment the writer has already written starts at the
// first sample not yet written, so the stored span is always exactly the
// silence in the file.
func (r *Recorder) Pause(at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	n := len(r.spans)
	if n > 0 && r.spans[n-1].end < 0 {
		return nil // already paused
	}
	pos := max(r.samplePos(at), ceilMs(r.processed))
	if n > 0 {
		pos = max(pos, r.spans[n-1].end)
	}
	r.spans = append(r.spans, span{start: pos, end: -1})
	r.saveRowSoon()
	return nil
}

// Resume ends the paused span at time at; without a pause it does nothing.
func (r *Recorder) Resume(at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	n := len(r.spans)
	if n == 0 || r.spans[n-1].end >= 0 {
		return nil
	}
	sp := &r.spans[n-1]
	end := max(r.samplePos(at), ceilMs(r.processed), sp.start)
	if end == sp.start {
		r.spans = r.spans[:n-1] // paused and resumed within the same millisecond
	} else {
		sp.end = end
	}
	r.saveRowSoon()
	return nil
}

// AddAgent records another agent on the call (answer after the IVR, a
// transfer); each may play the recording back.
func (r *Recorder) AddAgent(agentID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if agentID == "" {
		return nil
	}
	for _, a := range r.agents {
		if a == agentID {
			return nil
		}
	}
	r.agents = append(r.agents, agentID)
	r.saveRowSoon()
	return nil
}

// samplePos is the sample index of at, whole milliseconds after the start.
func (r *Recorder) samplePos(at time.Time) int64 {
	d := at.Sub(r.meta.Started)
	if d < 0 {
		return 0
	}
	return d.Milliseconds() * samplesPerMs
}

func ceilMs(samples int64) int64 {
	return (samples + samplesPerMs - 1) / samplesPerMs * samplesPerMs
}

// writeQueued is what a manager's writer goroutine does for a nudged
// recorder: move the ring into the file.
func (r *Recorder) writeQueued() {
	r.queued.Store(false)
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if !r.finished {
		r.drain()
	}
}

// abandon stops writing as a killed process would (tests): nothing more
// reaches the file, not even the ring or the chunk being filled.
func (r *Recorder) abandon() {
	r.closing.Store(true)
	r.wmu.Lock()
	r.finished = true
	_ = r.f.Close()
	r.wmu.Unlock()
	r.rowCancel()
	<-r.rowDone
	r.m.forget(r)
}

// drain moves every published frame from the ring into the file.
func (r *Recorder) drain() {
	h, t := r.head.Load(), r.tail.Load()
	if h == t {
		return
	}
	n := uint64(len(r.ring))
	last := r.ring[(h-1)%n].idx
	// Claim the batch before reading the pauses: a Pause from now on
	// starts after it, so the snapshot is right for every frame in it.
	r.mu.Lock()
	r.processed = int64(last+1) * FrameSamples
	r.w.spans = append(r.w.spans[:0], r.spans...)
	r.mu.Unlock()
	for ; t < h; t++ {
		s := &r.ring[t%n]
		for r.w.expected < s.idx {
			r.appendFrame(nil, nil) // dropped while the disk stalled
		}
		r.appendFrame(&s.left, &s.right)
		r.tail.Store(t + 1)
	}
	r.flush(false)
}

// appendFrame interleaves one frame onto the timeline (nil: silence),
// silences what falls in a paused span, and writes each full chunk.
func (r *Recorder) appendFrame(left, right *[FrameSamples]int16) {
	w := &r.w
	pos := int64(w.expected) * FrameSamples
	start := len(w.pcm)
	buf := w.pcm[start : start+frameBytes]
	if left == nil {
		clear(buf)
	} else {
		for i := range FrameSamples {
			binary.LittleEndian.PutUint16(buf[4*i:], uint16(left[i]))
			binary.LittleEndian.PutUint16(buf[4*i+2:], uint16(right[i]))
		}
	}
	for _, sp := range w.spans {
		a, b := max(sp.start, pos), pos+FrameSamples
		if sp.end >= 0 {
			b = min(b, sp.end)
		}
		if a < b {
			clear(buf[(a-pos)*sampleBytes : (b-pos)*sampleBytes])
		}
	}
	w.pcm = w.pcm[:start+frameBytes]
	w.expected++
	if len(w.pcm) == chunkPlain {
		r.emit()
	}
}

// emit writes the buffered audio: as it is for a WAV, as one sealed chunk
// when encrypted.
func (r *Recorder) emit() {
	w := &r.w
	if len(w.pcm) == 0 {
		return
	}
	defer func() { w.pcm = w.pcm[:0] }()
	if w.err != nil {
		return
	}
	if w.dataLen+int64(len(w.pcm)) > maxWAVData {
		w.err = fmt.Errorf("recording %s: longer than a WAV file can hold", r.rel)
		return
	}
	out := w.pcm
	if r.crypto != nil {
		out = r.crypto.seal(w.sealed[:0], w.pcm, w.chunks)
	}
	if _, err := r.f.Write(out); err != nil {
		w.err = fmt.Errorf("recording %s: write: %w", r.rel, err)
		r.m.log.Error("recording write failed; the rest of the call is not recorded", "tenant", r.meta.TenantID, "call", r.meta.CallID, "error", err)
		return
	}
	w.hash.Write(w.pcm)
	w.dataLen += int64(len(w.pcm))
	w.size += int64(len(out))
	w.chunks++
}

// flush writes a partial WAV buffer and the header's lengths so a reader
// (or the repair after a kill) finds a valid file up to here. A partial
// encrypted chunk waits until it is full, or the end.
func (r *Recorder) flush(final bool) {
	w := &r.w
	if r.crypto == nil || final {
		r.emit()
	}
	if w.err != nil {
		return
	}
	if r.crypto == nil {
		// One pwrite of bytes 4-43 carries both lengths (RIFF at 4, data
		// at 40); the bytes between are rewritten unchanged.
		h := wavHeader(uint32(w.dataLen))
		if _, err := r.f.WriteAt(h[4:], 4); err != nil {
			w.err = fmt.Errorf("recording %s: update header: %w", r.rel, err)
			return
		}
	}
	if every := r.m.cfg.SyncEvery; every > 0 && !final && time.Since(w.lastSync) >= every {
		if err := r.f.Sync(); err != nil {
			w.err = fmt.Errorf("recording %s: sync: %w", r.rel, err)
		}
		w.lastSync = time.Now()
	}
}

// finish pads frames dropped at the very end, writes the rest, and makes
// the file and its directory entry durable before the row says complete.
func (r *Recorder) finish() {
	w := &r.w
	for w.expected < r.next.Load() {
		r.appendFrame(nil, nil)
	}
	r.flush(true)
	if err := r.f.Sync(); err != nil && w.err == nil {
		w.err = fmt.Errorf("recording %s: sync: %w", r.rel, err)
	}
	if err := r.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("recording %s: close: %w", r.rel, err)
	}
	if err := syncDir(r.m.cfg.Dir, r.path); err != nil && w.err == nil {
		w.err = fmt.Errorf("recording %s: %w", r.rel, err)
	}
}

// Close stops the recording: it drains the ring, writes the last
// (short) chunk and the final header, fsyncs, and the metadata row is
// written as complete (incomplete if the disk failed during the call).
// Later calls return the same result.
func (r *Recorder) Close() (Info, error) {
	r.closeOnce.Do(func() {
		r.closing.Store(true)
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.wmu.Lock()
		r.drain()
		r.finish()
		r.finished = true
		r.wmu.Unlock()
		r.rowCancel()
		<-r.rowDone

		w := &r.w
		status := store.RecordingComplete
		if w.err != nil {
			status = store.RecordingIncomplete
		}
		rec := r.row(status, w.dataLen/sampleBytes, w.size, hex.EncodeToString(w.hash.Sum(nil)))
		r.info = Info{
			TenantID: r.meta.TenantID, CallID: r.meta.CallID, AgentIDs: rec.AgentIDs,
			Path: r.path, RelPath: r.rel, Started: r.meta.Started,
			Duration: time.Duration(rec.DurationMs) * time.Millisecond, Size: w.size, SHA256: rec.SHA256,
			Encrypted: r.crypto != nil, KeyID: r.keyID, Paused: rec.PausedSpans,
			DroppedFrames: rec.DroppedFrames, Status: status,
		}
		r.closeErr = w.err
		if r.m.cfg.Store != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.m.cfg.Store.SaveRecording(ctx, rec); err != nil {
				// The file is whole; the next startup's repair stores it.
				r.closeErr = errors.Join(r.closeErr, fmt.Errorf("recordings: metadata of %s: %w", r.rel, err))
			}
		}
		r.m.forget(r)
	})
	return r.info, r.closeErr
}

// row is the metadata as it stands. samples < 0 means "in progress": open
// spans are stored with end_ms -1 for the repair to close.
func (r *Recorder) row(status string, samples, size int64, sum string) store.Recording {
	r.mu.Lock()
	defer r.mu.Unlock()
	var spans []store.PausedSpan
	for _, sp := range r.spans {
		start, end := sp.start, sp.end
		if samples >= 0 {
			if start >= samples {
				continue
			}
			if end < 0 || end > samples {
				end = samples
			}
		}
		ps := store.PausedSpan{StartMs: start / samplesPerMs, EndMs: -1}
		if end >= 0 {
			ps.EndMs = end / samplesPerMs
		}
		spans = append(spans, ps)
	}
	return store.Recording{
		TenantID: r.meta.TenantID, CallID: r.callID, AgentIDs: append([]string(nil), r.agents...),
		Path: r.rel, StartedAt: r.meta.Started, DurationMs: max(samples, 0) / samplesPerMs, SizeBytes: size,
		SHA256: sum, Encrypted: r.crypto != nil, KeyID: r.keyID, PausedSpans: spans,
		DroppedFrames: r.dropped.Load(), Status: status,
	}
}

// saveRowSoon asks the row goroutine to store the in-progress row; the
// caller holds r.mu. Requests coalesce, so a burst costs one write.
func (r *Recorder) saveRowSoon() {
	select {
	case r.rowWake <- struct{}{}:
	default:
	}
}

// rowLoop keeps the "recording" row current (agents, pauses) off the call
// path, so a crash leaves the repair the spans and agents, and the call
// never waits on the database. Close cancels it.
func (r *Recorder) rowLoop() {
	defer close(r.rowDone)
	if r.m.cfg.Store == nil {
		return
	}
	for {
		select {
		case <-r.rowCtx.Done():
			return
		case <-r.rowWake:
			ctx, cancel := context.WithTimeout(r.rowCtx, 5*time.Second)
			err := r.m.cfg.Store.SaveRecording(ctx, r.row(store.RecordingActive, -1, 0, ""))
			cancel()
			if err != nil && r.rowCtx.Err() == nil {
				r.m.log.Warn("recording: cannot store the in-progress row", "tenant", r.meta.TenantID, "call", r.meta.CallID, "error", err)
			}
		}
	}
}
