package desk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"hotline/call"
	"hotline/media"
	"hotline/webrtc"
)

// A call placed to an agent's softphone by an ARI application (originate
// to Agent/USERNAME): the agent is reserved in the ACD (on call, reason
// "ari") so that no queue offers them a caller meanwhile, their page rings
// with an ordinary offer, and once they answer and their browser completes
// the WebRTC offer/answer, the AgentLeg is the call's media: what the
// application plays or bridges to it is paced every 20 ms toward the
// browser, and what the agent says goes to whoever forwards it (a mixing
// bridge). Its end (the agent hanging up or going away, or the call
// ending) releases the agent: wrap-up as after a queue call.

// RingRequest describes a call placed to an agent.
type RingRequest struct {
	CallID  string        // the call's id: the offer's "call"
	Caller  string        // shown as the offer's caller (caller id, or the application)
	Timeout time.Duration // how long the agent may take to pick up; 0: 30 s
	Reason  string        // the agent's reason while reserved; "": "ari"
}

// ErrUnknownAgent: no agent of that name is logged in at a desk of the
// tenant. It comes wrapped with call.CauseUnallocated.
var ErrUnknownAgent = errors.New("desk: no such agent logged in")

// defaultRing bounds an agent picking up a call placed to them.
const defaultRing = 30 * time.Second

// Why an agent leg ended on the agent's side.
const (
	ringRejected = "rejected" // the agent declined the offer
	ringLost     = "lost"     // the agent's browser or leg went away
	ringNoAnswer = "no-answer"
)

// AgentLeg is an agent's softphone as the media of a call placed to them.
// It implements call.MediaSession and media.MixerLeg. Make it with
// NewAgentLeg, then Ring, WaitAnswer; Close it in every case.
type AgentLeg struct {
	d      *Desk
	a      *Agent
	req    RingRequest
	digits chan media.Digit // never fires: the agent's keys are not passed on

	accept  chan struct{} // the agent picked up
	answer  chan string   // the browser's SDP answer
	ended   chan struct{} // closed when the agent side is over
	endOnce sync.Once

	fwd atomic.Pointer[fwdRef]

	srcMu sync.Mutex // held while a frame is pulled, as a Session's lock
	src   media.Source

	mu        sync.Mutex
	by        string // why the agent side ended (byAgent, ringRejected, ringLost, ...)
	ringing   bool   // the offer is on the page
	accepted  bool
	connected bool
	reserved  bool
	closed    bool
	leg       *webrtc.Leg
	tickStop  chan struct{}
	tickDone  chan struct{}
}

type fwdRef struct{ f media.Forwarder }

var (
	_ call.MediaSession = (*AgentLeg)(nil)
	_ media.MixerLeg    = (*AgentLeg)(nil)
)

// NewAgentLeg prepares a call to username, an agent of tenant logged in
// at a desk; the page does not ring yet (Ring). An agent who is not
// logged in, or of another tenant, is ErrUnknownAgent.
func (d *Desk) NewAgentLeg(tenant, username string, r RingRequest) (*AgentLeg, error) {
	if r.Timeout <= 0 {
		r.Timeout = defaultRing
	}
	if r.Reason == "" {
		r.Reason = "ari"
	}
	if r.CallID == "" {
		return nil, errors.New("desk: ring: no call id")
	}
	a := d.agentNamed(tenant, username)
	in := false
	if a != nil {
		a.mu.Lock()
		in = a.loggedIn && a.id.Tenant == tenant
		a.mu.Unlock()
	}
	if !in {
		return nil, fmt.Errorf("%w: %q (%w)", ErrUnknownAgent, username, call.CauseUnallocated)
	}
	return &AgentLeg{d: d, a: a, req: r, digits: make(chan media.Digit),
		accept: make(chan struct{}, 1), answer: make(chan string, 1), ended: make(chan struct{})}, nil
}

// Agent is the username of the agent the leg rings.
func (l *AgentLeg) Agent() string { return l.a.id.Username }

// Ring reserves the agent in the ACD and rings their page (an "offer").
// It fails, with a call.Cause in the error, when the agent is busy or not
// available (call.CauseBusy) or not connected (call.CauseNoAnswer).
func (l *AgentLeg) Ring(ctx context.Context) error {
	a := l.a
	a.mu.Lock()
	present, free := a.sess != nil, a.talk == nil && a.ring == nil
	a.mu.Unlock()
	switch {
	case !present:
		return fmt.Errorf("desk: ring %s: agent disconnected (%w)", a.id.Username, call.CauseNoAnswer)
	case !free:
		return fmt.Errorf("desk: ring %s: agent on a call (%w)", a.id.Username, call.CauseBusy)
	}
	// The ACD refuses an agent who is not available, and from now on
	// offers them no caller.
	if err := a.rt.Reserve(ctx, a.id.ID, l.req.Reason); err != nil {
		return fmt.Errorf("desk: ring %s: %v (%w)", a.id.Username, err, call.CauseBusy)
	}
	l.mu.Lock()
	l.reserved = true
	l.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil || a.talk != nil || a.ring != nil {
		return fmt.Errorf("desk: ring %s: the agent got busy (%w)", a.id.Username, call.CauseBusy)
	}
	if !a.sendLocked(Msg{
		"type": "offer", "call": l.req.CallID, "caller": l.req.Caller, "queue": "", "ivr_path": "",
		"wait_ms": 0, "ring_timeout_ms": l.req.Timeout.Milliseconds(), "origin": "ari",
	}) {
		return fmt.Errorf("desk: ring %s: %w (%w)", a.id.Username, errDisconnected, call.CauseNoAnswer)
	}
	a.ring = l
	l.mu.Lock()
	l.ringing = true
	l.mu.Unlock()
	return nil
}

// WaitAnswer waits for the agent to pick up (within the request's
// timeout) and their browser to complete the WebRTC offer/answer; then
// the leg carries audio both ways and the page has "connected". Its
// error carries a call.Cause: CauseRejected (declined), CauseNoAnswer
// (rang out, or the agent went away), CauseFailure (WebRTC), or ctx's
// cause when ctx ended first.
func (l *AgentLeg) WaitAnswer(ctx context.Context) error {
	a := l.a
	fail := func(err error) error { return fmt.Errorf("desk: ring %s: %w", a.id.Username, err) }
	rctx, cancel := context.WithTimeout(ctx, l.req.Timeout)
	defer cancel()
	select {
	case <-l.accept:
	case <-l.ended:
		if l.endedBy() == ringRejected {
			return fail(call.CauseRejected)
		}
		return fail(call.CauseNoAnswer)
	case <-rctx.Done():
		if ctx.Err() != nil {
			return fail(context.Cause(ctx))
		}
		l.end(ringNoAnswer)
		return fail(call.CauseNoAnswer)
	}
	leg, err := webrtc.New(webrtc.Config{
		CallID: l.req.CallID, ICEServers: l.d.cfg.ICEServers, PortMin: l.d.cfg.PortMin, PortMax: l.d.cfg.PortMax,
		Loopback: l.d.cfg.Loopback, Opus: l.d.cfg.Opus, PublicIP: l.d.cfg.PublicIP, Logger: l.d.log,
		OnState: func(s webrtc.State) {
			if s == webrtc.StateFailed || s == webrtc.StateClosed {
				l.end(ringLost)
			}
		},
	})
	if err != nil {
		return fail(fmt.Errorf("%v (%w)", err, call.CauseFailure))
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		leg.Close()
		return fail(context.Cause(ctx))
	}
	l.leg = leg
	l.mu.Unlock()
	leg.OnAudio(func(ts uint32, ulaw []byte) {
		if f := l.fwd.Load(); f != nil {
			f.f.ForwardRTP(media.PTPCMU, ts, false, ulaw)
		}
	})
	octx, ocancel := context.WithTimeout(ctx, l.d.cfg.AnswerTimeout)
	defer ocancel()
	sdp, err := leg.Offer(octx)
	if err != nil {
		if ctx.Err() != nil {
			return fail(context.Cause(ctx))
		}
		return fail(fmt.Errorf("%v (%w)", err, call.CauseFailure))
	}
	if !a.send(Msg{"type": "webrtc_offer", "call": l.req.CallID, "sdp": sdp}) {
		l.end(ringLost)
		return fail(call.CauseNoAnswer)
	}
	var answer string
	select {
	case answer = <-l.answer:
	case <-l.ended:
		return fail(call.CauseNoAnswer)
	case <-octx.Done():
		if ctx.Err() != nil {
			return fail(context.Cause(ctx))
		}
		return fail(fmt.Errorf("no webrtc_answer within %v (%w)", l.d.cfg.AnswerTimeout, call.CauseFailure))
	}
	if err := leg.SetAnswer(answer); err != nil {
		a.send(Msg{"type": "error", "call": l.req.CallID, "message": err.Error()})
		return fail(fmt.Errorf("%v (%w)", err, call.CauseCodecMismatch))
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fail(context.Cause(ctx))
	}
	l.connected = true
	l.tickStop, l.tickDone = make(chan struct{}), make(chan struct{})
	go l.pump(leg, l.tickStop, l.tickDone) // owned by the leg: Close stops it
	l.mu.Unlock()
	a.send(Msg{"type": "connected", "call": l.req.CallID})
	return nil
}

// Done is closed when the agent side is over: the agent hung up or
// declined, their browser or leg went away, or the ring timed out.
func (l *AgentLeg) Done() <-chan struct{} { return l.ended }

// HungUp says whether the agent ended the call themselves (hangup).
func (l *AgentLeg) HungUp() bool { return l.endedBy() == byAgent }

// Close ends the leg: the page stops ringing (offer_cancelled) or gets
// call_ended, the WebRTC leg closes, and the agent leaves the
// reservation, to wrap-up when they talked (missed when their browser
// went away mid-call). It is idempotent.
func (l *AgentLeg) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	leg, stop, done := l.leg, l.tickStop, l.tickDone
	ringing, accepted, connected, reserved := l.ringing, l.accepted, l.connected, l.reserved
	l.mu.Unlock()
	l.end("") // the far end: "caller" unless the agent side ended first
	by := l.endedBy()
	if stop != nil {
		close(stop)
		<-done
	}
	if leg != nil {
		leg.OnAudio(nil)
		leg.Close()
	}
	a := l.a
	a.mu.Lock()
	if a.ring == l {
		a.ring = nil
	}
	switch {
	case accepted:
		who := "caller"
		switch by {
		case byAgent:
			who = byAgent
		case ringLost:
			who = "system"
		}
		a.sendLocked(Msg{"type": "call_ended", "call": l.req.CallID, "by": who})
	case ringing && by != ringRejected:
		a.sendLocked(Msg{"type": "offer_cancelled", "call": l.req.CallID, "reason": "withdrawn"})
	}
	a.mu.Unlock()
	if reserved {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.rt.Release(ctx, a.id.ID, connected, connected && by == ringLost); err != nil {
			l.d.log.Warn("releasing an agent after an ARI call", "agent", a.id.Username, "call", l.req.CallID, "error", err)
		}
	}
}

func (l *AgentLeg) end(by string) {
	l.endOnce.Do(func() {
		l.mu.Lock()
		l.by = by
		l.mu.Unlock()
		close(l.ended)
	})
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (l *AgentLeg) endedBy() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by
}

// pump sends the source's audio to the browser every 20 ms: the WebRTC
// leg is packet-driven, with no pacer of its own.
func (l *AgentLeg) pump(leg *webrtc.Leg, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var (
		pcm  [160]int16
		ulaw [160]byte
		ts   uint32
	)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ts += uint32(len(pcm))
		l.srcMu.Lock()
		src := l.src
		ok := src != nil && src.ReadFrame(pcm[:])
		l.srcMu.Unlock()
		if src == nil {
			continue
		}
		if !ok {
			clear(pcm[:]) // finished: silence until the owner sets another
		}
		media.EncodePCMU(ulaw[:], pcm[:])
		leg.Send(ts, ulaw[:])
	}
}

// SetSource implements call.MediaSession and media.MixerLeg: src is what
// the agent hears (nil: silence). Once it returns, the previous source is
// not read any more.
func (l *AgentLeg) SetSource(src media.Source) {
	l.srcMu.Lock()
	l.src = src
	l.srcMu.Unlock()
}

// SetForwarder implements media.MixerLeg: f gets the agent's audio as
// PCMU payloads (nil: nobody).
func (l *AgentLeg) SetForwarder(f media.Forwarder) {
	if f == nil {
		l.fwd.Store(nil)
		return
	}
	l.fwd.Store(&fwdRef{f})
}

// Digits implements call.MediaSession: the agent's keypad is not passed
// on, so it never fires.
func (l *AgentLeg) Digits() <-chan media.Digit { return l.digits }

// SendDigit implements call.MediaSession: the agent's page takes no DTMF.
func (l *AgentLeg) SendDigit(rune, time.Duration) error {
	return errors.New("desk: an agent's softphone takes no DTMF")
}

// SetInbandDTMF implements call.MediaSession; there are no digits to find.
func (l *AgentLeg) SetInbandDTMF(bool) {}

// Stats implements call.MediaSession with the WebRTC leg's counts.
func (l *AgentLeg) Stats() media.Stats {
	l.mu.Lock()
	leg := l.leg
	l.mu.Unlock()
	if leg == nil {
		return media.Stats{}
	}
	st := leg.Stats()
	return media.Stats{PacketsSent: st.PacketsToAgent, BytesSent: st.BytesToAgent,
		PacketsReceived: st.PacketsFromAgent, BytesReceived: st.BytesFromAgent, SendErrors: st.SendErrors}
}

// ringOf is the agent's ringing or live ARI call with id call.
func (a *Agent) ringOf(call string) *AgentLeg {
	if call == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := a.ring; l != nil && l.req.CallID == call {
		return l
	}
	return nil
}

// handle carries out the page's message about the ARI call l.
func (l *AgentLeg) handle(m in) error {
	switch m.Type {
	case "answer":
		l.mu.Lock()
		ok := l.ringing && !l.accepted && !l.closed && l.by == "" && !isClosed(l.ended)
		if ok {
			l.accepted = true
		}
		l.mu.Unlock()
		if !ok {
			return errors.New("answer: the call is not ringing")
		}
		l.accept <- struct{}{}
		return nil
	case "reject":
		l.mu.Lock()
		ok := !l.accepted
		l.mu.Unlock()
		if !ok {
			return errors.New("reject: the call was answered; hang up instead")
		}
		l.end(ringRejected)
		return nil
	case "webrtc_answer":
		if m.SDP == "" {
			return errors.New("webrtc_answer: missing field sdp")
		}
		select {
		case l.answer <- m.SDP:
			return nil
		default:
			return errors.New("webrtc_answer: already answered")
		}
	case "ice":
		if len(m.Candidate) == 0 || string(m.Candidate) == "null" {
			return nil
		}
		l.mu.Lock()
		leg := l.leg
		l.mu.Unlock()
		if leg == nil {
			return errors.New("ice: no webrtc_offer yet")
		}
		return leg.AddCandidate(m.Candidate)
	case "hangup":
		l.end(byAgent)
		return nil
	}
	return fmt.Errorf("%s: not available on a call placed by an application", m.Type)
}
