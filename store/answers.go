package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Proposal statuses (answer_proposals.status).
const (
	ProposalOpen     = "proposed"
	ProposalApproved = "approved"
	ProposalRejected = "rejected"
)

// Kinds of an intent's standard answer (intent_answers.kind).
const (
	AnswerAudio = "audio"
	AnswerText  = "text"
)

// ErrProposalClosed is returned (wrapped) when a proposal was already
// approved or rejected: a second reviewer must not overwrite the first.
const ErrProposalClosed = storeError("store: proposal already reviewed")

// AnswerProposal is an agent's reply to a caller's known question,
// offered as the intent's standard answer (docs/answers.md).
type AnswerProposal struct {
	ID         uuid.UUID  `json:"id"`
	TenantID   string     `json:"-"`
	Intent     string     `json:"intent"`
	CallID     uuid.UUID  `json:"call_id"`
	AgentID    string     `json:"agent_id"`
	Question   string     `json:"question"`
	Answer     string     `json:"answer"`
	StartMS    int64      `json:"start_ms"`
	EndMS      int64      `json:"end_ms"`
	Status     string     `json:"status"`
	ReviewedBy string     `json:"reviewed_by"`
	ReviewedAt *time.Time `json:"reviewed_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// IntentAnswer is an intent's standard answer. Audio is left out of
// listings (ListIntentAnswers); IntentAnswer reads it.
type IntentAnswer struct {
	TenantID   string     `json:"-"`
	Intent     string     `json:"intent"`
	Kind       string     `json:"kind"`
	Text       string     `json:"text"`
	Audio      []byte     `json:"-"`
	AudioBytes int        `json:"audio_bytes"`
	ProposalID *uuid.UUID `json:"proposal_id,omitempty"`
	ApprovedBy string     `json:"approved_by"`
	ApprovedAt time.Time  `json:"approved_at"`
}

// The schema's limits, checked here so a caller gets a clear error
// instead of a constraint violation.
const (
	maxQuestion   = 2000
	maxAnswerText = 4000
)

// ProposeAnswer stores a proposal. A call has at most one open proposal
// per intent: a second one (the caller asking again, or a retried write)
// is ignored, and the result is false then.
func (s *Store) ProposeAnswer(ctx context.Context, p AnswerProposal) (bool, error) {
	if p.TenantID == "" || p.Intent == "" {
		return false, errors.New("store: propose answer: tenant and intent are required")
	}
	if p.StartMS < 0 || p.EndMS <= p.StartMS {
		return false, fmt.Errorf("store: propose answer: bad span %d-%d ms", p.StartMS, p.EndMS)
	}
	if p.ID == uuid.Nil {
		p.ID = uuid.New()
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO answer_proposals
		(id, tenant_id, intent, call_id, agent_id, question, answer, start_ms, end_ms)
		VALUES ($1, $2, $3, $4, $5, left($6, $10), left($7, $11), $8, $9)
		ON CONFLICT (tenant_id, intent, call_id) WHERE status = 'proposed' DO NOTHING`,
		p.ID, p.TenantID, p.Intent, p.CallID, p.AgentID, p.Question, p.Answer, p.StartMS, p.EndMS, maxQuestion, maxAnswerText)
	if err != nil {
		return false, fmt.Errorf("store: propose answer for intent %s: %w", p.Intent, err)
	}
	return tag.RowsAffected() == 1, nil
}

const proposalCols = `id, tenant_id, intent, call_id, agent_id, question, answer, start_ms, end_ms, status, reviewed_by, reviewed_at, created_at`

func scanProposal(r pgx.Row) (AnswerProposal, error) {
	var p AnswerProposal
	err := r.Scan(&p.ID, &p.TenantID, &p.Intent, &p.CallID, &p.AgentID, &p.Question, &p.Answer, &p.StartMS, &p.EndMS,
		&p.Status, &p.ReviewedBy, &p.ReviewedAt, &p.CreatedAt)
	return p, err
}

// ListProposals lists a tenant's proposals, newest first; status ""
// lists all of them.
func (s *Store) ListProposals(ctx context.Context, tenantID, status string, limit int) ([]AnswerProposal, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	rows, err := s.pool.Query(ctx, `SELECT `+proposalCols+` FROM answer_proposals
		WHERE tenant_id = $1 AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id LIMIT $3`, tenantID, status, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list answer proposals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AnswerProposal, error) { return scanProposal(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list answer proposals: %w", err)
	}
	return out, nil
}

// GetProposal reads one proposal (ErrNotFound for none, or another
// tenant's).
func (s *Store) GetProposal(ctx context.Context, tenantID string, id uuid.UUID) (*AnswerProposal, error) {
	p, err := scanProposal(s.pool.QueryRow(ctx, `SELECT `+proposalCols+` FROM answer_proposals
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: answer proposal %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: answer proposal %s: %w", id, err)
	}
	return &p, nil
}

// closeProposal marks an open proposal reviewed inside tx; ErrNotFound
// for none, ErrProposalClosed when it was reviewed already.
func closeProposal(ctx context.Context, tx pgx.Tx, tenantID string, id uuid.UUID, status, reviewer string) (string, error) {
	var intent, was string
	err := tx.QueryRow(ctx, `SELECT intent, status FROM answer_proposals WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
		tenantID, id).Scan(&intent, &was)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("store: answer proposal %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: answer proposal %s: %w", id, err)
	}
	if was != ProposalOpen {
		return "", fmt.Errorf("store: answer proposal %s is %s: %w", id, was, ErrProposalClosed)
	}
	if _, err := tx.Exec(ctx, `UPDATE answer_proposals SET status = $3, reviewed_by = $4, reviewed_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, status, reviewer); err != nil {
		return "", fmt.Errorf("store: review answer proposal %s: %w", id, err)
	}
	return intent, nil
}

// ApproveProposal makes the proposal's clip (wav, already trimmed) the
// intent's standard answer, replacing any earlier one, and marks the
// proposal approved, in one transaction. text is the reply's words (kept
// for listings and subtitles). It returns the intent.
func (s *Store) ApproveProposal(ctx context.Context, tenantID string, id uuid.UUID, reviewer string, wav []byte, text string) (string, error) {
	if len(wav) == 0 {
		return "", errors.New("store: approve answer proposal: no audio")
	}
	var intent string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if intent, err = closeProposal(ctx, tx, tenantID, id, ProposalApproved, reviewer); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO intent_answers (tenant_id, intent, kind, text, audio, proposal_id, approved_by, approved_at)
			VALUES ($1, $2, 'audio', left($3, $6), $4, $5, $7, now())
			ON CONFLICT (tenant_id, intent) DO UPDATE SET kind = 'audio', text = EXCLUDED.text, audio = EXCLUDED.audio,
				proposal_id = EXCLUDED.proposal_id, approved_by = EXCLUDED.approved_by, approved_at = EXCLUDED.approved_at`,
			tenantID, intent, text, wav, id, maxAnswerText, reviewer); err != nil {
			return fmt.Errorf("store: answer of intent %s: %w", intent, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return intent, nil
}

// RejectProposal marks an open proposal rejected.
func (s *Store) RejectProposal(ctx context.Context, tenantID string, id uuid.UUID, reviewer string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := closeProposal(ctx, tx, tenantID, id, ProposalRejected, reviewer)
		return err
	})
}

// SetTextAnswer makes text (with ${var} placeholders the synthesizer's
// caller fills) the intent's standard answer, replacing any earlier one.
func (s *Store) SetTextAnswer(ctx context.Context, tenantID, intent, text, by string) error {
	if intent == "" || text == "" {
		return errors.New("store: text answer: intent and text are required")
	}
	if len(text) > maxAnswerText {
		return fmt.Errorf("store: text answer of intent %s: longer than %d bytes", intent, maxAnswerText)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO intent_answers (tenant_id, intent, kind, text, audio, proposal_id, approved_by, approved_at)
		VALUES ($1, $2, 'text', $3, NULL, NULL, $4, now())
		ON CONFLICT (tenant_id, intent) DO UPDATE SET kind = 'text', text = EXCLUDED.text, audio = NULL,
			proposal_id = NULL, approved_by = EXCLUDED.approved_by, approved_at = EXCLUDED.approved_at`,
		tenantID, intent, text, by)
	if err != nil {
		return fmt.Errorf("store: text answer of intent %s: %w", intent, err)
	}
	return nil
}

// IntentAnswer reads an intent's standard answer; ok is false when it has
// none. wav is set for kind audio, text for both (the reply's words).
func (s *Store) IntentAnswer(ctx context.Context, tenantID, intent string) (kind, text string, wav []byte, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT kind, text, audio FROM intent_answers WHERE tenant_id = $1 AND intent = $2`,
		tenantID, intent).Scan(&kind, &text, &wav)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil, false, nil
	}
	if err != nil {
		return "", "", nil, false, fmt.Errorf("store: answer of intent %s: %w", intent, err)
	}
	return kind, text, wav, true, nil
}

// DeleteIntentAnswer removes an intent's standard answer (ErrNotFound
// when it has none).
func (s *Store) DeleteIntentAnswer(ctx context.Context, tenantID, intent string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM intent_answers WHERE tenant_id = $1 AND intent = $2`, tenantID, intent)
	if err != nil {
		return fmt.Errorf("store: delete answer of intent %s: %w", intent, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: answer of intent %s: %w", intent, ErrNotFound)
	}
	return nil
}

// ListIntentAnswers lists a tenant's standard answers by intent, without
// their audio (AudioBytes tells its size).
func (s *Store) ListIntentAnswers(ctx context.Context, tenantID string) ([]IntentAnswer, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, intent, kind, text, coalesce(octet_length(audio), 0), proposal_id, approved_by, approved_at
		FROM intent_answers WHERE tenant_id = $1 ORDER BY intent`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("store: list intent answers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IntentAnswer, error) {
		var a IntentAnswer
		err := r.Scan(&a.TenantID, &a.Intent, &a.Kind, &a.Text, &a.AudioBytes, &a.ProposalID, &a.ApprovedBy, &a.ApprovedAt)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list intent answers: %w", err)
	}
	return out, nil
}
