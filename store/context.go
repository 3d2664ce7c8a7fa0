package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// PreviousCall is one earlier call with a caller, for the agent's caller
// context: what happened, who handled it, how it was closed.
type PreviousCall struct {
	ID         uuid.UUID
	StartedAt  time.Time
	Duration   time.Duration // start to end; zero while open
	Direction  string        // inbound, outbound or callback
	Answered   bool
	Queue      string // the queue it was answered from (else the last one it waited in)
	AgentID    string // the agent who talked (user id), "" none
	Agent      string // their username, "" unknown
	Code, Note string // the agent's disposition ("" none)
	Summary    string // from call_summaries ("" none)
	Intent     string
}

// PreviousCalls returns a tenant's calls with number (at most limit,
// newest first, 1-50) that started before before: calls from it, and the
// calls we placed to it (click to call, callbacks). A number without a
// digit (anonymous, a SIP name) has none.
func (s *Store) PreviousCalls(ctx context.Context, tenantID, number string, before time.Time, limit int) ([]PreviousCall, error) {
	if !strings.ContainsAny(number, "0123456789") {
		return nil, nil
	}
	limit = min(max(limit, 1), 50)
	// Each side of the union walks its own index (migration 0016) down
	// from before, so a caller's history costs the same in a tenant of a
	// hundred calls and of a hundred million.
	rows, err := s.pool.Query(ctx, `
		WITH recent AS (
			(SELECT id, tenant_id, started_at, answered_at, ended_at, direction, queue, agent_id
				FROM calls WHERE tenant_id = $1 AND from_number = $2 AND direction = 'inbound' AND started_at < $3
				ORDER BY started_at DESC LIMIT $4)
			UNION ALL
			(SELECT id, tenant_id, started_at, answered_at, ended_at, direction, queue, agent_id
				FROM calls WHERE tenant_id = $1 AND to_number = $2 AND direction <> 'inbound' AND started_at < $3
				ORDER BY started_at DESC LIMIT $4)
			ORDER BY started_at DESC LIMIT $4
		)
		SELECT c.id, c.started_at, c.ended_at, c.direction, c.answered_at IS NOT NULL OR coalesce(q.answered, false),
			coalesce(q.queue, c.queue), coalesce(nullif(q.agent_id, ''), nullif(c.agent_id, ''), d.user_id, ''),
			coalesce(u.username, ''), coalesce(d.code, ''), coalesce(d.note, ''),
			coalesce(sm.summary, ''), coalesce(sm.intent, '')
		FROM recent c
		LEFT JOIN LATERAL (SELECT e.queue, e.agent_id, e.answered_at IS NOT NULL AS answered
			FROM queue_entries e WHERE e.tenant_id = c.tenant_id AND e.call_id = c.id
			ORDER BY e.answered_at IS NOT NULL DESC, e.answered_at DESC, e.entered_at DESC LIMIT 1) q ON true
		LEFT JOIN LATERAL (SELECT x.code, x.note, x.user_id
			FROM dispositions x WHERE x.tenant_id = c.tenant_id AND x.call_id = c.id
			ORDER BY x.at DESC LIMIT 1) d ON true
		LEFT JOIN call_summaries sm ON sm.tenant_id = c.tenant_id AND sm.call_id = c.id
		LEFT JOIN users u ON u.tenant_id = c.tenant_id
			AND u.id::text = coalesce(nullif(q.agent_id, ''), nullif(c.agent_id, ''), d.user_id)
		ORDER BY c.started_at DESC, c.id`, tenantID, number, before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: previous calls of %s in tenant %q: %w", number, tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PreviousCall, error) {
		var p PreviousCall
		var ended *time.Time
		err := r.Scan(&p.ID, &p.StartedAt, &ended, &p.Direction, &p.Answered, &p.Queue, &p.AgentID,
			&p.Agent, &p.Code, &p.Note, &p.Summary, &p.Intent)
		if ended != nil {
			p.Duration = max(ended.Sub(p.StartedAt), 0)
		}
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: previous calls of %s in tenant %q: %w", number, tenantID, err)
	}
	return out, nil
}
