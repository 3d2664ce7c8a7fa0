package ari

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/call"
	"hotline/ivr"
	"hotline/media"
)

// channel is a call as ARI sees it: known from the moment it enters an
// application (or is originated by one) until it is destroyed.
type channel struct {
	id     string // ARI id: the call's, or one the application chose
	c      *call.Call
	tenant string
	name   string

	mu        sync.Mutex
	app       string   // the application it is in; "" outside Stasis
	args      []string // Stasis arguments
	vars      map[string]string
	bridge    *bridge
	muteIn    bool
	muteOut   bool
	held      bool
	moh       *media.Player // music on hold or silence started by the application
	cont      chan ivr.StasisResult
	inStasis  sync.WaitGroup // RunStasis loops in progress
	dialplan  DialplanCEP
	language  string
	play      *playQueue
	recName   string // live recording of the channel, if any
	destroyed bool   // the call ended: no new Stasis
	leaving   bool   // leaving its application: no new bridge or playback
	snoop     *snoopMedia
	// bridgeMu serialises joining and leaving bridges (and leaving
	// Stasis), so a channel is in at most one bridge.
	bridgeMu sync.Mutex

	// evMu orders the channel's last event: no ChannelStateChange after
	// ChannelDestroyed.
	evMu sync.Mutex
	gone bool
}

// registry is the ARI state of every tenant: channels, bridges,
// playbacks and live recordings. Channel ids are unique across tenants
// (they are call ids, or ids an application chose, which are refused when
// taken by anyone); bridges, playbacks and recordings are keyed by tenant
// and id, so one tenant cannot learn another's ids.
type registry struct {
	mu        sync.Mutex
	channels  map[string]*channel
	byCall    map[*call.Call]*channel
	reserved  map[string]bool // channel ids being originated
	bridges   map[string]*bridge
	playbacks map[string]*playback
	// live recordings by tenant + "\x00" + name
	recordings map[string]*liveRecording
	seq        uint64
}

func newRegistry() *registry {
	return &registry{channels: map[string]*channel{}, byCall: map[*call.Call]*channel{}, reserved: map[string]bool{},
		bridges: map[string]*bridge{}, playbacks: map[string]*playback{}, recordings: map[string]*liveRecording{}}
}

func key(tenant, id string) string { return tenant + "\x00" + id }

// channel finds a tenant's channel; another tenant's id is "not found".
func (g *registry) channel(tenant, id string) *channel {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := g.channels[id]
	if ch == nil || ch.tenant != tenant {
		return nil
	}
	return ch
}

// reserve claims a channel id for an originate; false when any tenant
// has it.
func (g *registry) reserve(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.channels[id] != nil || g.reserved[id] {
		return false
	}
	g.reserved[id] = true
	return true
}

func (g *registry) release(id string) {
	g.mu.Lock()
	delete(g.reserved, id)
	g.mu.Unlock()
}

// attach returns the channel of c, registering it (and its watchers) on
// first sight under the call's id.
func (s *Server) attach(c *call.Call) *channel { return s.attachAs(c, c.ID) }

// attachAs registers c under ARI id id (an id the application chose).
func (s *Server) attachAs(c *call.Call, id string) *channel {
	g := s.reg
	g.mu.Lock()
	if ch := g.byCall[c]; ch != nil {
		g.mu.Unlock()
		return ch
	}
	g.seq++
	prefix := "PJSIP/" + c.TenantID + "-"
	ch := &channel{id: id, c: c, tenant: c.TenantID, name: prefix + strconv.FormatUint(g.seq+0x10000000, 16)[1:],
		vars: map[string]string{}, language: "en",
		dialplan: DialplanCEP{Context: cmpOr(c.Flow, c.TenantID), Exten: cmpOr(c.To, "s"), Priority: 1}}
	ch.play = newPlayQueue(s, ch.tenant, "channel:"+id, func(src media.Source) { ch.setSource(src) })
	g.channels[id] = ch
	g.byCall[c] = ch
	delete(g.reserved, id)
	g.mu.Unlock()

	stop := c.Watch(func(st call.State) {
		ch.evMu.Lock()
		defer ch.evMu.Unlock()
		if !ch.gone {
			s.channelEvent(ch, &ChannelStateChange{Event: Event{Type: "ChannelStateChange"}, Channel: ch.model()})
		}
	})
	// The channel's lifetime: when the call ends, what the application
	// started on it stops and the application learns it is gone, after
	// its StasisEnd.
	go func() {
		<-c.Done()
		stop()
		ch.mu.Lock()
		ch.destroyed = true // no Stasis may start from now on
		ch.mu.Unlock()
		ch.play.close()
		ch.inStasis.Wait()
		s.stopRecordings("channel:" + id)
		cause := c.Cause()
		ch.evMu.Lock()
		ch.gone = true
		s.channelEvent(ch, &ChannelDestroyed{Event: Event{Type: "ChannelDestroyed"}, Cause: cause.Q850,
			CauseTxt: causeText(cause.Q850), Channel: ch.model()})
		ch.evMu.Unlock()
		g.mu.Lock()
		if g.channels[id] == ch {
			delete(g.channels, id)
		}
		delete(g.byCall, c)
		g.mu.Unlock()
		s.hub.forget(ch.tenant, "channel:"+id)
	}()
	return ch
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// model is the channel as Asterisk's Channel model.
func (ch *channel) model() Channel {
	c := ch.c
	ch.mu.Lock()
	defer ch.mu.Unlock()
	m := Channel{ID: ch.id, Name: ch.name, State: string(c.State()),
		Caller: CallerID{Number: c.From}, Dialplan: ch.dialplan,
		CreationTime: Time(c.Started), Language: ch.language}
	if c.Outbound {
		m.Caller = CallerID{Number: c.From}
		m.Connected = CallerID{Number: c.To}
	}
	if ch.app != "" {
		m.Dialplan.AppName = "Stasis"
		m.Dialplan.AppData = strings.Join(append([]string{ch.app}, ch.args...), ",")
	}
	return m
}

// channelEvent sends an event about a channel to the applications
// watching it (the one it is in is subscribed while it is there).
func (s *Server) channelEvent(ch *channel, ev Message) {
	sources := []string{"channel:" + ch.id}
	ch.mu.Lock()
	if ch.bridge != nil {
		sources = append(sources, "bridge:"+ch.bridge.id)
	}
	ch.mu.Unlock()
	if _, err := s.hub.Broadcast(ch.tenant, sources, ev); err != nil {
		s.opt.Logger.Error("ari event", "err", err)
	}
}

// RunStasis hands a call to application app, as Asterisk's Stasis()
// does: StasisStart, then the application controls the call until it
// continues it in the flow (Status SUCCESS, Label where to go) or the call
// ends. An application that is not connected fails at once (FAILED), and
// the flow goes on.
func (s *Server) RunStasis(ctx context.Context, c *call.Call, app string, args []string) (ivr.StasisResult, error) {
	if !s.hub.connected(c.TenantID, app) {
		return ivr.StasisResult{Status: "FAILED"}, nil
	}
	ch := s.attach(c)
	ch.mu.Lock()
	if ch.app != "" || ch.destroyed || c.Cause() != nil {
		ch.mu.Unlock()
		return ivr.StasisResult{Status: "FAILED"}, nil
	}
	ch.app, ch.args, ch.leaving = app, args, false
	ch.cont = make(chan ivr.StasisResult, 1)
	cont := ch.cont
	ch.inStasis.Add(1)
	ch.mu.Unlock()
	defer ch.inStasis.Done()
	ch.play.suspend(false)

	src := "channel:" + ch.id
	if !s.hub.follow(c.TenantID, app, true, src) {
		ch.leaveStasis()
		return ivr.StasisResult{Status: "FAILED"}, nil
	}
	if args == nil {
		args = []string{}
	}
	if ok, err := s.hub.Publish(c.TenantID, app, &StasisStart{Event: Event{Type: "StasisStart"}, Args: args, Channel: ch.model()}); err != nil || !ok {
		ch.leaveStasis()
		return ivr.StasisResult{Status: "FAILED"}, nil
	}
	s.opt.Logger.Info("ari stasis start", "call", c.ID, "tenant", c.TenantID, "app", app)

	digits := c.Media().Digits()
	var res ivr.StasisResult
	var err error
loop:
	for {
		select {
		case d := <-digits:
			s.dtmfForRecording(ch, d.Key)
			s.channelEvent(ch, &ChannelDtmfReceived{Event: Event{Type: "ChannelDtmfReceived"}, Digit: string(d.Key),
				DurationMs: int(d.Duration / time.Millisecond), Channel: ch.model()})
		case res = <-cont:
			break loop
		case <-c.Done():
			break loop
		case <-ctx.Done(): // often the call's own context
			break loop
		}
	}
	if cause := c.Cause(); cause != nil {
		err = context.Cause(c.Context())
		s.channelEvent(ch, &ChannelHangupRequest{Event: Event{Type: "ChannelHangupRequest"}, Cause: cause.Q850, Channel: ch.model()})
	} else if ctx.Err() != nil {
		err = ctx.Err()
	}
	// Leaving the application: what it started on the channel stops, and
	// nothing new may start (a request racing with this gets 409).
	ch.mu.Lock()
	ch.leaving = true
	ch.mu.Unlock()
	ch.play.suspend(true)
	ch.play.clear()
	ch.bridgeMu.Lock()
	if b := ch.currentBridge(); b != nil {
		s.leaveBridgeLocked(b, ch)
	}
	ch.bridgeMu.Unlock()
	ch.stopMoh()
	model := ch.model()
	ch.leaveStasis()
	s.channelEvent(ch, &StasisEnd{Event: Event{Type: "StasisEnd"}, Channel: model})
	if err == nil {
		// Continued in the flow: the application no longer follows it.
		s.hub.follow(c.TenantID, app, false, src)
		res.Status = "SUCCESS"
	}
	s.opt.Logger.Info("ari stasis end", "call", c.ID, "app", app, "label", res.Label)
	return res, err
}

func (ch *channel) leaveStasis() {
	ch.mu.Lock()
	ch.app, ch.args, ch.cont = "", nil, nil
	ch.mu.Unlock()
}

// inApp reports whether the channel is in an application now (and not
// on its way out).
func (ch *channel) inApp() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.app != "" && !ch.leaving
}

func (ch *channel) currentBridge() *bridge {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.bridge
}

// setSource is where a channel's playback goes: straight to its media, or
// nothing while the channel is in a bridge (the bridge feeds it then, and
// plays to a bridged channel are mixed by the bridge).
func (ch *channel) setSource(src media.Source) {
	ch.mu.Lock()
	b := ch.bridge
	ch.mu.Unlock()
	if b != nil {
		b.playTo(ch, src)
		return
	}
	if src == nil && ch.moh != nil {
		src = ch.moh
	}
	ch.c.Media().SetSource(src)
}

// startMoh loops music on hold (or silence, when p is nil) under whatever
// the application plays next.
func (ch *channel) startMoh(p *media.Prompt) {
	ch.stopMoh()
	if p == nil {
		p = silencePrompt
	}
	pl := media.NewPlayer(p, true)
	ch.mu.Lock()
	ch.moh = pl
	idle := ch.bridge == nil && !ch.play.busy()
	ch.mu.Unlock()
	if idle {
		ch.c.Media().SetSource(pl)
	}
}

func (ch *channel) stopMoh() {
	ch.mu.Lock()
	pl := ch.moh
	ch.moh = nil
	idle := ch.bridge == nil && !ch.play.busy()
	ch.mu.Unlock()
	if pl != nil {
		pl.Stop()
		if idle {
			ch.c.Media().SetSource(nil)
		}
	}
}

var silencePrompt = media.NewPromptPCM(make([]int16, 160))

// causeText is Asterisk's text for a Q.850 cause (ast_cause2str).
func causeText(q850 int) string {
	if t, ok := causeTexts[q850]; ok {
		return t
	}
	return "Unknown"
}

var causeTexts = map[int]string{
	0: "Unknown", 1: "Unallocated (unassigned) number", 3: "No route to destination",
	16: "Normal Clearing", 17: "User busy", 18: "No user responding", 19: "User alerting, no answer",
	21: "Call Rejected", 22: "Number changed", 23: "Redirected to new destination", 26: "Answered elsewhere", 27: "Destination out of order",
	28: "Invalid number format", 31: "Normal, unspecified", 34: "Circuit/channel congestion",
	38: "Network out of order", 41: "Temporary failure", 42: "Switching equipment congestion",
	47: "Resource unavailable, unspecified", 58: "Bearer capability not available",
	65: "Bearer capability not implemented", 95: "Invalid message unspecified", 102: "Recovery on timer expiry",
	127: "Interworking, unspecified",
}

// hangupReasons are ARI's DELETE /channels reason names and their Q.850
// codes, as Asterisk maps them.
var hangupReasons = map[string]int{
	"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 19, "rejected": 21,
	"unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
	"interworking": 127, "failure": 38, "answered_elsewhere": 26,
}

// hangupCause is the call.Cause for an application's hang-up.
func hangupCause(reason string, q850 int) *call.Cause {
	name := "ari-hangup"
	if reason != "" && reason != "normal" {
		name = "ari-" + strings.ReplaceAll(reason, "_", "-")
	}
	return &call.Cause{Name: name, Q850: q850, Side: call.SideSystem}
}

// channelsOf lists a tenant's channels by creation.
func (g *registry) channelsOf(tenant string) []*channel {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*channel
	for _, ch := range g.channels {
		if ch.tenant == tenant {
			out = append(out, ch)
		}
	}
	slices.SortFunc(out, func(a, b *channel) int { return a.c.Started.Compare(b.c.Started) })
	return out
}
