// Package desk is the agent's desk: one logged-in agent's session with
// their tenant's ACD (state, offers, answer, wrap-up) as the browser
// drives it over docs/agent-protocol.md, and the queue.Connector that
// joins an answered caller's media.Session to the agent's WebRTC leg.
//
// The transport (the WebSocket) is the web package's: a Session takes the
// browser's messages one at a time through Handle and hands server
// messages to an Outbox, which must never block, because offers and state
// changes are sent from the ACD's owner goroutine.
//
// An agent outlives their connection: a dropped socket leaves them logged
// in for Config.Grace, so a reload or a short network loss costs no call
// and no place in the queues' rotations; the next connection takes the
// agent over (queue.Runtime.Attach).
package desk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"hotline/acd"
	"hotline/assist"
	"hotline/queue"
	"hotline/webrtc"
)

// Config configures a Desk.
type Config struct {
	// ICE: host candidates are always gathered; servers may add more.
	ICEServers []webrtc.ICEServer
	// PortMin..PortMax bound the agents' WebRTC UDP ports; both 0: any.
	PortMin, PortMax uint16
	// Loopback also offers 127.0.0.1 candidates (single-host setups).
	Loopback bool
	// Opus offers browsers Opus before PCMU (webrtc.Config.Opus).
	Opus bool
	// PublicIP, when valid, is the address our host candidates carry
	// (media nodes behind 1:1 NAT; webrtc.Config.PublicIP).
	PublicIP netip.Addr
	// Grace keeps a disconnected agent logged in this long (default 30 s).
	Grace time.Duration
	// AnswerTimeout bounds the wait for the browser's SDP answer (10 s).
	AnswerTimeout time.Duration
	// Recorders records agent calls (caller left, what the caller hears
	// right); nil: calls are not recorded.
	Recorders Recorders
	Logger    *slog.Logger
	// OnState, when set, hears every agent's ACD state change (the chat
	// distributor follows break and log-out); it runs on the ACD's owner
	// and must not block.
	OnState func(tenant string, agent queue.AgentID, state acd.State)
	// Assist transcribes agent calls live (transcript lines and knowledge
	// cards on the agent's page); nil: no transcripts.
	Assist Assistant
	// Context builds the caller context shown from the offer on
	// (caller_context messages, context.go); nil: none.
	Context CallerContexts
}

// Identity is who sits at a desk.
type Identity struct {
	ID          queue.AgentID // the user's id
	Username    string
	DisplayName string
	Tenant      string
}

// Profile is what an agent serves; RingTimeout (may be nil) reports a
// queue's ring timeout for the offers shown.
type Profile struct {
	Skills      map[string]int
	Queues      []string
	RingTimeout func(queue string) time.Duration
}

// Outbox carries server messages to one connection. Send must not block;
// false means the message was not taken (connection gone or backed up).
// Close ends the connection (a newer one took the agent over).
type Outbox interface {
	Send(msg Msg) bool
	Close(reason string)
}

// Msg is one protocol message (a JSON object with a "type").
type Msg map[string]any

type key struct {
	tenant string
	agent  queue.AgentID
}

// Desk holds every agent at a desk, across tenants, and connects their
// calls. It implements queue.Connector.
type Desk struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	agents  map[key]*Agent
	recs    map[string]*callRecording // by call id
	assists map[string]*assist.Call   // live transcripts, by call id
	closed  bool
	recWG   sync.WaitGroup // the goroutines closing recordings at hang-up
	out     outboundState  // outbound calls placed for agents (dial.go)
	ctxs    contextCache   // callers' contexts, by call (context.go)
}

// New makes a Desk.
func New(cfg Config) *Desk {
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Desk{cfg: cfg, log: cfg.Logger, agents: map[key]*Agent{}, recs: map[string]*callRecording{}, assists: map[string]*assist.Call{}}
}

// Close stops the grace timers and waits for the recordings of ended
// calls to be closed; the ACDs' shutdown logs the agents out.
func (d *Desk) Close() {
	d.mu.Lock()
	d.closed = true
	for _, a := range d.agents {
		a.mu.Lock()
		if a.grace != nil {
			a.grace.Stop()
		}
		a.mu.Unlock()
	}
	d.mu.Unlock()
	d.out.stop()
	// Recordings close as their calls end (the server ends calls first).
	d.recWG.Wait()
}

func (d *Desk) agent(tenant string, id queue.AgentID) *Agent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.agents[key{tenant, id}]
}

// Open starts a desk session for a new connection: the agent is logged in
// (on break, reason "login", until they say available) or, when still
// logged in from an earlier connection, taken over. hello is sent first.
func (d *Desk) Open(ctx context.Context, rt *queue.Runtime, id Identity, prof Profile, out Outbox) (*Session, error) {
	if rt == nil {
		return nil, errors.New("desk: the tenant has no queues")
	}
	k := key{id.Tenant, id.ID}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("desk: shutting down")
	}
	a := d.agents[k]
	if a != nil && a.rt != rt {
		a = nil // the tenant's runtime was replaced; start afresh
	}
	if a == nil {
		a = &Agent{d: d, key: k, rt: rt, id: id, prof: prof, state: acd.StateOffline, since: time.Now(), ringing: map[string]bool{}}
	} else {
		a.mu.Lock()
		if a.grace != nil {
			a.grace.Stop()
			a.grace = nil
		}
		a.gen++
		a.mu.Unlock()
	}
	if err := a.ensureLoggedIn(ctx); err != nil {
		return nil, err
	}
	d.agents[k] = a
	s := &Session{a: a, out: out}
	a.mu.Lock()
	old := a.sess
	a.sess = s
	out.Send(Msg{
		"type":   "hello",
		"agent":  Msg{"id": string(id.ID), "username": id.Username, "display_name": id.DisplayName, "tenant": id.Tenant},
		"state":  a.state.String(),
		"reason": a.reason,
		"since":  a.since.UTC(),
		"queues": prof.Queues,
		// The browser gathers its own candidates: behind NAT it needs the
		// same STUN/TURN servers as our side.
		"ice_servers": d.browserICEServers(),
	})
	a.mu.Unlock()
	if old != nil {
		old.out.Close("taken over by a newer connection")
	}
	return s, nil
}

// Agent is one agent at a desk. It is the agent's queue.AgentEndpoint for
// as long as they are logged in, whichever connection they use.
type Agent struct {
	d    *Desk
	key  key
	rt   *queue.Runtime
	id   Identity
	prof Profile

	mu       sync.Mutex
	sess     *Session // the live connection; nil while disconnected
	loggedIn bool
	state    acd.State
	reason   string
	since    time.Time
	ringing  map[string]bool // offers ringing on this agent
	talk     *talk
	ring     *AgentLeg // a call placed to the agent by an ARI application (ring.go)
	dial     *outCall  // the agent's outbound call, dialling or talking (dial.go)
	grace    *time.Timer
	gen      int // connection generation, so a stale grace timer does nothing
}

// agentNamed finds an agent of tenant at a desk by username or id.
func (d *Desk) agentNamed(tenant, name string) *Agent {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.agents[key{tenant, queue.AgentID(name)}]; a != nil {
		return a
	}
	for k, a := range d.agents {
		if k.tenant == tenant && a.id.Username == name {
			return a
		}
	}
	return nil
}

// ensureLoggedIn attaches the agent to the runtime, logging them in when
// the runtime does not know them. It must not run under a.mu: the
// runtime's owner calls back into the agent.
func (a *Agent) ensureLoggedIn(ctx context.Context) error {
	a.mu.Lock()
	in := a.loggedIn
	a.mu.Unlock()
	if in {
		err := a.rt.Attach(ctx, a.id.ID, a)
		if err == nil {
			return nil
		}
		if !errors.Is(err, acd.ErrNotLoggedIn) {
			return fmt.Errorf("desk: attach %s: %w", a.id.Username, err)
		}
	}
	ms := make([]acd.Membership, len(a.prof.Queues))
	for i, q := range a.prof.Queues {
		ms[i] = acd.Membership{Queue: q}
	}
	err := a.rt.Login(ctx, queue.Agent{ID: a.id.ID, Endpoint: a, Skills: a.prof.Skills, Queues: ms})
	if err != nil && !errors.Is(err, acd.ErrLoggedIn) {
		return fmt.Errorf("desk: log in %s: %w", a.id.Username, err)
	}
	if err != nil {
		if err := a.rt.Attach(ctx, a.id.ID, a); err != nil {
			return fmt.Errorf("desk: attach %s: %w", a.id.Username, err)
		}
	}
	a.mu.Lock()
	a.loggedIn = true
	a.mu.Unlock()
	return nil
}

// send hands msg to the live connection, if any.
func (a *Agent) send(msg Msg) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sendLocked(msg)
}

func (a *Agent) sendLocked(msg Msg) bool {
	if a.sess == nil {
		return false
	}
	return a.sess.out.Send(msg)
}

var errDisconnected = errors.New("desk: agent disconnected")

// Offer implements queue.AgentEndpoint; it runs on the runtime's owner.
func (a *Agent) Offer(_ context.Context, o queue.OfferInfo) error {
	var ring time.Duration
	if a.prof.RingTimeout != nil {
		ring = a.prof.RingTimeout(o.Queue)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		return errDisconnected
	}
	if !a.sendLocked(Msg{
		"type": "offer", "call": o.CallID, "caller": o.Caller, "queue": o.Queue, "ivr_path": o.Path, "region": o.Region,
		"wait_ms": o.Wait.Milliseconds(), "ring_timeout_ms": ring.Milliseconds(),
	}) {
		return errDisconnected
	}
	a.ringing[o.CallID] = true
	if m := a.d.callerContextMsg(a, o.Call); m != nil {
		a.sendLocked(m)
	}
	return nil
}

// Cancel implements queue.AgentEndpoint; it runs on the runtime's owner.
func (a *Agent) Cancel(callID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.ringing, callID)
	a.sendLocked(Msg{"type": "offer_cancelled", "call": callID, "reason": "withdrawn"})
}

// StateChanged implements queue.StateListener.
func (a *Agent) StateChanged(state acd.State, reason string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.state, a.reason, a.since = state, reason, at
	if state == acd.StateOffline {
		a.loggedIn = false
	}
	if state != acd.StateRinging {
		clear(a.ringing)
	}
	a.sendLocked(Msg{"type": "state", "state": state.String(), "reason": reason, "since": at.UTC()})
	if h := a.d.cfg.OnState; h != nil {
		h(a.id.Tenant, a.id.ID, state)
	}
}

// disconnected is s's connection ending: ringing offers count as rejected,
// a conversation's caller goes back to the front of the line (Connect
// returns a queue.Requeue), and the agent is logged out unless they return
// within Grace.
func (a *Agent) disconnected(s *Session) {
	a.mu.Lock()
	if a.sess != s {
		a.mu.Unlock()
		return
	}
	a.sess = nil
	var ringing []string
	for id := range a.ringing {
		ringing = append(ringing, id)
	}
	clear(a.ringing)
	t := a.talk
	r := a.ring
	gen := a.gen
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range ringing {
		if err := a.rt.Reject(ctx, a.id.ID, id, "disconnected"); err != nil {
			a.d.log.Info("offer to a disconnected agent already gone", "agent", a.id.Username, "call", id, "error", err)
		}
	}
	if t != nil {
		t.end(byNobody)
	}
	if r != nil {
		r.end(ringLost)
	}

	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	if a.d.closed {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen || a.sess != nil {
		return
	}
	a.grace = time.AfterFunc(a.d.cfg.Grace, func() { a.expire(gen) })
}

// expire logs out an agent whose grace period ran out without a new
// connection.
func (a *Agent) expire(gen int) {
	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	a.mu.Lock()
	stale := a.gen != gen || a.sess != nil
	in := a.loggedIn
	a.mu.Unlock()
	if stale {
		return
	}
	delete(a.d.agents, a.key)
	if !in {
		return // went offline themselves
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.rt.Logout(ctx, a.id.ID); err != nil && !errors.Is(err, acd.ErrNotLoggedIn) {
		a.d.log.Warn("logging out a disconnected agent", "agent", a.id.Username, "error", err)
	}
}

// browserICEServers is the ICE server list in RTCIceServer's JSON shape.
func (d *Desk) browserICEServers() []Msg {
	out := make([]Msg, 0, len(d.cfg.ICEServers))
	for _, srv := range d.cfg.ICEServers {
		m := Msg{"urls": srv.URLs}
		if srv.Username != "" {
			m["username"], m["credential"] = srv.Username, srv.Credential
		}
		out = append(out, m)
	}
	return out
}
