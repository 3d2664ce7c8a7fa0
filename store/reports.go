package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Supervisor reports. The definitions (docs/architecture.md, "Reports"):
//
//   - A stint (a queue_entries row) belongs to the range and to the
//     15-minute interval its entered_at falls in.
//   - Offered: stints that entered the queue, i.e. every stint but those the
//     queue refused at the door (outcome rejected, counted apart).
//   - Answered: stints with an answer time, whatever became of them after
//     (a transferred or requeued stint was answered first).
//   - Abandoned: outcome abandoned; short abandons left sooner than the
//     queue's short-abandon threshold. Abandon rate = abandoned / offered.
//   - Service level = answered within T / (answered + abandoned − short
//     abandons), "within" meaning wait ≤ T as in the ACD's live figures.
//   - ASA: mean of entered → answered over answered stints.
//   - AHT: mean of talk + wrap-up over handled stints, talk being the
//     answering agent's on_call state for the call (hold included: the
//     ACD has no hold state) and wrap-up the wrap_up state that directly
//     follows it. A stint is handled once both have ended.
//   - Occupancy: (ringing + on_call + wrap_up) / (that + available), from
//     the agent's state changes clipped to the range.
//
// Sums are kept as exact durations and rounded to milliseconds only when
// an average is taken.

// ReportThresholds are the per-queue service-level settings a report
// applies. The ACD's configuration owns them; the caller passes them in
// so a report can also be re-run with other values.
type ReportThresholds struct {
	ServiceLevel time.Duration // answered within it (wait ≤ T) counts toward the service level
	ShortAbandon time.Duration // abandoned sooner (wait < S) is a short abandon
}

// QueueFigures are one interval's (or the range's) figures. Counts and
// sums are exact; the derived ratios and averages are nil when their
// denominator is zero, so "no calls" never reads as 0 % or 0 ms.
type QueueFigures struct {
	Offered        int `json:"offered"`
	Answered       int `json:"answered"`
	AnsweredInSL   int `json:"answered_in_sl"`
	Abandoned      int `json:"abandoned"`
	ShortAbandoned int `json:"short_abandoned"`
	// Transferred counts answered stints that went back in line (a blind
	// transfer or a lost agent), already counted in Answered.
	Transferred int `json:"transferred"`
	Overflowed  int `json:"overflowed"`
	Exited      int `json:"exited"`
	Rejected    int `json:"rejected"` // refused at the door; not offered
	Waiting     int `json:"waiting"`  // still in the queue (no outcome yet)
	Handled     int `json:"handled"`  // answered stints whose talk and wrap-up have ended
	// Outbound counts calls agents placed for the queue (outbound_reports.go);
	// they are in none of the inbound figures.
	Outbound int `json:"outbound"`

	AbandonRate  *float64 `json:"abandon_rate"`  // abandoned / offered, 0..1
	ServiceLevel *float64 `json:"service_level"` // 0..1
	ASAMs        *int64   `json:"asa_ms"`
	AHTMs        *int64   `json:"aht_ms"`
	TalkMs       int64    `json:"talk_ms"`    // summed over handled stints
	WrapUpMs     int64    `json:"wrap_up_ms"` // summed over handled stints

	answerWait, talk, wrapUp time.Duration
}

// QueueInterval is one 15-minute row of a queue report.
type QueueInterval struct {
	Start time.Time `json:"start"` // in the tenant's time zone
	End   time.Time `json:"end"`
	QueueFigures
}

// QueueReport is a queue's figures over a range and by 15-minute interval.
type QueueReport struct {
	Queue    string    `json:"queue"` // "" means every queue of the tenant
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`
	// The thresholds applied, in milliseconds.
	ServiceLevelThresholdMs int64           `json:"service_level_threshold_ms"`
	ShortAbandonMs          int64           `json:"short_abandon_ms"`
	Totals                  QueueFigures    `json:"totals"`
	Intervals               []QueueInterval `json:"intervals"`
	// Region is the caller region the report is limited to ("" every
	// caller); GroupBy is "region" when Groups holds the figures per
	// caller region (ReportGrouping).
	Region  string       `json:"region,omitempty"`
	GroupBy string       `json:"group_by,omitempty"`
	Groups  []QueueGroup `json:"groups,omitempty"`
}

// QueueGroup is the range's figures of the stints of one caller region
// (the call's region column, migration 0007; "" for callers of unknown
// region).
type QueueGroup struct {
	Region string `json:"region"`
	QueueFigures
}

// ReportGrouping narrows or splits a queue report by the callers' region.
type ReportGrouping struct {
	// ByRegion adds the range's figures per caller region (Groups), in
	// region order with the unknown region ("") last.
	ByRegion bool
	// Region keeps only the stints of callers of this region ("": all).
	Region string
}

// ReportInterval is the report's bucket width.
const ReportInterval = 15 * time.Minute

// MaxReportRange bounds a report so one request cannot pull years of rows.
const MaxReportRange = 93 * 24 * time.Hour

// stateLookback is how far before the range the state in force at its
// start is looked for. An agent whose last change is older is taken to
// have no known state until their first change in the range (their time
// counts neither as busy nor as available); agents log in and out daily.
const stateLookback = 7 * 24 * time.Hour

// handleLookahead is how far past the range state changes are read, so a
// call that entered in the range but was talked about and wrapped up
// after its end still has its handle time.
const handleLookahead = 24 * time.Hour

// answerSlack is how far apart a stint's answer time and the agent's
// on_call change may be and still be the same answer: the ACD writes both
// in one step, microseconds apart, but the row carries no call id.
const answerSlack = 2 * time.Second

// Agent states as the ACD writes them (acd.State.String); reports only
// need to tell busy from available from the rest.
const (
	stateAvailable = "available"
	stateRinging   = "ringing"
	stateOnCall    = "on_call"
	stateWrapUp    = "wrap_up"
)

// TenantLocation returns the tenant's time zone, which report intervals
// and calendar dates are read in.
func (s *Store) TenantLocation(ctx context.Context, tenantID string) (*time.Location, error) {
	var tz string
	err := s.pool.QueryRow(ctx, "SELECT timezone FROM tenants WHERE id = $1", tenantID).Scan(&tz)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: time zone of tenant %q: %w", tenantID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: time zone of tenant %q: %w", tenantID, err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("store: time zone of tenant %q: %w", tenantID, err)
	}
	return loc, nil
}

func checkRange(from, to time.Time) error {
	if !to.After(from) {
		return fmt.Errorf("store: report range %s to %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxReportRange {
		return fmt.Errorf("store: report range %s to %s is longer than %d days",
			from.Format(time.RFC3339), to.Format(time.RFC3339), int(MaxReportRange/(24*time.Hour)))
	}
	return nil
}

// stint is the part of a queue entry the reports use.
type stint struct {
	queue    string
	entered  time.Time
	answered time.Time // zero: never answered
	left     time.Time // zero: still waiting
	agent    string
	outcome  string
	region   string // the call's (calls.region); "" unknown
}

// QueueReport computes queue's figures (every queue when "") for the
// stints that entered in [from, to), totals and 15-minute intervals.
func (s *Store) QueueReport(ctx context.Context, tenantID string, from, to time.Time, queue string, th ReportThresholds) (*QueueReport, error) {
	return s.QueueReportBy(ctx, tenantID, from, to, queue, th, ReportGrouping{})
}

// QueueReportBy is QueueReport limited to, or also split by, the callers'
// region.
func (s *Store) QueueReportBy(ctx context.Context, tenantID string, from, to time.Time, queue string, th ReportThresholds, by ReportGrouping) (*QueueReport, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	loc, err := s.TenantLocation(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	// The call's row may not be written yet (the writer batches): such a
	// stint's region is unknown for now.
	rows, err := s.pool.Query(ctx, `SELECT q.queue, q.entered_at, q.answered_at, q.left_at, coalesce(q.agent_id, ''),
			coalesce(q.outcome, ''), coalesce(c.region, '')
		FROM queue_entries q LEFT JOIN calls c ON c.id = q.call_id AND c.tenant_id = q.tenant_id
		WHERE q.tenant_id = $1 AND q.entered_at >= $2 AND q.entered_at < $3 AND ($4 = '' OR q.queue = $4)
			AND ($5 = '' OR c.region = $5)
		ORDER BY q.entered_at, q.id`, tenantID, from, to, queue, by.Region)
	if err != nil {
		return nil, fmt.Errorf("store: queue report of tenant %q: %w", tenantID, err)
	}
	stints, err := pgx.CollectRows(rows, scanStint)
	if err != nil {
		return nil, fmt.Errorf("store: queue report of tenant %q: %w", tenantID, err)
	}
	now := time.Now()
	tl, err := s.agentTimelines(ctx, tenantID, from, earlier(to.Add(handleLookahead), now), now)
	if err != nil {
		return nil, err
	}

	rep := &QueueReport{Queue: queue, From: from.In(loc), To: to.In(loc), TimeZone: loc.String(),
		ServiceLevelThresholdMs: th.ServiceLevel.Milliseconds(), ShortAbandonMs: th.ShortAbandon.Milliseconds()}
	for start := intervalStart(from, loc); start.Before(to); start = start.Add(ReportInterval) {
		rep.Intervals = append(rep.Intervals, QueueInterval{Start: start.In(loc), End: start.Add(ReportInterval).In(loc)})
	}
	first := rep.Intervals[0].Start
	for _, st := range stints {
		i := int(st.entered.Sub(first) / ReportInterval)
		if i < 0 || i >= len(rep.Intervals) {
			// Only possible if the database rounded a bound differently
			// from Go (it keeps microseconds, a bound may carry nanoseconds).
			continue
		}
		rep.Intervals[i].add(st, th, tl)
	}
	if err := s.addOutbound(ctx, tenantID, rep, from, to, queue, by.Region); err != nil {
		return nil, err
	}
	for i := range rep.Intervals {
		rep.Totals.merge(&rep.Intervals[i].QueueFigures)
		rep.Intervals[i].finish()
	}
	rep.Totals.finish()
	rep.Region = by.Region
	if by.ByRegion {
		rep.GroupBy = "region"
		rep.Groups = groupByRegion(stints, th, tl)
	}
	return rep, nil
}

// groupByRegion sums stints per caller region: regions in order, the
// unknown region ("") last.
func groupByRegion(stints []stint, th ReportThresholds, tl timelines) []QueueGroup {
	at := map[string]int{}
	var out []QueueGroup
	for _, st := range stints {
		i, ok := at[st.region]
		if !ok {
			i = len(out)
			at[st.region] = i
			out = append(out, QueueGroup{Region: st.region})
		}
		out[i].add(st, th, tl)
	}
	for i := range out {
		out[i].finish()
	}
	slices.SortFunc(out, func(a, b QueueGroup) int {
		if (a.Region == "") != (b.Region == "") {
			return boolCmp(a.Region == "", b.Region == "")
		}
		return cmp.Compare(a.Region, b.Region)
	})
	return out
}

func scanStint(r pgx.CollectableRow) (stint, error) {
	var st stint
	var answered, left *time.Time
	if err := r.Scan(&st.queue, &st.entered, &answered, &left, &st.agent, &st.outcome, &st.region); err != nil {
		return st, err
	}
	if answered != nil {
		st.answered = *answered
	}
	if left != nil {
		st.left = *left
	}
	return st, nil
}

// intervalStart is the start of the quarter hour holding t on the
// tenant's wall clock. Every offset in use is a whole number of quarter
// hours, so this is also a quarter hour in UTC, and the intervals stay 15
// minutes long across a DST change (the repeated hour gets its own rows).
func intervalStart(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	into := time.Duration(lt.Minute()%15)*time.Minute + time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	return t.Add(-into)
}

func (f *QueueFigures) add(st stint, th ReportThresholds, tl timelines) {
	switch st.outcome {
	case OutcomeRejected:
		f.Rejected++
		return
	case OutcomeAbandoned:
		f.Abandoned++
		// The stint closed when the caller hung up, so left − entered is
		// the time they waited.
		if st.left.Sub(st.entered) < th.ShortAbandon {
			f.ShortAbandoned++
		}
	case OutcomeOverflow:
		f.Overflowed++
	case OutcomeExit:
		f.Exited++
	case OutcomeTransferred, OutcomeRequeued:
		f.Transferred++
	case "":
		f.Waiting++
	}
	f.Offered++
	if !st.answered.IsZero() {
		wait := st.answered.Sub(st.entered)
		f.Answered++
		f.answerWait += wait
		if wait <= th.ServiceLevel {
			f.AnsweredInSL++
		}
		if talk, wrap, ok := tl.handle(st.agent, st.answered); ok {
			f.Handled++
			f.talk += talk
			f.wrapUp += wrap
		}
	}
}

func (f *QueueFigures) merge(o *QueueFigures) {
	f.Offered += o.Offered
	f.Answered += o.Answered
	f.AnsweredInSL += o.AnsweredInSL
	f.Abandoned += o.Abandoned
	f.ShortAbandoned += o.ShortAbandoned
	f.Transferred += o.Transferred
	f.Overflowed += o.Overflowed
	f.Exited += o.Exited
	f.Rejected += o.Rejected
	f.Waiting += o.Waiting
	f.Handled += o.Handled
	f.Outbound += o.Outbound
	f.answerWait += o.answerWait
	f.talk += o.talk
	f.wrapUp += o.wrapUp
}

// finish derives the ratios and averages from the counts and sums.
func (f *QueueFigures) finish() {
	f.TalkMs, f.WrapUpMs = f.talk.Milliseconds(), f.wrapUp.Milliseconds()
	f.AbandonRate = ratio(f.Abandoned, f.Offered)
	f.ServiceLevel = ratio(f.AnsweredInSL, f.Answered+f.Abandoned-f.ShortAbandoned)
	f.ASAMs = meanMs(f.answerWait, f.Answered)
	f.AHTMs = meanMs(f.talk+f.wrapUp, f.Handled)
}

func ratio(num, den int) *float64 {
	if den <= 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

// meanMs is sum / n in milliseconds, rounded half away from zero, so the
// average of exact sums is off by at most half a millisecond.
func meanMs(sum time.Duration, n int) *int64 {
	if n <= 0 {
		return nil
	}
	ms := (sum + time.Duration(n)*time.Millisecond/2) / time.Duration(n) / time.Millisecond
	v := int64(ms)
	return &v
}

// segment is a stretch of time an agent spent in one state.
type segment struct {
	state      string
	start, end time.Time
	// open: no later change was read, so end is only "now" (or the end of
	// what was read) and the stretch may go on.
	open bool
}

// timelines holds each agent's segments in time order.
type timelines map[string][]segment

// agentTimelines reads the tenant's agent state changes from the one in
// force at from up to until, as segments per agent; the last segment of
// each agent is open and ends at now.
func (s *Store) agentTimelines(ctx context.Context, tenantID string, from, until, now time.Time) (timelines, error) {
	rows, err := s.pool.Query(ctx, `(SELECT DISTINCT ON (user_id) user_id, state, at FROM agent_state_changes
			WHERE tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY user_id, at DESC)
		UNION ALL
		(SELECT user_id, state, at FROM agent_state_changes WHERE tenant_id = $1 AND at >= $3 AND at < $4)`,
		tenantID, from.Add(-stateLookback), from, until)
	if err != nil {
		return nil, fmt.Errorf("store: agent states of tenant %q: %w", tenantID, err)
	}
	type change struct {
		user, state string
		at          time.Time
	}
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (change, error) {
		var c change
		err := r.Scan(&c.user, &c.state, &c.at)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: agent states of tenant %q: %w", tenantID, err)
	}
	// Stable: changes at the same instant keep the order the rows came in.
	slices.SortStableFunc(changes, func(a, b change) int {
		return cmp.Or(cmp.Compare(a.user, b.user), a.at.Compare(b.at))
	})
	tl := timelines{}
	for i, c := range changes {
		seg := segment{state: c.state, start: c.at, end: now, open: true}
		if i+1 < len(changes) && changes[i+1].user == c.user {
			seg.end, seg.open = changes[i+1].at, false
		}
		tl[c.user] = append(tl[c.user], seg)
	}
	return tl, nil
}

// handle finds the conversation an agent's answer at answered started and
// returns its talk and the wrap-up that followed; ok is false while either
// is still going on or when the states were not recorded.
func (tl timelines) handle(agent string, answered time.Time) (talk, wrap time.Duration, ok bool) {
	segs := tl[agent]
	best, bestGap := -1, answerSlack+1
	for i, sg := range segs {
		if sg.state != stateOnCall {
			continue
		}
		gap := sg.start.Sub(answered)
		if gap < 0 {
			gap = -gap
		}
		if gap <= answerSlack && gap < bestGap {
			best, bestGap = i, gap
		}
	}
	if best < 0 || segs[best].open {
		return 0, 0, false
	}
	talk = segs[best].end.Sub(segs[best].start)
	if best+1 < len(segs) && segs[best+1].state == stateWrapUp {
		if segs[best+1].open {
			return 0, 0, false
		}
		wrap = segs[best+1].end.Sub(segs[best+1].start)
	}
	return talk, wrap, true
}

// AgentFigures are one agent's figures over a report's range.
type AgentFigures struct {
	Agent       string `json:"agent"` // the user id the ACD knows the agent by
	Username    string `json:"username,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// Answered: stints the agent answered in the range; Handled: of those,
	// the ones whose talk and wrap-up have ended, which TalkMs, WrapUpMs
	// and AHTMs are taken over.
	Answered int    `json:"answered"`
	Handled  int    `json:"handled"`
	TalkMs   int64  `json:"talk_ms"`
	WrapUpMs int64  `json:"wrap_up_ms"`
	AHTMs    *int64 `json:"aht_ms"`
	// Outbound: calls the agent placed in the range (of queue, when the
	// report has one); OutboundAnswered: of those, the answered ones.
	Outbound         int `json:"outbound"`
	OutboundAnswered int `json:"outbound_answered"`
	// TimeInStateMs is the time spent in each state within the range
	// (available, ringing, on_call, wrap_up, break, missed, offline).
	TimeInStateMs map[string]int64 `json:"time_in_state_ms"`
	BusyMs        int64            `json:"busy_ms"`      // ringing + on_call + wrap_up
	AvailableMs   int64            `json:"available_ms"` // waiting for a call
	Occupancy     *float64         `json:"occupancy"`    // busy / (busy + available), 0..1

	talk, wrapUp    time.Duration
	busy, available time.Duration
	inState         map[string]time.Duration
}

// AgentReport is every agent's figures over a range.
type AgentReport struct {
	Queue    string         `json:"queue"` // filters answered calls only; "" every queue
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	TimeZone string         `json:"time_zone"`
	Agents   []AgentFigures `json:"agents"`
}

// AgentReport computes, per agent, the calls answered in [from, to) (from
// queue only, when not "") with their talk, wrap-up and AHT, and the time
// in each state and occupancy over the range. Occupancy covers all of the
// agent's time whatever the queue, since an agent's time is not split
// between the queues they serve.
func (s *Store) AgentReport(ctx context.Context, tenantID string, from, to time.Time, queue string) (*AgentReport, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	loc, err := s.TenantLocation(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	// The entered_at bound lets the (tenant_id, entered_at) index find
	// the rows; nobody waits longer than a day to be answered.
	rows, err := s.pool.Query(ctx, `SELECT queue, entered_at, answered_at, left_at, agent_id, coalesce(outcome, ''), ''
		FROM queue_entries
		WHERE tenant_id = $1 AND entered_at >= $2 AND entered_at < $4 AND answered_at >= $3 AND answered_at < $4
			AND agent_id IS NOT NULL AND ($5 = '' OR queue = $5)
		ORDER BY answered_at, id`, tenantID, from.Add(-handleLookahead), from, to, queue)
	if err != nil {
		return nil, fmt.Errorf("store: agent report of tenant %q: %w", tenantID, err)
	}
	stints, err := pgx.CollectRows(rows, scanStint)
	if err != nil {
		return nil, fmt.Errorf("store: agent report of tenant %q: %w", tenantID, err)
	}
	now := time.Now()
	tl, err := s.agentTimelines(ctx, tenantID, from, earlier(to.Add(handleLookahead), now), now)
	if err != nil {
		return nil, err
	}

	byAgent := map[string]*AgentFigures{}
	get := func(id string) *AgentFigures {
		a := byAgent[id]
		if a == nil {
			a = &AgentFigures{Agent: id, inState: map[string]time.Duration{}}
			byAgent[id] = a
		}
		return a
	}
	for _, st := range stints {
		a := get(st.agent)
		a.Answered++
		if talk, wrap, ok := tl.handle(st.agent, st.answered); ok {
			a.Handled++
			a.talk += talk
			a.wrapUp += wrap
		}
	}
	if err := s.eachOutbound(ctx, tenantID, from, to, queue, "", func(_ time.Time, agent string, answered bool) {
		if agent == "" {
			return
		}
		a := get(agent)
		a.Outbound++
		if answered {
			a.OutboundAnswered++
		}
	}); err != nil {
		return nil, err
	}
	end := earlier(to, now)
	for id, segs := range tl {
		for _, sg := range segs {
			d := earlier(sg.end, end).Sub(later(sg.start, from))
			if d <= 0 {
				continue
			}
			a := get(id)
			a.inState[sg.state] += d
			switch sg.state {
			case stateRinging, stateOnCall, stateWrapUp:
				a.busy += d
			case stateAvailable:
				a.available += d
			}
		}
	}
	if err := s.nameAgents(ctx, tenantID, byAgent); err != nil {
		return nil, err
	}

	rep := &AgentReport{Queue: queue, From: from.In(loc), To: to.In(loc), TimeZone: loc.String(), Agents: []AgentFigures{}}
	for _, a := range byAgent {
		a.TalkMs, a.WrapUpMs = a.talk.Milliseconds(), a.wrapUp.Milliseconds()
		a.AHTMs = meanMs(a.talk+a.wrapUp, a.Handled)
		a.BusyMs, a.AvailableMs = a.busy.Milliseconds(), a.available.Milliseconds()
		if total := a.busy + a.available; total > 0 {
			occ := float64(a.busy) / float64(total)
			a.Occupancy = &occ
		}
		a.TimeInStateMs = make(map[string]int64, len(a.inState))
		for st, d := range a.inState {
			a.TimeInStateMs[st] = d.Milliseconds()
		}
		rep.Agents = append(rep.Agents, *a)
	}
	slices.SortFunc(rep.Agents, func(x, y AgentFigures) int {
		// Named agents first, by username; deleted users (id only) last.
		return cmp.Or(boolCmp(x.Username == "", y.Username == ""), cmp.Compare(x.Username, y.Username), cmp.Compare(x.Agent, y.Agent))
	})
	return rep, nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// nameAgents fills in usernames from the users table; the ACD's rows keep
// only the id, and survive the user's deletion (then the id is all there
// is).
func (s *Store) nameAgents(ctx context.Context, tenantID string, agents map[string]*AgentFigures) error {
	if len(agents) == 0 {
		return nil
	}
	ids := make([]string, 0, len(agents))
	for id := range agents {
		ids = append(ids, id)
	}
	rows, err := s.pool.Query(ctx, `SELECT id::text, username, display_name FROM users
		WHERE tenant_id = $1 AND id::text = ANY($2)`, tenantID, ids)
	if err != nil {
		return fmt.Errorf("store: agent names of tenant %q: %w", tenantID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, user, name string
		if err := rows.Scan(&id, &user, &name); err != nil {
			return fmt.Errorf("store: agent names of tenant %q: %w", tenantID, err)
		}
		agents[id].Username, agents[id].DisplayName = user, name
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: agent names of tenant %q: %w", tenantID, err)
	}
	return nil
}

// CallFilter selects calls for SearchCalls; zero fields do not filter.
type CallFilter struct {
	Number      string    // part of the caller's or the dialled number
	From, To    time.Time // started in [From, To)
	Agent       string    // a user id or username that answered one of the call's stints
	Disposition string    // a code given to the call in wrap-up
	Region      string    // the caller's region (calls.region), exactly
	Limit       int       // 0: 100; at most 1000
	Timeline    bool      // also read each call's events
	// Text: words said on the call, either side, matched against its
	// transcript as plainto_tsquery('english', Text) (stemmed, every
	// word, stop words ignored).
	Text string
}

// CallMatch is a call found by SearchCalls with what happened to it.
type CallMatch struct {
	Call         CallRecord
	Stints       []QueueEntry
	Dispositions []Disposition
	Events       []Event // only with CallFilter.Timeline
}

// SearchCalls finds a tenant's calls, newest first, with their queue
// stints and dispositions (and timelines when asked).
func (s *Store) SearchCalls(ctx context.Context, tenantID string, f CallFilter) ([]CallMatch, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var from, to *time.Time
	if !f.From.IsZero() {
		from = &f.From
	}
	if !f.To.IsZero() {
		to = &f.To
	}
	// strpos rather than LIKE, so a number holding % or _ matches itself.
	// Text matches the call's whole transcript, so the words may be said
	// on different lines and sides. The GIN index finds the lines holding
	// any of the words (plainto_tsquery only ANDs quoted lexemes, so
	// turning its " & " into " | " is exact); the call matches when those
	// lines together hold every word.
	rows, err := s.pool.Query(ctx, "SELECT "+callColumns+` FROM calls c
		WHERE c.tenant_id = $1
			AND ($2 = '' OR strpos(c.from_number, $2) > 0 OR strpos(c.to_number, $2) > 0)
			AND ($3::timestamptz IS NULL OR c.started_at >= $3)
			AND ($4::timestamptz IS NULL OR c.started_at < $4)
			AND ($5 = '' OR EXISTS (SELECT 1 FROM queue_entries q
				WHERE q.tenant_id = $1 AND q.call_id = c.id AND q.answered_at IS NOT NULL
					AND (q.agent_id = $5 OR q.agent_id IN (SELECT u.id::text FROM users u
						WHERE u.tenant_id = $1 AND u.username = lower($5))))
				OR c.agent_id <> '' AND (c.agent_id = $5 OR c.agent_id IN (SELECT u.id::text FROM users u
						WHERE u.tenant_id = $1 AND u.username = lower($5))))
			AND ($6 = '' OR EXISTS (SELECT 1 FROM dispositions d
				WHERE d.tenant_id = $1 AND d.call_id = c.id AND d.code = $6))
			AND ($8 = '' OR c.region = $8)
			AND ($9 = '' OR c.id IN (SELECT t.call_id FROM transcript_lines t
				WHERE t.tenant_id = $1
					AND to_tsvector('english', t.text) @@ replace(plainto_tsquery('english', $9)::text, ' & ', ' | ')::tsquery
				GROUP BY t.call_id
				HAVING to_tsvector('english', string_agg(t.text, ' ')) @@ plainto_tsquery('english', $9)))
		ORDER BY c.started_at DESC, c.id LIMIT $7`,
		tenantID, f.Number, from, to, f.Agent, f.Disposition, limit, f.Region, f.Text)
	if err != nil {
		return nil, fmt.Errorf("store: search calls of tenant %q: %w", tenantID, err)
	}
	calls, err := collectCalls(rows)
	if err != nil {
		return nil, fmt.Errorf("store: search calls of tenant %q: %w", tenantID, err)
	}
	out := make([]CallMatch, len(calls))
	at := make(map[uuid.UUID]*CallMatch, len(calls))
	ids := make([]uuid.UUID, len(calls))
	for i, c := range calls {
		out[i].Call = c
		at[c.ID] = &out[i]
		ids[i] = c.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	if err := s.matchStints(ctx, tenantID, ids, at); err != nil {
		return nil, err
	}
	if err := s.matchDispositions(ctx, tenantID, ids, at); err != nil {
		return nil, err
	}
	if f.Timeline {
		if err := s.matchEvents(ctx, tenantID, ids, at); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The three readers below fetch the rows of all found calls in one query
// each, rather than one per call.

func (s *Store) matchStints(ctx context.Context, tenantID string, ids []uuid.UUID, at map[uuid.UUID]*CallMatch) error {
	rows, err := s.pool.Query(ctx, `SELECT `+queueEntryColumns+`
		FROM queue_entries WHERE tenant_id = $1 AND call_id = ANY($2) ORDER BY entered_at, id`, tenantID, ids)
	if err != nil {
		return fmt.Errorf("store: search calls: queue entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanQueueEntry(rows)
		if err != nil {
			return fmt.Errorf("store: search calls: queue entries: %w", err)
		}
		m := at[e.CallID]
		m.Stints = append(m.Stints, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: search calls: queue entries: %w", err)
	}
	return nil
}

func (s *Store) matchDispositions(ctx context.Context, tenantID string, ids []uuid.UUID, at map[uuid.UUID]*CallMatch) error {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, call_id, user_id, code, note, at
		FROM dispositions WHERE tenant_id = $1 AND call_id = ANY($2) ORDER BY at, id`, tenantID, ids)
	if err != nil {
		return fmt.Errorf("store: search calls: dispositions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Disposition
		if err := rows.Scan(&d.TenantID, &d.CallID, &d.UserID, &d.Code, &d.Note, &d.At); err != nil {
			return fmt.Errorf("store: search calls: dispositions: %w", err)
		}
		m := at[d.CallID]
		m.Dispositions = append(m.Dispositions, d)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: search calls: dispositions: %w", err)
	}
	return nil
}

func (s *Store) matchEvents(ctx context.Context, tenantID string, ids []uuid.UUID, at map[uuid.UUID]*CallMatch) error {
	rows, err := s.pool.Query(ctx, `SELECT call_id, tenant_id, seq, at, kind, step, data
		FROM call_events WHERE tenant_id = $1 AND call_id = ANY($2) ORDER BY call_id, seq`, tenantID, ids)
	if err != nil {
		return fmt.Errorf("store: search calls: events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var data []byte
		if err := rows.Scan(&e.CallID, &e.TenantID, &e.Seq, &e.At, &e.Kind, &e.Step, &data); err != nil {
			return fmt.Errorf("store: search calls: events: %w", err)
		}
		e.Data = decodeData(data)
		m := at[e.CallID]
		m.Events = append(m.Events, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: search calls: events: %w", err)
	}
	return nil
}
