package ivr

import (
	"context"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Stasis hands the call to an ARI application until the application
// continues it or the call ends (the ari package implements it, through
// the tenant registry).
type Stasis interface {
	// Stasis returns when the application continues the call in the flow
	// (continueInDialplan), with Status StasisSuccess, or at once with
	// StasisFailed when the application is not connected. When the call
	// ends in the application it returns ErrHangup or ctx's error.
	Stasis(ctx context.Context, app string, args []string) (StasisResult, error)
}

// StasisResult is how a call left an ARI application.
type StasisResult struct {
	Status string // StasisSuccess or StasisFailed (application not connected)
	// Label is continueInDialplan's label (or extension): a step of this
	// flow to continue at; "": the stasis step's next.
	Label string
}

// STASISSTATUS values, as Asterisk's Stasis() sets them.
const (
	StasisSuccess = "SUCCESS"
	StasisFailed  = "FAILED"
)

// VarStasisStatus is the flow variable a stasis step sets to StasisSuccess
// or StasisFailed.
const VarStasisStatus = "STASISSTATUS"

// appNameRE is what an ARI application may be called: the characters that
// survive in a URL query (?app=a,b) and a dialplan argument unquoted.
var appNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// ValidAppName reports whether name may name an ARI application.
func ValidAppName(name string) bool { return len(name) <= maxAppName && appNameRE.MatchString(name) }

const maxAppName = 128

// stasis reads `stasis: APP` or `stasis: {app: APP, args: [...], next:
// STEP, failed: STEP}`. A next inside is the step's Next.
func (p *parser) stasis(s *Step, kf field, what string) *StasisStep {
	what += ": stasis"
	st := &StasisStep{}
	app := kf
	if kf.val.Kind != yaml.ScalarNode {
		m, ok := p.keyed(kf.val, kf.line, what, "app", "args", "next", "failed")
		if !ok {
			return st
		}
		if app, ok = m["app"]; !ok {
			p.missing(kf.line, what, "app")
		}
		if f, ok := m["args"]; ok {
			st.Args = p.stasisArgs(f, what)
		}
		if f, ok := m["next"]; ok {
			s.Next = p.ref(f, what)
			st.hasNext = true
		}
		if f, ok := m["failed"]; ok {
			st.Failed = p.ref(f, what)
		}
	}
	if app.val == nil {
		return st
	}
	if name, ok := p.str(app, what); ok {
		if name == "" {
			p.errorf(app.line, "%s: app needs a value", what)
		} else if !ValidAppName(name) {
			p.errorf(app.line, "%s: invalid application name %q (letters, digits, _ . -, at most %d)", what, name, maxAppName)
		}
		st.App = name
	}
	return st
}

// stasisArgs reads the application's arguments: a value or a list of
// values, each of which may reference ${var}.
func (p *parser) stasisArgs(f field, what string) []string {
	var nodes []*yaml.Node
	switch v := f.val; v.Kind {
	case yaml.ScalarNode:
		if _, ok := p.str(f, what); !ok {
			return nil
		}
		nodes = []*yaml.Node{v}
	case yaml.SequenceNode:
		nodes = v.Content
	default:
		p.errorf(f.line, "%s: args must be a value or a list of values, not a %s", what, nodeKind(v))
		return nil
	}
	out := []string{}
	for _, n := range nodes {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			p.errorf(n.Line, "%s: args: an argument must be a value, not a %s (quote \"\" for an empty one)", what, nodeKind(n))
			continue
		}
		if err := checkTemplate(n.Value); err != nil {
			p.errorf(n.Line, "%s: args: %v", what, err)
		}
		out = append(out, n.Value)
	}
	return out
}

// stasis runs a stasis step: the call is the application's until it
// continues the call, which then goes on at the application's label or the
// step's next; an application that is not connected sends it to the
// step's failed step. Either way without a step to go to, the call hangs up.
func (r *runner) stasis(s *Step) (string, *Result, error) {
	st := s.Stasis
	args := make([]string, len(st.Args))
	for i, a := range st.Args {
		args[i] = expand(a, r.vars)
	}
	r.emit(EventStasis, s.Name, map[string]string{"app": st.App, "args": strings.Join(args, ",")})
	res := StasisResult{Status: StasisFailed}
	var err error
	if r.env.Stasis != nil {
		res, err = r.env.Stasis.Stasis(r.ctx, st.App, args)
	}
	end := map[string]string{"app": st.App}
	if err != nil || r.ctx.Err() != nil {
		if r.hungUp(err) {
			// The call ended in the application: Asterisk's Stasis()
			// returns SUCCESS then, and no dialplan runs.
			r.vars[VarStasisStatus] = StasisSuccess
			end["status"], end["next"], end["hangup"] = StasisSuccess, "", "true"
			r.emit(EventStasisEnd, s.Name, end)
			if err == nil {
				err = ErrHangup
			}
			return "", nil, err
		}
		// Any other failure to hand the call over is the application's
		// failure, not the flow's: the caller goes on in the flow.
		res = StasisResult{Status: StasisFailed}
		end["error"] = err.Error()
	}
	if res.Status != StasisSuccess {
		res.Status = StasisFailed
	}
	r.vars[VarStasisStatus] = res.Status
	end["status"] = res.Status
	next := s.Next
	if res.Status == StasisFailed {
		next = s.stasisFailed()
	} else if res.Label != "" {
		end["label"] = res.Label
		if r.flow.Steps[res.Label] != nil {
			next = res.Label
		} else {
			r.emit(EventStasisLabel, s.Name, map[string]string{"app": st.App, "label": res.Label, "next": next})
		}
	}
	end["next"] = next
	r.emit(EventStasisEnd, s.Name, end)
	if next != "" {
		return next, nil, nil
	}
	cause := CauseNormal
	if res.Status == StasisFailed {
		cause = CauseUnavailable
	}
	return "", r.hangup(s.Name, cause), nil
}
