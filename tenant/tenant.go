// Package tenant is the registry of the companies one deployment serves:
// which numbers and trunks are theirs, their prompts, music and flows. It
// routes each new call to its tenant and keeps tenants apart.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/acd"
	"hotline/call"
	"hotline/config"
	"hotline/ivr"
	"hotline/media"
	"hotline/queue"
	"hotline/region"
	"hotline/sip"
	"hotline/speech"
	"hotline/store"
)

// Tenant is one company, loaded and ready to take calls.
type Tenant struct {
	ID       string
	Name     string
	Location *time.Location
	Holidays []string
	Allow    []netip.Prefix
	Prompts  Library
	Music    *media.Prompt
	Flows    map[string]*ivr.Flow
	// ACD runs the tenant's queues; nil when the tenant configures none,
	// and its flows' queue steps hold callers with music only.
	ACD *queue.Runtime
	// Regions says where callers are from: the tenant's prefix table,
	// then the country codes (package region).
	Regions *region.Resolver
	// Vars are the tenant's flow variables (config vars:), under the
	// built-in ones of each call.
	Vars map[string]string

	queues []config.Queue
	agents map[string]config.AgentProfile
	// surveys are asked after an agent hangs up (survey.go); nil: none.
	surveys *ivr.Surveys
}

// AgentProfile is what an agent of the tenant serves when logging in.
type AgentProfile struct {
	// Skills also carry the agent's regions as queue.RegionSkill pseudo-
	// skills, so wiring that passes skills alone logs them in with them.
	Skills  map[string]int
	Queues  []string
	Regions []string
}

// AgentProfile returns the configured profile of username, or the default:
// every queue, with config.DefaultSkillLevel in every skill they require.
// A profile that gives regions only keeps the default queues and skills.
func (t *Tenant) AgentProfile(username string) AgentProfile {
	p, ok := t.agents[username]
	out := t.defaultProfile()
	if ok && (len(p.Queues) > 0 || len(p.Skills) > 0) {
		out = AgentProfile{Skills: maps.Clone(p.Skills), Queues: slices.Clone(p.Queues)}
		if out.Skills == nil {
			out.Skills = map[string]int{}
		}
	}
	out.Regions = slices.Clone(p.Regions)
	for _, r := range p.Regions {
		out.Skills[queue.RegionSkill(r)] = 1
	}
	return out
}

func (t *Tenant) defaultProfile() AgentProfile {
	out := AgentProfile{Skills: map[string]int{}}
	for _, q := range t.queues {
		out.Queues = append(out.Queues, q.Name)
		for skill := range q.Skills {
			out.Skills[skill] = config.DefaultSkillLevel
		}
	}
	return out
}

// RingTimeout is how long an offer from queue rings (0: unknown queue).
func (t *Tenant) RingTimeout(queue string) time.Duration {
	for _, q := range t.queues {
		if q.Name == queue {
			if q.RingTimeout == 0 {
				return 20 * time.Second
			}
			return time.Duration(q.RingTimeout)
		}
	}
	return 0
}

// Library is a tenant's prompts by name (the WAV file name without .wav).
type Library map[string]*media.Prompt

// Prompt implements call.Prompts.
func (l Library) Prompt(name string) (*media.Prompt, bool) {
	p, ok := l[name]
	return p, ok
}

type number struct {
	tenant      *Tenant
	flow        string
	answerDelay time.Duration
	// app, when set, is the ARI application the number goes straight to,
	// with its args (the number has no flow then).
	app  string
	args []string
}

// StasisRunner runs a call in an ARI application (the ari package
// implements it): it returns when the application continues the call
// (Status ivr.StasisSuccess, Label where to go on) or at once with
// ivr.StasisFailed when the application is not connected; when the call
// ends in the application it returns the call's cause or ctx's error.
type StasisRunner interface {
	RunStasis(ctx context.Context, c *call.Call, app string, args []string) (ivr.StasisResult, error)
}

// Causes of calls to numbers routed straight to an ARI application.
var (
	// CauseAppUnavailable ends a call whose application is not connected
	// (STASISSTATUS=FAILED). Unanswered, the caller gets 480: Hotline is
	// up, the destination is not, so a carrier must not take it for a
	// server failure (503) and route around the whole host. Q.850 41,
	// temporary failure, like Hotline's other system failures.
	CauseAppUnavailable = &call.Cause{Name: "app-unavailable", SIPCode: 480, Reason: "Temporarily Unavailable (application not connected)", Q850: 41, Side: call.SideSystem}
	// CauseAppEnd ends a call its application let go of: there is no
	// flow to continue in. Normal clearing; 480 if it never answered.
	CauseAppEnd = &call.Cause{Name: "app-end", SIPCode: 480, Reason: "Temporarily Unavailable (application ended)", Q850: 16, Side: call.SideSystem}
)

// Registry routes calls to tenants.
type Registry struct {
	tenants map[string]*Tenant
	numbers map[string]number
	now     func() time.Time
	// inband turns on in-band DTMF detection for every call.
	inband bool
	// recognizer and synthesizer serve every tenant's flows; nil: keypad
	// only, say steps skipped.
	recognizer  speech.Recognizer
	synthesizer speech.Synthesizer
	// stasis runs ARI applications (stasis steps, numbers routed to an
	// application); nil: every application is not connected.
	stasis atomic.Pointer[stasisRunner]
	// ask serves ask steps; nil: they hand every caller to their queue.
	ask *AskServices
}

// stasisRunner boxes a StasisRunner for the atomic pointer.
type stasisRunner struct{ StasisRunner }

// Options tune a Registry.
type Options struct {
	// Now is the clock flows see (tests inject one).
	Now func() time.Time
	// InbandDTMF enables tone detection in callers' audio.
	InbandDTMF bool
	// ACDSink records queue entries, agent states and the queue log.
	ACDSink queue.Sink
	// Connector joins answered callers to agents; nil: queue.HoldConnector.
	Connector queue.Connector
	Logger    *slog.Logger
	// Recognizer lets callers speak at menus and gathers; nil: keypad only.
	Recognizer speech.Recognizer
	// Synthesizer speaks say steps and confirmation questions.
	Synthesizer speech.Synthesizer
	// Vocabulary checks flows' speech phrases at load; nil: unchecked.
	Vocabulary speech.Vocabulary
	// Stasis runs calls in ARI applications; nil: none is connected (also
	// settable later with SetStasis, once the ARI server exists).
	Stasis StasisRunner
	// Ask serves flows' ask steps (tenant/ask.go); nil: every ask step
	// hands the caller to its queue step.
	Ask *AskServices
}

// Load reads every tenant's prompts and flows. Errors name the file and line.
func Load(cfg *config.Config, opt Options) (*Registry, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Registry{
		tenants: map[string]*Tenant{}, numbers: map[string]number{}, now: opt.Now, inband: opt.InbandDTMF,
		recognizer: opt.Recognizer, synthesizer: opt.Synthesizer, ask: opt.Ask,
	}
	r.SetStasis(opt.Stasis)
	var errs []error
	for _, tc := range cfg.Tenants {
		t := &Tenant{
			ID: tc.ID, Name: tc.Name, Location: tc.Location, Holidays: tc.Holidays,
			Allow: tc.Allow, Prompts: Library{}, Flows: map[string]*ivr.Flow{},
			queues: tc.Queues, agents: tc.Agents, Vars: tc.Vars,
		}
		lib, err := LoadPrompts(tc.Prompts)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", tc.ID, err))
			continue
		}
		t.Prompts = lib
		if t.Regions, err = region.NewResolver(tc.RegionRules(), tc.Country); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", tc.ID, err))
		}
		if tc.Music != "" {
			m, err := media.LoadWAV(tc.Music)
			if err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: music: %w", tc.ID, err))
			}
			t.Music = m
		}
		for name, path := range tc.Flows {
			f, err := ivr.LoadFlow(path, ivr.CheckOptions{PromptExists: lib.exists, Vocabulary: opt.Vocabulary})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.Flows[name] = f
		}
		var surveyErrs []error
		t.surveys, surveyErrs = loadSurveys(t, tc, lib)
		errs = append(errs, surveyErrs...)
		if len(tc.Queues) > 0 {
			errs = append(errs, checkFlowQueues(t, tc.Queues)...)
			rt, err := queue.New(queue.Config{
				TenantID:  t.ID,
				ACD:       ACDConfig(tc),
				Music:     queueMusic(tc.Queues),
				HasPrompt: lib.exists,
				Connector: opt.Connector,
				Sink:      opt.ACDSink,
				Logger:    opt.Logger,
			})
			if err != nil {
				errs = append(errs, err)
			}
			t.ACD = rt
		}
		r.tenants[t.ID] = t
		for _, n := range tc.Numbers {
			r.numbers[n.Number] = number{tenant: t, flow: n.Flow, answerDelay: time.Duration(n.AnswerDelay),
				app: n.App, args: slices.Clone(n.Args)}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// slFormula maps the config's sl_formula (validated there) to the core's.
func slFormula(name string) acd.SLVariant {
	switch name {
	case "answered":
		return acd.SLAnswered
	case "answered_abandoned":
		return acd.SLAnsweredAndAbandoned
	}
	return acd.SLDefault
}

// QueueThresholds is the tenant's queue's service-level threshold and
// short-abandon time, as configured (zero: the defaults).
func (t *Tenant) QueueThresholds(queue string) (serviceLevel, shortAbandon time.Duration, ok bool) {
	for _, q := range t.queues {
		if q.Name == queue {
			sl := time.Duration(q.ServiceLevel)
			if sl == 0 {
				sl = 20 * time.Second
			}
			return sl, time.Duration(q.ShortAbandon), true
		}
	}
	return 0, 0, false
}

// ACDConfig turns a tenant's configured queues into the decision core's.
func ACDConfig(tc config.Tenant) acd.Config {
	cfg := acd.Config{
		Location: tc.Location,
		// An offer that rings out makes the agent "missed" until they are
		// ready again; one they decline, or a phone that cannot ring, rests
		// them for a while so the caller is not offered to them again at once.
		Miss: acd.MissPolicy{NotReadyAfter: 1, RejectBackoff: 10 * time.Second},
	}
	for _, q := range tc.Queues {
		qc := acd.QueueConfig{
			Name:           q.Name,
			Strategy:       acd.Strategy(q.Strategy),
			RingTimeout:    time.Duration(q.RingTimeout),
			WrapUp:         time.Duration(q.WrapUp),
			MaxWait:        time.Duration(q.MaxWait),
			Overflow:       q.Overflow,
			AnnouncePeriod: time.Duration(q.AnnounceEvery),
			HandleTime:     time.Duration(q.HandleTime),
			ServiceLevel:   time.Duration(q.ServiceLevel),
			ShortAbandon:   time.Duration(q.ShortAbandon),
			SL:             slFormula(q.SLFormula),
			PreferRegion:   q.PreferRegion,
			RegionWait:     time.Duration(q.RegionWait),
		}
		for _, skill := range slices.Sorted(maps.Keys(q.Skills)) {
			qc.Skills = append(qc.Skills, acd.SkillReq{Skill: skill, Min: q.Skills[skill]})
		}
		cfg.Queues = append(cfg.Queues, qc)
	}
	return cfg
}

func queueMusic(qs []config.Queue) map[string]string {
	m := map[string]string{}
	for _, q := range qs {
		if q.Music != "" {
			m[q.Name] = q.Music
		}
	}
	return m
}

// checkFlowQueues refuses a flow that sends callers to a queue the tenant
// does not have: the ACD would refuse every such caller at run time.
func checkFlowQueues(t *Tenant, qs []config.Queue) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(t.Flows)) {
		f := t.Flows[name]
		for _, sn := range slices.Sorted(maps.Keys(f.Steps)) {
			s := f.Steps[sn]
			if s.Queue == nil {
				continue
			}
			if !slices.ContainsFunc(qs, func(q config.Queue) bool { return q.Name == s.Queue.Name }) {
				errs = append(errs, fmt.Errorf("%s:%d: step %s: queue %q is not among tenant %s's queues", f.File, s.Line, s.Name, s.Queue.Name, t.ID))
			}
		}
	}
	return errs
}

// Run runs every tenant's ACD until ctx ends. Stop it after the calls, so
// no queued caller is sent back to a flow by the shutdown.
func (r *Registry) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(r.tenants))
	for _, t := range r.tenants {
		if t.ACD == nil {
			continue
		}
		wg.Go(func() { errs <- t.ACD.Run(ctx) })
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func (l Library) exists(name string) bool { _, ok := l[name]; return ok }

// LoadPrompts loads every WAV file in dir.
func LoadPrompts(dir string) (Library, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	lib := Library{}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".wav") {
			continue
		}
		p, err := media.LoadWAV(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", e.Name(), err)
		}
		lib[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] = p
	}
	return lib, nil
}

// Tenant returns a tenant by id.
func (r *Registry) Tenant(id string) (*Tenant, bool) {
	t, ok := r.tenants[id]
	return t, ok
}

// Tenants lists every tenant.
func (r *Registry) Tenants() []*Tenant {
	out := make([]*Tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		out = append(out, t)
	}
	return out
}

func allowed(t *Tenant, src netip.Addr) bool {
	for _, p := range t.Allow {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// Route implements sip.Router. A source that no tenant trusts is refused
// before the number is looked at, so strangers cannot probe which numbers
// exist.
func (r *Registry) Route(src netip.Addr, did string) (*sip.Route, error) {
	src = src.Unmap()
	trusted := false
	for _, t := range r.tenants {
		if allowed(t, src) {
			trusted = true
			break
		}
	}
	if !trusted {
		return nil, call.CauseForbidden.With("Forbidden (source address not allowed)")
	}
	n, ok := r.lookup(did)
	if !ok {
		return nil, call.CauseUnknownNumber.With("Not Found (unknown number)")
	}
	if !allowed(n.tenant, src) {
		return nil, call.CauseForbidden.With("Forbidden (source address not allowed for this number)")
	}
	t := n.tenant
	if n.app != "" {
		// As an Asterisk dialplan line `Stasis(app,args...)`: nothing
		// answers but the application.
		return &sip.Route{
			TenantID:    t.ID,
			Flow:        AppFlow(n.app),
			Prompts:     t.Prompts,
			Music:       t.Music,
			InbandDTMF:  r.inband,
			DeferAnswer: true,
			Run:         func(c *call.Call) { r.runApp(n, c) },
		}, nil
	}
	flow := t.Flows[n.flow]
	return &sip.Route{
		TenantID:    t.ID,
		Flow:        n.flow,
		Prompts:     t.Prompts,
		Music:       t.Music,
		InbandDTMF:  r.inband,
		AnswerDelay: n.answerDelay,
		Run:         func(c *call.Call) { r.run(t, flow, c) },
	}, nil
}

// lookup matches a dialled number with or without its leading '+', as
// carriers differ in which they send.
func (r *Registry) lookup(did string) (number, bool) {
	d := config.NormalizeNumber(did)
	if d == "" {
		return number{}, false
	}
	if n, ok := r.numbers[d]; ok {
		return n, true
	}
	if strings.HasPrefix(d, "+") {
		n, ok := r.numbers[d[1:]]
		return n, ok
	}
	n, ok := r.numbers["+"+d]
	return n, ok
}

func (r *Registry) run(t *Tenant, flow *ivr.Flow, c *call.Call) {
	ctx := c.Context()
	sink := &eventSink{c: c}
	where := locate(t, c)
	env := ivr.Env{
		Now:         r.now,
		Location:    t.Location,
		Holidays:    t.Holidays,
		Vars:        callVars(t, c, where),
		Events:      sink,
		Recognizer:  r.recognizer,
		Synthesizer: r.synthesizer,
	}
	if t.surveys != nil {
		env.Surveys = t.surveys
	}
	if t.ACD != nil {
		env.ACD = t.ACD.Flow(c, sink.path)
	}
	if run := r.stasisRunner(); run != nil {
		env.Stasis = callStasis{run: run, c: c}
	}
	r.ask.askEnv(&env, t, c)
	res, err := flow.Run(ctx, channel{c}, env)
	if err != nil && ctx.Err() == nil {
		c.Event("flow_error", "", map[string]string{"error": err.Error()})
		c.Hangup(call.CauseFlowError)
		return
	}
	switch {
	case res.Reason == ivr.EndHangup:
		c.Hangup(flowCause(res.Cause))
	case res.AgentHungUp && !res.CallerHungUp:
		c.Hangup(call.CauseAgentHangup) // the CDR says who ended the conversation
	}
}

// callVars are a call's initial flow variables: the tenant's, then the
// built-in ones, which win so a tenant cannot make ${caller} lie.
func callVars(t *Tenant, c *call.Call, where region.Match) map[string]string {
	vars := maps.Clone(t.Vars)
	if vars == nil {
		vars = map[string]string{}
	}
	maps.Copy(vars, map[string]string{
		"caller":  c.From,
		"dnis":    c.To,
		"call":    c.ID,
		"tenant":  t.ID,
		"region":  where.Region,
		"country": where.Country,
	})
	return vars
}

// EventRegion is the timeline event that says where the caller is from
// (region, country, number in E.164); the CDR's region comes from it.
const EventRegion = store.EventRegion

// locate resolves the caller's region and puts it on the timeline when
// it is known.
func locate(t *Tenant, c *call.Call) region.Match {
	m := t.Regions.Resolve(c.From)
	if m.Region != "" || m.Country != "" {
		c.Event(EventRegion, "", map[string]string{"region": m.Region, "country": m.Country, "number": m.Number})
	}
	return m
}

// SetStasis sets what runs calls in ARI applications (the ARI server,
// which is built after the registry); nil: none is connected, so stasis
// steps fail over and numbers routed to an application get 480. Calls
// started before keep what they saw at their start.
func (r *Registry) SetStasis(s StasisRunner) {
	if s == nil {
		r.stasis.Store(nil)
		return
	}
	r.stasis.Store(&stasisRunner{s})
}

func (r *Registry) stasisRunner() StasisRunner {
	if b := r.stasis.Load(); b != nil {
		return b.StasisRunner
	}
	return nil
}

// AppFlow is the flow name a call routed straight to ARI application app
// carries (call.Info.Flow, so its CDR names the application).
func AppFlow(app string) string { return "app:" + app }

// callStasis binds a flow's stasis steps to its call.
type callStasis struct {
	run StasisRunner
	c   *call.Call
}

func (s callStasis) Stasis(ctx context.Context, app string, args []string) (ivr.StasisResult, error) {
	return s.run.RunStasis(ctx, s.c, app, args)
}

// runApp hands a call routed straight to an application to it, and ends
// the call when the application is not connected or lets it go (there is
// no flow to continue in). The timeline has the flow's stasis events.
func (r *Registry) runApp(n number, c *call.Call) {
	ctx := c.Context()
	args := slices.Clone(n.args)
	c.Event(ivr.EventStasis, "", map[string]string{"app": n.app, "args": strings.Join(args, ",")})
	res := ivr.StasisResult{Status: ivr.StasisFailed}
	end := map[string]string{"app": n.app}
	var err error
	if run := r.stasisRunner(); run != nil {
		res, err = run.RunStasis(ctx, c, n.app, slices.Clone(args))
	} else {
		end["error"] = "no ARI server"
	}
	if ctx.Err() != nil {
		// The call ended in the application (or while it was handed over).
		end["status"], end["hangup"] = ivr.StasisSuccess, "true"
		c.Event(ivr.EventStasisEnd, "", end)
		return
	}
	if err != nil {
		res.Status = ivr.StasisFailed
		end["error"] = err.Error()
	}
	cause := CauseAppEnd
	if res.Status != ivr.StasisSuccess {
		res.Status = ivr.StasisFailed
		cause = CauseAppUnavailable
	}
	end["status"] = res.Status
	if res.Label != "" {
		end["label"] = res.Label
	}
	c.Event(ivr.EventStasisEnd, "", end)
	if c.State() == call.StateUp {
		// Answered: the cause goes in the BYE and the CDR, no response.
		answered := *cause
		answered.SIPCode, answered.Reason = 0, ""
		cause = &answered
	}
	c.Hangup(cause)
}

// channel is the call as a flow's Channel: the call speaks its own types
// (it does not know flows), so Listen translates.
type channel struct{ *call.Call }

func (ch channel) Listen(ctx context.Context, req ivr.ListenRequest) (ivr.ListenResult, error) {
	res, err := ch.PlayAndListen(ctx, call.ListenOptions{
		Prompts: req.Prompts, Audio: req.Audio, Recognizer: req.Recognizer, Grammar: req.Grammar, NoInput: req.Timeout,
		MaxSpeech: req.MaxSpeech,
	})
	return ivr.ListenResult{Key: res.Key, Heard: res.Heard, Speech: res.Speech, BargeIn: res.BargeIn, Dropped: res.Dropped}, err
}

// flowCause maps a flow's hangup cause to the call's, keeping the flow's
// word in the CDR so a report can tell "busy" from "normal".
func flowCause(name string) *call.Cause {
	c := *call.CauseFlowHangup
	if name != "" && name != "normal" {
		c.Name = "flow-hangup-" + name
		switch name {
		case "busy":
			c.Q850 = 17
		case "rejected":
			c.Q850 = 21
		case "unavailable":
			c.Q850 = 41
		}
	}
	return &c
}

// eventSink runs on the call's goroutine only.
type eventSink struct {
	c     *call.Call
	steps []string // the IVR path, for the agent's offer
}

// Event adds to each key press how it arrived (RFC 4733 or in-band), which
// the flow does not know.
func (e *eventSink) Event(kind, step string, data map[string]string) {
	if kind == "digit" && data != nil {
		data["source"] = e.c.LastDigitSource()
	}
	if kind == ivr.EventStep && (len(e.steps) == 0 || e.steps[len(e.steps)-1] != step) {
		e.steps = append(e.steps, step)
	}
	e.c.Event(kind, step, data)
}

func (e *eventSink) path() string { return strings.Join(e.steps, ">") }
