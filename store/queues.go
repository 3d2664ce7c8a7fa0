package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// QueueEntry is one stint of a call in one queue. The writer stores
// snapshots: each one replaces the previous for the same ID, and columns
// left zero keep what an earlier snapshot wrote.
type QueueEntry struct {
	ID         uuid.UUID
	TenantID   string
	CallID     uuid.UUID
	Queue      string
	EnteredAt  time.Time
	OfferedAt  time.Time // first offer; zero until then
	AnsweredAt time.Time
	AgentID    string
	LeftAt     time.Time
	Outcome    string // answered, abandoned, overflow, exit, rejected, transferred, requeued; "" while waiting
	Wait       time.Duration
}

// Outcomes of a queue entry.
const (
	OutcomeAnswered  = "answered"
	OutcomeAbandoned = "abandoned"
	OutcomeOverflow  = "overflow"
	OutcomeExit      = "exit"
	OutcomeRejected  = "rejected"
	// An answered stint that ended with the caller back in line.
	OutcomeTransferred = "transferred"
	OutcomeRequeued    = "requeued" // the agent was lost mid-call
)

// AgentStateChange is an agent going into State for Reason.
type AgentStateChange struct {
	TenantID string
	UserID   string
	State    string
	Reason   string
	At       time.Time
}

// QueueLogRow is one row of the append-only queue event log.
type QueueLogRow struct {
	TenantID string
	At       time.Time
	CallID   uuid.UUID // uuid.Nil for agent-only events
	Queue    string
	Agent    string
	Event    string
	Data     map[string]string
}

// Disposition is the code an agent gave a call in wrap-up.
type Disposition struct {
	TenantID string
	CallID   uuid.UUID
	UserID   string
	Code     string
	Note     string
	At       time.Time
}

// QueueEntry records a queue entry snapshot. It never blocks.
func (w *Writer) QueueEntry(e QueueEntry) {
	w.enqueueACD(&item{kind: opQueueEntry, id: e.CallID, qentry: &e})
}

// AgentState records an agent state change. It never blocks.
func (w *Writer) AgentState(c AgentStateChange) {
	if c.At.IsZero() {
		c.At = time.Now()
	}
	w.enqueueACD(&item{kind: opAgentState, rowID: uuid.New(), astate: &c})
}

// QueueLog appends to the queue event log. It never blocks.
func (w *Writer) QueueLog(r QueueLogRow) {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	w.enqueueACD(&item{kind: opQueueLog, id: r.CallID, rowID: uuid.New(), qlog: &r})
}

// Disposition records an agent's wrap-up code. It never blocks.
func (w *Writer) Disposition(d Disposition) {
	if d.At.IsZero() {
		d.At = time.Now()
	}
	w.enqueueACD(&item{kind: opDisposition, id: d.CallID, rowID: uuid.New(), disp: &d})
}

func (w *Writer) enqueueACD(it *item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.enqueueLocked(it)
}

// acdCols gathers a batch's ACD rows column-wise, like the CDR columns.
type acdCols struct {
	entries  []*QueueEntry
	entryAt  map[uuid.UUID]int
	states   []*AgentStateChange
	logs     []*QueueLogRow
	disps    []*Disposition
	logIDs   []uuid.UUID
	stateIDs []uuid.UUID
	dispIDs  []uuid.UUID
}

func (c *acdCols) add(it *item) {
	switch it.kind {
	case opQueueEntry:
		// One INSERT ... ON CONFLICT DO UPDATE may touch a row once, so a
		// batch keeps the latest snapshot of each entry; snapshots only
		// grow, so the latest holds everything the earlier ones did. The
		// one outcome that changes, answered to transferred or requeued,
		// comes after the answer and the row's update lets it through.
		if c.entryAt == nil {
			c.entryAt = map[uuid.UUID]int{}
		}
		if i, ok := c.entryAt[it.qentry.ID]; ok {
			c.entries[i] = it.qentry
			return
		}
		c.entryAt[it.qentry.ID] = len(c.entries)
		c.entries = append(c.entries, it.qentry)
	case opAgentState:
		c.states = append(c.states, it.astate)
		c.stateIDs = append(c.stateIDs, it.rowID)
	case opQueueLog:
		c.logs = append(c.logs, it.qlog)
		c.logIDs = append(c.logIDs, it.rowID)
	case opDisposition:
		c.disps = append(c.disps, it.disp)
		c.dispIDs = append(c.dispIDs, it.rowID)
	}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// queue adds the ACD statements to b. Append-only rows carry an id made
// when they were enqueued, so a batch retried after a lost commit writes
// nothing twice.
func (c *acdCols) queue(b *pgx.Batch) error {
	if n := len(c.entries); n > 0 {
		ids, tenants, calls, queues := make([]uuid.UUID, n), make([]string, n), make([]uuid.UUID, n), make([]string, n)
		entered := make([]time.Time, n)
		offered, answered, left := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		agents, outcomes := make([]*string, n), make([]*string, n)
		waits := make([]*int64, n)
		for i, e := range c.entries {
			ids[i], tenants[i], calls[i], queues[i] = e.ID, e.TenantID, e.CallID, cleanText(e.Queue)
			entered[i] = e.EnteredAt
			offered[i], answered[i], left[i] = nullTime(e.OfferedAt), nullTime(e.AnsweredAt), nullTime(e.LeftAt)
			if e.AgentID != "" {
				a := cleanText(e.AgentID)
				agents[i] = &a
			}
			if e.Outcome != "" {
				o := e.Outcome
				outcomes[i] = &o
				ms := max(e.Wait.Milliseconds(), 0)
				waits[i] = &ms
			}
		}
		b.Queue(`INSERT INTO queue_entries AS q (id, tenant_id, call_id, queue, entered_at, offered_at,
				answered_at, agent_id, left_at, outcome, wait_ms)
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[],
				$6::timestamptz[], $7::timestamptz[], $8::text[], $9::timestamptz[], $10::text[], $11::bigint[])
			ON CONFLICT (id) DO UPDATE SET
				offered_at = coalesce(q.offered_at, EXCLUDED.offered_at),
				answered_at = coalesce(q.answered_at, EXCLUDED.answered_at),
				agent_id = coalesce(EXCLUDED.agent_id, q.agent_id),
				left_at = coalesce(q.left_at, EXCLUDED.left_at),
				outcome = CASE WHEN EXCLUDED.outcome IN ('transferred', 'requeued') THEN EXCLUDED.outcome
					ELSE coalesce(q.outcome, EXCLUDED.outcome) END,
				wait_ms = coalesce(q.wait_ms, EXCLUDED.wait_ms)`,
			ids, tenants, calls, queues, entered, offered, answered, agents, left, outcomes, waits)
	}
	if n := len(c.states); n > 0 {
		tenants, users, states, reasons, at := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
		for i, s := range c.states {
			tenants[i], users[i], states[i], reasons[i], at[i] = s.TenantID, cleanText(s.UserID), cleanText(s.State), cleanText(s.Reason), s.At
		}
		b.Queue(`INSERT INTO agent_state_changes (id, tenant_id, user_id, state, reason, at)
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
			ON CONFLICT (id) DO NOTHING`, c.stateIDs, tenants, users, states, reasons, at)
	}
	if n := len(c.logs); n > 0 {
		tenants, queues, agents, events, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at, calls := make([]time.Time, n), make([]*uuid.UUID, n)
		for i, r := range c.logs {
			d, err := jsonData(r.Data)
			if err != nil {
				return fmt.Errorf("queue log %s: %w", r.Event, err)
			}
			tenants[i], at[i], calls[i] = r.TenantID, r.At, nullUUID(r.CallID)
			queues[i], agents[i], events[i], data[i] = cleanText(r.Queue), cleanText(r.Agent), cleanText(r.Event), d
		}
		// unnest keeps array order and the insert takes rows in it, so
		// seq follows the order rows were logged in.
		b.Queue(`INSERT INTO queue_log (id, tenant_id, at, call_id, queue, agent, event, data)
			SELECT i, t, a, c, q, ag, e, d::jsonb
			FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[])
				WITH ORDINALITY AS v(i, t, a, c, q, ag, e, d, n)
			ORDER BY n
			ON CONFLICT (id) DO NOTHING`, c.logIDs, tenants, at, calls, queues, agents, events, data)
	}
	if n := len(c.disps); n > 0 {
		tenants, calls, users, codes, notes, at := make([]string, n), make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
		for i, d := range c.disps {
			tenants[i], calls[i], users[i], codes[i], notes[i], at[i] = d.TenantID, d.CallID, cleanText(d.UserID), cleanText(d.Code), cleanText(d.Note), d.At
		}
		b.Queue(`INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, note, at)
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
			ON CONFLICT (id) DO NOTHING`, c.dispIDs, tenants, calls, users, codes, notes, at)
	}
	return nil
}

func jsonData(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	clean := make(map[string]string, len(m))
	for k, v := range m {
		clean[cleanText(k)] = cleanText(v)
	}
	raw, err := json.Marshal(clean)
	return string(raw), err
}

// QueueEntries lists a call's queue entries in the order it entered them.
func (s *Store) QueueEntries(ctx context.Context, tenantID string, callID uuid.UUID) ([]QueueEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+queueEntryColumns+`
		FROM queue_entries WHERE tenant_id = $1 AND call_id = $2 ORDER BY entered_at, id`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("queue entries: %w", err)
	}
	defer rows.Close()
	var out []QueueEntry
	for rows.Next() {
		e, err := scanQueueEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("queue entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// queueEntryColumns are the columns scanQueueEntry reads.
const queueEntryColumns = `id, tenant_id, call_id, queue, entered_at, offered_at, answered_at,
	coalesce(agent_id, ''), left_at, coalesce(outcome, ''), coalesce(wait_ms, 0)`

// scanQueueEntry reads a row of queueEntryColumns.
func scanQueueEntry(rows pgx.Rows) (QueueEntry, error) {
	var e QueueEntry
	var offered, answered, left *time.Time
	var ms int64
	if err := rows.Scan(&e.ID, &e.TenantID, &e.CallID, &e.Queue, &e.EnteredAt, &offered, &answered,
		&e.AgentID, &left, &e.Outcome, &ms); err != nil {
		return QueueEntry{}, err
	}
	for _, p := range []struct{ src, dst *time.Time }{{offered, &e.OfferedAt}, {answered, &e.AnsweredAt}, {left, &e.LeftAt}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	e.Wait = time.Duration(ms) * time.Millisecond
	return e, nil
}

// QueueLog returns a tenant's queue log in order, oldest first, up to limit
// rows (0: 1000).
func (s *Store) QueueLog(ctx context.Context, tenantID string, limit int) ([]QueueLogRow, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, at, coalesce(call_id, '00000000-0000-0000-0000-000000000000'::uuid),
			queue, agent, event, data
		FROM queue_log WHERE tenant_id = $1 ORDER BY at, seq LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("queue log: %w", err)
	}
	defer rows.Close()
	var out []QueueLogRow
	for rows.Next() {
		var r QueueLogRow
		var raw []byte
		if err := rows.Scan(&r.TenantID, &r.At, &r.CallID, &r.Queue, &r.Agent, &r.Event, &raw); err != nil {
			return nil, fmt.Errorf("queue log: %w", err)
		}
		r.Data = decodeData(raw)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AgentStateChanges returns a tenant's agent state changes, oldest first.
func (s *Store) AgentStateChanges(ctx context.Context, tenantID string) ([]AgentStateChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, user_id, state, reason, at
		FROM agent_state_changes WHERE tenant_id = $1 ORDER BY at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("agent state changes: %w", err)
	}
	defer rows.Close()
	var out []AgentStateChange
	for rows.Next() {
		var c AgentStateChange
		if err := rows.Scan(&c.TenantID, &c.UserID, &c.State, &c.Reason, &c.At); err != nil {
			return nil, fmt.Errorf("agent state changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Dispositions returns the dispositions given to a call.
func (s *Store) Dispositions(ctx context.Context, tenantID string, callID uuid.UUID) ([]Disposition, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, call_id, user_id, code, note, at
		FROM dispositions WHERE tenant_id = $1 AND call_id = $2 ORDER BY at, id`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("dispositions: %w", err)
	}
	defer rows.Close()
	var out []Disposition
	for rows.Next() {
		var d Disposition
		if err := rows.Scan(&d.TenantID, &d.CallID, &d.UserID, &d.Code, &d.Note, &d.At); err != nil {
			return nil, fmt.Errorf("dispositions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
