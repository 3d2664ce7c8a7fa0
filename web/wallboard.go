package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"hotline/acd"
	"hotline/auth"
	"hotline/desk"
	"hotline/queue"
)

const (
	// boardPoll: how often a wallboard socket looks for a change. A
	// snapshot is one pass of the tenant's ACD owner (microseconds), so
	// polling keeps the ACD free of subscriber bookkeeping and still pushes
	// a change within a quarter second.
	boardPoll = 250 * time.Millisecond
	// boardKeepalive: an unchanged board is re-sent this often, so a
	// client can tell a quiet floor from a dead socket.
	boardKeepalive = 10 * time.Second
	// boardNames: how long the usernames of a tenant's agents are cached
	// by one socket before they are read again.
	boardNames = 30 * time.Second
)

// boardQueue is one queue's line on the wallboard.
type boardQueue struct {
	Name          string `json:"name"`
	Waiting       int    `json:"waiting"`
	Ringing       int    `json:"ringing"`
	LongestWaitMs int64  `json:"longest_wait_ms"`
	Answered      int    `json:"answered"`
	AnsweredInSL  int    `json:"answered_in_sl"`
	Abandoned     int    `json:"abandoned"`
	ShortAbandons int    `json:"short_abandoned"`
	Missed        int    `json:"missed"`
	Overflowed    int    `json:"overflowed"`
	// SL is the service level by the queue's formula (SLFormula, with
	// its threshold); SLDefault is answered within the threshold /
	// (answered + abandoned - short abandons), SLAnswered and
	// SLWithAbandoned Asterisk's SL and SL2. nil until a call counts.
	SL              *float64       `json:"sl"`
	SLFormula       string         `json:"sl_formula"`
	SLThresholdMs   int64          `json:"sl_threshold_ms"`
	SLDefault       *float64       `json:"sl_default"`
	SLAnswered      *float64       `json:"sl_answered"`
	SLWithAbandoned *float64       `json:"sl_answered_abandoned"`
	ASAMs           int64          `json:"asa_ms"`
	AHTMs           int64          `json:"aht_ms"`
	EWTMs           int64          `json:"ewt_ms"` // -1: unknown
	Agents          map[string]int `json:"agents"`
}

// boardAgent is one agent's line.
type boardAgent struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"`
	Call        string    `json:"call,omitempty"`
	Consult     string    `json:"consult,omitempty"`
	Caller      string    `json:"caller,omitempty"`
	Queue       string    `json:"queue,omitempty"`
	CallsToday  int       `json:"calls_today"`
}

type boardView struct {
	Queues []boardQueue `json:"queues"`
	Agents []boardAgent `json:"agents"`
}

func slName(v acd.SLVariant) string {
	switch v {
	case acd.SLAnswered:
		return "answered"
	case acd.SLAnsweredAndAbandoned:
		return "answered_abandoned"
	}
	return "default"
}

func slPtr(s acd.QueueStats, v acd.SLVariant) *float64 {
	if x, ok := s.ServiceLevel(v); ok {
		return &x
	}
	return nil
}

// names maps a tenant's user ids to usernames, read at most every
// boardNames.
type names struct {
	s      *Server
	tenant string
	at     time.Time
	byID   map[string][2]string // id -> username, display name
}

func (n *names) get(ctx context.Context) map[string][2]string {
	if n.byID != nil && time.Since(n.at) < boardNames {
		return n.byID
	}
	users, err := n.s.Auth.ListUsers(ctx, n.tenant)
	if err != nil {
		return n.byID // keep the last good list through a database blip
	}
	m := make(map[string][2]string, len(users))
	for _, u := range users {
		m[u.ID.String()] = [2]string{u.Username, u.DisplayName}
	}
	n.byID, n.at = m, time.Now()
	return m
}

func (s *Server) boardView(ctx context.Context, rt *queue.Runtime, nm *names) (boardView, error) {
	b, err := rt.Board(ctx)
	if err != nil {
		return boardView{}, err
	}
	v := boardView{Queues: make([]boardQueue, 0, len(b.Queues)), Agents: make([]boardAgent, 0, len(b.Agents))}
	for _, q := range b.Queues {
		ewt := q.EWT.Milliseconds()
		if q.EWT < 0 {
			ewt = -1
		}
		v.Queues = append(v.Queues, boardQueue{
			Name: q.Queue, Waiting: q.Waiting, Ringing: q.Ringing, LongestWaitMs: q.LongestWait.Milliseconds(),
			Answered: q.Answered, AnsweredInSL: q.AnsweredInSL, Abandoned: q.Abandoned, ShortAbandons: q.ShortAbandoned,
			Missed: q.Missed, Overflowed: q.Overflowed,
			SL: slPtr(q, q.SLFormula), SLFormula: slName(q.SLFormula), SLThresholdMs: q.ServiceLevelThreshold.Milliseconds(),
			SLDefault: slPtr(q, acd.SLDefault), SLAnswered: slPtr(q, acd.SLAnswered), SLWithAbandoned: slPtr(q, acd.SLAnsweredAndAbandoned),
			ASAMs: q.ASA.Milliseconds(), AHTMs: q.AHT.Milliseconds(), EWTMs: ewt,
			Agents: map[string]int{
				"offline": q.Agents.Offline, "available": q.Agents.Available, "ringing": q.Agents.Ringing,
				"on_call": q.Agents.OnCall, "wrap_up": q.Agents.WrapUp, "break": q.Agents.Break, "missed": q.Agents.Missed,
			},
		})
	}
	who := nm.get(ctx)
	for _, a := range b.Agents {
		if a.State == acd.StateOffline {
			continue // the floor, not the staff list
		}
		id := string(a.Agent)
		n := who[id]
		v.Agents = append(v.Agents, boardAgent{
			ID: id, Username: n[0], DisplayName: n[1], State: a.State.String(), Reason: a.Reason,
			Since: a.Since.UTC(), Call: string(a.Call), Consult: string(a.Consult), Caller: a.Caller,
			Queue: a.Queue, CallsToday: a.CallsToday,
		})
	}
	return v, nil
}

// wallboard is GET /api/v1/wallboard: the live picture once.
func (s *Server) wallboard(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	rt := s.tenantACD(p.TenantID)
	if rt == nil {
		writeJSON(w, http.StatusOK, map[string]any{"queues": []boardQueue{}, "agents": []boardAgent{}})
		return
	}
	v, err := s.boardView(r.Context(), rt, &names{s: s, tenant: p.TenantID})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) tenantACD(tenant string) *queue.Runtime {
	if s.ACD == nil {
		return nil
	}
	return s.ACD.ACD(tenant)
}

// wallboardWS is GET /api/v1/wallboard/ws: a "board" message at once and
// again within boardPoll of any change (docs/agent-protocol.md).
func (s *Server) wallboardWS(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	p := sess.Principal
	rt := s.tenantACD(p.TenantID)
	if rt == nil {
		writeError(w, http.StatusConflict, "your tenant has no queues")
		return
	}
	k := s.openSocket(w, r, sess, auth.RoleSupervisor, "the wallboard")
	if k == nil {
		return
	}
	defer k.close()
	ctx, out := k.ctx, k.out
	k.run(func() {
		// Monitoring requests; reading also notices the close.
		sup := desk.Identity{ID: queue.AgentID(p.UserID), Username: p.Username, DisplayName: sess.DisplayName, Tenant: p.TenantID}
		var mon *desk.Monitor
		defer func() {
			if mon != nil {
				mon.Stop("supervisor-left")
			}
		}()
		k.readText(func(data []byte) {
			if err := s.boardRequest(&mon, sup, data, out); err != nil {
				out.Send(desk.Msg{"type": "error", "message": err.Error()})
			}
		})
	})

	nm := &names{s: s, tenant: p.TenantID}
	tick := time.NewTicker(boardPoll)
	defer tick.Stop()
	var last []byte
	var sent time.Time
	for {
		v, err := s.boardView(ctx, rt, nm)
		if err != nil {
			if ctx.Err() == nil {
				out.Close("the ACD stopped")
			}
			return
		}
		b, _ := json.Marshal(v)
		if string(b) != string(last) || time.Since(sent) >= boardKeepalive {
			if !out.Send(desk.Msg{"type": "board", "at": time.Now().UTC(), "queues": v.Queues, "agents": v.Agents}) {
				return
			}
			last, sent = b, time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-out.gone:
			return
		case <-tick.C:
		}
	}
}

// boardRequest carries out one supervisor message on the wallboard socket:
// monitoring a call (listen, whisper, barge) with a WebRTC leg of their own.
func (s *Server) boardRequest(mon **desk.Monitor, sup desk.Identity, data []byte, out *outbox) error {
	var m struct {
		Type      string          `json:"type"`
		Call      string          `json:"call"`
		Mode      string          `json:"mode"`
		SDP       string          `json:"sdp"`
		Candidate json.RawMessage `json:"candidate"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("malformed message: %v", err)
	}
	cur := *mon
	if cur != nil {
		select {
		case <-cur.Done():
			cur, *mon = nil, nil
		default:
		}
	}
	switch m.Type {
	case "monitor":
		if s.Desk == nil {
			return errors.New("monitor: the agent desk is not configured on this server")
		}
		if cur != nil {
			return fmt.Errorf("monitor: already monitoring call %s; send monitor_stop first", cur.CallID())
		}
		if m.Call == "" {
			return errors.New("monitor: missing field call")
		}
		nm, err := s.Desk.Monitor(sup.Tenant, m.Call, sup, m.Mode, out)
		if err != nil {
			return err
		}
		*mon = nm
		return nil
	case "webrtc_answer", "ice", "monitor_mode", "monitor_stop":
		if cur == nil {
			return fmt.Errorf("%s: not monitoring a call", m.Type)
		}
		switch m.Type {
		case "webrtc_answer":
			if m.SDP == "" {
				return errors.New("webrtc_answer: missing field sdp")
			}
			return cur.Answer(m.SDP)
		case "ice":
			if len(m.Candidate) == 0 || string(m.Candidate) == "null" {
				return nil
			}
			return cur.AddCandidate(m.Candidate)
		case "monitor_mode":
			return cur.SetMode(m.Mode)
		}
		cur.Stop("stopped")
		*mon = nil
		return nil
	case "":
		return errors.New("message without a type")
	}
	return fmt.Errorf("unknown message type %q", m.Type)
}

func openAPIWallboard() map[string]any {
	num := apiType("integer")
	frac := map[string]any{"type": []string{"number", "null"}, "description": "0-1; null until a call counts"}
	q := objectOf(map[string]any{
		"name": apiType("string"), "waiting": num, "ringing": num, "longest_wait_ms": num,
		"answered": num, "answered_in_sl": num, "abandoned": num, "short_abandoned": num, "missed": num, "overflowed": num,
		"sl": frac, "sl_formula": map[string]any{"type": "string", "enum": []string{"default", "answered", "answered_abandoned"}},
		"sl_threshold_ms": num, "sl_default": frac, "sl_answered": frac, "sl_answered_abandoned": frac,
		"asa_ms": num, "aht_ms": num, "ewt_ms": map[string]any{"type": "integer", "description": "-1 unknown"},
		"agents": map[string]any{"type": "object", "additionalProperties": num, "description": "agents serving the queue, by state"},
	})
	a := objectOf(map[string]any{
		"id": apiType("string"), "username": apiType("string"), "display_name": apiType("string"),
		"state": apiType("string"), "reason": apiType("string"), "since": map[string]any{"type": "string", "format": "date-time"},
		"call": apiType("string"), "consult": apiType("string"), "caller": apiType("string"), "queue": apiType("string"), "calls_today": num,
	})
	return map[string]any{"get": secured(map[string]any{
		"summary": "Supervisors: every queue's live figures (service level, ASA, AHT; counters since local midnight) and every logged-in agent. " +
			"GET /api/v1/wallboard/ws streams the same as {\"type\":\"board\",\"at\",\"queues\",\"agents\"} messages within 250 ms of a change.",
		"responses": map[string]any{"200": okJSON("the board", objectOf(map[string]any{
			"queues": map[string]any{"type": "array", "items": q}, "agents": map[string]any{"type": "array", "items": a},
		}))},
	})}
}
