package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Chat is one chat session's row (migration 0010): a web chat or one from
// a messaging channel plugged in by webhook.
type Chat struct {
	ID         uuid.UUID  `json:"id"`
	TenantID   string     `json:"tenant"`
	Channel    string     `json:"channel"`
	Visitor    string     `json:"visitor"`
	Queue      string     `json:"queue"`
	AgentID    string     `json:"agent_id"`
	StartedAt  time.Time  `json:"started_at"`
	QueuedAt   *time.Time `json:"queued_at"`
	AnsweredAt *time.Time `json:"answered_at"`
	EndedAt    *time.Time `json:"ended_at"`
	Outcome    string     `json:"outcome"` // "" while open
	Region     string     `json:"region"`
}

// ChatMessage is one line of a chat's transcript.
type ChatMessage struct {
	ID       int64     `json:"id"`
	TenantID string    `json:"-"`
	ChatID   uuid.UUID `json:"chat_id"`
	At       time.Time `json:"at"`
	Sender   string    `json:"sender"` // visitor, agent, bot, system
	AgentID  string    `json:"agent_id,omitempty"`
	Body     string    `json:"body"`
}

// Chat outcomes.
const (
	ChatBot       = "bot"       // the bot alone served the visitor
	ChatAnswered  = "answered"  // an agent took it
	ChatAbandoned = "abandoned" // the visitor left while waiting for a person
	ChatClosed    = "closed"    // ended by the server before an agent took it
)

// SaveChat writes a chat's row, inserting it or updating what changes
// over its life (queue, agent, times, outcome).
func (s *Store) SaveChat(ctx context.Context, c Chat) error {
	var outcome *string
	if c.Outcome != "" {
		outcome = &c.Outcome
	}
	_, err := s.pool.Exec(ctx, `
INSERT INTO chats (id, tenant_id, channel, visitor, queue, agent_id, started_at, queued_at, answered_at, ended_at, outcome, region)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET queue = EXCLUDED.queue, agent_id = EXCLUDED.agent_id, queued_at = EXCLUDED.queued_at,
  answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at, outcome = EXCLUDED.outcome, updated_at = now()
WHERE chats.tenant_id = EXCLUDED.tenant_id`,
		c.ID, c.TenantID, c.Channel, c.Visitor, c.Queue, c.AgentID, c.StartedAt, c.QueuedAt, c.AnsweredAt, c.EndedAt, outcome, c.Region)
	if err != nil {
		return fmt.Errorf("store: save chat %s: %w", c.ID, err)
	}
	return nil
}

// AddChatMessage appends a line to a chat's transcript; the chat's row
// must exist.
func (s *Store) AddChatMessage(ctx context.Context, m ChatMessage) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO chat_messages (tenant_id, chat_id, at, sender, agent_id, body) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.TenantID, m.ChatID, m.At, m.Sender, m.AgentID, m.Body)
	if err != nil {
		return fmt.Errorf("store: chat %s message: %w", m.ChatID, err)
	}
	return nil
}

// ChatFilter selects chats of a tenant, newest first.
type ChatFilter struct {
	TenantID string
	AgentID  string // "": every agent's
	Limit    int    // 0: 100; at most 1000
}

const chatColumns = `id, tenant_id, channel, visitor, queue, agent_id, started_at, queued_at, answered_at, ended_at, COALESCE(outcome, ''), region`

func scanChat(row pgx.Row) (*Chat, error) {
	var c Chat
	if err := row.Scan(&c.ID, &c.TenantID, &c.Channel, &c.Visitor, &c.Queue, &c.AgentID, &c.StartedAt,
		&c.QueuedAt, &c.AnsweredAt, &c.EndedAt, &c.Outcome, &c.Region); err != nil {
		return nil, err
	}
	return &c, nil
}

// ListChats lists a tenant's chats, newest first.
func (s *Store) ListChats(ctx context.Context, f ChatFilter) ([]Chat, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := s.pool.Query(ctx, "SELECT "+chatColumns+` FROM chats
WHERE tenant_id = $1 AND ($2 = '' OR agent_id = $2) ORDER BY started_at DESC, id LIMIT $3`, f.TenantID, f.AgentID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list chats: %w", err)
	}
	defer rows.Close()
	out := []Chat{}
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list chats: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list chats: %w", err)
	}
	return out, nil
}

// GetChat reads one of the tenant's chats with its transcript; another
// tenant's chat is ErrNotFound.
func (s *Store) GetChat(ctx context.Context, tenantID string, id uuid.UUID) (*Chat, []ChatMessage, error) {
	c, err := scanChat(s.pool.QueryRow(ctx, "SELECT "+chatColumns+" FROM chats WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("store: chat %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: chat %s: %w", id, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, chat_id, at, sender, agent_id, body FROM chat_messages
WHERE chat_id = $1 AND tenant_id = $2 ORDER BY id`, id, tenantID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: chat %s messages: %w", id, err)
	}
	defer rows.Close()
	msgs := []ChatMessage{}
	for rows.Next() {
		var m ChatMessage
		if err := rows.Scan(&m.ID, &m.ChatID, &m.At, &m.Sender, &m.AgentID, &m.Body); err != nil {
			return nil, nil, fmt.Errorf("store: chat %s messages: %w", id, err)
		}
		m.TenantID = tenantID
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: chat %s messages: %w", id, err)
	}
	return c, msgs, nil
}
