package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hotline/call"
	"hotline/config"
	"hotline/queue"
	"hotline/sip"
	"hotline/speech"
	"hotline/store"
	"hotline/tenant"
)

// Callbacks (docs/callbacks.md): the queue runtime keeps the callback in
// line and reserves the agent; this file gives it a dialer over the
// tenant's outbound trunk (sip.Server.Dial) and the store.

// callbackDialer places callback calls over a tenant's outbound trunks.
type callbackDialer struct {
	tenant *config.Tenant
	reg    *tenant.Registry
	sip    *sip.Server
}

func (d callbackDialer) DialCallback(_ context.Context, req queue.CallbackDial) (*call.Call, error) {
	if err := config.CheckPhoneNumber(req.Number); err != nil {
		return nil, fmt.Errorf("callback %s: number %q: %w", req.CallbackID, req.Number, err)
	}
	trunk, callerID, err := d.tenant.OutboundRoute(req.Queue)
	if err != nil {
		return nil, fmt.Errorf("callback %s: %w", req.CallbackID, err)
	}
	if req.Trunk != "" {
		if trunk = d.tenant.OutboundTrunkNamed(req.Trunk); trunk == nil {
			return nil, fmt.Errorf("callback %s: no outbound trunk %q", req.CallbackID, req.Trunk)
		}
	}
	// The caller sees the number they called, so they know who calls back.
	from := callerID
	if config.CheckPhoneNumber(req.CalledFrom) == nil {
		from = req.CalledFrom
	}
	if from == "" {
		from = "anonymous"
	}
	dr := sip.DialRequest{
		TenantID: req.TenantID, Target: trunk.URI(req.Number), From: from, Timeout: req.RingTimeout,
		Agent: string(req.Agent), Queue: req.Queue, Callback: true,
		AuthUser: trunk.Username, AuthPassword: trunk.Password, AuthRealm: trunk.Realm,
	}
	if t, ok := d.reg.Tenant(req.TenantID); ok {
		dr.Prompts, dr.Music = t.Prompts, t.Music
	}
	return d.sip.Dial(dr)
}

// enableCallbacks turns callbacks on for every tenant with a queue that
// configures them.
func enableCallbacks(cfg *config.Config, reg *tenant.Registry, sipSrv *sip.Server, db *store.Store, synth speech.Synthesizer, rec speech.Recognizer) {
	for i := range cfg.Tenants {
		tc := &cfg.Tenants[i]
		t, ok := reg.Tenant(tc.ID)
		if !ok || t.ACD == nil {
			continue
		}
		queues := map[string]queue.CallbackOptions{}
		for _, q := range tc.Queues {
			cb := q.Callback
			if cb == nil {
				continue
			}
			o := queue.CallbackOptions{
				Key: rune(cb.Key[0]), RetryGap: time.Duration(cb.RetryGap),
				RingTimeout: time.Duration(cb.RingTimeout), Expiry: time.Duration(cb.Expiry), Trunk: cb.Trunk,
			}
			if cb.Retries != nil {
				o.Retries = *cb.Retries
			}
			o.Speech = cb.Speech != nil && *cb.Speech
			queues[q.Name] = o
		}
		if len(queues) == 0 {
			continue
		}
		setup := queue.CallbackSetup{Queues: queues, Dialer: callbackDialer{tenant: tc, reg: reg, sip: sipSrv}, Synth: synth, Recognizer: rec}
		if db != nil {
			setup.Store = db
		}
		t.ACD.EnableCallbacks(setup)
	}
}

// restoreCallbacks puts the callbacks a previous run left waiting back in
// line, in the order they were asked for. It blocks until the ACDs run.
func restoreCallbacks(ctx context.Context, cfg *config.Config, reg *tenant.Registry, db *store.Store, log *slog.Logger) {
	for i := range cfg.Tenants {
		tc := &cfg.Tenants[i]
		t, ok := reg.Tenant(tc.ID)
		if !ok || t.ACD == nil {
			continue
		}
		open, err := db.OpenCallbacks(ctx, tc.ID)
		if err != nil {
			log.Error("callbacks not restored", "tenant", tc.ID, "error", err)
			continue
		}
		for _, cb := range open {
			caller, calledFrom := "", ""
			if c, err := db.GetCall(ctx, tc.ID, cb.CallID); err == nil {
				caller, calledFrom = c.FromNumber, c.ToNumber
			}
			if err := t.ACD.RestoreCallback(ctx, cb, caller, calledFrom, ""); err != nil {
				if errors.Is(err, context.Canceled) {
					return
				}
				log.Warn("callback not restored; it stays open", "tenant", tc.ID, "callback", cb.ID, "error", err)
				continue
			}
			log.Info("callback back in line after restart", "tenant", tc.ID, "callback", cb.ID, "queue", cb.Queue)
		}
	}
}

// waitCallbacks waits, after the ACDs stopped, for the callbacks' dial and
// record goroutines (their tries end with the runtime's context), so their
// last rows reach the store before it closes.
func waitCallbacks(reg *tenant.Registry) {
	for _, t := range reg.Tenants() {
		if t.ACD != nil {
			t.ACD.CallbacksWait()
		}
	}
}
