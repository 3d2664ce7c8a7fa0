package ari

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"hotline/media"
)

// bridge is an application's bridge: a media mixer (mixing) or a room
// where everyone hears only what the bridge plays (holding).
type bridge struct {
	id, tenant, name, typ, creator string
	created                        time.Time
	mix                            *media.Mixer
	play                           *playQueue

	mu        sync.Mutex
	members   []*channel
	recording bool // a live recording of the bridge exists
	dead      bool // destroyed: nobody joins any more
	moh       *media.Player
}

func (g *registry) bridge(tenant, id string) *bridge {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bridges[key(tenant, id)]
}

func (b *bridge) model() Bridge {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := make([]string, 0, len(b.members))
	for _, ch := range b.members {
		ids = append(ids, ch.id)
	}
	return Bridge{ID: b.id, Technology: "simple_bridge", BridgeType: b.typ, BridgeClass: "stasis",
		Creator: b.creator, Name: b.name, Channels: ids, VideoMode: "none", CreationTime: Time(b.created)}
}

func (s *Server) bridgeEvent(b *bridge, ev Message) {
	if _, err := s.hub.Broadcast(b.tenant, []string{"bridge:" + b.id}, ev); err != nil {
		s.opt.Logger.Error("ari event", "err", err)
	}
}

// session is a channel's RTP session (nil for a snoop or an agent's leg).
func session(ch *channel) *media.Session {
	sess, _ := ch.c.Media().(*media.Session)
	return sess
}

// mixerLeg is what a channel brings to a bridge: its RTP session, a
// snoop, an agent's WebRTC leg.
func mixerLeg(ch *channel) media.MixerLeg {
	if sess := session(ch); sess != nil {
		return sess
	}
	leg, _ := ch.c.Media().(media.MixerLeg)
	return leg
}

// applyMute tells the mixer what a member may say and hear.
func (b *bridge) applyMute(ch *channel) {
	ch.mu.Lock()
	in, out := ch.muteIn || ch.held, ch.muteOut
	ch.mu.Unlock()
	if leg := mixerLeg(ch); leg != nil {
		b.mix.Mute(leg, in, out)
	}
}

// playTo plays src to one member only (a channel playback while
// bridged), mixed over what it hears from the bridge, as Asterisk does.
func (b *bridge) playTo(ch *channel, src media.Source) {
	if leg := mixerLeg(ch); leg != nil {
		b.mix.PlayTo(leg, src)
	}
}

func (s *Server) createBridge(w http.ResponseWriter, r *http.Request, p params) {
	tenant := tenantOf(r)
	typ := "mixing"
	for _, t := range p.list("type") {
		switch t {
		case "mixing", "dtmf_events", "proxy_media", "video_sfu", "video_single":
		case "holding":
			typ = "holding"
		default:
			writeError(w, http.StatusBadRequest, "Invalid bridge type "+t)
			return
		}
	}
	id := cmpOr(r.PathValue("bridgeId"), p.get("bridgeId"))
	if id == "" {
		id = uuid.NewString()
	} else if !validID(id) {
		writeError(w, http.StatusBadRequest, "Invalid bridge id")
		return
	}
	s.reg.mu.Lock()
	if old := s.reg.bridges[key(tenant, id)]; old != nil {
		s.reg.mu.Unlock()
		// POST /bridges/{id} on an existing bridge answers it, as Asterisk.
		writeJSON(w, http.StatusOK, old.model())
		return
	}
	b := &bridge{id: id, tenant: tenant, name: p.get("name"), typ: typ, creator: "Stasis", created: time.Now(), mix: media.NewMixer()}
	if typ == "holding" {
		b.mix.SetHolding(true)
	}
	b.play = newPlayQueue(s, tenant, "bridge:"+id, func(src media.Source) {
		b.mu.Lock()
		moh := b.moh
		b.mu.Unlock()
		if src == nil && moh != nil {
			src = moh
		}
		b.mix.Play(src)
	})
	s.reg.bridges[key(tenant, id)] = b
	s.reg.mu.Unlock()
	s.bridgeEvent(b, &BridgeCreated{Event: Event{Type: "BridgeCreated"}, Bridge: b.model()})
	writeJSON(w, http.StatusOK, b.model())
}

func (s *Server) findBridge(w http.ResponseWriter, r *http.Request) *bridge {
	b := s.reg.bridge(tenantOf(r), r.PathValue("bridgeId"))
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
	}
	return b
}

func (s *Server) listBridges(w http.ResponseWriter, r *http.Request) {
	tenant := tenantOf(r)
	s.reg.mu.Lock()
	var bs []*bridge
	for _, b := range s.reg.bridges {
		if b.tenant == tenant {
			bs = append(bs, b)
		}
	}
	s.reg.mu.Unlock()
	slices.SortFunc(bs, func(a, b *bridge) int { return a.created.Compare(b.created) })
	out := []Bridge{}
	for _, b := range bs {
		out = append(out, b.model())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getBridge(w http.ResponseWriter, r *http.Request) {
	if b := s.findBridge(w, r); b != nil {
		writeJSON(w, http.StatusOK, b.model())
	}
}

func (s *Server) destroyBridge(w http.ResponseWriter, r *http.Request) {
	b := s.findBridge(w, r)
	if b == nil {
		return
	}
	s.destroy(b)
	w.WriteHeader(http.StatusNoContent)
}

// destroy empties a bridge (members stay in their application) and
// forgets it.
func (s *Server) destroy(b *bridge) {
	s.reg.mu.Lock()
	if s.reg.bridges[key(b.tenant, b.id)] != b {
		s.reg.mu.Unlock()
		return
	}
	delete(s.reg.bridges, key(b.tenant, b.id))
	s.reg.mu.Unlock()
	b.mu.Lock()
	b.dead = true
	members := slices.Clone(b.members)
	b.mu.Unlock()
	for _, ch := range members {
		s.removeFromBridge(b, ch)
	}
	b.play.close()
	s.stopRecordings("bridge:" + b.id)
	b.mix.Close()
	s.bridgeEvent(b, &BridgeDestroyed{Event: Event{Type: "BridgeDestroyed"}, Bridge: b.model()})
	s.hub.forget(b.tenant, "bridge:"+b.id)
}

// bridgeChannels resolves the channel parameter of add/removeChannel:
// 400 when missing, 404 for an unknown bridge, 422 for a channel that is
// not there, 409 for one outside Stasis.
func (s *Server) bridgeChannels(w http.ResponseWriter, r *http.Request, p params) (*bridge, []*channel) {
	ids := p.list("channel")
	if len(ids) == 0 {
		writeError(w, http.StatusBadRequest, "Missing parameter channel")
		return nil, nil
	}
	b := s.findBridge(w, r)
	if b == nil {
		return nil, nil
	}
	var chans []*channel
	for _, id := range ids {
		// Asterisk's codes: 400 for a channel that does not exist, 422
		// for one outside Stasis.
		ch := s.reg.channel(b.tenant, id)
		if ch == nil {
			writeError(w, http.StatusBadRequest, "Channel not found")
			return nil, nil
		}
		if !ch.inApp() {
			writeError(w, http.StatusUnprocessableEntity, notInStasis)
			return nil, nil
		}
		chans = append(chans, ch)
	}
	return b, chans
}

func (s *Server) addChannel(w http.ResponseWriter, r *http.Request, p params) {
	b, chans := s.bridgeChannels(w, r, p)
	if b == nil {
		return
	}
	mute, err := p.boolParam("mute", false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, ch := range chans {
		if mixerLeg(ch) == nil {
			writeError(w, http.StatusUnprocessableEntity, "Channel cannot join a bridge")
			return
		}
	}
	for _, ch := range chans {
		if code, msg := s.join(b, ch, mute); code != 0 {
			writeError(w, code, msg)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// join puts a channel in a bridge (leaving any other), serialised with
// its other bridge changes and its leaving Stasis; a failure is the HTTP
// answer.
func (s *Server) join(b *bridge, ch *channel, mute bool) (int, string) {
	ch.bridgeMu.Lock()
	defer ch.bridgeMu.Unlock()
	if !ch.inApp() {
		return http.StatusUnprocessableEntity, notInStasis
	}
	old := ch.currentBridge()
	if old == b {
		return 0, ""
	}
	if old != nil {
		s.leaveBridgeLocked(old, ch)
	}
	// What the application played to the channel stops; the bridge
	// feeds it from now on.
	ch.play.clear()
	b.mu.Lock()
	if b.dead {
		b.mu.Unlock()
		return http.StatusNotFound, "Bridge not found"
	}
	b.members = append(b.members, ch)
	b.mu.Unlock()
	ch.mu.Lock()
	if mute {
		ch.muteIn = true
	}
	ch.bridge = b
	app := ch.app
	ch.mu.Unlock()
	if err := b.mix.Add(mixerLeg(ch)); err != nil {
		// The bridge closed meanwhile (destroyed): undo.
		b.mu.Lock()
		b.members = slices.DeleteFunc(b.members, func(x *channel) bool { return x == ch })
		b.mu.Unlock()
		ch.mu.Lock()
		if ch.bridge == b {
			ch.bridge = nil
		}
		ch.mu.Unlock()
		return http.StatusNotFound, "Bridge not found"
	}
	b.applyMute(ch)
	// The channel's application follows the bridge from now on, as
	// Asterisk subscribes it.
	if app != "" {
		s.hub.follow(b.tenant, app, true, "bridge:"+b.id)
	}
	s.channelEvent(ch, &ChannelEnteredBridge{Event: Event{Type: "ChannelEnteredBridge"}, Bridge: b.model(), Channel: new(ch.model())})
	return 0, ""
}

func (s *Server) removeChannel(w http.ResponseWriter, r *http.Request, p params) {
	b, chans := s.bridgeChannels(w, r, p)
	if b == nil {
		return
	}
	for _, ch := range chans {
		if ch.currentBridge() != b {
			writeError(w, http.StatusUnprocessableEntity, "Channel not in this bridge")
			return
		}
	}
	for _, ch := range chans {
		s.removeFromBridge(b, ch)
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeFromBridge takes a member out: ChannelLeftBridge, and its media
// goes back to the channel (silence, or its music on hold).
func (s *Server) removeFromBridge(b *bridge, ch *channel) {
	ch.bridgeMu.Lock()
	defer ch.bridgeMu.Unlock()
	s.leaveBridgeLocked(b, ch)
}

// leaveBridgeLocked is removeFromBridge for a caller holding ch.bridgeMu.
func (s *Server) leaveBridgeLocked(b *bridge, ch *channel) {
	b.mu.Lock()
	i := slices.Index(b.members, ch)
	if i < 0 {
		b.mu.Unlock()
		return
	}
	b.members = slices.Delete(b.members, i, i+1)
	b.mu.Unlock()
	if leg := mixerLeg(ch); leg != nil {
		b.mix.Remove(leg)
	}
	ch.mu.Lock()
	if ch.bridge == b {
		ch.bridge = nil
	}
	moh := ch.moh
	ch.mu.Unlock()
	if moh != nil {
		ch.c.Media().SetSource(moh)
	}
	model := b.model()
	// Sent to the bridge's followers and the channel's.
	if _, err := s.hub.Broadcast(b.tenant, []string{"bridge:" + b.id, "channel:" + ch.id},
		&ChannelLeftBridge{Event: Event{Type: "ChannelLeftBridge"}, Bridge: model, Channel: ch.model()}); err != nil {
		s.opt.Logger.Error("ari event", "err", err)
	}
}

func (s *Server) playBridge(w http.ResponseWriter, r *http.Request, p params) {
	b := s.findBridge(w, r)
	if b == nil {
		return
	}
	s.startPlayback(w, r, p, b.tenant, "bridge:"+b.id, b.play)
}

func (s *Server) mohBridge(w http.ResponseWriter, r *http.Request) {
	b := s.findBridge(w, r)
	if b == nil {
		return
	}
	b.mu.Lock()
	old := b.moh
	b.moh = nil
	if r.Method == http.MethodPost {
		music := s.music(b.tenant)
		if music == nil {
			music = silencePrompt
		}
		b.moh = media.NewPlayer(music, true)
	}
	moh := b.moh
	b.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	if !b.play.busy() {
		if moh != nil {
			b.mix.Play(moh)
		} else {
			b.mix.Play(nil)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
