package acd

import (
	"errors"
	"fmt"
	"time"
)

// CallID names a call; the wiring uses its call's id.
type CallID string

// AgentID names an agent (a user of the tenant).
type AgentID string

// State is an agent's state. Only available agents are offered calls.
type State uint8

const (
	StateOffline   State = iota // logged out
	StateAvailable              // idle and ready for an offer
	StateRinging                // an offer rings on the agent's phone
	StateOnCall                 // talking to a caller
	StateWrapUp                 // after-call work; blocks offers from every queue
	StateBreak                  // not ready, with a reason code
	StateMissed                 // not ready after missed or rejected offers
	numStates
)

func (s State) String() string {
	switch s {
	case StateOffline:
		return "offline"
	case StateAvailable:
		return "available"
	case StateRinging:
		return "ringing"
	case StateOnCall:
		return "on_call"
	case StateWrapUp:
		return "wrap_up"
	case StateBreak:
		return "break"
	case StateMissed:
		return "missed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Strategy picks which idle agent a queue offers a call to. Within a queue,
// agents with a lower membership penalty always come first; the strategy
// orders agents of equal penalty.
type Strategy string

const (
	// LongestIdle offers to the agent who finished their last call (hang-up,
	// or end of wrap-up when there is one) or logged in the longest ago.
	// Breaks do not reset it, so a break does not cost an agent their turn.
	LongestIdle Strategy = "longest_idle"
	// FewestCalls offers to the agent who answered the fewest calls today
	// (all queues), then the longest idle.
	FewestCalls Strategy = "fewest_calls"
	// RoundRobin offers to the next agent after the last one offered a call
	// from this queue, in the order agents joined the queue, wrapping around.
	RoundRobin Strategy = "round_robin"
	// RingAll rings every idle eligible agent at once, whatever their
	// penalty; the first to answer gets the call and the others stop ringing.
	// Agents who become free while it rings join in.
	RingAll Strategy = "ring_all"
	// SkillsWeighted offers to the agent whose levels in the queue's skills
	// add up highest, then the longest idle.
	SkillsWeighted Strategy = "skills_weighted"
)

// SkillReq requires a skill at a minimum level (1-100).
type SkillReq struct {
	Skill string
	Min   int
}

// Membership says an agent serves a queue. Penalty (>= 0) ranks the agent
// within the queue: agents with a lower penalty are offered calls first.
// It also ranks the agent's queues against each other, after queue weight:
// a free agent takes a call from a queue where their penalty is lower.
type Membership struct {
	Queue   string
	Penalty int
}

// Widen relaxes a waiting call's skill requirements After it has waited that
// long in the queue, without moving it in line. The requirement for Skill
// ("" for every skill) drops to Min; Min 0 removes it. Widening never raises
// a requirement.
type Widen struct {
	After time.Duration
	Skill string
	Min   int
}

// EmptyRule says when a queue counts as having no agents, for joining and
// for staying in it.
type EmptyRule uint8

const (
	// EmptyIgnore: callers join and stay whoever is logged in.
	EmptyIgnore EmptyRule = iota
	// EmptyNoneLoggedIn: empty when no agent serving the queue is logged in.
	EmptyNoneLoggedIn
	// EmptyNoneReady: empty when no agent serving the queue is available,
	// ringing, on a call or in wrap-up (all offline, on break or missed).
	EmptyNoneReady
)

// MissPolicy says what happens to an agent who lets an offer ring out or
// rejects it.
type MissPolicy struct {
	// NotReadyAfter consecutive unanswered offers put the agent in
	// StateMissed until they make themselves available again. 0 means 1.
	// Answering a call or setting the state to available resets the count.
	NotReadyAfter int
	// Backoff keeps an agent who let fewer than NotReadyAfter offers ring
	// out in StateMissed for this long, then makes them available again.
	// 0 makes them available at once (and they may be offered the same
	// call again).
	Backoff time.Duration
	// RejectBackoff is the same after a rejected (declined or busy) offer.
	// Rejections do not count towards NotReadyAfter.
	RejectBackoff time.Duration
}

// QueueConfig configures one queue.
type QueueConfig struct {
	Name     string
	Strategy Strategy // "" means LongestIdle
	// Weight ranks this queue against an agent's other queues when the
	// agent becomes free: calls from heavier queues are taken first.
	Weight int
	// Skills every call in the queue requires, on top of its own.
	Skills      []SkillReq
	RingTimeout time.Duration // 0 means 20 s
	WrapUp      time.Duration // after each answered call; 0: none
	MaxLen      int           // callers beyond it are refused; 0: no limit
	JoinEmpty   EmptyRule     // when a new caller is refused for want of agents
	LeaveEmpty  EmptyRule     // when waiting callers are sent away (and new ones refused)
	Widen       []Widen       // in increasing After order
	// MaxWait in this queue moves a waiting call to Overflow (when set and
	// the queue accepts it), else to ExitStep ("" lets the flow decide,
	// hang up by default). A call that rings at that moment moves when the
	// offer ends unanswered.
	MaxWait  time.Duration
	Overflow string
	ExitStep string
	// ServiceLevel is the answer-time threshold for service-level figures
	// (0 means 20 s); calls abandoned sooner than ShortAbandon are short
	// abandons.
	ServiceLevel time.Duration
	ShortAbandon time.Duration
	// SL is the service-level formula the queue reports by default
	// (QueueStats.SL); every formula stays available.
	SL SLVariant
	// AnnouncePeriod between position and estimated-wait announcements to
	// each waiting caller; 0: none.
	AnnouncePeriod time.Duration
	// HandleTime is the assumed average handle time until calls have been
	// handled; 0 leaves the estimated wait unknown until then.
	HandleTime time.Duration
	// PreferRegion offers a call with a region (CallEnqueued.Region) only
	// to the agents of that region (AgentLogin.Regions) during its first
	// RegionWait in the queue (0 means 20 s), then to every eligible
	// agent. It applies when the call enters the queue and an agent of
	// the region is logged in to it; otherwise the call is everyone's at
	// once. Like a skill requirement that widening drops: the call keeps
	// its place in line throughout.
	PreferRegion bool
	RegionWait   time.Duration
}

// Config configures an Engine.
type Config struct {
	Queues []QueueConfig
	Miss   MissPolicy
	// Location defines "today" for calls-today counts and queue counters,
	// which reset at its midnight. nil means UTC.
	Location *time.Location
}

const (
	defaultRingTimeout  = 20 * time.Second
	defaultServiceLevel = 20 * time.Second
	defaultRegionWait   = 20 * time.Second
	maxSkillLevel       = 100
)

func validStrategy(s Strategy) bool {
	switch s {
	case LongestIdle, FewestCalls, RoundRobin, RingAll, SkillsWeighted:
		return true
	}
	return false
}

// validate reports every problem in cfg, so an admin fixes them in one go.
func (cfg *Config) validate() error {
	var errs []error
	bad := func(q string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("acd: queue %q: %s", q, fmt.Sprintf(format, args...)))
	}
	names := make(map[string]bool, len(cfg.Queues))
	for _, q := range cfg.Queues {
		if q.Name == "" {
			errs = append(errs, errors.New("acd: queue with no name"))
			continue
		}
		if names[q.Name] {
			bad(q.Name, "defined twice")
		}
		names[q.Name] = true
	}
	for _, q := range cfg.Queues {
		if q.Name == "" {
			continue
		}
		if q.Strategy != "" && !validStrategy(q.Strategy) {
			bad(q.Name, "unknown strategy %q", q.Strategy)
		}
		if err := checkReqs(q.Skills); err != nil {
			bad(q.Name, "skills: %v", err)
		}
		for _, d := range []struct {
			name string
			d    time.Duration
		}{
			{"ring timeout", q.RingTimeout}, {"wrap-up", q.WrapUp}, {"max wait", q.MaxWait},
			{"service level", q.ServiceLevel}, {"short abandon", q.ShortAbandon},
			{"announce period", q.AnnouncePeriod}, {"handle time", q.HandleTime},
			{"region wait", q.RegionWait},
		} {
			if d.d < 0 {
				bad(q.Name, "negative %s %v", d.name, d.d)
			}
		}
		if q.MaxLen < 0 {
			bad(q.Name, "negative max length %d", q.MaxLen)
		}
		if q.JoinEmpty > EmptyNoneReady || q.LeaveEmpty > EmptyNoneReady {
			bad(q.Name, "unknown empty rule")
		}
		var last time.Duration
		for i, w := range q.Widen {
			if w.After < last {
				bad(q.Name, "widen step %d: after %v comes before the previous step's %v", i+1, w.After, last)
			}
			last = w.After
			if w.Min < 0 || w.Min > maxSkillLevel {
				bad(q.Name, "widen step %d: level %d: want 0-%d", i+1, w.Min, maxSkillLevel)
			}
		}
		if q.Overflow != "" {
			switch {
			case q.Overflow == q.Name:
				bad(q.Name, "overflows to itself")
			case !names[q.Overflow]:
				bad(q.Name, "overflow to unknown queue %q", q.Overflow)
			}
		}
		if (q.Overflow != "" || q.ExitStep != "") && q.MaxWait == 0 {
			bad(q.Name, "overflow or exit step without max wait")
		}
	}
	m := cfg.Miss
	if m.NotReadyAfter < 0 || m.Backoff < 0 || m.RejectBackoff < 0 {
		errs = append(errs, fmt.Errorf("acd: miss policy: negative value in %+v", m))
	}
	return errors.Join(errs...)
}

// checkReqs is quadratic on purpose: requirement lists are a handful long
// and this runs for every enqueued call, where a map would allocate.
func checkReqs(reqs []SkillReq) error {
	for i, r := range reqs {
		if r.Skill == "" {
			return errors.New("empty skill name")
		}
		for _, o := range reqs[:i] {
			if o.Skill == r.Skill {
				return fmt.Errorf("skill %q twice", r.Skill)
			}
		}
		if r.Min < 1 || r.Min > maxSkillLevel {
			return fmt.Errorf("skill %q: level %d: want 1-%d", r.Skill, r.Min, maxSkillLevel)
		}
	}
	return nil
}
