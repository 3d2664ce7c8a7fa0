package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Sides of a transcript line, the only values transcript_lines accepts.
const (
	SideCaller = "caller"
	SideAgent  = "agent"
)

// MaxTranscriptText bounds one line's text in characters, as the table's
// CHECK does; a speech worker's phrase is far shorter, so a longer one is
// a bug upstream rather than speech.
const MaxTranscriptText = 4000

// ErrInvalidTranscriptLine is wrapped by AddTranscriptLines and
// TranscriptLine.Validate for a line the table would refuse.
var ErrInvalidTranscriptLine = errors.New("store: invalid transcript line")

// TranscriptLine is one phrase of a call's live transcript. StartMS and
// EndMS count from the start of the call's transcript (its first answer),
// so the lines of both sides and of every agent sort on one clock.
type TranscriptLine struct {
	ID       int64 // set when read
	TenantID string
	CallID   uuid.UUID
	Side     string // SideCaller or SideAgent
	// AgentID is the user id of the agent on the call when the line was
	// said (for caller lines too); agents may read the transcripts of
	// calls they were on by it.
	AgentID string
	StartMS int64
	EndMS   int64
	At      time.Time // wall clock of the phrase's end
	Text    string
}

// Validate reports why the table would refuse l, wrapping
// ErrInvalidTranscriptLine; a writer can drop bad lines with it before
// batching, since AddTranscriptLines stores a batch whole or not at all.
func (l TranscriptLine) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidTranscriptLine, fmt.Sprintf(format, args...))
	}
	switch {
	case l.TenantID == "":
		return bad("no tenant")
	case l.CallID == uuid.Nil:
		return bad("no call id")
	case l.Side != SideCaller && l.Side != SideAgent:
		return bad("side %q: want %q or %q", l.Side, SideCaller, SideAgent)
	case strings.TrimSpace(l.Text) == "":
		return bad("empty text")
	case !utf8.ValidString(l.Text) || strings.ContainsRune(l.Text, 0):
		// PostgreSQL text holds neither.
		return bad("text is not valid UTF-8 or holds a NUL")
	case utf8.RuneCountInString(l.Text) > MaxTranscriptText:
		return bad("text longer than %d characters", MaxTranscriptText)
	case l.StartMS < 0 || l.EndMS < l.StartMS:
		return bad("times %d-%d ms: want 0 <= start <= end", l.StartMS, l.EndMS)
	case l.EndMS > math.MaxInt32:
		// The columns are integer: 24 days of call is not a real call.
		return bad("end %d ms is beyond the column's range", l.EndMS)
	case l.At.IsZero():
		return bad("no wall-clock time")
	}
	return nil
}

// AddTranscriptLines stores a batch of lines in one round trip. The batch
// is stored whole or not at all: a line the table would refuse fails the
// whole batch with an error naming it (wrapping ErrInvalidTranscriptLine),
// before anything reaches the database.
func (s *Store) AddTranscriptLines(ctx context.Context, lines []TranscriptLine) error {
	if len(lines) == 0 {
		return nil
	}
	var (
		tenants = make([]string, len(lines))
		calls   = make([]uuid.UUID, len(lines))
		sides   = make([]string, len(lines))
		agents  = make([]string, len(lines))
		starts  = make([]int64, len(lines))
		ends    = make([]int64, len(lines))
		ats     = make([]time.Time, len(lines))
		texts   = make([]string, len(lines))
	)
	for i, l := range lines {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("store: add transcript lines: line %d of %d (call %s): %w", i+1, len(lines), l.CallID, err)
		}
		tenants[i], calls[i], sides[i], agents[i] = l.TenantID, l.CallID, l.Side, l.AgentID
		starts[i], ends[i], ats[i], texts[i] = l.StartMS, l.EndMS, l.At.UTC(), l.Text
	}
	// unnest keeps array order, so ids follow the batch's order and lines
	// with equal start_ms read back as they were said.
	_, err := s.pool.Exec(ctx, `INSERT INTO transcript_lines (tenant_id, call_id, side, agent_id, start_ms, end_ms, at, text)
		SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::int[], $7::timestamptz[], $8::text[])`,
		tenants, calls, sides, agents, starts, ends, ats, texts)
	if err != nil {
		return fmt.Errorf("store: add %d transcript lines (call %s): %w", len(lines), lines[0].CallID, err)
	}
	return nil
}

// CallTranscript reads a call's transcript in the order it was said. A
// call without lines, or another tenant's, gives none and no error.
func (s *Store) CallTranscript(ctx context.Context, tenantID string, callID uuid.UUID) ([]TranscriptLine, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant_id, call_id, side, agent_id, start_ms, end_ms, at, text
		FROM transcript_lines WHERE tenant_id = $1 AND call_id = $2 ORDER BY start_ms, id`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("store: transcript of call %s: %w", callID, err)
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TranscriptLine, error) {
		var l TranscriptLine
		err := r.Scan(&l.ID, &l.TenantID, &l.CallID, &l.Side, &l.AgentID, &l.StartMS, &l.EndMS, &l.At, &l.Text)
		l.At = l.At.UTC()
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: transcript of call %s: %w", callID, err)
	}
	return lines, nil
}
