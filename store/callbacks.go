package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// OutcomeCallback ends a queue stint whose caller asked to be called back
// and hung up: neither answered nor abandoned.
const OutcomeCallback = "callback"

// Callback statuses (the callbacks table accepts these) and final
// dispositions.
const (
	CallbackWaiting   = "waiting"
	CallbackDialling  = "dialling"
	CallbackCompleted = "completed"
	CallbackFailed    = "failed"
	CallbackCancelled = "cancelled"

	DispositionCompleted = "completed"
	DispositionNoAnswer  = "no-answer"
	DispositionBusy      = "busy"
	DispositionFailed    = "failed"
	DispositionExpired   = "expired"
	DispositionCancelled = "cancelled"
)

// Callback is one callback request.
type Callback struct {
	ID           uuid.UUID  `json:"id"`
	TenantID     string     `json:"-"`
	CallID       uuid.UUID  `json:"call_id"` // the inbound call that asked
	Queue        string     `json:"queue"`
	Number       string     `json:"number"`
	RequestedAt  time.Time  `json:"requested_at"`
	Status       string     `json:"status"`
	Attempts     int        `json:"attempts"`
	NextTryAt    *time.Time `json:"next_try_at,omitempty"`
	AgentID      string     `json:"agent_id,omitempty"`
	ResultCallID *uuid.UUID `json:"result_call_id,omitempty"`
	Disposition  string     `json:"disposition"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
}

// CallbackAttempt is one try to reach the caller.
type CallbackAttempt struct {
	CallbackID uuid.UUID
	Attempt    int
	AgentID    string
	CallID     uuid.UUID // uuid.Nil: no call was placed
	StartedAt  time.Time
	EndedAt    time.Time // zero while it rings
	Result     string    // answered, busy, no-answer, failed
}

// CreateCallback records a new waiting callback.
func (s *Store) CreateCallback(ctx context.Context, cb Callback) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO callbacks (id, tenant_id, call_id, queue, number, requested_at, status)
		VALUES ($1, $2, $3, $4, $5, $6, 'waiting')`,
		cb.ID, cb.TenantID, cb.CallID, cb.Queue, cb.Number, cb.RequestedAt)
	if err != nil {
		return fmt.Errorf("store: create callback %s: %w", cb.ID, err)
	}
	return nil
}

// SaveCallbackAttempt writes (or completes) one try and keeps the
// callback's status, attempt count and next try in step. nextTry is when a
// failed try is retried (zero: not retried, or answered).
func (s *Store) SaveCallbackAttempt(ctx context.Context, a CallbackAttempt, nextTry time.Time) error {
	var callID, ended, next any
	if a.CallID != uuid.Nil {
		callID = a.CallID
	}
	if !a.EndedAt.IsZero() {
		ended = a.EndedAt
	}
	if !nextTry.IsZero() {
		next = nextTry
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO callback_attempts (callback_id, attempt, agent_id, call_id, started_at, ended_at, result)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (callback_id, attempt) DO UPDATE SET call_id = COALESCE(EXCLUDED.call_id, callback_attempts.call_id),
				ended_at = EXCLUDED.ended_at, result = EXCLUDED.result`,
			a.CallbackID, a.Attempt, a.AgentID, callID, a.StartedAt, ended, a.Result); err != nil {
			return fmt.Errorf("store: callback %s attempt %d: %w", a.CallbackID, a.Attempt, err)
		}
		status := CallbackDialling
		if !a.EndedAt.IsZero() && a.Result != "answered" {
			status = CallbackWaiting
		}
		if _, err := tx.Exec(ctx, `UPDATE callbacks SET attempts = GREATEST(attempts, $2), status = $3, next_try_at = $4,
			agent_id = CASE WHEN $5 = 'answered' THEN $6 ELSE agent_id END,
			result_call_id = CASE WHEN $5 = 'answered' THEN $7::uuid ELSE result_call_id END, updated_at = now()
			WHERE id = $1 AND finished_at IS NULL`,
			a.CallbackID, a.Attempt, status, next, a.Result, a.AgentID, callID); err != nil {
			return fmt.Errorf("store: callback %s: %w", a.CallbackID, err)
		}
		return nil
	})
}

// FinishCallback sets a callback's final disposition (status follows from
// it). A callback already finished keeps its first disposition: false.
func (s *Store) FinishCallback(ctx context.Context, id uuid.UUID, disposition string, at time.Time) (bool, error) {
	status := CallbackFailed
	switch disposition {
	case DispositionCompleted:
		status = CallbackCompleted
	case DispositionCancelled:
		status = CallbackCancelled
	}
	tag, err := s.pool.Exec(ctx, `UPDATE callbacks SET status = $2, disposition = $3, finished_at = $4, next_try_at = NULL, updated_at = now()
		WHERE id = $1 AND finished_at IS NULL`, id, status, disposition, at)
	if err != nil {
		return false, fmt.Errorf("store: finish callback %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

const callbackColumns = `id, tenant_id, call_id, queue, number, requested_at, status, attempts, next_try_at,
	COALESCE(agent_id, ''), result_call_id, disposition, finished_at`

func scanCallback(row pgx.Row) (Callback, error) {
	var cb Callback
	err := row.Scan(&cb.ID, &cb.TenantID, &cb.CallID, &cb.Queue, &cb.Number, &cb.RequestedAt, &cb.Status, &cb.Attempts,
		&cb.NextTryAt, &cb.AgentID, &cb.ResultCallID, &cb.Disposition, &cb.FinishedAt)
	return cb, err
}

// CallbackFilter narrows ListCallbacks.
type CallbackFilter struct {
	Agent string // "": every agent's
	Open  bool   // only the unfinished
	Limit int    // 0: 200
}

// ListCallbacks lists a tenant's callbacks, newest first.
func (s *Store) ListCallbacks(ctx context.Context, tenantID string, f CallbackFilter) ([]Callback, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	rows, err := s.pool.Query(ctx, `SELECT `+callbackColumns+` FROM callbacks
		WHERE tenant_id = $1 AND ($2 = '' OR agent_id = $2) AND (NOT $3 OR finished_at IS NULL)
		ORDER BY requested_at DESC LIMIT $4`, tenantID, f.Agent, f.Open, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list callbacks of %q: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Callback, error) { return scanCallback(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list callbacks of %q: %w", tenantID, err)
	}
	return out, nil
}

// OpenCallbacks lists a tenant's unfinished callbacks in request order, to
// put them back in line after a restart.
func (s *Store) OpenCallbacks(ctx context.Context, tenantID string) ([]Callback, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+callbackColumns+` FROM callbacks
		WHERE tenant_id = $1 AND finished_at IS NULL ORDER BY requested_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("store: open callbacks of %q: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Callback, error) { return scanCallback(r) })
	if err != nil {
		return nil, fmt.Errorf("store: open callbacks of %q: %w", tenantID, err)
	}
	return out, nil
}

// GetCallback returns one of a tenant's callbacks; another tenant's id is
// ErrNotFound.
func (s *Store) GetCallback(ctx context.Context, tenantID string, id uuid.UUID) (*Callback, error) {
	cb, err := scanCallback(s.pool.QueryRow(ctx, `SELECT `+callbackColumns+` FROM callbacks WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: callback %s of %q: %w", id, tenantID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: callback %s: %w", id, err)
	}
	return &cb, nil
}
