package acd

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AgentCounts counts a queue's agents by state (agents serving several
// queues count in each).
type AgentCounts struct {
	Offline, Available, Ringing, OnCall, WrapUp, Break, Missed int
}

// QueueStats is a queue's live picture for the wallboard. Counters run
// since local midnight (Config.Location).
type QueueStats struct {
	Queue       string
	Waiting     int           // calls in the queue, ringing ones included
	Ringing     int           // of which an offer rings
	LongestWait time.Duration // longest time a caller has been in this queue
	Agents      AgentCounts
	// Answered and Abandoned count calls that left this queue that way;
	// InSL within the service-level threshold, ShortAbandoned sooner than
	// the short-abandon threshold.
	Answered, AnsweredInSL                   int
	Abandoned, AbandonedInSL, ShortAbandoned int
	Missed                                   int           // offers that rang out or were rejected
	Overflowed, Exited, Refused              int           // moved on, left at max wait, refused or sent away
	AHT                                      time.Duration // recent average handle time (talk + wrap-up); 0 if unknown
	// SLFormula is the queue's configured service-level formula.
	SLFormula SLVariant
	// ServiceLevelThreshold is the queue's answer-time threshold.
	ServiceLevelThreshold time.Duration
	// ASA is the average speed of answer: time in this queue of the calls
	// answered from it today (like the service level, counted from when
	// the call entered this queue); 0 until one is answered.
	ASA time.Duration
	EWT time.Duration // estimated wait for a caller joining now; negative if unknown
}

// SLVariant names a service-level formula.
type SLVariant uint8

const (
	// SLDefault: answered within T / (answered + abandoned - short abandons).
	SLDefault SLVariant = iota
	// SLAnswered (Asterisk's SL): answered within T / answered.
	SLAnswered
	// SLAnsweredAndAbandoned (Asterisk's SL2): (answered within T +
	// abandoned within T) / (answered + abandoned).
	SLAnsweredAndAbandoned
)

// ServiceLevel computes a service level in [0, 1]; ok is false while no
// call counts.
func (s QueueStats) ServiceLevel(v SLVariant) (sl float64, ok bool) {
	var num, den int
	switch v {
	case SLAnswered:
		num, den = s.AnsweredInSL, s.Answered
	case SLAnsweredAndAbandoned:
		num, den = s.AnsweredInSL+s.AbandonedInSL, s.Answered+s.Abandoned
	default:
		num, den = s.AnsweredInSL, s.Answered+s.Abandoned-s.ShortAbandoned
	}
	if den <= 0 {
		return 0, false
	}
	return float64(num) / float64(den), true
}

// QueueStats returns the named queue's live picture at now.
func (e *Engine) QueueStats(now time.Time, queue string) (QueueStats, error) {
	q := e.queues[queue]
	if q == nil {
		return QueueStats{}, fmt.Errorf("acd: queue stats: %w %q", ErrUnknownQueue, queue)
	}
	s := QueueStats{
		Queue:   q.name,
		Waiting: q.line.n,
		Agents: AgentCounts{
			Offline: q.counts[StateOffline], Available: q.counts[StateAvailable],
			Ringing: q.counts[StateRinging], OnCall: q.counts[StateOnCall],
			WrapUp: q.counts[StateWrapUp], Break: q.counts[StateBreak], Missed: q.counts[StateMissed],
		},
		Answered: q.st.answered, AnsweredInSL: q.st.answeredInSL,
		Abandoned: q.st.abandoned, AbandonedInSL: q.st.abandonedInSL, ShortAbandoned: q.st.shortAbandoned,
		Missed: q.st.missed, Overflowed: q.st.overflowed, Exited: q.st.exited, Refused: q.st.refused,
		AHT: time.Duration(q.aht()),
		EWT: q.ewt(q.line.n + 1),
	}
	if q.st.answered > 0 {
		s.ASA = time.Duration(q.st.answerWait / int64(q.st.answered))
	}
	s.SLFormula, s.ServiceLevelThreshold = q.slFormula, time.Duration(q.sl)
	t := now.UnixNano()
	for n := q.line.first(); n != nil; n = n.next[0] {
		c := n.val
		if c.state == callRinging {
			s.Ringing++
		}
		s.LongestWait = max(s.LongestWait, time.Duration(t-c.entered))
	}
	return s, nil
}

// Queues lists the queue names in configuration order.
func (e *Engine) Queues() []string {
	names := make([]string, len(e.qlist))
	for i, q := range e.qlist {
		names[i] = q.name
	}
	return names
}

// AgentView is an agent as the desktop and the wallboard show them.
type AgentView struct {
	Agent      AgentID
	State      State
	Reason     string
	Since      time.Time
	Until      time.Time // end of wrap-up or back-off; zero otherwise
	Call       CallID    // ringing or connected call
	Queue      string    // that call's queue
	Consult    CallID    // the call another agent consults this one about
	CallsToday int
	// What the agent asked for during a call, applied after it.
	PendingBreak  string // break reason
	PendingLogout bool
}

// Agent returns one agent's view; agents are known from their first login.
func (e *Engine) Agent(id AgentID) (AgentView, error) {
	a := e.agents[id]
	if a == nil {
		return AgentView{}, fmt.Errorf("acd: agent view %s: %w", id, ErrUnknownAgent)
	}
	return a.view(), nil
}

// Agents appends every known agent's view to dst, by agent id.
func (e *Engine) Agents(dst []AgentView) []AgentView {
	start := len(dst)
	for _, a := range e.agents {
		dst = append(dst, a.view())
	}
	slices.SortFunc(dst[start:], func(x, y AgentView) int { return strings.Compare(string(x.Agent), string(y.Agent)) })
	return dst
}

func (a *agent) view() AgentView {
	v := AgentView{
		Agent: a.id, State: a.state, Reason: a.reason, Since: time.Unix(0, a.since),
		CallsToday: a.callsToday,
	}
	if a.until != 0 {
		v.Until = time.Unix(0, a.until)
	}
	if c := a.call; c != nil {
		v.Call = c.id
		if c.q != nil {
			v.Queue = c.q.name
		}
	}
	if c := a.consultFor; c != nil {
		v.Consult = c.id
	} else if a.state == StateOnCall || a.state == StateWrapUp {
		if q := a.workQueue; q != nil {
			v.Queue = q.name
		}
	}
	switch a.pending {
	case StateBreak:
		v.PendingBreak = a.pendingReason
	case StateOffline:
		v.PendingLogout = true
	}
	return v
}

// Estimate returns a call's place in its queue's line (1-based, ringing
// calls ahead included) and its estimated wait (negative when unknown),
// for announcements the wiring makes itself (on entering the queue, say).
func (e *Engine) Estimate(id CallID) (position int, ewt time.Duration, err error) {
	c := e.calls[id]
	if c == nil {
		return 0, 0, fmt.Errorf("acd: estimate %s: %w", id, ErrUnknownCall)
	}
	if c.q == nil {
		return 0, 0, fmt.Errorf("acd: estimate %s: %w: the call was answered", id, ErrBadState)
	}
	for n := c.q.line.first(); n != nil; n = n.next[0] {
		position++
		if n.val == c {
			break
		}
	}
	return position, c.q.ewt(position), nil
}
