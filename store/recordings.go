package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Statuses of a recordings row, the only values the table accepts.
const (
	RecordingActive     = "recording"  // being written (or the process died while it was)
	RecordingComplete   = "complete"   // closed normally
	RecordingIncomplete = "incomplete" // repaired after a crash: audio up to the last whole frame/chunk
	RecordingDeleted    = "deleted"    // removed by retention; the row stays for the audit trail
)

// Actions of a recording_access row.
const (
	AccessPlay     = "play"
	AccessDownload = "download"
	AccessMeta     = "meta"
	AccessDenied   = "denied"
)

// PausedSpan is a stretch of a recording the agent paused (card numbers):
// silence in the audio, in milliseconds from the recording's start, end
// exclusive.
type PausedSpan struct {
	StartMs int64 `json:"start_ms"`
	EndMs   int64 `json:"end_ms"`
}

// Recording is the metadata of one call's recording. Path is relative to
// the recordings directory.
type Recording struct {
	ID            uuid.UUID    `json:"id"`
	TenantID      string       `json:"tenant"`
	CallID        uuid.UUID    `json:"call_id"`
	AgentIDs      []string     `json:"agent_ids"`
	Path          string       `json:"-"` // where the file is is nobody's business over the API
	StartedAt     time.Time    `json:"started_at"`
	DurationMs    int64        `json:"duration_ms"`
	SizeBytes     int64        `json:"size_bytes"`
	SHA256        string       `json:"sha256"`
	Encrypted     bool         `json:"encrypted"`
	KeyID         string       `json:"key_id,omitempty"`
	PausedSpans   []PausedSpan `json:"paused_spans"`
	DroppedFrames int64        `json:"dropped_frames"`
	Status        string       `json:"status"`
	DeletedAt     *time.Time   `json:"deleted_at,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

// RecordingAccess is one row of the recordings audit trail.
type RecordingAccess struct {
	TenantID    string     `json:"tenant"`
	RecordingID *uuid.UUID `json:"recording_id,omitempty"`
	CallID      *uuid.UUID `json:"call_id,omitempty"`
	UserID      *uuid.UUID `json:"user_id,omitempty"`
	Username    string     `json:"username"`
	Role        string     `json:"role"`
	Action      string     `json:"action"` // AccessPlay, AccessDownload, AccessMeta, AccessDenied
	Range       string     `json:"range,omitempty"`
	StatusCode  int        `json:"status_code"`
	Reason      string     `json:"reason,omitempty"`
	RemoteAddr  string     `json:"remote_addr,omitempty"`
	At          time.Time  `json:"at"`
}

const recordingColumns = `id, tenant_id, call_id, agent_ids, path, started_at, duration_ms, size_bytes, sha256,
	encrypted, key_id, paused_spans, dropped_frames, status, deleted_at, created_at, updated_at`

func scanRecording(row pgx.Row) (*Recording, error) {
	var r Recording
	var spans []byte
	if err := row.Scan(&r.ID, &r.TenantID, &r.CallID, &r.AgentIDs, &r.Path, &r.StartedAt, &r.DurationMs, &r.SizeBytes,
		&r.SHA256, &r.Encrypted, &r.KeyID, &spans, &r.DroppedFrames, &r.Status, &r.DeletedAt, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(spans, &r.PausedSpans); err != nil {
		return nil, fmt.Errorf("paused_spans of recording %s: %w", r.ID, err)
	}
	if r.PausedSpans == nil {
		r.PausedSpans = []PausedSpan{}
	}
	if r.AgentIDs == nil {
		r.AgentIDs = []string{}
	}
	return &r, nil
}

// SaveRecording inserts or rewrites the row of (TenantID, CallID): the
// recorder writes it when recording starts (status recording) and again
// when it closes or is repaired. A deleted row is never brought back and a
// finished one never goes back to "recording", so a late or repeated write
// cannot resurrect what retention removed or reopen what was closed.
func (s *Store) SaveRecording(ctx context.Context, r Recording) error {
	spans := r.PausedSpans
	if spans == nil {
		spans = []PausedSpan{}
	}
	js, err := json.Marshal(spans)
	if err != nil {
		return fmt.Errorf("store: save recording of call %s: paused spans: %w", r.CallID, err)
	}
	agents := r.AgentIDs
	if agents == nil {
		agents = []string{}
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO recordings (tenant_id, call_id, agent_ids, path, started_at, duration_ms, size_bytes, sha256,
			encrypted, key_id, paused_spans, dropped_frames, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (tenant_id, call_id) DO UPDATE SET
			agent_ids = EXCLUDED.agent_ids, path = EXCLUDED.path, started_at = EXCLUDED.started_at,
			duration_ms = EXCLUDED.duration_ms, size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256,
			encrypted = EXCLUDED.encrypted, key_id = EXCLUDED.key_id, paused_spans = EXCLUDED.paused_spans,
			dropped_frames = EXCLUDED.dropped_frames, status = EXCLUDED.status, updated_at = now()
		WHERE recordings.status <> 'deleted'
			AND NOT (EXCLUDED.status = 'recording' AND recordings.status <> 'recording')`,
		r.TenantID, r.CallID, agents, r.Path, r.StartedAt, r.DurationMs, r.SizeBytes, r.SHA256,
		r.Encrypted, r.KeyID, js, r.DroppedFrames, r.Status)
	if err != nil {
		return fmt.Errorf("store: save recording of call %s (tenant %s): %w", r.CallID, r.TenantID, err)
	}
	return nil
}

// GetRecording returns the recording of a call of the tenant; another
// tenant's recording is ErrNotFound like a missing one.
func (s *Store) GetRecording(ctx context.Context, tenantID string, callID uuid.UUID) (*Recording, error) {
	r, err := scanRecording(s.pool.QueryRow(ctx,
		`SELECT `+recordingColumns+` FROM recordings WHERE tenant_id = $1 AND call_id = $2`, tenantID, callID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: recording of call %s: %w", callID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: recording of call %s: %w", callID, err)
	}
	return r, nil
}

// RecordingsInStatus lists a tenant's recordings in one status (the
// startup repair asks for those left "recording" by a crash).
func (s *Store) RecordingsInStatus(ctx context.Context, tenantID, status string) ([]Recording, error) {
	return s.listRecordings(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE tenant_id = $1 AND status = $2 ORDER BY started_at`, tenantID, status)
}

// ExpiredRecordings lists up to limit live (complete or incomplete)
// recordings of the tenant that started before cutoff, oldest first.
func (s *Store) ExpiredRecordings(ctx context.Context, tenantID string, cutoff time.Time, limit int) ([]Recording, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.listRecordings(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE tenant_id = $1 AND status IN ('complete', 'incomplete') AND started_at < $2
		ORDER BY started_at LIMIT $3`, tenantID, cutoff, limit)
}

func (s *Store) listRecordings(ctx context.Context, sql string, args ...any) ([]Recording, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list recordings: %w", err)
	}
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list recordings: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list recordings: %w", err)
	}
	return out, nil
}

// MarkRecordingDeleted records that retention removed the file. It
// reports ErrNotFound when the tenant has no such live recording.
func (s *Store) MarkRecordingDeleted(ctx context.Context, tenantID string, callID uuid.UUID, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE recordings SET status = 'deleted', deleted_at = $3, updated_at = now()
		WHERE tenant_id = $1 AND call_id = $2 AND status <> 'deleted'`, tenantID, callID, at)
	if err != nil {
		return fmt.Errorf("store: mark recording of call %s deleted: %w", callID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: mark recording of call %s deleted: %w", callID, ErrNotFound)
	}
	return nil
}

// AddRecordingAccess appends a row to the audit trail.
func (s *Store) AddRecordingAccess(ctx context.Context, a RecordingAccess) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO recording_access (tenant_id, recording_id, call_id, user_id, username, role,
			action, range_header, status_code, reason, remote_addr, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, '')::inet, $12)`,
		a.TenantID, a.RecordingID, a.CallID, a.UserID, cleanText(a.Username), a.Role, a.Action,
		cleanText(clipRecordingText(a.Range, 200)), a.StatusCode, a.Reason, a.RemoteAddr, a.At)
	if err != nil {
		return fmt.Errorf("store: audit recording access (tenant %s): %w", a.TenantID, err)
	}
	return nil
}

// RecordingAccesses returns the audit rows of a tenant about one call,
// oldest first.
func (s *Store) RecordingAccesses(ctx context.Context, tenantID string, callID uuid.UUID) ([]RecordingAccess, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, recording_id, call_id, user_id, username, role, action,
			range_header, status_code, reason, coalesce(host(remote_addr), ''), at
		FROM recording_access WHERE tenant_id = $1 AND call_id = $2 ORDER BY id`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("store: recording accesses of call %s: %w", callID, err)
	}
	defer rows.Close()
	var out []RecordingAccess
	for rows.Next() {
		var a RecordingAccess
		if err := rows.Scan(&a.TenantID, &a.RecordingID, &a.CallID, &a.UserID, &a.Username, &a.Role, &a.Action,
			&a.Range, &a.StatusCode, &a.Reason, &a.RemoteAddr, &a.At); err != nil {
			return nil, fmt.Errorf("store: recording accesses of call %s: %w", callID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recording accesses of call %s: %w", callID, err)
	}
	return out, nil
}

func clipRecordingText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
