package web

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotline/auth"
	"hotline/store"
)

// AnalyticsStore is what the analytics routes read; *store.Store
// implements it and is found on Calls, like the reports' store.
type AnalyticsStore interface {
	TenantLocation(ctx context.Context, tenantID string) (*time.Location, error)
	Analytics(ctx context.Context, tenantID string, q store.AnalyticsQuery) (*store.Analytics, error)
}

// analyticsRoutes registers the analytics API and its page.
func (s *Server) analyticsRoutes(mux *http.ServeMux) {
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/analytics", super(http.HandlerFunc(s.analytics)))
	mux.Handle("GET /api/v1/analytics.csv", super(http.HandlerFunc(s.analyticsCSV)))
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	mux.HandleFunc("GET /analytics", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, sub, "analytics.html")
	})
}

// analyticsRequest reads from, to, tz and top. Dates are days of the zone
// (tz, else the tenant's); to as a date means through that day, and
// defaults to the end of from's day.
func analyticsRequest(r *http.Request, tenantLoc *time.Location) (store.AnalyticsQuery, error) {
	q := r.URL.Query()
	var aq store.AnalyticsQuery
	loc := tenantLoc
	if name := q.Get("tz"); name != "" {
		l, err := time.LoadLocation(name)
		if err != nil || len(name) > 64 || strings.EqualFold(name, "local") {
			return aq, badRequest(fmt.Sprintf("tz %q: not a known IANA time zone", name))
		}
		loc = l
		aq.Location = l
	}
	from, to, err := parseRange(q, loc, store.MaxAnalyticsRange)
	if err != nil {
		return aq, err
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"from", from}, {"to", to}} {
		if !t.at.Equal(t.at.Truncate(store.AnalyticsBucket)) {
			return aq, badRequest(t.name + " must fall on a quarter hour (analytics are kept per 15 minutes)")
		}
	}
	aq.From, aq.To = from, to
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return aq, badRequest("top must be an integer from 1 to 100")
		}
		aq.Top = n
	}
	return aq, nil
}

// analyticsSetup is what both routes start with; it has answered the
// request when ok is false.
func (s *Server) analyticsSetup(w http.ResponseWriter, r *http.Request) (as AnalyticsStore, tenantID string, q store.AnalyticsQuery, ok bool) {
	as, tenantID, loc, ok := tenantStore[AnalyticsStore](s, w, r, "analytics are not available on this server")
	if !ok {
		return nil, "", q, false
	}
	q, err := analyticsRequest(r, loc)
	if err != nil {
		s.paramError(w, r, err)
		return nil, "", q, false
	}
	return as, tenantID, q, true
}

func (s *Server) analytics(w http.ResponseWriter, r *http.Request) {
	as, tenantID, q, ok := s.analyticsSetup(w, r)
	if !ok {
		return
	}
	a, err := as.Analytics(r.Context(), tenantID, q)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// analyticsCSV answers one series as a CSV file: a header row, then a
// row per hour, day, channel, region, number, term or intent.
func (s *Server) analyticsCSV(w http.ResponseWriter, r *http.Request) {
	series := r.URL.Query().Get("series")
	if !slices.Contains(store.AnalyticsSeries, series) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("series %q: want one of %s", series, strings.Join(store.AnalyticsSeries, ", ")))
		return
	}
	as, tenantID, q, ok := s.analyticsSetup(w, r)
	if !ok {
		return
	}
	q.Series = []string{series}
	if series == store.SeriesHourly || series == store.SeriesDaily {
		// The channel columns come with the channel split.
		q.Series = append(q.Series, store.SeriesChannels)
	}
	a, err := as.Analytics(r.Context(), tenantID, q)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	var rows [][]string
	byChannel := func(first string, total int64, m map[string]int64) []string {
		row := []string{first, i64(total)}
		for _, c := range a.Channels {
			row = append(row, i64(m[c]))
		}
		return row
	}
	switch series {
	case store.SeriesHourly:
		rows = [][]string{append([]string{"hour", "total"}, a.Channels...)}
		for _, h := range a.Hourly {
			rows = append(rows, byChannel(fmt.Sprintf("%02d", h.Hour), h.Total, h.ByChannel))
		}
	case store.SeriesDaily:
		rows = [][]string{append([]string{"date", "total"}, a.Channels...)}
		for _, d := range a.Daily {
			rows = append(rows, byChannel(d.Date, d.Total, d.ByChannel))
		}
	case store.SeriesChannels, store.SeriesRegions, store.SeriesSources:
		name, list := map[string]string{store.SeriesChannels: "channel", store.SeriesRegions: "region", store.SeriesSources: "number"}[series], a.ByChan
		if series == store.SeriesRegions {
			list = a.ByRegion
		} else if series == store.SeriesSources {
			list = a.BySource
		}
		rows = [][]string{{name, "count"}}
		for _, kc := range list {
			rows = append(rows, []string{kc.Key, i64(kc.Count)})
		}
	case store.SeriesAbandon:
		rows = [][]string{{"date", "offered", "answered", "abandoned", "short_abandoned", "abandon_rate", "abandon_rate_excl_short"}}
		for _, d := range a.Abandon {
			rows = append(rows, []string{d.Date, i64(d.Offered), i64(d.Answered), i64(d.Abandoned), i64(d.ShortAbandoned),
				ftoa(d.AbandonRate), ftoa(d.AbandonRateLong)})
		}
	case store.SeriesCSAT:
		rows = [][]string{{"date", "answers", "satisfied", "csat"}}
		for _, d := range a.CSAT {
			rows = append(rows, []string{d.Date, i64(d.Answers), i64(d.Satisfied), ftoa(d.CSAT)})
		}
	case store.SeriesKeywords:
		rows = [][]string{{"term", "count", "chat", "speech"}}
		for _, k := range a.Keywords {
			rows = append(rows, []string{k.Term, i64(k.Count), i64(k.Chat), i64(k.Speech)})
		}
	case store.SeriesIntents:
		rows = [][]string{{"intent", "source", "count"}}
		for _, it := range a.Intents {
			rows = append(rows, []string{it.Intent, it.Source, i64(it.Count)})
		}
	}
	last := a.To.Add(-time.Nanosecond).Format(time.DateOnly)
	s.writeCSV(w, r, "analytics-"+series+"-"+a.From.Format(time.DateOnly)+"-"+last+".csv", rows)
}

// OpenAPI descriptions of the routes above.

func analyticsParameters(extra ...any) []any {
	ps := []any{
		map[string]any{"name": "from", "in": "query", "required": true, "description": "RFC 3339 time on a quarter hour, or YYYY-MM-DD (midnight in tz)", "schema": apiType("string")},
		map[string]any{"name": "to", "in": "query", "description": "exclusive end: RFC 3339 time on a quarter hour, or YYYY-MM-DD meaning through that day; default the end of from's day; at most 400 days after from", "schema": apiType("string")},
		map[string]any{"name": "tz", "in": "query", "description": "IANA time zone for dates, hours and days; default the tenant's", "schema": apiType("string")},
		map[string]any{"name": "top", "in": "query", "description": "entries of the number, keyword and intent lists", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
	}
	return append(ps, extra...)
}

func openAPIAnalytics() map[string]any {
	byChannel := map[string]any{"type": "object", "additionalProperties": apiType("integer")}
	keyCount := map[string]any{"type": "array", "items": objectOf(map[string]any{"key": apiType("string"), "count": apiType("integer")})}
	return map[string]any{"get": secured(map[string]any{
		"summary":     "Calls and chats by hour, day, channel, region and dialled number; abandon and CSAT per day; top keywords and intents (supervisor or admin)",
		"description": "Definitions in docs/analytics.md. Ratios are 0..1 and null without a denominator.",
		"parameters":  analyticsParameters(),
		"responses": map[string]any{
			"200": okJSON("the series", objectOf(map[string]any{
				"from": map[string]any{"type": "string", "format": "date-time"}, "to": map[string]any{"type": "string", "format": "date-time"},
				"time_zone": apiType("string"), "channels": map[string]any{"type": "array", "items": apiType("string")},
				"totals":     map[string]any{"type": "object"},
				"hourly":     map[string]any{"type": "array", "items": objectOf(map[string]any{"hour": apiType("integer"), "total": apiType("integer"), "by_channel": byChannel})},
				"daily":      map[string]any{"type": "array", "items": objectOf(map[string]any{"date": apiType("string"), "total": apiType("integer"), "by_channel": byChannel})},
				"by_channel": keyCount, "by_region": keyCount, "by_source": keyCount,
				"abandon": map[string]any{"type": "array", "items": objectOf(map[string]any{"date": apiType("string"), "offered": apiType("integer"),
					"answered": apiType("integer"), "abandoned": apiType("integer"), "short_abandoned": apiType("integer"),
					"abandon_rate": nullable("number"), "abandon_rate_excl_short": nullable("number")})},
				"csat": map[string]any{"type": "array", "items": objectOf(map[string]any{"date": apiType("string"), "answers": apiType("integer"),
					"satisfied": apiType("integer"), "csat": nullable("number")})},
				"keywords": map[string]any{"type": "array", "items": objectOf(map[string]any{"term": apiType("string"), "count": apiType("integer"),
					"chat": apiType("integer"), "speech": apiType("integer")})},
				"intents": map[string]any{"type": "array", "items": objectOf(map[string]any{"intent": apiType("string"), "source": apiType("string"), "count": apiType("integer")})},
			})),
			"400": errorResponse("bad parameter"),
			"401": errorResponse("no session"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}

func openAPIAnalyticsCSV() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "One analytics series as a CSV file (supervisor or admin)",
		"parameters": analyticsParameters(map[string]any{"name": "series", "in": "query", "required": true,
			"schema": map[string]any{"type": "string", "enum": store.AnalyticsSeries}}),
		"responses": map[string]any{
			"200": map[string]any{"description": "a header row, then one row per hour, day, channel, region, number, term or intent",
				"content": map[string]any{"text/csv": map[string]any{"schema": apiType("string")}}},
			"400": errorResponse("bad parameter"),
			"401": errorResponse("no session"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}
