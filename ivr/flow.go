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
	KindSay    Kind = "say"
	KindStasis Kind = "stasis"
	KindLookup Kind = "lookup"
	KindAsk    Kind = "ask"
)

// kinds is in the order used by error messages.
var kinds = []Kind{KindPlay, KindMenu, KindGather, KindSet, KindBranch, KindHours, KindGoto, KindHangup, KindQueue, KindSay, KindStasis, KindLookup, KindAsk}

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
	DefaultLookupTimeout     = 3 * time.Second
	MaxLookupTimeout         = 10 * time.Second
	// A recognition between the two thresholds is confirmed with the
	// caller ("Did you say lost card?"); below RejectBelow it counts as
	// not understood. PocketSphinx's in- and out-of-grammar scores overlap
	// (docs/flows.md), so the confirmation band is wide by default: 0.8
	// halves wrong accepts on the benchmark set for a two-point loss of
	// direct answers (docs/benchmarks.md "Speech").
	DefaultConfirmBelow = 0.8
	DefaultRejectBelow  = 0.3
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
	Next string // play, gather, set, say, lookup; stasis (optional: "" hangs up)

	Play   *Play
	Menu   *Menu
	Gather *Gather
	Set    []Assign
	Branch *Branch
	Hours  *Hours
	Goto   string
	Hangup *Hangup
	Queue  *Queue
	Say    *Say
	Stasis *StasisStep
	Lookup *Lookup
	Ask    *Ask
}

// Play plays prompts in order.
type Play struct {
	Prompts []string
	// Interruptible lets a key press cut the prompts short; the key is kept
	// for the next step (type-ahead into a menu). Otherwise keys pressed
	// during the prompts are discarded.
	Interruptible bool
}

// Menu asks for one key or, when a recognizer is available, one spoken
// choice.
type Menu struct {
	Prompts []string
	// Options maps an option's name to its step. The name is a phone key
	// ("0"-"9", "*", "#") or, for options that can only be spoken, a word
	// such as "lost_card".
	Options map[string]string
	// Phrases are what a caller may say for an option, by option name, in
	// the flow's order; options without phrases are keypad only.
	Phrases map[string][]string
	// Order lists option names as written, which is the order help texts
	// name them in.
	Order   []string
	Speech  SpeechOptions
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
	// Speech lets callers say the digits when a recognizer is available.
	Speech SpeechOptions
}

// SpeechOptions tune recognition at a menu or gather step.
type SpeechOptions struct {
	// Off keeps the step keypad only even when the tenant has a recognizer.
	Off bool
	// ConfirmBelow and RejectBelow are confidence thresholds in [0,1]:
	// below RejectBelow an answer counts as not understood, below
	// ConfirmBelow the caller is asked to confirm it.
	ConfirmBelow, RejectBelow float64
	// Help is spoken (synthesized, ${var} expanded) after the n-th failed
	// attempt, Help[n-1], the last one repeating; empty: a help text made
	// from the options' first phrases from the second failure on.
	Help []string
}

// Say speaks text (with ${var} references) through the tenant's
// synthesizer.
type Say struct {
	Text          string
	Interruptible bool
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

// StasisStep hands the call to an ARI application, like Asterisk's Stasis()
// dialplan application. The flow continues at the step's Next when the
// application continues the call (continueInDialplan without a label) and
// at Failed when the application is not connected (STASISSTATUS=FAILED).
type StasisStep struct {
	App  string
	Args []string // ${var} expanded when the step runs
	// Failed is where the flow goes when the application is not connected;
	// "": the step's Next (as in Asterisk, the dialplan goes on), and
	// without a Next the call hangs up with cause unavailable.
	Failed string

	hasNext bool // next was given inside stasis:, not beside it
}

// stasisFailed is where a stasis step goes when the application is not
// connected: Failed, else the step's Next ("" hangs up).
func (s *Step) stasisFailed() string {
	if s.Stasis.Failed != "" {
		return s.Stasis.Failed
	}
	return s.Next
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
		for _, k := range s.Menu.Order {
			if !isKey(k) {
				add(s.Menu.Options[k])
			}
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
	case s.Stasis != nil:
		add(s.Stasis.Failed)
	case s.Lookup != nil:
		add(s.Lookup.Failure)
	case s.Ask != nil:
		add(s.Ask.Answered, s.Ask.Queue)
	}
	add(s.Goto)
	return t
}

// waits reports whether running the step takes caller-visible time, which is
// what keeps a loop through it from spinning.
func (s *Step) waits() bool {
	switch s.Kind {
	case KindPlay, KindMenu, KindGather, KindQueue, KindSay, KindAsk:
		return true
	}
	return false
}

// instantTargets lists the steps s may continue with at once, without the
// caller having heard or done anything: all of them for steps that take no
// time, none for steps that wait or hang up. A stasis step waits for its
// application, except when the application is not connected: then it goes
// on to its failed step at once.
func (s *Step) instantTargets() []string {
	switch {
	case s.Kind == "" || s.Kind == KindHangup || s.waits():
		return nil
	case s.Stasis != nil:
		if t := s.stasisFailed(); t != "" {
			return []string{t}
		}
		return nil
	}
	return s.targets()
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
