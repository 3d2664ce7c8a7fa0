package ari

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"hotline/call"
	"hotline/media"
)

// snoopMedia is a snoop channel's media: it hears the channel it snoops
// on (spy: what that channel says, hears, or both), and what is played to
// it (a bridge with a supervisor, a prompt) is whispered to that channel.
// It joins bridges like a SIP session does (media.MixerLeg).
type snoopMedia struct {
	mu            sync.Mutex
	cur           media.Source // what this snoop whispers now
	target        *media.Session
	spyIn, spyOut bool
	whisper       bool
	fwd           atomic.Pointer[media.Forwarder]
	digits        chan media.Digit
	ts            uint32 // the target's pacer only
	pcm           [160]int16
	payload       [160]byte
}

// WriteFrame receives the target's audio on its pacer and forwards the
// spied directions as PCMU, as a SIP leg's receive path would.
func (m *snoopMedia) WriteFrame(left, right []int16) {
	f := m.fwd.Load()
	if f == nil {
		return
	}
	clear(m.pcm[:])
	if m.spyIn {
		media.Mix(m.pcm[:], left)
	}
	if m.spyOut {
		media.Mix(m.pcm[:], right)
	}
	media.EncodePCMU(m.payload[:], m.pcm[:])
	(*f).ForwardRTP(media.PTPCMU, m.ts, false, m.payload[:])
	m.ts += 160
}

func (m *snoopMedia) SetForwarder(f media.Forwarder) {
	if f == nil {
		m.fwd.Store(nil)
		return
	}
	m.fwd.Store(&f)
}

// SetSource whispers src to the target (if the snoop may whisper). It
// replaces only its own whisper: another snoop's stays.
func (m *snoopMedia) SetSource(src media.Source) {
	if !m.whisper {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.target.ReplaceOverlay(m.cur, src) || m.cur == nil {
		m.cur = src
	}
}

func (m *snoopMedia) Digits() <-chan media.Digit { return m.digits }
func (m *snoopMedia) SendDigit(rune, time.Duration) error {
	return errors.New("a snoop channel sends no DTMF")
}
func (m *snoopMedia) SetInbandDTMF(bool) {}
func (m *snoopMedia) Stats() media.Stats { return media.Stats{} }

// snoopChannel handles POST /channels/{id}/snoop: a new channel, in the
// named application, that listens to (spy) and may speak into (whisper)
// the channel, for supervisors' listen and whisper.
func (s *Server) snoopChannel(w http.ResponseWriter, r *http.Request, p params) {
	target := s.findChannel(w, r)
	if target == nil {
		return
	}
	app := p.get("app")
	if app == "" {
		writeError(w, http.StatusBadRequest, "Application name is required")
		return
	}
	spyIn, spyOut, ok1 := audioDirection(cmpOr(p.get("spy"), "none"))
	wIn, wOut, ok2 := audioDirection(cmpOr(p.get("whisper"), "none"))
	if !ok1 || !ok2 {
		writeError(w, http.StatusBadRequest, "Invalid direction specified for spy or whisper")
		return
	}
	if !spyIn && !spyOut && !wIn && !wOut {
		writeError(w, http.StatusBadRequest, "Snoop must spy or whisper")
		return
	}
	if wIn {
		// Speaking as the channel toward its peers needs a hook in the
		// mixer's input; whispering to the channel itself is what
		// supervisors use.
		writeError(w, http.StatusBadRequest, "whisper=in is not supported; use whisper=out (the channel hears the snoop)")
		return
	}
	sess := session(target)
	if sess == nil {
		writeError(w, http.StatusUnprocessableEntity, "Channel cannot be snooped")
		return
	}
	if !s.hub.connected(target.tenant, app) {
		writeError(w, http.StatusBadRequest, "Application not connected")
		return
	}
	id := cmpOr(r.PathValue("snoopId"), p.get("snoopId"))
	if id == "" {
		id = uuid.NewString()
	} else if !validID(id) {
		writeError(w, http.StatusBadRequest, "Invalid snoopId")
		return
	}
	// Channel ids are unique across tenants (see registry).
	if !s.reg.reserve(id) {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	defer s.reg.release(id)
	m := &snoopMedia{target: sess, spyIn: spyIn, spyOut: spyOut, whisper: wOut, digits: make(chan media.Digit)}
	tc := target.c
	sc := call.New(tc.Context(), call.Info{ID: id, TenantID: tc.TenantID, Flow: "snoop", From: tc.From, To: tc.To, Started: time.Now()},
		call.Config{Media: m, State: call.StateUp})
	ch := s.attachAs(sc, id)
	ch.mu.Lock()
	ch.name = "Snoop/" + target.name + "-" + id[:min(8, len(id))]
	ch.snoop = m
	ch.dialplan = DialplanCEP{Context: "snoop", Exten: tc.To, Priority: 1}
	ch.mu.Unlock()
	stopSpy := func() {}
	if spyIn || spyOut {
		stopSpy = sess.AddRecorder(m)
	}
	args := p.list("appArgs")
	// The snoop lives until it is hung up, leaves its application or the
	// channel it snoops on ends (its context is a child of that call's).
	go func() {
		_, _ = s.RunStasis(context.Background(), sc, app, args)
		sc.Hangup(call.CauseNormal)
		stopSpy()
		m.SetSource(nil)
	}()
	writeJSON(w, http.StatusOK, ch.model())
}
