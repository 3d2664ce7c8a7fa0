package store

import (
	"context"
	"fmt"
	"time"
)

// Outbound calls (click to call, docs/outbound.md) are CDRs with direction
// 'outbound' and the agent and queue they were placed for (migration
// 0008). They have no queue entries, so the inbound figures (offered,
// answered, service level, abandoned) never see them; the reports count
// them on their own: per queue and interval (QueueFigures.Outbound) and
// per agent (AgentFigures.Outbound, OutboundAnswered).

// eachOutbound calls fn for every outbound call of the tenant started in
// [from, to), placed for queue ("" any) by callers of region ("" any).
func (s *Store) eachOutbound(ctx context.Context, tenantID string, from, to time.Time, queue, region string,
	fn func(started time.Time, agent string, answered bool)) error {
	rows, err := s.pool.Query(ctx, `SELECT started_at, agent_id, answered_at IS NOT NULL
		FROM calls
		WHERE tenant_id = $1 AND direction = 'outbound' AND started_at >= $2 AND started_at < $3
			AND ($4 = '' OR queue = $4) AND ($5 = '' OR region = $5)`, tenantID, from, to, queue, region)
	if err != nil {
		return fmt.Errorf("store: outbound calls of tenant %q: %w", tenantID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			at       time.Time
			agent    string
			answered bool
		)
		if err := rows.Scan(&at, &agent, &answered); err != nil {
			return fmt.Errorf("store: outbound calls of tenant %q: %w", tenantID, err)
		}
		fn(at, agent, answered)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: outbound calls of tenant %q: %w", tenantID, err)
	}
	return nil
}

// addOutbound counts the outbound calls into the report's intervals.
func (s *Store) addOutbound(ctx context.Context, tenantID string, rep *QueueReport, from, to time.Time, queue, region string) error {
	if len(rep.Intervals) == 0 {
		return nil
	}
	first := rep.Intervals[0].Start
	return s.eachOutbound(ctx, tenantID, from, to, queue, region, func(at time.Time, _ string, _ bool) {
		if i := int(at.Sub(first) / ReportInterval); i >= 0 && i < len(rep.Intervals) {
			rep.Intervals[i].Outbound++
		}
	})
}
