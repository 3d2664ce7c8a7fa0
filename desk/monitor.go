package desk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"hotline/media"
	"hotline/webrtc"
)

// Monitoring: a supervisor joins an agent's conversation with a WebRTC leg
// of their own. Listen: they hear the caller and the agent. Whisper: the
// agent hears them too, the caller does not. Barge: everyone hears
// everyone. The audio is mixed where it already flows, so the bridge's
// fast path (payloads relayed untouched) is kept for unmonitored calls:
// each caller packet bound for the agent carries the supervisor's mix
// with it (caller + agent to the supervisor; + supervisor to the agent),
// and in barge the caller's side plays the agent and the supervisor mixed
// by the session's pacer.

// Monitor modes, as the wallboard protocol names them.
const (
	ModeListen  = "listen"
	ModeWhisper = "whisper"
	ModeBarge   = "barge"
)

const (
	modeListen int32 = iota
	modeWhisper
	modeBarge
)

func parseMode(s string) (int32, error) {
	switch s {
	case ModeListen, "":
		return modeListen, nil
	case ModeWhisper:
		return modeWhisper, nil
	case ModeBarge:
		return modeBarge, nil
	}
	return 0, fmt.Errorf("mode must be listen, whisper or barge, not %q", s)
}

func modeName(m int32) string {
	return [...]string{ModeListen, ModeWhisper, ModeBarge}[m]
}

// monitorAnswerTimeout bounds the supervisor's browser answering.
const monitorAnswerTimeout = 15 * time.Second

// Monitor is one supervisor monitoring one conversation.
type Monitor struct {
	d      *Desk
	t      *talk
	leg    *webrtc.Leg // the supervisor's
	agent  *webrtc.Leg // the agent's, tapped
	sup    Identity
	out    Outbox
	mode   atomic.Int32
	answer chan string
	ended  chan struct{}
	once   sync.Once
	done   chan struct{}
	why    string

	agentJB   *media.JitterBuffer // the agent's voice, for the supervisor
	supAgent  *media.JitterBuffer // the supervisor's voice, for the agent
	supCaller *media.JitterBuffer // the supervisor's voice, for the caller (barge)
	barge     *bargeSource

	// FromCaller's buffers: it runs under the agent leg's forward lock,
	// one packet at a time.
	callerPCM, agentPCM [640]int16
	mixed               [640]byte
}

// Monitor starts sup monitoring callID, a conversation of tenant's agents,
// in mode. The supervisor's browser gets a webrtc_offer (with "monitor":
// true) on out, and "monitoring" once the audio flows.
func (d *Desk) Monitor(tenant, callID string, sup Identity, mode string, out Outbox) (*Monitor, error) {
	md, err := parseMode(mode)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	t := d.talkOfCall(tenant, callID)
	if t == nil {
		return nil, fmt.Errorf("monitor: no agent is talking on call %q", callID)
	}
	m := &Monitor{
		d: d, t: t, sup: sup, out: out, answer: make(chan string, 1), ended: make(chan struct{}), done: make(chan struct{}),
		agentJB: media.NewJitterBuffer(), supAgent: media.NewJitterBuffer(), supCaller: media.NewJitterBuffer(),
	}
	m.mode.Store(md)
	t.mu.Lock()
	switch {
	case !t.connected:
		err = errors.New("the call is not connected yet")
	case t.consult != nil:
		err = errors.New("the agent is consulting a colleague")
	case t.monitor != nil:
		err = fmt.Errorf("%s is already monitoring this call", t.monitor.sup.Username)
	case md == modeBarge && t.held:
		err = errors.New("the call is on hold")
	default:
		t.monitor = m
		m.agent = t.leg
	}
	t.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	m.barge = &bargeSource{agent: m.agent, sup: m.supCaller}
	leg, err := d.newLeg(callID, &legHolder{})
	if err != nil {
		m.detach()
		return nil, fmt.Errorf("monitor: %w", err)
	}
	m.leg = leg
	if ac := d.assistOf(callID); ac != nil {
		replayAssist(callID, ac, out.Send)
	}
	go m.run()
	return m, nil
}

// talkOfCall finds the conversation of one of tenant's agents with callID.
func (d *Desk) talkOfCall(tenant, callID string) *talk {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, a := range d.agents {
		if k.tenant != tenant {
			continue
		}
		a.mu.Lock()
		t := a.talk
		a.mu.Unlock()
		if t != nil && t.callID == callID && t.consultOf == nil {
			return t
		}
	}
	return nil
}

// Done is closed once the monitoring has ended and been undone.
func (m *Monitor) Done() <-chan struct{} { return m.done }

// Mode is the monitor's mode now.
func (m *Monitor) Mode() string { return modeName(m.mode.Load()) }

// CallID is the monitored call.
func (m *Monitor) CallID() string { return m.t.callID }

// Answer delivers the supervisor browser's SDP answer.
func (m *Monitor) Answer(sdp string) error {
	select {
	case m.answer <- sdp:
		return nil
	default:
		return errors.New("webrtc_answer: already answered")
	}
}

// AddCandidate adds a trickled browser candidate.
func (m *Monitor) AddCandidate(js []byte) error { return m.leg.AddCandidate(js) }

// SetMode switches between listen, whisper and barge.
func (m *Monitor) SetMode(mode string) error {
	md, err := parseMode(mode)
	if err != nil {
		return fmt.Errorf("monitor_mode: %w", err)
	}
	t := m.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.monitor != m {
		return errors.New("monitor_mode: the monitoring has ended")
	}
	if md == modeBarge && t.held {
		return errors.New("monitor_mode: the call is on hold")
	}
	old := m.mode.Swap(md)
	if old == md {
		return nil
	}
	m.supAgent.Reset()
	m.supCaller.Reset()
	switch {
	case md == modeBarge:
		t.sess.SetSource(m.barge)
	case old == modeBarge && !t.held:
		t.sess.SetSource(m.agent.Source())
	}
	t.call.Event("monitor", "", map[string]string{"supervisor": m.sup.Username, "mode": modeName(md)})
	return nil
}

// Stop ends the monitoring and waits for it to be undone.
func (m *Monitor) Stop(why string) {
	m.end(why)
	<-m.done
}

func (m *Monitor) end(why string) {
	m.once.Do(func() {
		m.why = why
		close(m.ended)
	})
}

func (m *Monitor) run() {
	defer close(m.done)
	defer m.leg.Close()
	defer m.detach()
	ctx, cancel := context.WithTimeout(m.t.call.Context(), monitorAnswerTimeout)
	defer cancel()
	sdp, err := m.leg.Offer(ctx)
	if err != nil {
		m.end("failed")
		return
	}
	if !m.out.Send(Msg{"type": "webrtc_offer", "call": m.t.callID, "sdp": sdp, "monitor": true}) {
		m.end("failed")
		return
	}
	select {
	case ans := <-m.answer:
		if err := m.leg.SetAnswer(ans); err != nil {
			m.out.Send(Msg{"type": "error", "call": m.t.callID, "message": err.Error()})
			m.end("failed")
			return
		}
	case <-ctx.Done():
		m.end("no-answer")
		return
	case <-m.ended:
		return
	case <-m.t.ended:
		m.end("call-ended")
		return
	}
	// The supervisor's voice goes to the buffers the mode reads.
	m.leg.OnAudio(func(ts uint32, ulaw []byte) {
		switch m.mode.Load() {
		case modeBarge:
			m.supCaller.Write(media.PTPCMU, ts, ulaw)
			m.supAgent.Write(media.PTPCMU, ts, ulaw)
		case modeWhisper:
			m.supAgent.Write(media.PTPCMU, ts, ulaw)
		}
	})
	m.agent.SetTap(m)
	m.t.mu.Lock()
	if m.mode.Load() == modeBarge && !m.t.held {
		m.t.sess.SetSource(m.barge)
	}
	m.t.mu.Unlock()
	m.t.call.Event("monitor", "", map[string]string{"supervisor": m.sup.Username, "mode": m.Mode()})
	m.out.Send(Msg{"type": "monitoring", "call": m.t.callID, "mode": m.Mode()})
	select {
	case <-m.ended:
	case <-m.t.ended:
		m.end("call-ended")
	case <-m.t.call.Done():
		m.end("call-ended")
	}
}

// detach takes the monitor off the conversation: taps off, the caller back
// to the agent alone.
func (m *Monitor) detach() {
	if m.agent != nil {
		m.agent.SetTap(nil)
	}
	if m.leg != nil {
		m.leg.OnAudio(nil)
	}
	t := m.t
	t.mu.Lock()
	if t.monitor == m {
		t.monitor = nil
		if m.mode.Load() == modeBarge && !t.held && t.connected && t.leg == m.agent {
			t.sess.SetSource(m.agent.Source())
		}
	}
	t.mu.Unlock()
	why := m.why
	if why == "" {
		why = "stopped"
	}
	t.call.Event("monitor_end", "", map[string]string{"supervisor": m.sup.Username, "reason": why})
	m.out.Send(Msg{"type": "monitor_ended", "call": t.callID, "reason": why})
}

// FromCaller implements webrtc.Tap: the supervisor gets the caller and the
// agent mixed; the agent gets the supervisor in whisper and barge.
func (m *Monitor) FromCaller(pt media.PayloadType, ts uint32, payload []byte, mix []int16) int {
	n := min(len(payload), len(m.callerPCM))
	c, a := m.callerPCM[:n], m.agentPCM[:n]
	if pt == media.PTPCMA {
		media.DecodePCMA(c, payload[:n])
	} else {
		media.DecodePCMU(c, payload[:n])
	}
	if !m.agentJB.ReadFrame(a) {
		clear(a)
	}
	media.Mix(c, a)
	media.EncodePCMU(m.mixed[:n], c)
	m.leg.Send(ts, m.mixed[:n])
	if m.mode.Load() == modeListen {
		return 0
	}
	k := min(n, len(mix))
	if !m.supAgent.ReadFrame(mix[:k]) {
		return 0
	}
	return k
}

// FromAgent implements webrtc.Tap.
func (m *Monitor) FromAgent(ts uint32, ulaw []byte) {
	m.agentJB.Write(media.PTPCMU, ts, ulaw)
}

// bargeSource is what the caller hears during a barge: the agent and the
// supervisor, mixed by the caller session's pacer.
type bargeSource struct {
	agent *webrtc.Leg
	sup   *media.JitterBuffer
	buf   [640]int16 // the pacer reads one frame at a time
}

func (b *bargeSource) ReadFrame(dst []int16) bool {
	if !b.agent.ReadFrame(dst) {
		clear(dst)
	}
	s := b.buf[:min(len(dst), len(b.buf))]
	if b.sup.ReadFrame(s) {
		media.Mix(dst, s)
	}
	return true
}
