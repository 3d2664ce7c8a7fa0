// Package tenant is the registry of the companies one deployment serves:
// which numbers and trunks are theirs, their prompts, music and flows. It
// routes each new call to its tenant and keeps tenants apart.
package tenant

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hotline/call"
	"hotline/config"
	"hotline/ivr"
	"hotline/media"
	"hotline/sip"
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
}

// Registry routes calls to tenants.
type Registry struct {
	tenants map[string]*Tenant
	numbers map[string]number
	now     func() time.Time
	// inband turns on in-band DTMF detection for every call.
	inband bool
}

// Options tune a Registry.
type Options struct {
	// Now is the clock flows see (tests inject one).
	Now func() time.Time
	// InbandDTMF enables tone detection in callers' audio.
	InbandDTMF bool
}

// Load reads every tenant's prompts and flows. Errors name the file and line.
func Load(cfg *config.Config, opt Options) (*Registry, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Registry{tenants: map[string]*Tenant{}, numbers: map[string]number{}, now: opt.Now, inband: opt.InbandDTMF}
	var errs []error
	for _, tc := range cfg.Tenants {
		t := &Tenant{
			ID: tc.ID, Name: tc.Name, Location: tc.Location, Holidays: tc.Holidays,
			Allow: tc.Allow, Prompts: Library{}, Flows: map[string]*ivr.Flow{},
		}
		lib, err := LoadPrompts(tc.Prompts)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", tc.ID, err))
			continue
		}
		t.Prompts = lib
		if tc.Music != "" {
			m, err := media.LoadWAV(tc.Music)
			if err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: music: %w", tc.ID, err))
			}
			t.Music = m
		}
		for name, path := range tc.Flows {
			f, err := ivr.LoadFlow(path, ivr.CheckOptions{PromptExists: lib.exists})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.Flows[name] = f
		}
		r.tenants[t.ID] = t
		for _, n := range tc.Numbers {
			r.numbers[n.Number] = number{tenant: t, flow: n.Flow, answerDelay: time.Duration(n.AnswerDelay)}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
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
	env := ivr.Env{
		Now:      r.now,
		Location: t.Location,
		Holidays: t.Holidays,
		Vars: map[string]string{
			"caller": c.From,
			"dnis":   c.To,
			"call":   c.ID,
			"tenant": t.ID,
		},
		Events: eventSink{c},
	}
	res, err := flow.Run(ctx, c, env)
	if err != nil && ctx.Err() == nil {
		c.Event("flow_error", "", map[string]string{"error": err.Error()})
		c.Hangup(call.CauseFlowError)
		return
	}
	if res.Reason == ivr.EndHangup {
		c.Hangup(flowCause(res.Cause))
	}
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

type eventSink struct{ c *call.Call }

// Event adds to each key press how it arrived (RFC 4733 or in-band), which
// the flow does not know.
func (e eventSink) Event(kind, step string, data map[string]string) {
	if kind == "digit" && data != nil {
		data["source"] = e.c.LastDigitSource()
	}
	e.c.Event(kind, step, data)
}
