package store

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Satisfaction surveys (docs/surveys.md). An answer reaches the database
// as a call event (EventSurveyAnswer, written by the IVR); the writer
// copies it into survey_answers in the same batch, so the timeline and the
// table never disagree and the caller never waits on the database.

// EventSurveyAnswer is the timeline event of one answered survey question
// (ivr.EventSurveyAnswer): data survey, question, kind (score, yesno),
// score (1-5) or yes (true, false), method (dtmf, speech), agent, queue.
const EventSurveyAnswer = "survey_answer"

// surveyCols are the survey answers of a batch.
type surveyCols struct {
	ids, callIDs                                                []uuid.UUID
	tenants, surveys, questions, kinds, methods, agents, queues []string
	scores                                                      []*int32
	yes                                                         []*bool
	at                                                          []time.Time
}

// add takes an answer event; one that the table's checks would refuse is
// left on the timeline only, so it cannot fail the whole batch.
func (c *surveyCols) add(e *Event) {
	d := e.Data
	survey, question, kind, method := cleanText(d["survey"]), cleanText(d["question"]), d["kind"], d["method"]
	if survey == "" || question == "" || (method != "dtmf" && method != "speech") {
		return
	}
	var score *int32
	var yes *bool
	switch kind {
	case "score":
		n, err := strconv.Atoi(d["score"])
		if err != nil || n < 1 || n > 5 {
			return
		}
		v := int32(n)
		score = &v
	case "yesno":
		b, err := strconv.ParseBool(d["yes"])
		if err != nil {
			return
		}
		yes = &b
	default:
		return
	}
	// The id is derived, so a retried batch inserts nothing twice.
	c.ids = append(c.ids, uuid.NewSHA1(e.CallID, []byte(survey+"\x00"+question)))
	c.callIDs = append(c.callIDs, e.CallID)
	c.tenants = append(c.tenants, e.TenantID)
	c.surveys = append(c.surveys, survey)
	c.questions = append(c.questions, question)
	c.kinds = append(c.kinds, kind)
	c.methods = append(c.methods, method)
	c.agents = append(c.agents, cleanText(d["agent"]))
	c.queues = append(c.queues, cleanText(d["queue"]))
	c.scores = append(c.scores, score)
	c.yes = append(c.yes, yes)
	c.at = append(c.at, e.At)
}

func (c *surveyCols) queue(b *pgx.Batch) {
	if len(c.ids) == 0 {
		return
	}
	b.Queue(`INSERT INTO survey_answers (id, tenant_id, call_id, survey, question, kind, score, yes, method, agent_id, queue, at)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[],
			$8::boolean[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
		ON CONFLICT DO NOTHING`,
		c.ids, c.tenants, c.callIDs, c.surveys, c.questions, c.kinds, c.scores, c.yes, c.methods, c.agents, c.queues, c.at)
}

// SurveyAnswer is one stored answer.
type SurveyAnswer struct {
	CallID   uuid.UUID `json:"call_id"`
	Survey   string    `json:"survey"`
	Question string    `json:"question"`
	Kind     string    `json:"kind"`
	Score    *int      `json:"score"`
	Yes      *bool     `json:"yes"`
	Method   string    `json:"method"`
	AgentID  string    `json:"agent_id"`
	Queue    string    `json:"queue"`
	At       time.Time `json:"at"`
}

// CallSurveyAnswers returns a call's answers in the order given.
func (s *Store) CallSurveyAnswers(ctx context.Context, tenantID string, callID uuid.UUID) ([]SurveyAnswer, error) {
	rows, err := s.pool.Query(ctx, `SELECT call_id, survey, question, kind, score, yes, method, agent_id, queue, at
		FROM survey_answers WHERE tenant_id = $1 AND call_id = $2 ORDER BY at, question`, tenantID, callID)
	if err != nil {
		return nil, fmt.Errorf("survey answers of call %s: %w", callID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SurveyAnswer, error) {
		var a SurveyAnswer
		err := r.Scan(&a.CallID, &a.Survey, &a.Question, &a.Kind, &a.Score, &a.Yes, &a.Method, &a.AgentID, &a.Queue, &a.At)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("survey answers of call %s: %w", callID, err)
	}
	return out, nil
}

// CSATGroup is what a CSAT report has a row per.
type CSATGroup string

const (
	CSATByAgent CSATGroup = "agent"
	CSATByQueue CSATGroup = "queue"
	CSATByDay   CSATGroup = "day" // the tenant's calendar day
)

// CSATFigures are the satisfaction figures of a set of answers. CSAT is
// the share of score answers that are 4 or 5; ratios are 0..1 and nil when
// there is nothing to divide by.
type CSATFigures struct {
	Calls     int      `json:"calls"`     // surveyed calls with an answer
	Scores    int      `json:"scores"`    // score answers
	Satisfied int      `json:"satisfied"` // of which 4 or 5
	CSAT      *float64 `json:"csat"`
	AvgScore  *float64 `json:"avg_score"` // rounded to 2 decimals
	YesNo     int      `json:"yesno"`     // yes/no answers
	Yes       int      `json:"yes"`
	YesShare  *float64 `json:"yes_share"`
}

// CSATRow is one agent, queue or day.
type CSATRow struct {
	// Key is the agent's user id, the queue's name or the day
	// (YYYY-MM-DD); Label is what a person reads: the agent's username
	// (the id when the user is gone), else Key.
	Key   string `json:"key"`
	Label string `json:"label"`
	CSATFigures
}

// CSATQuestion is one survey question's figures over the range.
type CSATQuestion struct {
	Survey   string `json:"survey"`
	Question string `json:"question"`
	Kind     string `json:"kind"`
	CSATFigures
}

// CSATReport is satisfaction over [From, To).
type CSATReport struct {
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	Group     CSATGroup      `json:"group"`
	Rows      []CSATRow      `json:"rows"`
	Total     CSATFigures    `json:"total"`
	Questions []CSATQuestion `json:"questions"`
}

// csatColumns computes CSATFigures' counts from survey_answers a.
const csatColumns = `count(DISTINCT a.call_id),
	count(*) FILTER (WHERE a.kind = 'score'),
	count(*) FILTER (WHERE a.kind = 'score' AND a.score >= 4),
	coalesce(sum(a.score) FILTER (WHERE a.kind = 'score'), 0),
	count(*) FILTER (WHERE a.kind = 'yesno'),
	count(*) FILTER (WHERE a.kind = 'yesno' AND a.yes)`

// CSAT reports a tenant's survey answers in [from, to) per agent, queue
// or day of the tenant's zone loc.
func (s *Store) CSAT(ctx context.Context, tenantID string, from, to time.Time, group CSATGroup, loc *time.Location) (*CSATReport, error) {
	if loc == nil {
		loc = time.UTC
	}
	var key string
	switch group {
	case CSATByAgent:
		key = `a.agent_id, coalesce(max(u.username), a.agent_id)`
	case CSATByQueue:
		key = `a.queue, a.queue`
	case CSATByDay:
		key = `to_char(a.at AT TIME ZONE $4, 'YYYY-MM-DD') AS day, to_char(a.at AT TIME ZONE $4, 'YYYY-MM-DD')`
	default:
		return nil, fmt.Errorf("csat: unknown grouping %q", group)
	}
	args := []any{tenantID, from, to}
	if group == CSATByDay {
		args = append(args, loc.String())
	}
	rep := &CSATReport{From: from, To: to, Group: group, Rows: []CSATRow{}, Questions: []CSATQuestion{}}
	// Users are joined on text: agent_id is the ACD's agent id, a user id
	// for agents at a desk but free text in the schema.
	rows, err := s.pool.Query(ctx, `SELECT `+key+`, `+csatColumns+`
		FROM survey_answers a
		LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id::text = a.agent_id
		WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3
		GROUP BY 1 ORDER BY 2, 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("csat report: %w", err)
	}
	rep.Rows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CSATRow, error) {
		var row CSATRow
		var c csatCounts
		err := r.Scan(append([]any{&row.Key, &row.Label}, c.dest()...)...)
		row.CSATFigures = c.figures()
		return row, err
	})
	if err != nil {
		return nil, fmt.Errorf("csat report: %w", err)
	}
	var total csatCounts
	err = s.pool.QueryRow(ctx, `SELECT `+csatColumns+` FROM survey_answers a
		WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3`, tenantID, from, to).Scan(total.dest()...)
	if err != nil {
		return nil, fmt.Errorf("csat report total: %w", err)
	}
	rep.Total = total.figures()
	rows, err = s.pool.Query(ctx, `SELECT a.survey, a.question, min(a.kind), `+csatColumns+`
		FROM survey_answers a
		WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3
		GROUP BY 1, 2 ORDER BY 1, 2`, tenantID, from, to)
	if err != nil {
		return nil, fmt.Errorf("csat report questions: %w", err)
	}
	rep.Questions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CSATQuestion, error) {
		var q CSATQuestion
		var c csatCounts
		err := r.Scan(append([]any{&q.Survey, &q.Question, &q.Kind}, c.dest()...)...)
		q.CSATFigures = c.figures()
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("csat report questions: %w", err)
	}
	return rep, nil
}

type csatCounts struct {
	calls, scores, satisfied, scoreSum, yesno, yes int64
}

func (c *csatCounts) dest() []any {
	return []any{&c.calls, &c.scores, &c.satisfied, &c.scoreSum, &c.yesno, &c.yes}
}

func (c csatCounts) figures() CSATFigures {
	f := CSATFigures{
		Calls: int(c.calls), Scores: int(c.scores), Satisfied: int(c.satisfied),
		YesNo: int(c.yesno), Yes: int(c.yes),
	}
	if c.scores > 0 {
		f.CSAT = ratio(int(c.satisfied), int(c.scores))
		avg := math.Round(float64(c.scoreSum)/float64(c.scores)*100) / 100
		f.AvgScore = &avg
	}
	if c.yesno > 0 {
		f.YesShare = ratio(int(c.yes), int(c.yesno))
	}
	return f
}
