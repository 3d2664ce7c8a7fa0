package ari

import (
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/call"
	"hotline/ivr"
	"hotline/media"
)

// Originator places outbound calls for POST /channels.
type Originator interface {
	Originate(req OriginateRequest) (*call.Call, error)
}

// OriginateRequest is one originate, in the terms the call side needs.
type OriginateRequest struct {
	Tenant   string
	Endpoint string // as the application wrote it: PJSIP/NUMBER@TRUNK, PJSIP/sip:..., ...
	CallerID string // "Name <number>" or a number
	Timeout  time.Duration
	// Created is called with the call before it is placed (so that no
	// state change is missed).
	Created func(c *call.Call)
	// Run runs once the far end answers; the call hangs up when it returns.
	Run func(c *call.Call)
}

// EndpointResolver is an Originator that can also name an endpoint's SIP
// URI (for redirect).
type EndpointResolver interface {
	ResolveEndpoint(tenant, endpoint string) (string, error)
}

// ErrEndpoint is returned by an Originator for an endpoint it cannot
// reach (400 to the application).
var ErrEndpoint = errors.New("invalid endpoint")

const notInStasis = "Channel not in Stasis application"

// findChannel answers 404 for an unknown channel (or another tenant's).
func (s *Server) findChannel(w http.ResponseWriter, r *http.Request) *channel {
	ch := s.reg.channel(tenantOf(r), r.PathValue("channelId"))
	if ch == nil {
		writeError(w, http.StatusNotFound, "Channel not found")
	}
	return ch
}

// stasisChannel also answers 409 when the channel is not in an
// application.
func (s *Server) stasisChannel(w http.ResponseWriter, r *http.Request) *channel {
	ch := s.findChannel(w, r)
	if ch != nil && !ch.inApp() {
		writeError(w, http.StatusConflict, notInStasis)
		return nil
	}
	return ch
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	out := []Channel{}
	for _, ch := range s.reg.channelsOf(tenantOf(r)) {
		out = append(out, ch.model())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	if ch := s.findChannel(w, r); ch != nil {
		writeJSON(w, http.StatusOK, ch.model())
	}
}

func (s *Server) originate(w http.ResponseWriter, r *http.Request, p params) {
	tenant := tenantOf(r)
	endpoint := p.get("endpoint")
	if endpoint == "" {
		writeError(w, http.StatusBadRequest, "Endpoint must be specified")
		return
	}
	app := p.get("app")
	if app == "" {
		writeError(w, http.StatusBadRequest, "Application must be specified (dialplan extensions are reached with continue)")
		return
	}
	id := cmpOr(r.PathValue("channelId"), p.get("channelId"))
	if id == "" {
		id = uuid.NewString()
	}
	if !validID(id) {
		writeError(w, http.StatusBadRequest, "Invalid channel id")
		return
	}
	timeout, err := p.intParam("timeout", 30)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if timeout <= 0 {
		timeout = 24 * 3600 // -1: no timeout
	}
	if s.opt.Originator == nil {
		writeError(w, http.StatusNotImplemented, "Not implemented")
		return
	}
	// Channel ids are unique across tenants: an id in use anywhere is a
	// conflict (and never hands out another tenant's channel).
	if !s.reg.reserve(id) {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	defer s.reg.release(id)
	args := p.list("appArgs")
	vars := p.vars
	var ch *channel
	_, err = s.opt.Originator.Originate(OriginateRequest{Tenant: tenant, Endpoint: endpoint, CallerID: p.get("callerId"),
		Timeout: time.Duration(timeout) * time.Second,
		Created: func(c *call.Call) {
			ch = s.attachAs(c, id)
			ch.mu.Lock()
			maps.Copy(ch.vars, vars)
			ch.dialplan = DialplanCEP{Context: "hotline-originate", Exten: c.To, Priority: 1}
			ch.mu.Unlock()
			// The originating application follows the channel from the
			// start (ringing, a failure), as Asterisk subscribes it.
			s.hub.follow(tenant, app, true, "channel:"+id)
		},
		Run: func(c *call.Call) { _, _ = s.RunStasis(c.Context(), c, app, args) }})
	switch {
	case errors.Is(err, ErrEndpoint):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.opt.Logger.Warn("ari originate", "endpoint", endpoint, "err", err)
		writeError(w, http.StatusServiceUnavailable, "Originate failed: "+err.Error())
		return
	case ch == nil:
		writeError(w, http.StatusInternalServerError, "Originate did not create a channel")
		return
	}
	writeJSON(w, http.StatusOK, ch.model())
}

// validID keeps application-chosen ids to what is safe in paths and logs.
func validID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
			return false
		}
	}
	return true
}

func (s *Server) hangupChannel(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findChannel(w, r)
	if ch == nil {
		return
	}
	reason := p.get("reason")
	q850 := 16
	if code := p.get("reason_code"); code != "" {
		n, err := strconv.Atoi(code)
		if err != nil || n < 0 || n > 127 {
			writeError(w, http.StatusBadRequest, "Invalid reason_code")
			return
		}
		q850 = n
	} else if reason != "" {
		n, ok := hangupReasons[reason]
		if !ok {
			writeError(w, http.StatusBadRequest, "Invalid reason for hangup provided")
			return
		}
		q850 = n
	}
	ch.c.Hangup(hangupCause(reason, q850))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) answerChannel(w http.ResponseWriter, r *http.Request) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	if err := ch.c.Answer(); err != nil {
		writeError(w, http.StatusInternalServerError, "Failed to answer channel")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ringChannel(w http.ResponseWriter, r *http.Request) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	if r.Method == http.MethodPost && ch.c.State() != call.StateUp {
		if err := ch.c.Ring(); err != nil && !errors.Is(err, call.ErrNoLeg) {
			writeError(w, http.StatusConflict, "Channel cannot ring: "+err.Error())
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) continueChannel(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	label := cmpOr(p.get("label"), p.get("extension"))
	ch.mu.Lock()
	cont := ch.cont
	ch.mu.Unlock()
	if cont != nil {
		select {
		case cont <- ivr.StasisResult{Status: "SUCCESS", Label: label}:
		default: // already continuing
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) sendDTMF(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	digits := p.get("dtmf")
	if digits == "" {
		writeError(w, http.StatusBadRequest, "DTMF is required")
		return
	}
	var ms [4]int
	for i, name := range []string{"before", "between", "duration", "after"} {
		def := [4]int{0, 100, 100, 0}[i]
		v, err := p.intParam(name, def)
		if err != nil || v < 0 {
			writeError(w, http.StatusBadRequest, name+" must be a positive integer")
			return
		}
		ms[i] = v
	}
	for _, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCDabcd,", d) {
			writeError(w, http.StatusBadRequest, "Invalid DTMF digit "+strconv.QuoteRune(d))
			return
		}
	}
	c := ch.c
	// The keys go out paced like Asterisk's: the request returns at once.
	go func() {
		wait := func(n int) bool {
			t := time.NewTimer(time.Duration(n) * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				return true
			case <-c.Done():
				return false
			}
		}
		if !wait(ms[0]) {
			return
		}
		for i, d := range strings.ToUpper(digits) {
			if i > 0 && !wait(ms[1]) {
				return
			}
			if d == ',' { // a pause, as in Asterisk's SendDTMF
				if !wait(500) {
					return
				}
				continue
			}
			_ = c.Media().SendDigit(d, time.Duration(ms[2])*time.Millisecond)
			if !wait(ms[2]) {
				return
			}
		}
	}()
	w.WriteHeader(http.StatusNoContent)
}

// audioDirection reads an ARI direction (none, both, in, out): in is the
// audio from the channel, out the audio to it.
func audioDirection(v string) (in, out, ok bool) {
	switch v {
	case "none":
		return false, false, true
	case "both":
		return true, true, true
	case "in":
		return true, false, true
	case "out":
		return false, true, true
	}
	return false, false, false
}

func (s *Server) muteChannel(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	dir := cmpOr(p.get("direction"), "both")
	in, out, ok := audioDirection(dir)
	if !ok || dir == "none" {
		writeError(w, http.StatusBadRequest, "Invalid direction specified")
		return
	}
	on := r.Method == http.MethodPost
	ch.mu.Lock()
	if in {
		ch.muteIn = on
	}
	if out {
		ch.muteOut = on
	}
	b := ch.bridge
	ch.mu.Unlock()
	if b != nil {
		b.applyMute(ch)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) holdChannel(w http.ResponseWriter, r *http.Request) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	ch.mu.Lock()
	ch.held = r.Method == http.MethodPost
	b := ch.bridge
	ch.mu.Unlock()
	if b != nil {
		b.applyMute(ch)
	}
	w.WriteHeader(http.StatusNoContent)
}

// music is the tenant's music on hold (nil: none configured).
func (s *Server) music(tenant string) *media.Prompt {
	if s.opt.Music == nil {
		return nil
	}
	return s.opt.Music(tenant)
}

// mohChannel handles /moh and /silence (silence: true): both loop a
// sound under what the application plays, until DELETE.
func (s *Server) mohChannel(silence bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch := s.stasisChannel(w, r)
		if ch == nil {
			return
		}
		switch {
		case r.Method == http.MethodDelete:
			ch.stopMoh()
		case silence:
			ch.startMoh(nil)
		default:
			ch.startMoh(s.music(ch.tenant))
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) playChannel(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	if ch.snoop != nil && !ch.snoop.whisper {
		// Nobody would hear it, and it would never finish.
		writeError(w, http.StatusUnprocessableEntity, "A snoop channel without whisper cannot play media")
		return
	}
	s.startPlayback(w, r, p, ch.tenant, "channel:"+ch.id, ch.play)
}

// builtin answers the dialplan functions applications commonly read.
func (ch *channel) builtin(name string) (string, bool) {
	switch name {
	case "CALLERID(num)", "CALLERID(number)":
		return ch.c.From, true
	case "CALLERID(name)":
		return "", true
	case "CHANNEL(name)":
		return ch.name, true
	case "CHANNEL(uniqueid)", "UNIQUEID":
		return ch.id, true
	case "CHANNEL(state)":
		return string(ch.c.State()), true
	case "CHANNEL(language)":
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return ch.language, true
	case "EXTEN":
		return ch.c.To, true
	case "HOTLINE_TENANT":
		return ch.tenant, true
	}
	return "", false
}

func (s *Server) getChannelVar(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findChannel(w, r)
	if ch == nil {
		return
	}
	name := p.get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	ch.mu.Lock()
	v, ok := ch.vars[name]
	ch.mu.Unlock()
	if !ok {
		v, ok = ch.builtin(name)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "Provided variable was not found")
		return
	}
	writeJSON(w, http.StatusOK, Variable{Value: v})
}

func (s *Server) setChannelVar(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findChannel(w, r)
	if ch == nil {
		return
	}
	name := p.get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	value := p.get("value")
	if name == "CHANNEL(language)" {
		ch.mu.Lock()
		ch.language = value
		ch.mu.Unlock()
	} else {
		ch.mu.Lock()
		ch.vars[name] = value
		ch.mu.Unlock()
	}
	s.channelEvent(ch, &ChannelVarset{Event: Event{Type: "ChannelVarset"}, Variable: name, Value: value, Channel: new(ch.model())})
	w.WriteHeader(http.StatusNoContent)
}

// redirectChannel handles POST /channels/{id}/redirect: the caller is sent
// to endpoint (a 302 before answer, a REFER after) and the channel ends.
func (s *Server) redirectChannel(w http.ResponseWriter, r *http.Request, p params) {
	endpoint := p.get("endpoint")
	if endpoint == "" {
		writeError(w, http.StatusBadRequest, "Required parameter endpoint not provided")
		return
	}
	ch := s.stasisChannel(w, r)
	if ch == nil {
		return
	}
	res, ok := s.opt.Originator.(EndpointResolver)
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "Endpoint not found")
		return
	}
	uri, err := res.ResolveEndpoint(ch.tenant, endpoint)
	if err != nil {
		if errors.Is(err, ErrEndpoint) {
			writeError(w, http.StatusUnprocessableEntity, "Endpoint not found: "+err.Error())
		} else {
			writeError(w, http.StatusBadRequest, err.Error())
		}
		return
	}
	if err := ch.c.Redirect(uri); err != nil {
		writeError(w, http.StatusPreconditionFailed, "Channel in invalid state: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
