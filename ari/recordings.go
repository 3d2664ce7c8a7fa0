package ari

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"hotline/media"
)

// StoredRecording is Asterisk's StoredRecording model.
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// Live recording states, as Asterisk names them.
const (
	recRecording = "recording"
	recPaused    = "paused"
	recDone      = "done"
	recCanceled  = "canceled"
	recFailed    = "failed"
)

// liveRecording writes what a channel says, or a bridge's mix, to
// <recordings>/<tenant>/<name>.wav (8 kHz, 16-bit mono, as Asterisk's wav
// format). Frames come from the media goroutines through a bounded queue;
// the recording's own goroutine writes them.
type liveRecording struct {
	s                    *Server
	name, tenant, target string
	path                 string
	maxDur, maxSilence   time.Duration
	terminateOn          string

	frames chan [160]int16
	quit   chan string // final state: done, canceled
	ended  chan struct{}

	mu         sync.Mutex
	state      string
	muted      bool
	talking    int // frames with speech
	silenceRun int
	total      int
	dropped    int
	stopOnce   sync.Once
	detach     func()
	file       *os.File
	written    int64
}

func (l *liveRecording) model() LiveRecording {
	l.mu.Lock()
	defer l.mu.Unlock()
	secs := func(frames int) int { return frames / 50 }
	return LiveRecording{Name: l.name, Format: "wav", TargetURI: l.target, State: l.state,
		Duration: secs(l.total), TalkingDuration: secs(l.talking), SilenceDuration: secs(l.total - l.talking)}
}

// push is the media side: one 20 ms frame; it never blocks.
func (l *liveRecording) push(frame []int16) {
	var f [160]int16
	copy(f[:], frame)
	select {
	case l.frames <- f:
	default:
		l.mu.Lock()
		l.dropped++
		l.mu.Unlock()
	}
}

// WriteFrame makes a liveRecording a media.FrameRecorder of a channel:
// left is what the channel says.
func (l *liveRecording) WriteFrame(left, _ []int16) { l.push(left) }

func (l *liveRecording) finish(state string) {
	l.stopOnce.Do(func() { l.quit <- state })
	<-l.ended
}

// speaking says whether a frame holds speech (a plain energy threshold,
// as Asterisk's silence detection with its default 256 on 16 bits).
func speaking(f *[160]int16) bool {
	var sum int64
	for _, v := range f {
		if v < 0 {
			v = -v
		}
		sum += int64(v)
	}
	return sum/160 > 256
}

func (l *liveRecording) run() {
	defer close(l.ended)
	state := recDone
	buf := make([]byte, 320)
	write := func(f *[160]int16) {
		for i, v := range f {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
		}
		if _, err := l.file.Write(buf); err == nil {
			l.written += int64(len(buf))
		}
	}
loop:
	for {
		select {
		case f := <-l.frames:
			l.mu.Lock()
			paused, muted := l.state == recPaused, l.muted
			if !paused {
				l.total++
				if speaking(&f) {
					l.talking++
					l.silenceRun = 0
				} else {
					l.silenceRun++
				}
			}
			over := l.maxDur > 0 && time.Duration(l.total)*20*time.Millisecond >= l.maxDur ||
				l.maxSilence > 0 && l.talking > 0 && time.Duration(l.silenceRun)*20*time.Millisecond >= l.maxSilence
			l.mu.Unlock()
			if paused {
				continue
			}
			if muted {
				f = [160]int16{}
			}
			write(&f)
			if over {
				break loop
			}
		case state = <-l.quit:
			break loop
		}
	}
	l.detach()
	l.closeFile(state == recCanceled)
	l.mu.Lock()
	l.state = state
	l.mu.Unlock()
	l.s.forgetRecording(l)
	if state != recCanceled {
		if _, err := l.s.hub.Broadcast(l.tenant, []string{l.target}, &RecordingFinished{Event: Event{Type: "RecordingFinished"}, Recording: l.model()}); err != nil {
			l.s.opt.Logger.Error("ari event", "err", err)
		}
	}
}

// closeFile writes the final sizes into the header, or removes the file
// of a canceled recording.
func (l *liveRecording) closeFile(remove bool) {
	if remove {
		l.file.Close()
		os.Remove(l.path)
		return
	}
	end, err := l.file.Seek(0, io.SeekEnd)
	if err == nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(end-8))
		l.file.WriteAt(b[:], 4)
		binary.LittleEndian.PutUint32(b[:], uint32(end-44))
		l.file.WriteAt(b[:], 40)
	}
	if err := l.file.Close(); err != nil {
		l.s.opt.Logger.Warn("ari recording close", "name", l.name, "err", err)
	}
}

// canonicalName is the one spelling of a recording name ("./a//b/" is
// "a/b"), so a live recording and its file have one key; ok is false for
// a name that is empty or would leave the tenant's directory.
func canonicalName(name string) (string, bool) {
	if name == "" || strings.Contains(name, "..") || strings.ContainsAny(name, "\\\x00") {
		return "", false
	}
	clean := strings.TrimPrefix(filepath.ToSlash(filepath.Clean("/"+name)), "/")
	return clean, clean != ""
}

// recordingPath maps a recording name to its file; names may have
// subdirectories but never leave the tenant's directory.
func (s *Server) recordingPath(tenant, name string) (string, error) {
	if s.opt.RecordingsDir == "" {
		return "", errors.New("recordings are not configured")
	}
	clean, ok := canonicalName(name)
	if !ok {
		return "", fmt.Errorf("invalid recording name %q", name)
	}
	return filepath.Join(s.opt.RecordingsDir, tenant, clean+".wav"), nil
}

// storedPrompt loads a stored recording for playback (recording: URIs).
func (s *Server) storedPrompt(tenant, name string) (*media.Prompt, error) {
	path, err := s.recordingPath(tenant, name)
	if err != nil {
		return nil, err
	}
	return media.LoadWAV(path)
}

// startRecording handles POST /channels/{id}/record and
// /bridges/{id}/record once the target is known; attach starts the frames.
func (s *Server) startRecording(w http.ResponseWriter, p params, tenant, target string, alive func() bool, attach func(l *liveRecording) func()) *liveRecording {
	name := p.get("name")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Recording name is required")
		return nil
	}
	name, ok := canonicalName(name)
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid recording name")
		return nil
	}
	format := p.get("format")
	if format == "" {
		writeError(w, http.StatusBadRequest, "Recording format is required")
		return nil
	}
	if format != "wav" {
		writeError(w, http.StatusUnprocessableEntity, "Format "+format+" not supported (wav only)")
		return nil
	}
	maxDur, err1 := p.intParam("maxDurationSeconds", 0)
	maxSil, err2 := p.intParam("maxSilenceSeconds", 0)
	if err := errors.Join(err1, err2); err != nil || maxDur < 0 || maxSil < 0 {
		writeError(w, http.StatusBadRequest, "maxDurationSeconds and maxSilenceSeconds must be positive integers")
		return nil
	}
	term := cmpOr(p.get("terminateOn"), "none")
	if !slices.Contains([]string{"none", "any", "*", "#"}, term) {
		writeError(w, http.StatusBadRequest, "Invalid terminateOn")
		return nil
	}
	ifExists := cmpOr(p.get("ifExists"), "fail")
	if !slices.Contains([]string{"fail", "overwrite", "append"}, ifExists) {
		writeError(w, http.StatusBadRequest, "Invalid ifExists")
		return nil
	}
	path, err := s.recordingPath(tenant, name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil
	}
	rk := key(tenant, name)
	s.reg.mu.Lock()
	if _, busy := s.reg.recordings[rk]; busy {
		s.reg.mu.Unlock()
		writeError(w, http.StatusConflict, "A recording with the same name is in progress")
		return nil
	}
	l := &liveRecording{s: s, name: name, tenant: tenant, target: target, path: path,
		maxDur: time.Duration(maxDur) * time.Second, maxSilence: time.Duration(maxSil) * time.Second, terminateOn: term,
		frames: make(chan [160]int16, 64), quit: make(chan string, 1), ended: make(chan struct{}), state: recRecording}
	s.reg.recordings[rk] = l
	s.reg.mu.Unlock()
	fail := func(code int, msg string) *liveRecording {
		close(l.ended) // a stop or cancel that found it meanwhile returns
		s.forgetRecording(l)
		writeError(w, code, msg)
		return nil
	}
	if _, err := os.Stat(path); err == nil && ifExists == "fail" {
		return fail(http.StatusConflict, "A recording with the same name already exists on the system and ifExists=fail")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fail(http.StatusInternalServerError, "Cannot create the recording directory")
	}
	flags := os.O_RDWR | os.O_CREATE | os.O_TRUNC
	if ifExists == "append" {
		flags = os.O_RDWR | os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o640)
	if err != nil {
		return fail(http.StatusInternalServerError, "Cannot create the recording file")
	}
	if st, _ := f.Stat(); st.Size() < 44 {
		f.Truncate(0)
		f.Write(media.EncodeWAV(nil, 8000))
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return fail(http.StatusInternalServerError, "Cannot write the recording file")
	}
	l.file = f
	l.detach = attach(l)
	go l.run()
	if !alive() {
		// The target went away while this started, and may have
		// looked for its recordings before this one was there.
		go l.finish(recDone)
	}
	if _, err := s.hub.Broadcast(tenant, []string{target}, &RecordingStarted{Event: Event{Type: "RecordingStarted"}, Recording: l.model()}); err != nil {
		s.opt.Logger.Error("ari event", "err", err)
	}
	writeJSON(w, http.StatusCreated, l.model())
	return l
}

func (s *Server) forgetRecording(l *liveRecording) {
	s.reg.mu.Lock()
	if s.reg.recordings[key(l.tenant, l.name)] == l {
		delete(s.reg.recordings, key(l.tenant, l.name))
	}
	s.reg.mu.Unlock()
}

func (s *Server) recordChannel(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	sess := session(ch)
	if sess == nil {
		writeError(w, http.StatusConflict, "Channel cannot be recorded")
		return
	}
	// One recording per channel: claim the slot first.
	ch.mu.Lock()
	if ch.recName != "" || ch.destroyed {
		ch.mu.Unlock()
		writeError(w, http.StatusConflict, "Channel is already being recorded")
		return
	}
	ch.recName = "\x00starting"
	ch.mu.Unlock()
	alive := func() bool {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return !ch.destroyed
	}
	l := s.startRecording(w, p, ch.tenant, "channel:"+ch.id, alive, func(l *liveRecording) func() {
		ch.mu.Lock()
		ch.recName = l.name
		ch.mu.Unlock()
		remove := sess.AddRecorder(l)
		return func() {
			remove()
			ch.mu.Lock()
			if ch.recName == l.name {
				ch.recName = ""
			}
			ch.mu.Unlock()
		}
	})
	if l == nil {
		ch.mu.Lock()
		if ch.recName == "\x00starting" {
			ch.recName = ""
		}
		ch.mu.Unlock()
	}
}

func (s *Server) recordBridge(w http.ResponseWriter, r *http.Request, p params) {
	b := s.findBridge(w, r)
	if b == nil {
		return
	}
	b.mu.Lock()
	if b.recording || b.dead {
		b.mu.Unlock()
		writeError(w, http.StatusConflict, "Bridge is already being recorded")
		return
	}
	b.recording = true
	b.mu.Unlock()
	alive := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return !b.dead
	}
	l := s.startRecording(w, p, b.tenant, "bridge:"+b.id, alive, func(l *liveRecording) func() {
		b.mix.Tap(l.push)
		return func() {
			b.mix.Tap(nil)
			b.mu.Lock()
			b.recording = false
			b.mu.Unlock()
		}
	})
	if l == nil {
		b.mu.Lock()
		b.recording = false
		b.mu.Unlock()
	}
}

// stopRecordings finishes the live recordings of a target that is going
// away (a channel that hung up, a bridge destroyed).
func (s *Server) stopRecordings(target string) {
	s.reg.mu.Lock()
	var ls []*liveRecording
	for _, l := range s.reg.recordings {
		if l.target == target {
			ls = append(ls, l)
		}
	}
	s.reg.mu.Unlock()
	for _, l := range ls {
		l.finish(recDone)
	}
}

// dtmfForRecording stops a channel's recording on its terminateOn key.
func (s *Server) dtmfForRecording(ch *channel, digit rune) {
	ch.mu.Lock()
	name := ch.recName
	ch.mu.Unlock()
	if name == "" {
		return
	}
	s.reg.mu.Lock()
	l := s.reg.recordings[key(ch.tenant, name)]
	s.reg.mu.Unlock()
	if l != nil && (l.terminateOn == "any" || l.terminateOn == string(digit)) {
		go l.finish(recDone)
	}
}

func (s *Server) findLive(w http.ResponseWriter, r *http.Request) *liveRecording {
	name, _ := canonicalName(r.PathValue("recordingName"))
	s.reg.mu.Lock()
	l := s.reg.recordings[key(tenantOf(r), name)]
	s.reg.mu.Unlock()
	if l == nil {
		writeError(w, http.StatusNotFound, "Recording not found")
	}
	return l
}

func (s *Server) getLive(w http.ResponseWriter, r *http.Request) {
	if l := s.findLive(w, r); l != nil {
		writeJSON(w, http.StatusOK, l.model())
	}
}

func (s *Server) stopLive(w http.ResponseWriter, r *http.Request) {
	if l := s.findLive(w, r); l != nil {
		l.finish(recDone)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) cancelLive(w http.ResponseWriter, r *http.Request) {
	if l := s.findLive(w, r); l != nil {
		l.finish(recCanceled)
		w.WriteHeader(http.StatusNoContent)
	}
}

// controlLive makes a handler for a live recording's on/off controls
// (pause, mute): POST turns it on, DELETE off, while the recording is in
// session.
func (s *Server) controlLive(set func(l *liveRecording, on bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := s.findLive(w, r)
		if l == nil {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.state != recRecording && l.state != recPaused {
			writeError(w, http.StatusConflict, "Recording not in session")
			return
		}
		set(l, r.Method == http.MethodPost)
		w.WriteHeader(http.StatusNoContent)
	}
}

// pauseLive: the paused time is left out of the file.
func (s *Server) pauseLive() http.HandlerFunc {
	return s.controlLive(func(l *liveRecording, on bool) {
		l.state = recRecording
		if on {
			l.state = recPaused
		}
	})
}

// muteLive: the muted time is silence in the file.
func (s *Server) muteLive() http.HandlerFunc {
	return s.controlLive(func(l *liveRecording, on bool) { l.muted = on })
}

func (s *Server) listStored(w http.ResponseWriter, r *http.Request) {
	out := []StoredRecording{}
	if s.opt.RecordingsDir != "" {
		root := filepath.Join(s.opt.RecordingsDir, tenantOf(r))
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".wav") {
				return nil
			}
			rel, _ := filepath.Rel(root, strings.TrimSuffix(path, ".wav"))
			if s.live(tenantOf(r), filepath.ToSlash(rel)) {
				return nil
			}
			out = append(out, StoredRecording{Name: filepath.ToSlash(rel), Format: "wav"})
			return nil
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) live(tenant, name string) bool {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	_, ok := s.reg.recordings[key(tenant, name)]
	return ok
}

// storedPath answers 404 for a recording that is not stored (or still
// being made).
func (s *Server) storedPath(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	name, _ = canonicalName(name)
	path, err := s.recordingPath(tenantOf(r), name)
	if err == nil && !s.live(tenantOf(r), name) {
		if st, statErr := os.Stat(path); statErr == nil && st.Mode().IsRegular() {
			return path, true
		}
	}
	writeError(w, http.StatusNotFound, "Recording not found")
	return "", false
}

func (s *Server) getStored(w http.ResponseWriter, r *http.Request) {
	name, _ := canonicalName(r.PathValue("recordingName"))
	if _, ok := s.storedPath(w, r, name); ok {
		writeJSON(w, http.StatusOK, StoredRecording{Name: name, Format: "wav"})
	}
}

func (s *Server) storedFile(w http.ResponseWriter, r *http.Request) {
	path, ok := s.storedPath(w, r, r.PathValue("recordingName"))
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	http.ServeFile(w, r, path)
}

func (s *Server) deleteStored(w http.ResponseWriter, r *http.Request) {
	path, ok := s.storedPath(w, r, r.PathValue("recordingName"))
	if !ok {
		return
	}
	if err := os.Remove(path); err != nil {
		writeError(w, http.StatusInternalServerError, "Cannot delete the recording")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) copyStored(w http.ResponseWriter, r *http.Request, p params) {
	dest := p.get("destinationRecordingName")
	if dest == "" {
		writeError(w, http.StatusBadRequest, "destinationRecordingName is required")
		return
	}
	path, ok := s.storedPath(w, r, r.PathValue("recordingName"))
	if !ok {
		return
	}
	to, err := s.recordingPath(tenantOf(r), dest)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if canon, _ := canonicalName(dest); fileExists(to) || s.live(tenantOf(r), canon) {
		writeError(w, http.StatusConflict, "A recording with the same name already exists")
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(to), 0o750); err == nil {
			err = os.WriteFile(to, data, 0o640)
		}
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Cannot copy the recording")
		return
	}
	canon, _ := canonicalName(dest)
	writeJSON(w, http.StatusOK, StoredRecording{Name: canon, Format: "wav"})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
