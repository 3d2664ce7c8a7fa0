package acd

import (
	"fmt"
	"time"
)

// ActionKind says what an Action asks the wiring to do.
type ActionKind uint8

const (
	// Offer: ring Agent with Call from Queue. A ring_all queue produces one
	// Offer per agent, all for the same call.
	Offer ActionKind = iota + 1
	// CancelOffer: stop ringing Agent with Call, for Reason. Not produced
	// when the wiring reported the offer's end itself (OfferRejected,
	// OfferTimeout).
	CancelOffer
	// Overflow: Call moved to Queue (Reason max-wait). Offers for it in the
	// new queue may follow in the same batch.
	Overflow
	// ExitToStep: Call left the ACD; continue its flow at Step ("" lets the
	// flow decide: hang up by default). Reason is max-wait (the queue's) or
	// timeout (the call's own MaxWait).
	ExitToStep
	// Announce: tell the caller of Call their Position and estimated wait
	// EWT (negative when unknown). Never let it delay an offer.
	Announce
	// AgentStateChanged: Agent went From -> To for Reason.
	AgentStateChanged
	// Rejected: Call is not (or no longer) in Queue, for Reason (queue-full,
	// no-agents); continue its flow.
	Rejected
)

func (k ActionKind) String() string {
	switch k {
	case Offer:
		return "offer"
	case CancelOffer:
		return "cancel_offer"
	case Overflow:
		return "overflow"
	case ExitToStep:
		return "exit_to_step"
	case Announce:
		return "announce"
	case AgentStateChanged:
		return "agent_state"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is one thing the wiring must do. It is a flat struct rather than
// one type per kind so that a decision appends to a reused slice without
// allocating; Kind says which fields are set.
type Action struct {
	Kind     ActionKind
	Call     CallID
	Agent    AgentID
	Queue    string // Offer, Overflow (the new queue), Rejected, ExitToStep, Announce
	From, To State  // AgentStateChanged
	Reason   string // CancelOffer, Overflow, ExitToStep, AgentStateChanged, Rejected
	Step     string // ExitToStep
	Position int    // Announce, 1-based
	EWT      time.Duration
}

func (a Action) String() string {
	switch a.Kind {
	case Offer:
		return fmt.Sprintf("offer %s to %s (%s)", a.Call, a.Agent, a.Queue)
	case CancelOffer:
		return fmt.Sprintf("cancel offer %s to %s (%s)", a.Call, a.Agent, a.Reason)
	case Overflow:
		return fmt.Sprintf("overflow %s to %s (%s)", a.Call, a.Queue, a.Reason)
	case ExitToStep:
		return fmt.Sprintf("exit %s to step %q (%s)", a.Call, a.Step, a.Reason)
	case Announce:
		return fmt.Sprintf("announce %s position %d ewt %v", a.Call, a.Position, a.EWT)
	case AgentStateChanged:
		return fmt.Sprintf("agent %s %s -> %s (%s)", a.Agent, a.From, a.To, a.Reason)
	case Rejected:
		return fmt.Sprintf("reject %s from %s (%s)", a.Call, a.Queue, a.Reason)
	}
	return a.Kind.String()
}

// Reasons carried by actions. Break reasons are the agent's own codes.
const (
	ReasonLogin             = "login"
	ReasonLogout            = "logout"
	ReasonReady             = "ready"
	ReasonBreak             = "break" // SetState to break without a reason code
	ReasonOffer             = "offer"
	ReasonAnswered          = "answered"
	ReasonCallEnded         = "call-ended"
	ReasonWrapUpDone        = "wrap-up-done"
	ReasonWrapUpExpired     = "wrap-up-expired"
	ReasonNoAnswer          = "no-answer" // missed an offer; back-off follows
	ReasonNotReady          = "not-ready" // missed MissPolicy.NotReadyAfter offers in a row
	ReasonRejected          = "rejected"  // declined an offer
	ReasonBackoffElapsed    = "backoff-elapsed"
	ReasonRingTimeout       = "ring-timeout"
	ReasonAgentLost         = "agent-lost" // the agent's phone died during a call
	ReasonAnsweredElsewhere = "answered-elsewhere"
	ReasonCallerAbandoned   = "caller-abandoned"
	ReasonAgentUnavailable  = "agent-unavailable" // the agent went on break or logged out while ringing
	ReasonQueueFull         = "queue-full"
	ReasonNoAgents          = "no-agents"
	ReasonMaxWait           = "max-wait"
	ReasonTimeout           = "timeout"
	ReasonConsult           = "consult"       // reserved for a consultation (attended transfer)
	ReasonConsultEnded      = "consult-ended" // the consultation ended without a transfer
	ReasonTransferred       = "transferred"   // took a call by attended transfer
)
