package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
)

// Ask outcomes (ask_outcomes.outcome), written by the IVR's ask step.
const (
	AskAnswered   = "answered"
	AskQueued     = "queued"
	AskAgentAsked = "agent_asked"
	AskNoMatch    = "no_match"
	AskHangup     = "hangup"
)

// AskOutcome is how one ask step of a call ended.
type AskOutcome struct {
	TenantID   string
	CallID     uuid.UUID
	Step       string
	Question   string
	Intent     string
	Confidence float64
	Outcome    string
	Answer     string // "audio", "text" or ""
	At         time.Time
}

// AddAskOutcome stores an ask step's outcome. A question longer than the
// column allows is cut, not refused: the outcome matters more than the
// words' tail.
func (s *Store) AddAskOutcome(ctx context.Context, o AskOutcome) error {
	switch o.Outcome {
	case AskAnswered, AskQueued, AskAgentAsked, AskNoMatch, AskHangup:
	default:
		return fmt.Errorf("store: ask outcome %q is not one of answered, queued, agent_asked, no_match, hangup", o.Outcome)
	}
	switch o.Answer {
	case "", AnswerAudio, AnswerText:
	default:
		return fmt.Errorf("store: ask answer kind %q is not audio or text", o.Answer)
	}
	if r := []rune(o.Question); len(r) > maxQuestion {
		o.Question = string(r[:maxQuestion])
	}
	if o.At.IsZero() {
		o.At = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO ask_outcomes (tenant_id, call_id, step, question, intent, confidence, outcome, answer, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o.TenantID, o.CallID, o.Step, o.Question, o.Intent, o.Confidence, o.Outcome, o.Answer, o.At)
	if err != nil {
		return fmt.Errorf("store: add ask outcome of call %s: %w", o.CallID, err)
	}
	return nil
}

// AskOutcomes lists a call's ask outcomes in order.
func (s *Store) AskOutcomes(ctx context.Context, tenantID string, callID uuid.UUID) ([]AskOutcome, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, call_id, step, question, intent, confidence, outcome, answer, at
		FROM ask_outcomes WHERE tenant_id = $1 AND call_id = $2 ORDER BY id`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("store: ask outcomes of call %s: %w", callID, err)
	}
	defer rows.Close()
	var out []AskOutcome
	for rows.Next() {
		var o AskOutcome
		var conf float32
		if err := rows.Scan(&o.TenantID, &o.CallID, &o.Step, &o.Question, &o.Intent, &conf, &o.Outcome, &o.Answer, &o.At); err != nil {
			return nil, fmt.Errorf("store: ask outcomes of call %s: %w", callID, err)
		}
		o.Confidence = float64(conf)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ask outcomes of call %s: %w", callID, err)
	}
	return out, nil
}

// AskReport is the robot's containment over a period: of the calls that
// had an ask step, those whose every ask was answered and that never
// reached an agent; and how each intent fared.
type AskReport struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Calls       int       `json:"calls"`     // calls with an ask outcome in the period
	Contained   int       `json:"contained"` // answered without an agent
	Containment float64   `json:"containment"`
	// Intents, most asked first; questions that matched no intent are
	// under intent "".
	Intents []AskIntent `json:"intents"`
}

// AskIntent is one intent's figures. Asked counts questions (a call may
// ask twice); Queued counts those the robot handed to an agent (low
// confidence, no answer, the caller asking for an agent, two misses);
// Succeeded those answered in calls that never reached an agent.
type AskIntent struct {
	Intent      string  `json:"intent"`
	Asked       int     `json:"asked"`
	Answered    int     `json:"answered"`
	Queued      int     `json:"queued"`
	Hangups     int     `json:"hangups"`
	Succeeded   int     `json:"succeeded"`
	SuccessRate float64 `json:"success_rate"` // Succeeded / Asked
}

// AskReport computes the report for the outcomes written in [from, to).
// A call reached an agent when one of its queue entries was answered,
// whenever that was.
func (s *Store) AskReport(ctx context.Context, tenantID string, from, to time.Time) (*AskReport, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		WITH o AS (
			SELECT call_id, intent, outcome FROM ask_outcomes
			WHERE tenant_id = $1 AND at >= $2 AND at < $3
		), agent AS (
			SELECT DISTINCT q.call_id FROM queue_entries q
			WHERE q.tenant_id = $1 AND q.answered_at IS NOT NULL AND q.call_id IN (SELECT call_id FROM o)
		)
		SELECT o.call_id, o.intent, o.outcome, a.call_id IS NOT NULL
		FROM o LEFT JOIN agent a ON a.call_id = o.call_id`, tenantID, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: ask report: %w", err)
	}
	defer rows.Close()
	type callFigures struct{ allAnswered, agent bool }
	calls := map[uuid.UUID]*callFigures{}
	intents := map[string]*AskIntent{}
	type answered struct {
		call   uuid.UUID
		intent string
	}
	var answers []answered
	for rows.Next() {
		var call uuid.UUID
		var intent, outcome string
		var agent bool
		if err := rows.Scan(&call, &intent, &outcome, &agent); err != nil {
			return nil, fmt.Errorf("store: ask report: %w", err)
		}
		c := calls[call]
		if c == nil {
			c = &callFigures{allAnswered: true, agent: agent}
			calls[call] = c
		}
		in := intents[intent]
		if in == nil {
			in = &AskIntent{Intent: intent}
			intents[intent] = in
		}
		in.Asked++
		switch outcome {
		case AskAnswered:
			in.Answered++
			answers = append(answers, answered{call, intent})
		case AskHangup:
			in.Hangups++
			c.allAnswered = false
		default:
			in.Queued++
			c.allAnswered = false
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ask report: %w", err)
	}
	rep := &AskReport{From: from, To: to, Calls: len(calls), Intents: []AskIntent{}}
	for _, c := range calls {
		if c.allAnswered && !c.agent {
			rep.Contained++
		}
	}
	for _, a := range answers {
		if !calls[a.call].agent {
			intents[a.intent].Succeeded++
		}
	}
	if rep.Calls > 0 {
		rep.Containment = float64(rep.Contained) / float64(rep.Calls)
	}
	for _, in := range intents {
		in.SuccessRate = float64(in.Succeeded) / float64(in.Asked)
		rep.Intents = append(rep.Intents, *in)
	}
	sort.Slice(rep.Intents, func(i, j int) bool {
		a, b := rep.Intents[i], rep.Intents[j]
		if a.Asked != b.Asked {
			return a.Asked > b.Asked
		}
		return a.Intent < b.Intent
	})
	return rep, nil
}
