package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ChecklistStep is one step of a call's checklist as it stands.
type ChecklistStep struct {
	Checklist string
	Step      string
	Position  int
	Done      bool
	By        string // "", auto or agent
	AgentID   string
	Evidence  string
	At        time.Time
}

// SaveChecklist replaces a call's checklist rows with steps (a call has
// one checklist; its steps change as they are ticked).
func (s *Store) SaveChecklist(ctx context.Context, tenantID string, callID uuid.UUID, steps []ChecklistStep) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM call_checklist_steps WHERE tenant_id = $1 AND call_id = $2`, tenantID, callID)
	for _, st := range steps {
		at := st.At
		if at.IsZero() {
			at = time.Now()
		}
		b.Queue(`INSERT INTO call_checklist_steps (tenant_id, call_id, checklist, step, position, done, by, agent_id, evidence, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, left($9, 2000), $10)`,
			tenantID, callID, st.Checklist, st.Step, st.Position, st.Done, st.By, st.AgentID, st.Evidence, at)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("store: save checklist of call %s: %w", callID, err)
		}
		return nil
	})
}

// CallChecklist reads a call's checklist steps in their order.
func (s *Store) CallChecklist(ctx context.Context, tenantID string, callID uuid.UUID) ([]ChecklistStep, error) {
	rows, err := s.pool.Query(ctx, `SELECT checklist, step, position, done, by, agent_id, evidence, at
		FROM call_checklist_steps WHERE tenant_id = $1 AND call_id = $2 ORDER BY position, step`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("store: checklist of call %s: %w", callID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChecklistStep, error) {
		var st ChecklistStep
		err := r.Scan(&st.Checklist, &st.Step, &st.Position, &st.Done, &st.By, &st.AgentID, &st.Evidence, &st.At)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: checklist of call %s: %w", callID, err)
	}
	return out, nil
}

// CallSummary is the after-call summary of a call.
type CallSummary struct {
	TenantID   string    `json:"-"`
	CallID     uuid.UUID `json:"call_id"`
	Intent     string    `json:"intent"`
	Checklist  string    `json:"checklist"`
	StepsDone  int       `json:"steps_done"`
	StepsTotal int       `json:"steps_total"`
	KeyPhrases []string  `json:"key_phrases"`
	// Disposition is the agent's wrap-up code (from dispositions, read
	// with the summary: the agent picks it after the call ends).
	Disposition string    `json:"disposition"`
	Summary     string    `json:"summary"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SaveSummary stores (or replaces) a call's summary.
func (s *Store) SaveSummary(ctx context.Context, c CallSummary) error {
	if c.KeyPhrases == nil {
		c.KeyPhrases = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO call_summaries
			(tenant_id, call_id, intent, checklist, steps_done, steps_total, key_phrases, summary)
		VALUES ($1, $2, $3, $4, $5, $6, $7, left($8, 4000))
		ON CONFLICT (tenant_id, call_id) DO UPDATE SET intent = EXCLUDED.intent, checklist = EXCLUDED.checklist,
			steps_done = EXCLUDED.steps_done, steps_total = EXCLUDED.steps_total,
			key_phrases = EXCLUDED.key_phrases, summary = EXCLUDED.summary, updated_at = now()`,
		c.TenantID, c.CallID, c.Intent, c.Checklist, c.StepsDone, c.StepsTotal, c.KeyPhrases, c.Summary)
	if err != nil {
		return fmt.Errorf("store: save summary of call %s: %w", c.CallID, err)
	}
	return nil
}

// GetSummary reads a call's summary with its disposition; nil when the
// call has none.
func (s *Store) GetSummary(ctx context.Context, tenantID string, callID uuid.UUID) (*CallSummary, error) {
	c := CallSummary{TenantID: tenantID, CallID: callID}
	err := s.pool.QueryRow(ctx, `SELECT cs.intent, cs.checklist, cs.steps_done, cs.steps_total, cs.key_phrases, cs.summary, cs.updated_at,
			coalesce((SELECT d.code FROM dispositions d WHERE d.tenant_id = cs.tenant_id AND d.call_id = cs.call_id
				ORDER BY d.at DESC LIMIT 1), '')
		FROM call_summaries cs WHERE cs.tenant_id = $1 AND cs.call_id = $2`, tenantID, callID).
		Scan(&c.Intent, &c.Checklist, &c.StepsDone, &c.StepsTotal, &c.KeyPhrases, &c.Summary, &c.UpdatedAt, &c.Disposition)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: summary of call %s: %w", callID, err)
	}
	return &c, nil
}

// ChecklistRate is how often one checklist step was done over a period:
// Calls had the checklist, Done had the step done (Auto of them by a
// condition, the rest by the agent's hand).
type ChecklistRate struct {
	Checklist string  `json:"checklist"`
	Step      string  `json:"step"`
	Position  int     `json:"position"`
	Calls     int     `json:"calls"`
	Done      int     `json:"done"`
	Auto      int     `json:"auto"`
	Rate      float64 `json:"rate"` // Done / Calls
}

// ChecklistRates reports completion per checklist and step for the calls
// whose checklist was last touched in [from, to).
func (s *Store) ChecklistRates(ctx context.Context, tenantID string, from, to time.Time) ([]ChecklistRate, error) {
	rows, err := s.pool.Query(ctx, `WITH calls AS (
			SELECT call_id, checklist FROM call_checklist_steps
			WHERE tenant_id = $1 GROUP BY call_id, checklist HAVING max(at) >= $2 AND max(at) < $3)
		SELECT s.checklist, s.step, min(s.position), count(*), count(*) FILTER (WHERE s.done),
			count(*) FILTER (WHERE s.done AND s.by = 'auto')
		FROM call_checklist_steps s JOIN calls c ON c.call_id = s.call_id AND c.checklist = s.checklist
		WHERE s.tenant_id = $1
		GROUP BY s.checklist, s.step ORDER BY s.checklist, min(s.position), s.step`, tenantID, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: checklist rates: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChecklistRate, error) {
		var c ChecklistRate
		err := r.Scan(&c.Checklist, &c.Step, &c.Position, &c.Calls, &c.Done, &c.Auto)
		if c.Calls > 0 {
			c.Rate = float64(c.Done) / float64(c.Calls)
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: checklist rates: %w", err)
	}
	return out, nil
}

// PurgeCallText removes what was said on a tenant's calls before cutoff,
// as the recordings' retention removes their audio: transcript lines,
// checklist evidence, summaries and answer proposals; the questions of
// ask outcomes are blanked (the counts stay for containment reports).
// Approved standard answers are the tenant's own content and stay.
func (s *Store) PurgeCallText(ctx context.Context, tenantID string, cutoff time.Time) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM transcript_lines WHERE tenant_id = $1 AND at < $2`,
			`DELETE FROM call_checklist_steps WHERE tenant_id = $1 AND at < $2`,
			`DELETE FROM call_summaries WHERE tenant_id = $1 AND created_at < $2`,
			`DELETE FROM answer_proposals WHERE tenant_id = $1 AND created_at < $2`,
			`UPDATE ask_outcomes SET question = '' WHERE tenant_id = $1 AND at < $2 AND question <> ''`,
		} {
			tag, err := tx.Exec(ctx, q, tenantID, cutoff)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge call text of %s before %s: %w", tenantID, cutoff.Format(time.DateOnly), err)
	}
	return n, nil
}
