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

// Hangup sides, the only values calls.hangup_side accepts.
const (
	HangupCaller = "caller"
	HangupSystem = "system"
	HangupAgent  = "agent"
	HangupCallee = "callee" // the far end of a call we placed
)

// CallStart is what the call path knows when an INVITE is accepted.
type CallStart struct {
	ID         uuid.UUID
	TenantID   string
	SIPCallID  string
	Direction  string // empty means "inbound"
	FromNumber string
	FromURI    string
	ToNumber   string
	SourceAddr string // ip:port the INVITE came from
	Flow       string
	Codec      string
	StartedAt  time.Time // zero means "when enqueued"
	// AgentID and Queue: the agent who placed an outbound call and the
	// queue it was placed for ("" none; migration 0008).
	AgentID string
	Queue   string
}

// CallEnd completes a CDR. Zero numeric values are stored as-is, except
// SIPCode and MOS where zero means "unknown" and is stored as NULL.
type CallEnd struct {
	ID              uuid.UUID
	AnsweredAt      *time.Time // nil keeps what CallAnswered recorded
	EndedAt         time.Time  // zero means "when enqueued"
	HangupCause     string
	HangupSide      string // HangupCaller, HangupSystem, HangupAgent or HangupCallee
	SIPCode         int
	PacketsSent     uint64
	PacketsReceived uint64
	PacketsLost     int64 // signed: RTCP reports negative loss for duplicates
	JitterMs        float64
	MaxJitterMs     float64
	MOS             float64
	// IVRPath overrides the path derived from the call's events (their
	// non-empty steps in order, repeats collapsed, joined by ">").
	IVRPath string
}

// Event is one row of a call's timeline: an IVR step, a key press, a
// prompt, a transfer.
type Event struct {
	CallID   uuid.UUID         `json:"call_id"`
	TenantID string            `json:"tenant_id"` // empty: taken from the call's CallStart
	Seq      int               `json:"seq"`       // 1, 2, ...; 0 lets the Writer number events in enqueue order
	At       time.Time         `json:"at"`        // zero means "when enqueued"
	Kind     string            `json:"kind"`
	Step     string            `json:"step,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
}

// CallRecord is a stored CDR. Pointer fields are nil until known.
type CallRecord struct {
	ID              uuid.UUID  `json:"id"`
	TenantID        string     `json:"tenant_id"`
	SIPCallID       string     `json:"sip_call_id"`
	Direction       string     `json:"direction"`
	FromNumber      string     `json:"from_number"`
	FromURI         string     `json:"from_uri"`
	ToNumber        string     `json:"to_number"`
	SourceAddr      string     `json:"source_addr"`
	Flow            string     `json:"flow"`
	Codec           string     `json:"codec"`
	StartedAt       time.Time  `json:"started_at"`
	AnsweredAt      *time.Time `json:"answered_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	HangupCause     string     `json:"hangup_cause,omitempty"`
	HangupSide      string     `json:"hangup_side,omitempty"`
	SIPCode         int        `json:"sip_code,omitempty"`
	PacketsSent     uint64     `json:"rtp_packets_sent"`
	PacketsReceived uint64     `json:"rtp_packets_received"`
	PacketsLost     int64      `json:"rtp_lost"`
	JitterMs        float64    `json:"rtp_jitter_ms"`
	MaxJitterMs     float64    `json:"rtp_max_jitter_ms"`
	MOS             float64    `json:"mos,omitempty"`
	IVRPath         string     `json:"ivr_path,omitempty"`
	// Region and Country say where the caller is from (migration 0007):
	// the tenant's region (else the ISO country) and the ISO country; ""
	// unknown.
	Region  string `json:"region"`
	Country string `json:"country"`
	// AgentID and Queue: an outbound call's agent (user id) and queue
	// (migration 0008); "" for inbound calls, whose agents are in their
	// queue entries.
	AgentID string `json:"agent_id"`
	Queue   string `json:"queue"`
	// Derived, CDR style: Duration runs from start to end, Billsec from
	// answer to end; both are zero while the call is open.
	Duration time.Duration `json:"-"`
	Billsec  time.Duration `json:"-"`
	// DurationMs and BillsecMs carry the same for JSON consumers, where a
	// time.Duration would marshal as nanoseconds.
	DurationMs int64 `json:"duration_ms"`
	BillsecMs  int64 `json:"billsec_ms"`
}

const callColumns = `id, tenant_id, sip_call_id, direction, from_number, from_uri, to_number,
	source_addr, flow, codec, started_at, answered_at, ended_at,
	coalesce(hangup_cause, ''), coalesce(hangup_side, ''), coalesce(sip_code, 0),
	coalesce(rtp_packets_sent, 0), coalesce(rtp_packets_received, 0), coalesce(rtp_lost, 0),
	coalesce(rtp_jitter_ms, 0), coalesce(rtp_max_jitter_ms, 0), coalesce(mos, 0),
	coalesce(ivr_path, ''), region, country, agent_id, queue`

func scanCall(row pgx.Row) (*CallRecord, error) {
	var c CallRecord
	var sent, received int64
	if err := row.Scan(&c.ID, &c.TenantID, &c.SIPCallID, &c.Direction, &c.FromNumber, &c.FromURI,
		&c.ToNumber, &c.SourceAddr, &c.Flow, &c.Codec, &c.StartedAt, &c.AnsweredAt, &c.EndedAt,
		&c.HangupCause, &c.HangupSide, &c.SIPCode, &sent, &received, &c.PacketsLost,
		&c.JitterMs, &c.MaxJitterMs, &c.MOS, &c.IVRPath, &c.Region, &c.Country, &c.AgentID, &c.Queue); err != nil {
		return nil, err
	}
	c.PacketsSent, c.PacketsReceived = uint64(max(sent, 0)), uint64(max(received, 0))
	if c.EndedAt != nil {
		c.Duration = max(c.EndedAt.Sub(c.StartedAt), 0)
		if c.AnsweredAt != nil {
			c.Billsec = max(c.EndedAt.Sub(*c.AnsweredAt), 0)
		}
	}
	c.DurationMs, c.BillsecMs = c.Duration.Milliseconds(), c.Billsec.Milliseconds()
	return &c, nil
}

// GetCall returns one call of a tenant; a call of another tenant is
// ErrNotFound.
func (s *Store) GetCall(ctx context.Context, tenantID string, id uuid.UUID) (*CallRecord, error) {
	c, err := scanCall(s.pool.QueryRow(ctx,
		"SELECT "+callColumns+" FROM calls WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: get call %s of tenant %q: %w", id, tenantID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get call %s of tenant %q: %w", id, tenantID, err)
	}
	return c, nil
}

// collectCalls reads every row of a query over callColumns.
func collectCalls(rows pgx.Rows) ([]CallRecord, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CallRecord, error) {
		c, err := scanCall(r)
		if err != nil {
			return CallRecord{}, err
		}
		return *c, nil
	})
}

// ListCalls returns a tenant's most recent calls, newest first. limit <= 0
// means 100; it is capped at 1000 so an API client cannot load the whole CDR.
func (s *Store) ListCalls(ctx context.Context, tenantID string, limit int) ([]CallRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := s.pool.Query(ctx, "SELECT "+callColumns+
		" FROM calls WHERE tenant_id = $1 ORDER BY started_at DESC, id LIMIT $2", tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list calls of tenant %q: %w", tenantID, err)
	}
	calls, err := collectCalls(rows)
	if err != nil {
		return nil, fmt.Errorf("store: list calls of tenant %q: %w", tenantID, err)
	}
	return calls, nil
}

// FindCallBySIPCallID finds a call across tenants, for the SIP layer, which
// knows only the Call-ID of a dialog. If a Call-ID was reused, the most
// recent call wins.
func (s *Store) FindCallBySIPCallID(ctx context.Context, sipCallID string) (*CallRecord, error) {
	c, err := scanCall(s.pool.QueryRow(ctx, "SELECT "+callColumns+
		" FROM calls WHERE sip_call_id = $1 ORDER BY started_at DESC LIMIT 1", sipCallID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: find call with SIP Call-ID %q: %w", sipCallID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: find call with SIP Call-ID %q: %w", sipCallID, err)
	}
	return c, nil
}

// CallEvents returns a call's timeline in order. A call that does not exist
// for the tenant is ErrNotFound; a call without events is an empty slice.
func (s *Store) CallEvents(ctx context.Context, tenantID string, callID uuid.UUID) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT call_id, tenant_id, seq, at, kind, step, data
		FROM call_events WHERE tenant_id = $1 AND call_id = $2 ORDER BY seq`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("store: events of call %s: %w", callID, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		var data []byte
		if err := r.Scan(&e.CallID, &e.TenantID, &e.Seq, &e.At, &e.Kind, &e.Step, &data); err != nil {
			return e, err
		}
		e.Data = decodeData(data)
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: events of call %s: %w", callID, err)
	}
	if len(events) == 0 {
		var exists bool
		if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM calls WHERE tenant_id = $1 AND id = $2)",
			tenantID, callID).Scan(&exists); err != nil {
			return nil, fmt.Errorf("store: events of call %s: %w", callID, err)
		}
		if !exists {
			return nil, fmt.Errorf("store: events of call %s of tenant %q: %w", callID, tenantID, ErrNotFound)
		}
		return []Event{}, nil
	}
	return events, nil
}

// decodeData tolerates non-string JSON values (rows written by hand or by
// a later version) by rendering them as JSON text instead of failing the
// whole timeline.
func decodeData(raw []byte) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var flat map[string]string
	if err := json.Unmarshal(raw, &flat); err == nil {
		if len(flat) == 0 {
			return nil
		}
		return flat
	}
	var loose map[string]json.RawMessage
	if err := json.Unmarshal(raw, &loose); err != nil {
		return map[string]string{"": string(raw)}
	}
	flat = make(map[string]string, len(loose))
	for k, v := range loose {
		flat[k] = string(v)
	}
	return flat
}

// CloseOpenCalls ends every call that has no end time, for use at startup:
// such calls were left open by a crash, since no call survives a restart.
// It returns how many calls it closed. Run it before the SIP listener
// accepts calls, or it will close calls that are genuinely in progress.
func (s *Store) CloseOpenCalls(ctx context.Context, cause string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE calls
		SET ended_at = greatest(now(), started_at), hangup_cause = $1, hangup_side = 'system', updated_at = now()
		WHERE ended_at IS NULL`, cleanText(cause))
	if err != nil {
		return 0, fmt.Errorf("store: close open calls: %w", err)
	}
	return tag.RowsAffected(), nil
}
