package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"hotline/auth"
	"hotline/store"
)

// CSATStore is what the satisfaction report reads; *store.Store implements
// it, and the server finds it on Calls like the other reports.
type CSATStore interface {
	TenantLocation(ctx context.Context, tenantID string) (*time.Location, error)
	CSAT(ctx context.Context, tenantID string, from, to time.Time, group store.CSATGroup, loc *time.Location) (*store.CSATReport, error)
}

// surveyRoutes registers the CSAT report (docs/surveys.md).
func (s *Server) surveyRoutes(mux *http.ServeMux) {
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/reports/csat", super(http.HandlerFunc(s.csatReport)))
}

// csatResponse is the report with the zone its days are in.
type csatResponse struct {
	*store.CSATReport
	TimeZone string `json:"time_zone"`
}

func (s *Server) csatReport(w http.ResponseWriter, r *http.Request) {
	cs, tenantID, loc, ok := tenantStore[CSATStore](s, w, r, "reports are not available on this server")
	if !ok {
		return
	}
	from, to, group, csv, err := parseCSATRequest(r, loc)
	if err != nil {
		s.paramError(w, r, err)
		return
	}
	rep, err := cs.CSAT(r.Context(), tenantID, from, to, group, loc)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !csv {
		writeJSON(w, http.StatusOK, csatResponse{CSATReport: rep, TimeZone: loc.String()})
		return
	}
	rows := [][]string{{string(group), "label", "calls", "scores", "satisfied", "csat", "avg_score", "yesno", "yes", "yes_share"}}
	for _, row := range rep.Rows {
		f := row.CSATFigures
		rows = append(rows, []string{row.Key, row.Label, itoa(f.Calls), itoa(f.Scores), itoa(f.Satisfied), ftoa(f.CSAT),
			ftoa(f.AvgScore), itoa(f.YesNo), itoa(f.Yes), ftoa(f.YesShare)})
	}
	s.writeCSV(w, r, "csat-"+string(group)+"-"+rep.From.In(loc).Format(time.DateOnly)+".csv", rows)
}

// parseCSATRequest reads from, to (as the other reports take them: RFC
// 3339 or tenant dates, to defaulting to the end of from's day), group
// (agent, the default; queue; day) and format (json, csv).
func parseCSATRequest(r *http.Request, loc *time.Location) (from, to time.Time, group store.CSATGroup, csv bool, err error) {
	q := r.URL.Query()
	if from, to, err = parseRange(q, loc, store.MaxReportRange); err != nil {
		return from, to, group, false, err
	}
	switch g := q.Get("group"); g {
	case "", string(store.CSATByAgent):
		group = store.CSATByAgent
	case string(store.CSATByQueue), string(store.CSATByDay):
		group = store.CSATGroup(g)
	default:
		return from, to, group, false, badRequest(fmt.Sprintf("group %q: want agent, queue or day", g))
	}
	if csv, err = parseFormat(q); err != nil {
		return from, to, group, false, err
	}
	return from, to, group, csv, nil
}

func openAPICSATReport() map[string]any {
	figures := map[string]any{
		"calls": apiType("integer"), "scores": apiType("integer"), "satisfied": apiType("integer"),
		"csat": nullable("number"), "avg_score": nullable("number"),
		"yesno": apiType("integer"), "yes": apiType("integer"), "yes_share": nullable("number"),
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range figures {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return objectOf(m)
	}
	q := func(name, desc string, schema map[string]any) map[string]any {
		return map[string]any{"name": name, "in": "query", "description": desc, "schema": schema}
	}
	return map[string]any{"get": secured(map[string]any{
		"summary": "Caller satisfaction (CSAT) from post-call surveys per agent, queue or day (supervisor or admin)",
		"description": "csat is the share of score answers that are 4 or 5 (0..1), avg_score their mean, yes_share the share of " +
			"yes among yes/no answers; null when there is no answer to count. Days are the tenant's (time_zone).",
		"parameters": []any{
			q("from", "RFC 3339 time or YYYY-MM-DD (required)", apiType("string")),
			q("to", "RFC 3339 time, or YYYY-MM-DD meaning through that day; default: the end of from's day", apiType("string")),
			q("group", "a row per agent (default), queue or day", map[string]any{"type": "string", "enum": []string{"agent", "queue", "day"}}),
			q("format", "json (default) or csv", map[string]any{"type": "string", "enum": []string{"json", "csv"}}),
		},
		"responses": map[string]any{
			"200": map[string]any{"description": "the report; CSV with format=csv", "content": map[string]any{
				"application/json": map[string]any{"schema": objectOf(map[string]any{
					"from": map[string]any{"type": "string", "format": "date-time"}, "to": map[string]any{"type": "string", "format": "date-time"},
					"group": apiType("string"), "time_zone": apiType("string"),
					"rows":      map[string]any{"type": "array", "items": with(map[string]any{"key": apiType("string"), "label": apiType("string")})},
					"total":     with(nil),
					"questions": map[string]any{"type": "array", "items": with(map[string]any{"survey": apiType("string"), "question": apiType("string"), "kind": apiType("string")})},
				})},
				"text/csv": map[string]any{"schema": apiType("string")},
			}},
			"400": errorResponse("bad parameter"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}
