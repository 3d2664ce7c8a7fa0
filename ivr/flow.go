package ivr

import (
	"fmt"
	"time"
)

// Kind names what a step does; it is the step's only YAML key besides
// next/failure.
type Kind string

const (
	KindPlay   Kind = "play"
	KindMenu   Kind = "menu"
	KindGather Kind = "gather"
	KindSet    Kind = "set"
	KindBranch Kind = "branch"
	KindHours  Kind = "hours"
	KindGoto   Kind = "goto"
	KindHangup Kind = "hangup"
	KindQueue  Kind = "queue"
)

// kinds is in the order used by error messages.
var kinds = []Kind{KindPlay, KindMenu, KindGather, KindSet, KindBranch, KindHours, KindGoto, KindHangup, KindQueue}

// Hangup causes a hangup step may give. The SIP layer maps them to
// response codes, so the set is closed: a typo must fail the check rather
// than reach a live call.
const (
	CauseNormal      = "normal"
	CauseBusy        = "busy"
	CauseRejected    = "rejected"
	CauseUnavailable = "unavailable"
)

var causes = []string{CauseNormal, CauseBusy, CauseRejected, CauseUnavailable}

// Defaults applied when a flow leaves the setting out.
const (
	DefaultMenuTimeout       = 5 * time.Second
	DefaultRetries           = 3
	DefaultGatherTimeout     = 5 * time.Second
	DefaultInterDigitTimeout = 3 * time.Second
	DefaultMusic             = "default"
	DefaultMaxSteps          = 1000
)

// Flow is a validated call flow. It is never modified after ParseFlow, so
// one Flow may run any number of calls at the same time.
type Flow struct {
	File        string // name given to ParseFlow; used in diagnostics and errors
	Tenant      string // optional `tenant:`
	Description string // optional `description:`
	Start       string
	Steps       map[string]*Step
	Warnings    []Diagnostic // e.g. unreachable steps
}

// Step is one node of a flow. Exactly one of the kind-specific fields is set,
// matching Kind.
type Step struct {
	Name string
	Line int
	Kind Kind
	Next string // play, gather, set

	Play   *Play
	Menu   *Menu
	Gather *Gather
	Set    []Assign
	Branch *Branch
	Hours  *Hours
	Goto   string
	Hangup *Hangup
	Queue  *Queue
}

// Play plays prompts in order.
type Play struct {
	Prompts []string
	// Interruptible lets a key press cut the prompts short; the key is kept
	// for the next step (type-ahead into a menu). Otherwise keys pressed
	// during the prompts are discarded.
	Interruptible bool
}

// Menu asks for one key.
type Menu struct {
	Prompts []string
	Options map[string]string // key ("0"-"9", "*", "#") -> step
	Timeout time.Duration
	Retries int      // failed attempts before Failure
	Invalid []string // played after a key with no option
	NoInput []string // played after Timeout without a key
	Failure string   // "" hangs up
}

// Gather collects several digits into a variable.
type Gather struct {
	Prompts           []string
	MaxDigits         int
	MinDigits         int
	Terminator        string // "" for none
	Timeout           time.Duration
	InterDigitTimeout time.Duration
	Into              string
	Retries           int
	Invalid           []string // played when fewer than MinDigits were entered
	NoInput           []string
	Failure           string // "" hangs up
	// Mask keeps the entered digits out of the timeline (PINs).
	Mask bool
}

// Assign is one `set:` entry; Value may reference ${var}.
type Assign struct {
	Var, Value string
}

// Branch jumps on the value of a variable.
type Branch struct {
	Var     string
	Cases   map[string]string
	Default string
}

// Hangup ends the flow with a cause.
type Hangup struct {
	Cause string
}

// Queue parks the caller in a queue.
type Queue struct {
	Name        string
	Music       string
	Timeout     time.Duration // 0: wait until the caller hangs up
	TimeoutStep string        // "" hangs up when Timeout expires
}

// targets lists the steps s may continue with, in a stable order.
func (s *Step) targets() []string {
	var t []string
	add := func(names ...string) {
		for _, n := range names {
			if n != "" {
				t = append(t, n)
			}
		}
	}
	add(s.Next)
	switch {
	case s.Menu != nil:
		for _, k := range menuKeys {
			add(s.Menu.Options[k])
		}
		add(s.Menu.Failure)
	case s.Gather != nil:
		add(s.Gather.Failure)
	case s.Branch != nil:
		for _, v := range sortedKeys(s.Branch.Cases) {
			add(s.Branch.Cases[v])
		}
		add(s.Branch.Default)
	case s.Hours != nil:
		add(s.Hours.OpenStep, s.Hours.ClosedStep)
	case s.Queue != nil:
		add(s.Queue.TimeoutStep)
	}
	add(s.Goto)
	return t
}

// waits reports whether running the step takes caller-visible time, which is
// what keeps a loop through it from spinning.
func (s *Step) waits() bool {
	switch s.Kind {
	case KindPlay, KindMenu, KindGather, KindQueue:
		return true
	}
	return false
}

// menuKeys is the order options are listed and checked in.
var menuKeys = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"}

func isKey(s string) bool {
	for _, k := range menuKeys {
		if s == k {
			return true
		}
	}
	return false
}

func (s *Step) String() string { return fmt.Sprintf("%s (%s, line %d)", s.Name, s.Kind, s.Line) }
