package desk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"hotline/assist"
	"hotline/call"
	"hotline/media"
	"hotline/queue"
	"hotline/webrtc"
)

// Who ended a conversation, as call_ended's "by" says.
const (
	byNobody   = "" // the leg failed or the browser went away
	byAgent    = "agent"
	byTransfer = "transfer"
)

// talk is an answered call being connected to, or talking with, an agent.
// A consultation has a talk of its own on the consulted agent's side (no
// session: its leg is patched to the consulting agent's leg).
type talk struct {
	callID string
	call   *call.Call
	sess   *media.Session // nil on a consultation's side
	holder *legHolder     // the leg's failure ends whichever talk holds it

	answer  chan string   // the browser's SDP answer; one is taken
	ended   chan struct{} // closed when the agent side is over (hang-up, disconnect, leg gone)
	endOnce sync.Once

	// A consultation's side only.
	consultOf *talk         // the conversation with the caller it is about
	accept    chan struct{} // the consulted agent picked up
	done      chan struct{} // closed when runConsult has cleaned up

	mu        sync.Mutex
	leg       *webrtc.Leg // changes when an attended transfer completes
	owner     *Agent      // likewise
	by        string
	connected bool
	held      bool
	assist    *assist.Call // the call's live transcript; nil: none
	holdStop  context.CancelFunc
	holdDone  chan struct{}
	consult   *talk    // the consultation in progress, on the caller's talk
	monitor   *Monitor // a supervisor monitoring the conversation
	handedOff bool     // a consultation's side that became the call's leg
}

// legHolder ties a leg's failure to the talk that holds the leg now.
type legHolder struct{ t atomic.Pointer[talk] }

// newLeg makes an agent leg whose failure ends h's talk.
func (d *Desk) newLeg(callID string, h *legHolder) (*webrtc.Leg, error) {
	return webrtc.New(webrtc.Config{
		CallID: callID, ICEServers: d.cfg.ICEServers, PortMin: d.cfg.PortMin, PortMax: d.cfg.PortMax,
		Loopback: d.cfg.Loopback, Opus: d.cfg.Opus, PublicIP: d.cfg.PublicIP, Logger: d.log,
		OnState: func(s webrtc.State) {
			if s == webrtc.StateFailed || s == webrtc.StateClosed {
				if t := h.t.Load(); t != nil {
					t.end(byNobody)
				}
			}
		},
	})
}

func (t *talk) current() (*webrtc.Leg, *Agent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.leg, t.owner
}

func (t *talk) end(by string) {
	t.endOnce.Do(func() {
		t.mu.Lock()
		t.by = by
		t.mu.Unlock()
		close(t.ended)
	})
}

func (t *talk) endedBy() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.by
}

// markTransfer claims the talk's end for a transfer before the runtime
// ends it; false when it is already over.
func (t *talk) markTransfer(on bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ended:
		return false
	default:
	}
	t.by = byNobody
	if on {
		t.by = byTransfer
	}
	return true
}

// lost is how Connect ends when the agent side went away without hanging
// up: the caller goes back to the front of the line (Runtime.Wait).
func (t *talk) lost(ctx context.Context) error {
	if ctx.Err() != nil || t.endedBy() != byNobody {
		return nil
	}
	return &queue.Requeue{Front: true, Lost: true, Reason: "agent-lost"}
}

func (t *talk) deliverAnswer(sdp string) error {
	select {
	case t.answer <- sdp:
		return nil
	default:
		return errors.New("webrtc_answer: already answered")
	}
}

// setHold swaps the agent's audio for the tenant's hold music and back.
func (t *talk) setHold(on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.connected {
		return errors.New("hold: the call is not connected yet")
	}
	if on == t.held {
		return nil
	}
	t.held = on
	if ac := t.assist; ac != nil {
		ac.SetHeld(on)
	}
	if on {
		t.leg.Detach()
		ctx, cancel := context.WithCancel(t.call.Context())
		done := make(chan struct{})
		t.holdStop, t.holdDone = cancel, done
		// Owned by the talk: unhold and the end of Connect join it.
		go func() {
			defer close(done)
			_ = t.call.Music(ctx, "")
		}()
		return nil
	}
	t.stopMusicLocked()
	t.leg.Attach(t.sess)
	if m := t.monitor; m != nil && m.mode.Load() == modeBarge {
		t.sess.SetSource(m.barge) // the barging supervisor is heard again too
	}
	return nil
}

func (t *talk) stopMusicLocked() {
	if t.holdStop != nil {
		t.holdStop()
		<-t.holdDone
		t.holdStop, t.holdDone = nil, nil
	}
}

var _ queue.Connector = (*Desk)(nil)

// Connect implements queue.Connector: it offers the agent's browser a
// WebRTC leg, bridges it to the caller's media once answered, and blocks
// until the caller or the agent ends the conversation or the leg fails.
func (d *Desk) Connect(ctx context.Context, c *call.Call, agentID queue.AgentID) error {
	a := d.agent(c.TenantID, agentID)
	if a == nil {
		return fmt.Errorf("desk: connect %s: agent %s is not at a desk", c.ID, agentID)
	}
	sess, ok := c.Media().(*media.Session)
	if !ok {
		return fmt.Errorf("desk: connect %s: media %T cannot be bridged", c.ID, c.Media())
	}
	t := &talk{callID: c.ID, call: c, sess: sess, holder: &legHolder{}, owner: a,
		answer: make(chan string, 1), ended: make(chan struct{})}
	t.holder.t.Store(t)
	leg, err := d.newLeg(c.ID, t.holder)
	if err != nil {
		return fmt.Errorf("desk: connect %s: %w", c.ID, err)
	}
	t.leg = leg
	defer leg.Close()

	a.mu.Lock()
	if a.sess == nil {
		a.mu.Unlock()
		return fmt.Errorf("desk: connect %s: %w", c.ID, errDisconnected)
	}
	a.talk = t
	a.mu.Unlock()
	d.contextTalking(a, c)
	defer func() {
		t.mu.Lock()
		// A hold arriving from now on is refused rather than starting
		// music nobody would stop.
		t.connected = false
		t.stopMusicLocked()
		side := t.consult
		t.consult = nil
		cur, owner, ac := t.leg, t.owner, t.assist
		t.mu.Unlock()
		if side != nil {
			side.end(consultCallEnded)
			<-side.done
		}
		cur.Detach()
		if ac != nil && c.Context().Err() == nil {
			// Back to a queue (a transfer): what the caller hears now is
			// music, and no agent is talking until the next answer.
			ac.SetHeld(true)
			ac.SetAgent("", "")
		}
		by := "system"
		if b := t.endedBy(); b == byAgent || b == byTransfer {
			by = b
		}
		if c.Context().Err() != nil {
			by = "caller"
		}
		owner.mu.Lock()
		if owner.talk == t {
			owner.talk = nil
		}
		owner.sendLocked(Msg{"type": "call_ended", "call": c.ID, "by": by})
		owner.mu.Unlock()
		if cur != leg {
			cur.Close() // the consulted agent's leg, since the transfer
		}
	}()

	octx, cancel := context.WithTimeout(ctx, d.cfg.AnswerTimeout)
	defer cancel()
	sdp, err := leg.Offer(octx)
	if err != nil {
		return fmt.Errorf("desk: connect %s: %w", c.ID, err)
	}
	offer := Msg{"type": "webrtc_offer", "call": c.ID, "sdp": sdp}
	if info := c.Info; info.Outbound {
		// A call we placed (click to call, a callback) has no queue offer
		// on the page that names the other party; this does.
		offer["outbound"], offer["caller"], offer["queue"] = true, info.To, info.Queue
	}
	if !a.send(offer) {
		return fmt.Errorf("desk: connect %s: webrtc_offer: %w", c.ID, errDisconnected)
	}
	var answer string
	select {
	case answer = <-t.answer:
	case <-octx.Done():
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("desk: connect %s: no webrtc_answer within %v", c.ID, d.cfg.AnswerTimeout)
	case <-t.ended:
		return t.lost(ctx)
	}
	if err := leg.SetAnswer(answer); err != nil {
		a.send(Msg{"type": "error", "call": c.ID, "message": err.Error()})
		return fmt.Errorf("desk: connect %s: %w", c.ID, err)
	}
	t.mu.Lock()
	leg.Attach(sess)
	t.connected = true
	t.mu.Unlock()
	d.recordingFor(c, sess, string(agentID))
	a.send(Msg{"type": "connected", "call": c.ID})
	// After "connected": what the call's assist has shown so far (a
	// transfer) comes to a page that is on the call.
	if ac := d.assistFor(c, sess, a); ac != nil {
		t.mu.Lock()
		t.assist = ac
		t.mu.Unlock()
	}
	select {
	case <-ctx.Done():
		return t.agentHangup(c)
	case <-t.ended:
		if err := t.agentHangup(c); err != nil {
			return err
		}
		return t.lost(ctx)
	}
}
