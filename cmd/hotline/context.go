package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"hotline/assist"
	"hotline/config"
	"hotline/store"
)

// newCallerContexts builds the agents' caller contexts (docs/assist.md,
// "Caller context"): previous calls from the database, CRM lookups as
// each tenant configures them.
func newCallerContexts(cfg *config.Config, hist assist.History, log *slog.Logger) *assist.ContextBuilder {
	crm := map[string]assist.CRMConfig{}
	for _, t := range cfg.Tenants {
		if t.CRM.URL == "" {
			continue
		}
		crm[t.ID] = assist.CRMConfig{URL: t.CRM.URL, Timeout: time.Duration(t.CRM.Timeout), Fields: t.CRM.Fields, Vars: t.Vars}
	}
	return assist.NewContextBuilder(assist.ContextConfig{History: hist, CRM: crm, Logger: log})
}

// lateHistory lets the desk's caller contexts be made before the
// database is opened; db is set before any call is offered.
type lateHistory struct{ db *store.Store }

func (l *lateHistory) PreviousCalls(ctx context.Context, tenantID, number string, before time.Time, limit int) ([]assist.PreviousCall, error) {
	if l.db == nil {
		return nil, errors.New("caller context: the database is not open")
	}
	rows, err := l.db.PreviousCalls(ctx, tenantID, number, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]assist.PreviousCall, len(rows))
	for i, r := range rows {
		out[i] = assist.PreviousCall{
			ID: r.ID.String(), StartedAt: r.StartedAt, DurationMS: r.Duration.Milliseconds(), Direction: r.Direction,
			Answered: r.Answered, Queue: r.Queue, Agent: r.Agent, Disposition: r.Code, Note: r.Note,
			Summary: r.Summary, Intent: r.Intent,
		}
	}
	return out, nil
}
