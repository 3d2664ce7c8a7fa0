package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/auth"
	"hotline/store"
)

// ReportStore is what the report routes read; *store.Store implements it.
// The server finds it on Calls (the same store), so reports need no
// wiring of their own.
type ReportStore interface {
	TenantLocation(ctx context.Context, tenantID string) (*time.Location, error)
	QueueReport(ctx context.Context, tenantID string, from, to time.Time, queue string, th store.ReportThresholds) (*store.QueueReport, error)
	AgentReport(ctx context.Context, tenantID string, from, to time.Time, queue string) (*store.AgentReport, error)
	SearchCalls(ctx context.Context, tenantID string, f store.CallFilter) ([]store.CallMatch, error)
}

// RegionReports is a ReportStore that can also limit a queue report to a
// caller region or split it by region; *store.Store implements it.
type RegionReports interface {
	QueueReportBy(ctx context.Context, tenantID string, from, to time.Time, queue string, th store.ReportThresholds, by store.ReportGrouping) (*store.QueueReport, error)
}

// QueueThresholds gives a queue's configured service-level and
// short-abandon thresholds. When the server's ACDs value implements it,
// reports default to them; otherwise to the ACD's own defaults
// (defaultServiceLevel, no short abandons). A request's service_level and
// short_abandon parameters override either.
type QueueThresholds interface {
	QueueThresholds(tenantID, queue string) (serviceLevel, shortAbandon time.Duration, ok bool)
}

// defaultServiceLevel is the ACD's (acd/config.go) for a queue that sets
// none; acd keeps it unexported, and the value is part of the API here.
const defaultServiceLevel = 20 * time.Second

// maxThreshold bounds the threshold parameters to something a queue could
// mean; larger values are typos.
const maxThreshold = time.Hour

// reportRoutes registers the supervisor reports and call search.
func (s *Server) reportRoutes(mux *http.ServeMux) {
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/reports/queues", super(http.HandlerFunc(s.queueReport)))
	mux.Handle("GET /api/v1/reports/agents", super(http.HandlerFunc(s.agentReport)))
	// More specific than /api/v1/calls/{id}, so the mux prefers it.
	mux.Handle("GET /api/v1/calls/search", super(http.HandlerFunc(s.searchCalls)))
}

// badRequest is a parameter error; its text goes back to the client.
type badRequest string

func (e badRequest) Error() string { return string(e) }

// reportRequest is what both reports take from the query string.
type reportRequest struct {
	from, to time.Time
	queue    string
	csv      bool
	by       store.ReportGrouping // queue report: group=region, region=NAME
}

func parseReportRequest(r *http.Request, loc *time.Location) (reportRequest, error) {
	q := r.URL.Query()
	var req reportRequest
	from, to, err := parseRange(q, loc, store.MaxReportRange)
	if err != nil {
		return req, err
	}
	req.from, req.to, req.queue = from, to, q.Get("queue")
	switch g := q.Get("group"); g {
	case "", "interval":
	case "region":
		req.by.ByRegion = true
	default:
		return req, badRequest(fmt.Sprintf("group %q: want interval or region", g))
	}
	if req.by.Region = strings.TrimSpace(q.Get("region")); len(req.by.Region) > 64 {
		return req, badRequest("region is longer than 64 characters")
	}
	if req.csv, err = parseFormat(q); err != nil {
		return req, err
	}
	return req, nil
}

// parseRange reads from and to as every report takes them: RFC 3339 times
// or dates of loc; to as a date means through that day, and defaults to
// the end of from's day. The range may span at most maxRange.
func parseRange(q url.Values, loc *time.Location, maxRange time.Duration) (from, to time.Time, err error) {
	from, _, err = parseTime(q.Get("from"), loc)
	if err != nil {
		return from, to, badRequest("from: " + err.Error())
	}
	if from.IsZero() {
		return from, to, badRequest("from is required (RFC 3339 time or YYYY-MM-DD)")
	}
	to, toDate, err := parseTime(q.Get("to"), loc)
	if err != nil {
		return from, to, badRequest("to: " + err.Error())
	}
	switch {
	case to.IsZero():
		// One day: to the end of the tenant's day from falls in.
		to = nextMidnight(from, loc)
	case toDate:
		// A date as the end means through that day.
		to = nextMidnight(to, loc)
	}
	if !to.After(from) {
		return from, to, badRequest("to must be after from")
	}
	if to.Sub(from) > maxRange {
		return from, to, badRequest(fmt.Sprintf("the range may span at most %d days", maxRange/(24*time.Hour)))
	}
	return from, to, nil
}

// parseFormat reads format: json (the default) or csv, true for csv.
func parseFormat(q url.Values) (csv bool, err error) {
	switch f := q.Get("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, badRequest(fmt.Sprintf("format %q: want json or csv", f))
	}
}

// zoneStore is a store that knows each tenant's time zone, which every
// report reads its dates in.
type zoneStore interface {
	TenantLocation(ctx context.Context, tenantID string) (*time.Location, error)
}

// tenantStore finds T on Calls (the one store) with the caller's tenant
// and its zone. It has answered the request when ok is false: 503 with
// unavailable when the store cannot serve T.
func tenantStore[T zoneStore](s *Server, w http.ResponseWriter, r *http.Request, unavailable string) (st T, tenantID string, loc *time.Location, ok bool) {
	p, _ := auth.FromContext(r.Context())
	st, ok = s.Calls.(T)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, unavailable)
		return st, "", nil, false
	}
	loc, err := st.TenantLocation(r.Context(), p.TenantID)
	if err != nil {
		s.serverError(w, r, err)
		return st, "", nil, false
	}
	return st, p.TenantID, loc, true
}

// yearReport serves a report over ?from&to, at most a year long (the
// assist and ask reports are small tallies, cheap over a long range):
// the tenant's T, the range in its zone, then query's result as JSON.
// query's errors are the server's; the request's are answered before.
func yearReport[T zoneStore](s *Server, w http.ResponseWriter, r *http.Request, unavailable string,
	query func(ctx context.Context, st T, tenantID string, from, to time.Time) (any, error)) {
	st, tenant, loc, ok := tenantStore[T](s, w, r, unavailable)
	if !ok {
		return
	}
	from, to, err := parseRange(r.URL.Query(), loc, 366*24*time.Hour)
	if err != nil {
		s.paramError(w, r, err)
		return
	}
	v, err := query(r.Context(), st, tenant, from, to)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date, the latter being
// midnight in the tenant's zone (date is then true). An empty value is the
// zero time.
func parseTime(v string, loc *time.Location) (t time.Time, date bool, err error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return d, true, nil
	}
	t, err = time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", v)
	}
	return t, false, nil
}

// nextMidnight is the start of the tenant's day after the one t is in.
func nextMidnight(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
}

// parseThreshold reads seconds ("20") or a Go duration ("1m30s").
func parseThreshold(name, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil {
			return 0, badRequest(fmt.Sprintf("%s %q: want seconds or a duration like 20s", name, v))
		}
		// Checked before converting: NaN and huge values have no Duration.
		if !(n >= 0 && n <= maxThreshold.Seconds()) {
			return 0, badRequest(fmt.Sprintf("%s %q: must be between 0 and %s", name, v, maxThreshold))
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 || d > maxThreshold {
		return 0, badRequest(fmt.Sprintf("%s %q: must be between 0 and %s", name, v, maxThreshold))
	}
	return d, nil
}

func (s *Server) thresholds(r *http.Request, tenantID, queue string) (store.ReportThresholds, error) {
	sl, short := defaultServiceLevel, time.Duration(0)
	if qt, ok := s.ACD.(QueueThresholds); ok && queue != "" {
		if a, b, ok := qt.QueueThresholds(tenantID, queue); ok {
			sl, short = a, b
		}
	}
	var th store.ReportThresholds
	var err error
	q := r.URL.Query()
	if th.ServiceLevel, err = parseThreshold("service_level", q.Get("service_level"), sl); err != nil {
		return th, err
	}
	if th.ShortAbandon, err = parseThreshold("short_abandon", q.Get("short_abandon"), short); err != nil {
		return th, err
	}
	return th, nil
}

// reportSetup does what every report route starts with: the store, the
// tenant's zone and the common parameters. It has answered the request
// when ok is false.
func (s *Server) reportSetup(w http.ResponseWriter, r *http.Request) (rs ReportStore, tenantID string, req reportRequest, ok bool) {
	rs, tenantID, loc, ok := tenantStore[ReportStore](s, w, r, "reports are not available on this server")
	if !ok {
		return nil, "", req, false
	}
	req, err := parseReportRequest(r, loc)
	if err != nil {
		s.paramError(w, r, err)
		return nil, "", req, false
	}
	return rs, tenantID, req, true
}

func (s *Server) paramError(w http.ResponseWriter, r *http.Request, err error) {
	var bad badRequest
	if errors.As(err, &bad) {
		writeError(w, http.StatusBadRequest, string(bad))
		return
	}
	s.serverError(w, r, err)
}

func (s *Server) queueReport(w http.ResponseWriter, r *http.Request) {
	rs, tenantID, req, ok := s.reportSetup(w, r)
	if !ok {
		return
	}
	th, err := s.thresholds(r, tenantID, req.queue)
	if err != nil {
		s.paramError(w, r, err)
		return
	}
	var rep *store.QueueReport
	if req.by != (store.ReportGrouping{}) {
		rr, ok := rs.(RegionReports)
		if !ok {
			writeError(w, http.StatusNotImplemented, "region reports are not available on this server")
			return
		}
		rep, err = rr.QueueReportBy(r.Context(), tenantID, req.from, req.to, req.queue, th, req.by)
	} else {
		rep, err = rs.QueueReport(r.Context(), tenantID, req.from, req.to, req.queue, th)
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !req.csv {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	name := rep.Queue
	if name == "" {
		name = "all"
	}
	// The region column is there when the report is by or of a region,
	// so the plain report keeps its columns.
	byRegion := rep.GroupBy == "region" || rep.Region != ""
	rows := [][]string{{"row", "start", "end", "region", "offered", "answered", "answered_in_sl", "abandoned", "short_abandoned",
		"abandon_rate", "service_level", "asa_ms", "aht_ms", "handled", "talk_ms", "wrap_up_ms",
		"transferred", "overflowed", "exited", "rejected", "waiting", "outbound"}}
	if !byRegion {
		rows[0] = slices.Delete(rows[0], 3, 4)
	}
	figures := func(kind string, start, end time.Time, region string, f store.QueueFigures) []string {
		row := []string{kind, start.Format(time.RFC3339), end.Format(time.RFC3339), region,
			itoa(f.Offered), itoa(f.Answered), itoa(f.AnsweredInSL), itoa(f.Abandoned), itoa(f.ShortAbandoned),
			ftoa(f.AbandonRate), ftoa(f.ServiceLevel), mstoa(f.ASAMs), mstoa(f.AHTMs), itoa(f.Handled),
			strconv.FormatInt(f.TalkMs, 10), strconv.FormatInt(f.WrapUpMs, 10),
			itoa(f.Transferred), itoa(f.Overflowed), itoa(f.Exited), itoa(f.Rejected), itoa(f.Waiting), itoa(f.Outbound)}
		if !byRegion {
			row = slices.Delete(row, 3, 4)
		}
		return row
	}
	// Grouped by region: one row per region over the range instead of the
	// intervals.
	if rep.GroupBy == "region" {
		for _, g := range rep.Groups {
			rows = append(rows, figures("region", rep.From, rep.To, g.Region, g.QueueFigures))
		}
	} else {
		for _, iv := range rep.Intervals {
			rows = append(rows, figures("interval", iv.Start, iv.End, rep.Region, iv.QueueFigures))
		}
	}
	rows = append(rows, figures("total", rep.From, rep.To, rep.Region, rep.Totals))
	s.writeCSV(w, r, "queue-report-"+name+"-"+rep.From.Format(time.DateOnly)+".csv", rows)
}

func (s *Server) agentReport(w http.ResponseWriter, r *http.Request) {
	rs, tenantID, req, ok := s.reportSetup(w, r)
	if !ok {
		return
	}
	rep, err := rs.AgentReport(r.Context(), tenantID, req.from, req.to, req.queue)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !req.csv {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	rows := [][]string{{"agent", "username", "display_name", "answered", "handled", "talk_ms", "wrap_up_ms", "aht_ms",
		"available_ms", "ringing_ms", "on_call_ms", "wrap_up_state_ms", "break_ms", "busy_ms", "occupancy",
		"outbound", "outbound_answered"}}
	for _, a := range rep.Agents {
		rows = append(rows, []string{a.Agent, a.Username, a.DisplayName, itoa(a.Answered), itoa(a.Handled),
			strconv.FormatInt(a.TalkMs, 10), strconv.FormatInt(a.WrapUpMs, 10), mstoa(a.AHTMs),
			strconv.FormatInt(a.TimeInStateMs["available"], 10), strconv.FormatInt(a.TimeInStateMs["ringing"], 10),
			strconv.FormatInt(a.TimeInStateMs["on_call"], 10), strconv.FormatInt(a.TimeInStateMs["wrap_up"], 10),
			strconv.FormatInt(a.TimeInStateMs["break"], 10), strconv.FormatInt(a.BusyMs, 10), ftoa(a.Occupancy),
			itoa(a.Outbound), itoa(a.OutboundAnswered)})
	}
	name := req.queue
	if name == "" {
		name = "all"
	}
	s.writeCSV(w, r, "agent-report-"+name+"-"+rep.From.Format(time.DateOnly)+".csv", rows)
}

func itoa(n int) string { return strconv.Itoa(n) }

// ftoa and mstoa leave a figure with no denominator empty, as JSON has
// null.
func ftoa(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func mstoa(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

func (s *Server) writeCSV(w http.ResponseWriter, r *http.Request, filename string, rows [][]string) {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	for _, row := range rows {
		for i, cell := range row {
			row[i] = csvSafe(cell)
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		s.serverError(w, r, fmt.Errorf("report csv: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(filename)+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

// csvSafe keeps a spreadsheet from reading a text cell (a display name, a
// queue name) as a formula. Numbers never start with these characters:
// none of the figures is negative.
func csvSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// safeFilename keeps a queue name from breaking the header's quoting.
func safeFilename(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}

// callMatchView is a search result: the CDR with its queue stints and
// dispositions, and its timeline when asked for.
type callMatchView struct {
	Call         store.CallRecord  `json:"call"`
	QueueEntries []entryView       `json:"queue_entries"`
	Dispositions []dispositionView `json:"dispositions"`
	Events       []eventView       `json:"events,omitempty"`
}

func (s *Server) searchCalls(w http.ResponseWriter, r *http.Request) {
	rs, tenantID, loc, ok := tenantStore[ReportStore](s, w, r, "call records are not available on this server")
	if !ok {
		return
	}
	f, err := parseCallFilter(r, loc)
	if err != nil {
		s.paramError(w, r, err)
		return
	}
	matches, err := rs.SearchCalls(r.Context(), tenantID, f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := make([]callMatchView, len(matches))
	for i, m := range matches {
		v := callMatchView{Call: m.Call, QueueEntries: make([]entryView, len(m.Stints)), Dispositions: make([]dispositionView, len(m.Dispositions))}
		for j, e := range m.Stints {
			v.QueueEntries[j] = entryView{Queue: e.Queue, EnteredAt: e.EnteredAt.UTC(), AnsweredAt: timePtr(e.AnsweredAt), Agent: e.AgentID,
				LeftAt: timePtr(e.LeftAt), Outcome: e.Outcome, WaitMs: e.Wait.Milliseconds()}
		}
		for j, d := range m.Dispositions {
			v.Dispositions[j] = dispositionView{Agent: d.UserID, Code: d.Code, Note: d.Note, At: d.At.UTC()}
		}
		if f.Timeline {
			v.Events = make([]eventView, len(m.Events))
			for j, e := range m.Events {
				v.Events[j] = eventView{Seq: e.Seq, At: e.At.UTC(), Kind: e.Kind, Step: e.Step, Data: e.Data}
			}
		}
		out[i] = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

func parseCallFilter(r *http.Request, loc *time.Location) (store.CallFilter, error) {
	q := r.URL.Query()
	var f store.CallFilter
	f.Number, f.Agent, f.Disposition = strings.TrimSpace(q.Get("number")), strings.TrimSpace(q.Get("agent")), strings.TrimSpace(q.Get("disposition"))
	f.Region = strings.TrimSpace(q.Get("region"))
	for _, p := range []struct{ name, v string }{{"number", f.Number}, {"agent", f.Agent}, {"disposition", f.Disposition}, {"region", f.Region}} {
		if len(p.v) > 128 {
			return f, badRequest(p.name + " is longer than 128 characters")
		}
	}
	// Words said, matched as plainto_tsquery: longer than a sentence is
	// not a search anyone types.
	if f.Text = strings.TrimSpace(q.Get("text")); len(f.Text) > 256 {
		return f, badRequest("text is longer than 256 characters")
	}
	if !utf8.ValidString(f.Text) || strings.ContainsRune(f.Text, 0) {
		return f, badRequest("text is not valid UTF-8")
	}
	var err error
	var toDate bool
	if f.From, _, err = parseTime(q.Get("from"), loc); err != nil {
		return f, badRequest("from: " + err.Error())
	}
	if f.To, toDate, err = parseTime(q.Get("to"), loc); err != nil {
		return f, badRequest("to: " + err.Error())
	}
	if toDate {
		f.To = nextMidnight(f.To, loc) // a date as the end means through that day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, badRequest("to must be after from")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, badRequest("limit must be an integer from 1 to 1000")
		}
		f.Limit = n
	}
	switch v := q.Get("timeline"); v {
	case "", "false", "0":
	case "true", "1":
		f.Timeline = true
	default:
		return f, badRequest(fmt.Sprintf("timeline %q: want true or false", v))
	}
	return f, nil
}

// OpenAPI descriptions of the routes above.

func reportParameters(extra ...any) []any {
	ps := []any{
		map[string]any{"name": "from", "in": "query", "required": true, "description": "RFC 3339 time, or YYYY-MM-DD (midnight in the tenant's time zone)", "schema": apiType("string")},
		map[string]any{"name": "to", "in": "query", "description": "exclusive end: RFC 3339 time, or YYYY-MM-DD meaning through that day; default the end of from's day", "schema": apiType("string")},
		map[string]any{"name": "queue", "in": "query", "description": "one queue; empty: every queue", "schema": apiType("string")},
		map[string]any{"name": "format", "in": "query", "schema": map[string]any{"type": "string", "enum": []string{"json", "csv"}, "default": "json"}},
	}
	return append(ps, extra...)
}

func nullable(t string) map[string]any { return map[string]any{"type": []string{t, "null"}} }

func openAPIQueueReport() map[string]any {
	figures := map[string]any{
		"offered": apiType("integer"), "answered": apiType("integer"), "answered_in_sl": apiType("integer"),
		"abandoned": apiType("integer"), "short_abandoned": apiType("integer"), "transferred": apiType("integer"),
		"overflowed": apiType("integer"), "exited": apiType("integer"), "rejected": apiType("integer"),
		"waiting": apiType("integer"), "handled": apiType("integer"), "outbound": apiType("integer"),
		"abandon_rate": nullable("number"), "service_level": nullable("number"),
		"asa_ms": nullable("integer"), "aht_ms": nullable("integer"), "talk_ms": apiType("integer"), "wrap_up_ms": apiType("integer"),
	}
	interval := map[string]any{"start": map[string]any{"type": "string", "format": "date-time"}, "end": map[string]any{"type": "string", "format": "date-time"}}
	for k, v := range figures {
		interval[k] = v
	}
	return map[string]any{"get": secured(map[string]any{
		"summary":     "Queue figures over a range and by 15-minute interval (supervisor or admin); definitions in docs/architecture.md",
		"description": "Stints are counted in the interval their entry falls in. Ratios are 0..1 and null without a denominator.",
		"parameters": reportParameters(
			map[string]any{"name": "service_level", "in": "query", "description": "service-level threshold: seconds or a duration (20s); default the queue's", "schema": apiType("string")},
			map[string]any{"name": "short_abandon", "in": "query", "description": "short-abandon threshold: seconds or a duration; default the queue's", "schema": apiType("string")},
		),
		"responses": map[string]any{
			"200": map[string]any{"description": "the report; CSV (one row per interval, then a total row) with format=csv",
				"content": map[string]any{
					"application/json": map[string]any{"schema": objectOf(map[string]any{
						"queue": apiType("string"), "from": map[string]any{"type": "string", "format": "date-time"},
						"to": map[string]any{"type": "string", "format": "date-time"}, "time_zone": apiType("string"),
						"service_level_threshold_ms": apiType("integer"), "short_abandon_ms": apiType("integer"),
						"totals": objectOf(figures), "intervals": map[string]any{"type": "array", "items": objectOf(interval)},
					})},
					"text/csv": map[string]any{"schema": apiType("string")},
				}},
			"400": errorResponse("bad parameter"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}

func openAPIAgentReport() map[string]any {
	agent := objectOf(map[string]any{
		"agent": apiType("string"), "username": apiType("string"), "display_name": apiType("string"),
		"answered": apiType("integer"), "handled": apiType("integer"), "talk_ms": apiType("integer"), "wrap_up_ms": apiType("integer"),
		"aht_ms": nullable("integer"), "time_in_state_ms": map[string]any{"type": "object", "additionalProperties": apiType("integer")},
		"busy_ms": apiType("integer"), "available_ms": apiType("integer"), "occupancy": nullable("number"),
		"outbound": apiType("integer"), "outbound_answered": apiType("integer"),
	})
	return map[string]any{"get": secured(map[string]any{
		"summary":     "Per-agent calls, talk, wrap-up, AHT and occupancy over a range (supervisor or admin)",
		"description": "queue filters the answered calls only; time in state and occupancy cover all of the agent's time.",
		"parameters":  reportParameters(),
		"responses": map[string]any{
			"200": map[string]any{"description": "the report; CSV with format=csv", "content": map[string]any{
				"application/json": map[string]any{"schema": objectOf(map[string]any{
					"queue": apiType("string"), "from": map[string]any{"type": "string", "format": "date-time"},
					"to": map[string]any{"type": "string", "format": "date-time"}, "time_zone": apiType("string"),
					"agents": map[string]any{"type": "array", "items": agent},
				})},
				"text/csv": map[string]any{"schema": apiType("string")},
			}},
			"400": errorResponse("bad parameter"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}

func openAPICallSearch() map[string]any {
	q := func(name, desc string) map[string]any {
		return map[string]any{"name": name, "in": "query", "description": desc, "schema": apiType("string")}
	}
	return map[string]any{"get": secured(map[string]any{
		"summary": "Search the tenant's calls, newest first, with their queue entries and dispositions (supervisor or admin)",
		"parameters": []any{
			q("number", "part of the caller's or the dialled number"),
			q("from", "started at or after: RFC 3339 time or YYYY-MM-DD"),
			q("to", "started before: RFC 3339 time, or YYYY-MM-DD meaning through that day"),
			q("agent", "user id or username of an agent who answered the call or placed it (outbound)"),
			q("disposition", "a wrap-up code given to the call"),
			q("text", "words said on the call by either side, matched against its transcript (English stemming, every word, stop words ignored; at most 256 characters)"),
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
			map[string]any{"name": "timeline", "in": "query", "description": "also return each call's events", "schema": apiType("boolean")},
		},
		"responses": map[string]any{
			"200": okJSON("matching calls", objectOf(map[string]any{"calls": map[string]any{"type": "array", "items": objectOf(map[string]any{
				"call": map[string]any{"type": "object"}, "queue_entries": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
				"dispositions": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
				"events":       map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			})}})),
			"400": errorResponse("bad parameter"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}
