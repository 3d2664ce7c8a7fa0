package desk

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
type talk struct {
	callID string
	call   *call.Call
	sess   *media.Session
	leg    *webrtc.Leg

	answer  chan string   // the browser's SDP answer; one is taken
	ended   chan struct{} // closed when the agent side is over (hang-up, disconnect, leg gone)
	endOnce sync.Once

	mu        sync.Mutex
	by        string
	connected bool
	held      bool
	holdStop  context.CancelFunc
	holdDone  chan struct{}
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
	t := &talk{callID: c.ID, call: c, sess: sess, answer: make(chan string, 1), ended: make(chan struct{})}
	leg, err := webrtc.New(webrtc.Config{
		CallID: c.ID, ICEServers: d.cfg.ICEServers, PortMin: d.cfg.PortMin, PortMax: d.cfg.PortMax,
		Loopback: d.cfg.Loopback, Logger: d.log,
		OnState: func(s webrtc.State) {
			if s == webrtc.StateFailed || s == webrtc.StateClosed {
				t.end(byNobody)
			}
		},
	})
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
	defer func() {
		t.mu.Lock()
		// A hold arriving from now on is refused rather than starting
		// music nobody would stop.
		t.connected = false
		t.stopMusicLocked()
		t.mu.Unlock()
		leg.Detach()
		by := "system"
		if b := t.endedBy(); b == byAgent || b == byTransfer {
			by = b
		}
		if c.Context().Err() != nil {
			by = "caller"
		}
		a.mu.Lock()
		if a.talk == t {
			a.talk = nil
		}
		a.sendLocked(Msg{"type": "call_ended", "call": c.ID, "by": by})
		a.mu.Unlock()
	}()

	octx, cancel := context.WithTimeout(ctx, d.cfg.AnswerTimeout)
	defer cancel()
	sdp, err := leg.Offer(octx)
	if err != nil {
		return fmt.Errorf("desk: connect %s: %w", c.ID, err)
	}
	if !a.send(Msg{"type": "webrtc_offer", "call": c.ID, "sdp": sdp}) {
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
	a.send(Msg{"type": "connected", "call": c.ID})
	select {
	case <-ctx.Done():
		return nil
	case <-t.ended:
		return t.lost(ctx)
	}
}
