package ari

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"hotline/call"
	"hotline/media"
)

// Playback states, as Asterisk names them.
const (
	playQueued  = "queued"
	playPlaying = "playing"
	playPaused  = "paused"
	playDone    = "done"
	playFailed  = "failed"
)

// playback is one POST .../play: a list of media URIs played in turn on
// a channel or a bridge.
type playback struct {
	id, tenant, target, lang string
	uris                     []string
	skip                     time.Duration
	offset                   time.Duration

	done chan struct{} // closed when play() is over (events sent, media released)

	mu     sync.Mutex
	state  string
	idx    int
	player *media.Player // the prompt playing now (nil for tones)
	tone   media.Source
	stop   chan struct{}
	once   sync.Once
}

func (p *playback) model() Playback {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := Playback{ID: p.id, MediaURI: p.uris[min(p.idx, len(p.uris)-1)], TargetURI: p.target, Language: p.lang, State: p.state}
	if p.idx+1 < len(p.uris) {
		m.NextMediaURI = p.uris[p.idx+1]
	}
	return m
}

func (p *playback) halt() { p.once.Do(func() { close(p.stop) }) }

// resolved is what a media URI plays: prompts in turn, or a tone.
type resolved struct {
	prompts []*media.Prompt
	tone    media.Source
}

// playQueue plays a target's playbacks one after the other, as Asterisk
// queues them per channel. Its goroutine runs while there is something to
// play; close stops it for good.
type playQueue struct {
	s      *Server
	tenant string
	target string
	out    func(media.Source)

	mu        sync.Mutex
	queue     []*playback
	cur       *playback
	running   bool
	closed    bool
	suspended bool // the channel is leaving its application
}

// suspend refuses (on) or accepts again new playbacks.
func (q *playQueue) suspend(on bool) {
	q.mu.Lock()
	q.suspended = on
	q.mu.Unlock()
}

func newPlayQueue(s *Server, tenant, target string, out func(media.Source)) *playQueue {
	return &playQueue{s: s, tenant: tenant, target: target, out: out}
}

func (q *playQueue) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cur != nil || len(q.queue) > 0
}

// add queues p; false when the target is gone.
func (q *playQueue) add(p *playback) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.suspended {
		return false
	}
	q.queue = append(q.queue, p)
	if !q.running {
		q.running = true
		go q.run()
	}
	return true
}

// clear stops what plays and drops what waits (the channel left Stasis),
// and returns once the playing one has finished (its PlaybackFinished is
// out and it no longer touches the media).
func (q *playQueue) clear() {
	q.mu.Lock()
	pending := q.queue
	q.queue = nil
	cur := q.cur
	q.mu.Unlock()
	for _, p := range pending {
		p.halt()
		q.s.finishPlayback(p, playDone, false)
	}
	if cur != nil {
		cur.halt()
		<-cur.done
	}
}

func (q *playQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.clear()
}

// remove takes a queued playback out; false when it already started.
func (q *playQueue) remove(p *playback) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.queue {
		if x == p {
			q.queue = append(q.queue[:i], q.queue[i+1:]...)
			return true
		}
	}
	return false
}

func (q *playQueue) run() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 || q.closed {
			q.cur = nil
			q.running = false
			q.mu.Unlock()
			return
		}
		p := q.queue[0]
		q.queue = q.queue[1:]
		q.cur = p
		q.mu.Unlock()
		q.play(p)
	}
}

// play plays one playback to the end, a stop, or its target's end.
func (q *playQueue) play(p *playback) {
	s := q.s
	p.mu.Lock()
	p.state = playPlaying
	p.mu.Unlock()
	s.playbackEvent(p, &PlaybackStarted{Event: Event{Type: "PlaybackStarted"}, Playback: p.model()})
	state := playDone
	defer func() {
		q.out(nil)
		s.finishPlayback(p, state, true)
		close(p.done)
	}()
	for i, uri := range p.uris {
		p.mu.Lock()
		p.idx = i
		p.mu.Unlock()
		r, err := s.resolveMedia(q.tenant, uri, p.lang)
		if err != nil {
			s.opt.Logger.Info("ari playback failed", "playback", p.id, "media", uri, "err", err)
			state = playFailed
			return
		}
		if r.tone != nil {
			p.mu.Lock()
			p.tone = r.tone
			p.mu.Unlock()
			q.out(r.tone)
			done := make(<-chan struct{})
			if d, ok := r.tone.(interface{ Done() <-chan struct{} }); ok {
				done = d.Done()
			}
			select {
			case <-p.stop:
				return
			case <-done:
			}
			continue
		}
		for j, pr := range r.prompts {
			pl := media.NewPlayer(pr, false)
			if j == 0 && i == 0 && p.offset > 0 {
				pl.Skip(p.offset)
			}
			p.mu.Lock()
			p.player = pl
			if p.state == playPaused { // paused before this prompt started
				pl.Pause()
			}
			p.mu.Unlock()
			q.out(pl)
			select {
			case <-p.stop:
				pl.Stop()
				return
			case <-pl.Done():
			}
		}
	}
}

// finishPlayback ends a playback's life: PlaybackFinished (when it had
// started) and it is forgotten.
func (s *Server) finishPlayback(p *playback, state string, started bool) {
	p.mu.Lock()
	p.state = state
	p.mu.Unlock()
	// Forgotten first: an application that reacts to PlaybackFinished
	// finds it gone, as in Asterisk.
	s.reg.mu.Lock()
	if s.reg.playbacks[key(p.tenant, p.id)] == p {
		delete(s.reg.playbacks, key(p.tenant, p.id))
	}
	s.reg.mu.Unlock()
	if started {
		s.playbackEvent(p, &PlaybackFinished{Event: Event{Type: "PlaybackFinished"}, Playback: p.model()})
	}
}

// playbackEvent goes to the applications following the playback's target.
func (s *Server) playbackEvent(p *playback, ev Message) {
	if _, err := s.hub.Broadcast(p.tenant, []string{p.target}, ev); err != nil {
		s.opt.Logger.Error("ari event", "err", err)
	}
}

// resolveMedia turns a media URI into audio for a tenant: recordings
// here, everything else through the sound library.
func (s *Server) resolveMedia(tenant, uri, lang string) (resolved, error) {
	if name, ok := strings.CutPrefix(uri, "recording:"); ok {
		p, err := s.storedPrompt(tenant, name)
		if err != nil {
			return resolved{}, err
		}
		return resolved{prompts: []*media.Prompt{p}}, nil
	}
	var prompts call.Prompts
	if s.opt.Prompts != nil {
		prompts = s.opt.Prompts(tenant)
	}
	m, err := s.opt.Sounds.Resolve(prompts, uri, lang)
	if err != nil {
		return resolved{}, err
	}
	return resolved{prompts: m.Prompts, tone: m.Tone}, nil
}

// startPlayback handles POST /channels/{id}/play and /bridges/{id}/play
// once the target is known.
func (s *Server) startPlayback(w http.ResponseWriter, r *http.Request, p params, tenant, target string, q *playQueue) {
	uris := p.list("media")
	if len(uris) == 0 {
		writeError(w, http.StatusBadRequest, "Missing parameter media")
		return
	}
	// A malformed URI (unknown scheme, nothing named) is the request's
	// fault (400); a sound that does not exist is accepted and its
	// playback fails, as in Asterisk. The sound library classifies every
	// scheme but recording:, which is ours.
	for _, u := range uris {
		if name, isRec := strings.CutPrefix(u, "recording:"); isRec {
			if name == "" {
				writeError(w, http.StatusBadRequest, "Invalid media URI "+strconv.Quote(u))
				return
			}
		} else if _, err := s.resolveMedia(tenant, u, cmpOr(p.get("lang"), "en")); errors.Is(err, ErrMediaScheme) || errors.Is(err, ErrMediaURI) {
			writeError(w, http.StatusBadRequest, "Invalid media URI "+strconv.Quote(u)+": "+err.Error())
			return
		}
	}
	id := p.get("playbackId")
	if id == "" {
		id = r.PathValue("playbackId")
	}
	if id == "" {
		id = uuid.NewString()
	}
	skip, err := p.intParam("skipms", 3000)
	if err != nil || skip < 0 {
		writeError(w, http.StatusBadRequest, "skipms must be a positive integer")
		return
	}
	offset, err := p.intParam("offsetms", 0)
	if err != nil || offset < 0 {
		writeError(w, http.StatusBadRequest, "offsetms must be a positive integer")
		return
	}
	pb := &playback{id: id, tenant: tenant, target: target, lang: cmpOr(p.get("lang"), "en"), uris: uris,
		skip: time.Duration(skip) * time.Millisecond, offset: time.Duration(offset) * time.Millisecond,
		state: playQueued, stop: make(chan struct{}), done: make(chan struct{})}
	s.reg.mu.Lock()
	if _, dup := s.reg.playbacks[key(tenant, id)]; dup {
		s.reg.mu.Unlock()
		writeError(w, http.StatusConflict, "Playback id already in use")
		return
	}
	s.reg.playbacks[key(tenant, id)] = pb
	s.reg.mu.Unlock()
	model := pb.model()
	if !q.add(pb) {
		s.reg.mu.Lock()
		delete(s.reg.playbacks, key(tenant, id))
		s.reg.mu.Unlock()
		writeError(w, http.StatusConflict, "Channel not in Stasis application")
		return
	}
	writeJSON(w, http.StatusCreated, model)
}

func (s *Server) findPlayback(r *http.Request) *playback {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return s.reg.playbacks[key(tenantOf(r), r.PathValue("playbackId"))]
}

func (s *Server) getPlayback(w http.ResponseWriter, r *http.Request) {
	p := s.findPlayback(r)
	if p == nil {
		writeError(w, http.StatusNotFound, "Playback not found")
		return
	}
	writeJSON(w, http.StatusOK, p.model())
}

func (s *Server) stopPlayback(w http.ResponseWriter, r *http.Request) {
	p := s.findPlayback(r)
	if p == nil {
		writeError(w, http.StatusNotFound, "Playback not found")
		return
	}
	if q := s.queueOf(p); q != nil && q.remove(p) {
		s.finishPlayback(p, playDone, false)
	}
	p.halt()
	w.WriteHeader(http.StatusNoContent)
}

// queueOf finds the play queue of a playback's target.
func (s *Server) queueOf(p *playback) *playQueue {
	kind, id, _ := strings.Cut(p.target, ":")
	switch kind {
	case "channel":
		if ch := s.reg.channel(p.tenant, id); ch != nil {
			return ch.play
		}
	case "bridge":
		if b := s.reg.bridge(p.tenant, id); b != nil {
			return b.play
		}
	}
	return nil
}

func (s *Server) controlPlayback(w http.ResponseWriter, r *http.Request, ps params) {
	p := s.findPlayback(r)
	if p == nil {
		writeError(w, http.StatusNotFound, "Playback not found")
		return
	}
	op := ps.get("operation")
	switch op {
	case "":
		writeError(w, http.StatusBadRequest, "Missing parameter operation")
		return
	case "restart", "pause", "unpause", "reverse", "forward":
	default:
		writeError(w, http.StatusBadRequest, "Invalid operation "+strconv.Quote(op))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != playPlaying && p.state != playPaused {
		writeError(w, http.StatusConflict, "Playback not in a state to be controlled")
		return
	}
	pl := p.player
	switch op {
	case "pause":
		if pl != nil {
			pl.Pause()
		}
		p.state = playPaused
	case "unpause":
		if pl != nil {
			pl.Resume()
		}
		p.state = playPlaying
	case "restart":
		if pl != nil {
			pl.Restart()
		}
	case "reverse":
		if pl != nil {
			pl.Skip(-p.skip)
		}
	case "forward":
		if pl != nil {
			pl.Skip(p.skip)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
