package acd

import "time"

// Event is something that happened, fed to Engine.Handle by value.
type Event interface{ isEvent() }

// AgentLogin logs an agent in with their skills (levels 1-100) and queues.
// The agent starts available, or on break (reason "login") when Available
// is false. Skills and queues are fixed until the next login.
type AgentLogin struct {
	Agent     AgentID
	Skills    map[string]int
	Queues    []Membership
	Available bool
	// Regions the agent serves first in queues with PreferRegion (the
	// callers' regions, e.g. "west" or "GB").
	Regions []string
}

// AgentLogout logs an agent out. An offer ringing on them is withdrawn; an
// agent on a call is logged out when the call ends, skipping wrap-up.
type AgentLogout struct {
	Agent AgentID
}

// SetState is the agent asking to be available or on break (State is
// StateAvailable or StateBreak; Reason is the break's reason code). Asking
// for a break while ringing withdraws the offer without counting a miss;
// while on a call it takes effect after the call and its wrap-up. Asking to
// be available ends wrap-up, a break or the missed state.
type SetState struct {
	Agent  AgentID
	State  State
	Reason string
}

// CallEnqueued puts a call in a queue. Skills are the call's own
// requirements, on top of the queue's. Position (1-based; 0: the end) enters
// the caller at that place in line, within the calls of its priority.
// MaxWait (0: none) bounds the caller's whole wait in the ACD, across
// overflows; then the call leaves to ExitStep ("" lets the flow decide).
type CallEnqueued struct {
	Call     CallID
	Queue    string
	Priority int // higher first
	Skills   []SkillReq
	Position int
	MaxWait  time.Duration
	ExitStep string
	// Region is the caller's region ("" unknown). In a queue with
	// PreferRegion it is offered only to agents of that region for the
	// queue's RegionWait, when one of them is logged in to the queue.
	Region string
}

// CallAbandoned is the caller hanging up while waiting or ringing. For a
// call already answered it is treated as CallEnded.
type CallAbandoned struct {
	Call CallID
}

// OfferAnswered is the agent picking up an offered call.
type OfferAnswered struct {
	Call  CallID
	Agent AgentID
}

// OfferRejected is the agent declining an offer (or the phone answering
// busy). The agent backs off per MissPolicy.RejectBackoff.
type OfferRejected struct {
	Call   CallID
	Agent  AgentID
	Reason string
}

// OfferTimeout is the wiring's own ring timer expiring. The engine also
// times offers out by itself (see QueueConfig.RingTimeout).
type OfferTimeout struct {
	Call  CallID
	Agent AgentID
}

// CallEnded is the agent leg of an answered call ending; the agent goes to
// wrap-up (or is free at once when the queue has none). Lost is the agent's
// phone dying mid-call: the agent goes to missed (not ready) instead, since
// nobody can tell when they will be back.
type CallEnded struct {
	Call CallID
	Lost bool
}

// WrapUpDone is the agent finishing after-call work before the wrap-up time
// runs out.
type WrapUpDone struct {
	Agent AgentID
}

// ChangePriority changes a waiting call's priority; within the new priority
// the call keeps its place by age.
type ChangePriority struct {
	Call     CallID
	Priority int
}

// ConsultStarted reserves Target, an available agent, for a consultation
// with the agent talking on Call (an attended transfer's first half):
// Target goes on call with reason "consult" and is offered nothing until
// ConsultEnded or CallHandedOver. A call has one consultation at a time.
type ConsultStarted struct {
	Call   CallID
	Target AgentID
}

// ConsultEnded ends Target's consultation without a transfer (cancelled,
// declined, or the consulted agent hung up): Target is free again, or goes
// where they asked to go meanwhile. No wrap-up: they handled no caller.
type ConsultEnded struct {
	Target AgentID
}

// CallHandedOver completes an attended transfer: the consulted agent takes
// Call, and the agent who had it goes to wrap-up as after a call. Handle
// time counts for both.
type CallHandedOver struct {
	Call   CallID
	Target AgentID
}

// Tick only lets time pass: due timers run at the start of every Handle.
type Tick struct{}

func (AgentLogin) isEvent()     {}
func (AgentLogout) isEvent()    {}
func (SetState) isEvent()       {}
func (CallEnqueued) isEvent()   {}
func (CallAbandoned) isEvent()  {}
func (OfferAnswered) isEvent()  {}
func (OfferRejected) isEvent()  {}
func (OfferTimeout) isEvent()   {}
func (CallEnded) isEvent()      {}
func (WrapUpDone) isEvent()     {}
func (ChangePriority) isEvent() {}
func (Tick) isEvent()           {}
func (ConsultStarted) isEvent() {}
func (ConsultEnded) isEvent()   {}
func (CallHandedOver) isEvent() {}
