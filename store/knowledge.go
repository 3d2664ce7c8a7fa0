package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// KBArticle is a knowledge-base article created through the API (package
// assist validates its content; the table checks the limits again).
type KBArticle struct {
	TenantID  string    `json:"tenant"`
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Phrases   []string  `json:"phrases"`
	Keywords  []string  `json:"keywords"`
	Intents   []string  `json:"intents"`
	Tags      []string  `json:"tags"`
	CreatedBy string    `json:"created_by"`
	UpdatedBy string    `json:"updated_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const kbColumns = "tenant_id, id, title, body, phrases, keywords, intents, tags, created_by, updated_by, created_at, updated_at"

func scanKB(row pgx.Row) (*KBArticle, error) {
	var a KBArticle
	err := row.Scan(&a.TenantID, &a.ID, &a.Title, &a.Body, &a.Phrases, &a.Keywords, &a.Intents, &a.Tags,
		&a.CreatedBy, &a.UpdatedBy, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// nonNil keeps text[] columns from NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// kbFailed maps the database's refusals: a taken id is ErrExists, a
// violated check is bad input.
func kbFailed(what string, err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return fmt.Errorf("store: %s: %w", what, ErrExists)
		case "23514": // check_violation
			return &InvalidError{Msg: fmt.Sprintf("article %s: a value is out of range (%s)", what, pg.ConstraintName)}
		case "23503": // foreign_key_violation
			return fmt.Errorf("store: %s: unknown tenant: %w", what, ErrNotFound)
		}
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// ListKBArticles returns the tenant's API articles, by id.
func (s *Store) ListKBArticles(ctx context.Context, tenantID string) ([]KBArticle, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+kbColumns+" FROM kb_articles WHERE tenant_id = $1 ORDER BY id", tenantID)
	if err != nil {
		return nil, fmt.Errorf("store: list kb articles: %w", err)
	}
	defer rows.Close()
	var out []KBArticle
	for rows.Next() {
		a, err := scanKB(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list kb articles: %w", err)
		}
		out = append(out, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list kb articles: %w", err)
	}
	return out, nil
}

// GetKBArticle returns one API article of the tenant (ErrNotFound: none,
// or another tenant's).
func (s *Store) GetKBArticle(ctx context.Context, tenantID, id string) (*KBArticle, error) {
	a, err := scanKB(s.pool.QueryRow(ctx, "SELECT "+kbColumns+" FROM kb_articles WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: kb article %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: kb article %s: %w", id, err)
	}
	return a, nil
}

// CreateKBArticle stores a new article; an id the tenant already has is
// ErrExists. CreatedBy names the user.
func (s *Store) CreateKBArticle(ctx context.Context, a KBArticle) (*KBArticle, error) {
	out, err := scanKB(s.pool.QueryRow(ctx, `INSERT INTO kb_articles
		(tenant_id, id, title, body, phrases, keywords, intents, tags, created_by, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING `+kbColumns,
		a.TenantID, a.ID, a.Title, a.Body, nonNil(a.Phrases), nonNil(a.Keywords), nonNil(a.Intents), nonNil(a.Tags), a.CreatedBy))
	if err != nil {
		return nil, kbFailed(a.ID, err)
	}
	return out, nil
}

// UpdateKBArticle replaces an article's content (ErrNotFound: the tenant
// has no such article). UpdatedBy names the user.
func (s *Store) UpdateKBArticle(ctx context.Context, a KBArticle) (*KBArticle, error) {
	out, err := scanKB(s.pool.QueryRow(ctx, `UPDATE kb_articles SET
		title = $3, body = $4, phrases = $5, keywords = $6, intents = $7, tags = $8, updated_by = $9, updated_at = now()
		WHERE tenant_id = $1 AND id = $2 RETURNING `+kbColumns,
		a.TenantID, a.ID, a.Title, a.Body, nonNil(a.Phrases), nonNil(a.Keywords), nonNil(a.Intents), nonNil(a.Tags), a.UpdatedBy))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: kb article %s: %w", a.ID, ErrNotFound)
	}
	if err != nil {
		return nil, kbFailed(a.ID, err)
	}
	return out, nil
}

// DeleteKBArticle removes an article (ErrNotFound: the tenant has none
// with that id).
func (s *Store) DeleteKBArticle(ctx context.Context, tenantID, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM kb_articles WHERE tenant_id = $1 AND id = $2", tenantID, id)
	if err != nil {
		return fmt.Errorf("store: delete kb article %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: kb article %s: %w", id, ErrNotFound)
	}
	return nil
}
