package ivr

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeStasis plays an ARI application: it records the hand-overs and
// answers with res and err.
type fakeStasis struct {
	res   StasisResult
	err   error
	calls []string // "app arg1,arg2"
	// hangup cancels the call's context while the call is in the
	// application, as a caller's BYE does.
	hangup context.CancelFunc
}

func (s *fakeStasis) Stasis(ctx context.Context, app string, args []string) (StasisResult, error) {
	s.calls = append(s.calls, app+" "+strings.Join(args, ","))
	if s.hangup != nil {
		s.hangup()
		<-ctx.Done()
		return StasisResult{}, ctx.Err()
	}
	return s.res, s.err
}

const stasisFlow = `
start: greet
steps:
  greet:
    play: welcome
    next: to_app
  to_app:
    stasis:
      app: hello
      args: ["${caller}", support, "", 42]
      next: after_app
      failed: app_down
  after_app:
    play: goodbye
    next: bye
  app_down:
    play: sorry
    next: bye
  elsewhere:
    play: other
    next: bye
  bye:
    hangup: true
`

func TestStasisStep(t *testing.T) {
	f := mustParse(t, stasisFlow)
	if st := f.Steps["to_app"].Stasis; st.App != "hello" || strings.Join(st.Args, "|") != "${caller}|support||42" ||
		st.Failed != "app_down" || f.Steps["to_app"].Next != "after_app" {
		t.Fatalf("step = %+v / %+v", f.Steps["to_app"], st)
	}
	vars := map[string]string{"caller": "+15551234"}
	tests := []struct {
		name   string
		stasis Stasis // nil: no ARI
		res    StasisResult
		err    error
		status string
		played []string
		events []string
	}{
		{"success continues at next", &fakeStasis{}, StasisResult{Status: StasisSuccess}, nil, StasisSuccess,
			[]string{"welcome", "goodbye"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_end to_app app=hello next=after_app status=SUCCESS"}},
		{"not connected fails over", &fakeStasis{}, StasisResult{Status: StasisFailed}, nil, StasisFailed,
			[]string{"welcome", "sorry"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_end to_app app=hello next=app_down status=FAILED"}},
		{"no ARI fails over", nil, StasisResult{}, nil, StasisFailed,
			[]string{"welcome", "sorry"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_end to_app app=hello next=app_down status=FAILED"}},
		{"label continues there", &fakeStasis{}, StasisResult{Status: StasisSuccess, Label: "elsewhere"}, nil, StasisSuccess,
			[]string{"welcome", "other"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_end to_app app=hello label=elsewhere next=elsewhere status=SUCCESS"}},
		{"unknown label continues at next", &fakeStasis{}, StasisResult{Status: StasisSuccess, Label: "nowhere"}, nil, StasisSuccess,
			[]string{"welcome", "goodbye"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_label to_app app=hello label=nowhere next=after_app",
				"stasis_end to_app app=hello label=nowhere next=after_app status=SUCCESS"}},
		{"a failed hand-over fails over", &fakeStasis{}, StasisResult{}, errors.New("boom"), StasisFailed,
			[]string{"welcome", "sorry"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_end to_app app=hello error=boom next=app_down status=FAILED"}},
		{"a label does not apply to a failure", &fakeStasis{}, StasisResult{Status: StasisFailed, Label: "elsewhere"}, nil, StasisFailed,
			[]string{"welcome", "sorry"},
			[]string{"stasis to_app app=hello args=+15551234,support,,42",
				"stasis_end to_app app=hello next=app_down status=FAILED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{Vars: vars}
			if fs, ok := tc.stasis.(*fakeStasis); ok {
				fs.res, fs.err = tc.res, tc.err
				env.Stasis = fs
			}
			res, ch, rec := run(t, f, "", env)
			if res.Reason != EndHangup || res.Cause != CauseNormal || res.Vars[VarStasisStatus] != tc.status {
				t.Errorf("result = %+v", res)
			}
			equal(t, "played", ch.played, tc.played)
			equal(t, "stasis events", rec.only(EventStasis, EventStasisEnd, EventStasisLabel), tc.events)
			if fs, ok := tc.stasis.(*fakeStasis); ok {
				equal(t, "hand-overs", fs.calls, []string{"hello +15551234,support,,42"})
			}
		})
	}
}

func TestStasisHangupInApplication(t *testing.T) {
	f := mustParse(t, stasisFlow)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fs := &fakeStasis{hangup: cancel}
	rec := &recorder{}
	ch := newFake("")
	res, err := f.Run(ctx, ch, Env{Stasis: fs, Events: rec})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != EndCallerHangup || !res.CallerHungUp || res.Step != "to_app" || res.Vars[VarStasisStatus] != StasisSuccess {
		t.Errorf("result = %+v", res)
	}
	equal(t, "played", ch.played, []string{"welcome"})
	equal(t, "events", rec.events[len(rec.events)-3:], []string{
		"stasis to_app app=hello args=,support,,42",
		"stasis_end to_app app=hello hangup=true next= status=SUCCESS",
		"flow_end to_app cause=context canceled reason=caller_hangup",
	})

	// A hang-up reported as ErrHangup ends the flow the same way.
	res, _, _ = run(t, f, "", Env{Stasis: &fakeStasis{err: ErrHangup}})
	if res.Reason != EndCallerHangup || !res.CallerHungUp || res.Step != "to_app" {
		t.Errorf("result = %+v", res)
	}
}

func TestStasisDefaults(t *testing.T) {
	// The short form, next beside the step, no failed: a failure goes on at
	// next (the dialplan goes on in Asterisk).
	f := mustParse(t, `
start: app
steps:
  app:
    stasis: hello
    next: after
  after:
    goto: end
  end:
    hangup: true
`)
	if st := f.Steps["app"].Stasis; st.App != "hello" || len(st.Args) != 0 || st.Failed != "" || f.Steps["app"].Next != "after" {
		t.Fatalf("step = %+v", st)
	}
	for _, status := range []string{StasisSuccess, StasisFailed, ""} {
		fs := &fakeStasis{res: StasisResult{Status: status}}
		res, _, rec := run(t, f, "", Env{Stasis: fs})
		want := status
		if want == "" {
			want = StasisFailed // an unknown status is a failure
		}
		if res.Reason != EndHangup || res.Step != "end" || res.Vars[VarStasisStatus] != want {
			t.Errorf("status %q: result = %+v", status, res)
		}
		equal(t, "path", rec.path(), []string{"app", "after", "end"})
		equal(t, "hand-overs", fs.calls, []string{"hello "})
	}

	// Without next the call hangs up when the application lets it go:
	// normally after the application, as unavailable when it is not there.
	f = mustParse(t, `
start: app
steps:
  app:
    stasis: {app: hello}
`)
	for status, cause := range map[string]string{StasisSuccess: CauseNormal, StasisFailed: CauseUnavailable} {
		res, _, rec := run(t, f, "", Env{Stasis: &fakeStasis{res: StasisResult{Status: status}}})
		if res.Reason != EndHangup || res.Cause != cause || res.Step != "app" {
			t.Errorf("status %s: result = %+v", status, res)
		}
		equal(t, "hangup", rec.only(EventHangup), []string{"hangup app cause=" + cause})
	}
}

func TestStasisDiagnostics(t *testing.T) {
	parseBad(t, src(`
start: a
steps:
  a:
    stasis:
      app: "hello world"
      args: {x: 1}
      next: nowhere
      failed: b
      timeout: 5s
  b:
    stasis: {args: ["${1x}", [nested], ~], failed: a}
    next: a
  c:
    stasis: {app: "", next: a}
    next: b
  d:
    stasis: hello
    failure: a
  e:
    stasis: hell$o
  f:
    stasis: [hello]
`), []want{
		{3, `steps a -> b -> a loop without playing a prompt or waiting for input`}, // a and b fail over to each other
		{5, `step a: stasis: invalid application name "hello world" (letters, digits, _ . -, at most 128)`},
		{6, `step a: stasis: args must be a value or a list of values, not a mapping`},
		{7, `step a: stasis: next: unknown step "nowhere"`},
		{9, `step a: stasis: unknown key "timeout" (want app, args, next, failed)`},
		{11, `step b: stasis: missing app`},
		{11, `step b: stasis: args: invalid variable name "1x"`},
		{11, `step b: stasis: args: an argument must be a value, not a list`},
		{11, `step b: stasis: args: an argument must be a value, not a empty value`},
		{14, `step c: stasis: app needs a value`},
		{15, `step c: next given twice (here and inside stasis)`},
		{18, `step d: failure is only used by menu, gather and lookup steps (a stasis step's failover is stasis: {failed: STEP})`},
		{20, `step e: stasis: invalid application name "hell$o"`},
		{22, `step f: stasis must be a mapping, not a list`},
	})
}

func TestStasisFailoverLoop(t *testing.T) {
	// An application that is not connected fails over at once: a failover
	// back to the step (by default, through next) would spin.
	parseBad(t, src(`
start: a
steps:
  a:
    stasis: hello
    next: a
  b:
    stasis: {app: hello, next: b, failed: sorry}
  sorry:
    play: sorry
    next: b
  c:
    stasis: {app: hello, failed: d}
  d:
    set: {x: "1"}
    next: c
`), []want{
		{3, `steps a -> a loop without playing a prompt or waiting for input`},
		{11, `steps c -> d -> c loop without playing a prompt or waiting for input`},
	})
}

func parseBad(t *testing.T, text string, errs []want) {
	t.Helper()
	f, diags := ParseFlow("bad.yaml", []byte(text), CheckOptions{})
	if f != nil {
		t.Errorf("flow with errors was returned")
	}
	checkDiags(t, diags, errs)
}
