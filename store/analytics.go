package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Supervisors' analytics (docs/analytics.md): volume by hour, day,
// channel, region and dialled number, abandon and CSAT trends, and the
// terms and intents customers used, over up to a year. Everything is read
// from the rollups of migration 0012, which triggers keep current, so a
// year costs a few hundred thousand small rows rather than millions of
// CDRs.

// MaxAnalyticsRange bounds an analytics request: a year and a bit, so a
// year-on-year range fits.
const MaxAnalyticsRange = 400 * 24 * time.Hour

// AnalyticsBucket is the rollups' time resolution; a range must start and
// end on it. Every zone in use is a whole number of quarter hours from
// UTC, so a day or hour of any zone is a union of buckets.
const AnalyticsBucket = 15 * time.Minute

// AnalyticsShortAbandon is the rollups' short-abandon threshold: an
// abandoned stint that waited less is counted apart, as the reports do
// with a queue's configured threshold.
const AnalyticsShortAbandon = 5 * time.Second

// The series an AnalyticsQuery may ask for.
const (
	SeriesHourly   = "hourly"
	SeriesDaily    = "daily"
	SeriesChannels = "channels"
	SeriesRegions  = "regions"
	SeriesSources  = "sources"
	SeriesAbandon  = "abandon"
	SeriesCSAT     = "csat"
	SeriesKeywords = "keywords"
	SeriesIntents  = "intents"
)

// AnalyticsSeries lists every series in the order the API documents them.
var AnalyticsSeries = []string{SeriesHourly, SeriesDaily, SeriesChannels, SeriesRegions, SeriesSources,
	SeriesAbandon, SeriesCSAT, SeriesKeywords, SeriesIntents}

// AnalyticsQuery is a request for a tenant's analytics.
type AnalyticsQuery struct {
	From, To time.Time // [From, To), both on a quarter hour
	// Location reads hours and days; nil: the tenant's zone. Keywords
	// and intents are kept per day of the tenant's zone whatever it is.
	Location *time.Location
	Top      int      // entries of the sources, keywords and intents lists; 0: 10, at most 100
	Series   []string // nil: all of AnalyticsSeries
}

// Analytics is a tenant's analytics over a range. A series not asked for
// is nil.
type Analytics struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`
	// Channels lists the channel keys of the range, voice first, for the
	// by_channel maps below.
	Channels []string         `json:"channels"`
	Totals   AnalyticsTotals  `json:"totals"`
	Hourly   []HourVolume     `json:"hourly,omitempty"`
	Daily    []DayVolume      `json:"daily,omitempty"`
	ByChan   []KeyCount       `json:"by_channel,omitempty"`
	ByRegion []KeyCount       `json:"by_region,omitempty"`
	BySource []KeyCount       `json:"by_source,omitempty"`
	Abandon  []AbandonDay     `json:"abandon,omitempty"`
	CSAT     []CSATDay        `json:"csat,omitempty"`
	Keywords []TermCount      `json:"keywords,omitempty"`
	Intents  []IntentCount    `json:"intents,omitempty"`
	series   map[string]bool  // asked for
	days     map[string]int   // date -> index in Daily/Abandon/CSAT
	dayList  []string         // the range's dates in order
	chanSeen map[string]int64 // channel -> count
}

// AnalyticsTotals are the range's sums of the series read.
type AnalyticsTotals struct {
	Calls          int64    `json:"calls"` // voice channels
	Chats          int64    `json:"chats"` // chat channels
	Offered        int64    `json:"offered"`
	Answered       int64    `json:"answered"`
	Abandoned      int64    `json:"abandoned"`
	ShortAbandoned int64    `json:"short_abandoned"`
	AbandonRate    *float64 `json:"abandon_rate"`
	CSATAnswers    int64    `json:"csat_answers"`
	Satisfied      int64    `json:"satisfied"`
	CSAT           *float64 `json:"csat"`
}

// HourVolume is the calls and chats that started in one hour of the day
// (0-23 on the zone's clock) over the whole range.
type HourVolume struct {
	Hour      int              `json:"hour"`
	Total     int64            `json:"total"`
	ByChannel map[string]int64 `json:"by_channel"`
}

// DayVolume is one day's calls and chats.
type DayVolume struct {
	Date      string           `json:"date"` // YYYY-MM-DD in the zone
	Total     int64            `json:"total"`
	ByChannel map[string]int64 `json:"by_channel"`
}

// KeyCount is a count for a channel, region or number.
type KeyCount struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// AbandonDay is one day's queue stints. AbandonRate is abandoned /
// (answered + abandoned); AbandonRateLong leaves the short abandons out
// of both sides. Both are nil without a denominator.
type AbandonDay struct {
	Date            string   `json:"date"`
	Offered         int64    `json:"offered"`
	Answered        int64    `json:"answered"`
	Abandoned       int64    `json:"abandoned"`
	ShortAbandoned  int64    `json:"short_abandoned"`
	AbandonRate     *float64 `json:"abandon_rate"`
	AbandonRateLong *float64 `json:"abandon_rate_excl_short"`
}

// CSATDay is one day's survey score answers: CSAT = satisfied (4 or 5) /
// answers, nil without answers.
type CSATDay struct {
	Date      string   `json:"date"`
	Answers   int64    `json:"answers"`
	Satisfied int64    `json:"satisfied"`
	CSAT      *float64 `json:"csat"`
}

// TermCount is a term with the messages (chat) and utterances (speech)
// holding it.
type TermCount struct {
	Term   string `json:"term"`
	Count  int64  `json:"count"`
	Chat   int64  `json:"chat"`
	Speech int64  `json:"speech"`
}

// IntentCount is an intent of one source: ivr_key, ivr_speech or
// disposition.
type IntentCount struct {
	Intent string `json:"intent"`
	Source string `json:"source"`
	Count  int64  `json:"count"`
}

// CheckAnalyticsRange reports what is wrong with a range, or nil.
func CheckAnalyticsRange(from, to time.Time) error {
	if !to.After(from) {
		return fmt.Errorf("the range %s to %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxAnalyticsRange {
		return fmt.Errorf("the range may span at most %d days", int(MaxAnalyticsRange/(24*time.Hour)))
	}
	for _, t := range []time.Time{from, to} {
		if !t.Equal(t.Truncate(AnalyticsBucket)) {
			return fmt.Errorf("%s is not on a quarter hour", t.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// Analytics reads the asked-for series of a tenant's activity in [q.From,
// q.To).
func (s *Store) Analytics(ctx context.Context, tenantID string, q AnalyticsQuery) (*Analytics, error) {
	if err := CheckAnalyticsRange(q.From, q.To); err != nil {
		return nil, fmt.Errorf("store: analytics of tenant %q: %w", tenantID, err)
	}
	tenantLoc, err := s.TenantLocation(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	loc := q.Location
	if loc == nil {
		loc = tenantLoc
	}
	top := q.Top
	if top <= 0 {
		top = 10
	}
	top = min(top, 100)
	a := &Analytics{From: q.From.In(loc), To: q.To.In(loc), TimeZone: loc.String(), Channels: []string{},
		series: map[string]bool{}, days: map[string]int{}, chanSeen: map[string]int64{}}
	if len(q.Series) == 0 {
		q.Series = AnalyticsSeries
	}
	for _, name := range q.Series {
		if !slices.Contains(AnalyticsSeries, name) {
			return nil, fmt.Errorf("store: analytics: no series %q", name)
		}
		a.series[name] = true
	}
	for d := q.From.In(loc); d.Before(q.To); d = nextDay(d, loc) {
		day := d.Format(time.DateOnly)
		a.days[day] = len(a.dayList)
		a.dayList = append(a.dayList, day)
	}
	steps := []struct {
		need []string
		read func(context.Context, string, AnalyticsQuery, *time.Location, *time.Location, int) error
	}{
		{[]string{SeriesHourly, SeriesDaily, SeriesChannels}, a.readVolume(s)},
		{[]string{SeriesRegions, SeriesSources}, a.readPlaces(s)},
		{[]string{SeriesAbandon}, a.readAbandon(s)},
		{[]string{SeriesCSAT}, a.readCSAT(s)},
		{[]string{SeriesKeywords}, a.readKeywords(s)},
		{[]string{SeriesIntents}, a.readIntents(s)},
	}
	for _, st := range steps {
		if !slices.ContainsFunc(st.need, func(n string) bool { return a.series[n] }) {
			continue
		}
		if err := st.read(ctx, tenantID, q, loc, tenantLoc, top); err != nil {
			return nil, fmt.Errorf("store: analytics of tenant %q: %w", tenantID, err)
		}
	}
	return a, nil
}

// nextDay is the start of the day after t's in loc (midnight, or the
// first instant of a day that skips it).
func nextDay(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
}

type analyticsReader func(ctx context.Context, tenantID string, q AnalyticsQuery, loc, tenantLoc *time.Location, top int) error

// channelOrder puts voice channels first, then chats, each by name.
func channelOrder(a, b string) int {
	return cmp.Or(boolCmp(!strings.HasPrefix(a, "voice_"), !strings.HasPrefix(b, "voice_")), cmp.Compare(a, b))
}

// readVolume sums the channel rollup by day and by hour of day in one
// pass (grouping sets); the channel split is the sum of the days. Whole
// hours come from the hourly copy when the zone is a whole number of
// hours from UTC throughout the range; the rest from the quarter hours.
func (a *Analytics) readVolume(s *Store) analyticsReader {
	return func(ctx context.Context, tenantID string, q AnalyticsQuery, loc, _ *time.Location, _ int) error {
		h1, h2 := q.To, q.To
		if wholeHourZone(loc, q.From, q.To) {
			h1, h2 = interior(q.From, q.To, time.Hour)
		}
		rows, err := s.pool.Query(ctx, `SELECT day, hour, key, sum(n)::bigint FROM (
				SELECT to_char(at AT TIME ZONE $4, 'YYYY-MM-DD') AS day,
					extract(hour FROM at AT TIME ZONE $4)::int AS hour, key, n
				FROM (SELECT hour AS at, key, n FROM analytics_volume_hour
						WHERE tenant_id = $1 AND hour >= $5 AND hour < $6
					UNION ALL
					SELECT bucket, key, n FROM analytics_volume
						WHERE tenant_id = $1 AND dim = 'channel'
							AND ((bucket >= $2 AND bucket < $5) OR (bucket >= $6 AND bucket < $3))) u) v
			GROUP BY GROUPING SETS ((day, key), (hour, key))`, tenantID, q.From, q.To, loc.String(), h1, h2)
		if err != nil {
			return fmt.Errorf("volume: %w", err)
		}
		defer rows.Close()
		hourly := make([]HourVolume, 24)
		for h := range hourly {
			hourly[h] = HourVolume{Hour: h, ByChannel: map[string]int64{}}
		}
		daily := make([]DayVolume, len(a.dayList))
		for i, d := range a.dayList {
			daily[i] = DayVolume{Date: d, ByChannel: map[string]int64{}}
		}
		for rows.Next() {
			var day *string
			var hour *int
			var key string
			var n int64
			if err := rows.Scan(&day, &hour, &key, &n); err != nil {
				return fmt.Errorf("volume: %w", err)
			}
			switch {
			case day != nil:
				i, ok := a.days[*day]
				if !ok {
					continue // cannot happen: buckets in range fall on its days
				}
				daily[i].Total += n
				daily[i].ByChannel[key] += n
				a.chanSeen[key] += n
			case hour != nil && *hour >= 0 && *hour < 24:
				hourly[*hour].Total += n
				hourly[*hour].ByChannel[key] += n
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("volume: %w", err)
		}
		for k, n := range a.chanSeen {
			a.Channels = append(a.Channels, k)
			if strings.HasPrefix(k, "voice_") {
				a.Totals.Calls += n
			} else {
				a.Totals.Chats += n
			}
		}
		slices.SortFunc(a.Channels, channelOrder)
		if a.series[SeriesHourly] {
			a.Hourly = hourly
		}
		if a.series[SeriesDaily] {
			a.Daily = daily
		}
		if a.series[SeriesChannels] {
			a.ByChan = []KeyCount{}
			for _, k := range a.Channels {
				a.ByChan = append(a.ByChan, KeyCount{Key: k, Count: a.chanSeen[k]})
			}
		}
		return nil
	}
}

// readPlaces reads the region split (every region, the unknown one "")
// and the top dialled numbers: whole UTC days from the daily copy, the
// range's ends from the quarter hours.
func (a *Analytics) readPlaces(s *Store) analyticsReader {
	return func(ctx context.Context, tenantID string, q AnalyticsQuery, _, _ *time.Location, top int) error {
		d1, d2 := interior(q.From, q.To, 24*time.Hour)
		rows, err := s.pool.Query(ctx, `SELECT dim, key, sum(n)::bigint FROM (
				SELECT dim, key, n FROM analytics_volume_day
					WHERE tenant_id = $1 AND dim IN ('region', 'source') AND day >= $4 AND day < $5
				UNION ALL
				SELECT dim, key, n FROM analytics_volume
					WHERE tenant_id = $1 AND dim IN ('region', 'source')
						AND ((bucket >= $2 AND bucket < $4) OR (bucket >= $5 AND bucket < $3))) u
			GROUP BY 1, 2`, tenantID, q.From, q.To, d1, d2)
		if err != nil {
			return fmt.Errorf("regions and numbers: %w", err)
		}
		defer rows.Close()
		regions, sources := []KeyCount{}, []KeyCount{}
		for rows.Next() {
			var dim string
			var kc KeyCount
			if err := rows.Scan(&dim, &kc.Key, &kc.Count); err != nil {
				return fmt.Errorf("regions and numbers: %w", err)
			}
			if kc.Count == 0 {
				continue // every row of the key was deleted or moved
			}
			if dim == "region" {
				regions = append(regions, kc)
			} else {
				sources = append(sources, kc)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("regions and numbers: %w", err)
		}
		byCount := func(x, y KeyCount) int { return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Key, y.Key)) }
		slices.SortFunc(regions, byCount)
		slices.SortFunc(sources, byCount)
		if a.series[SeriesRegions] {
			a.ByRegion = regions
		}
		if a.series[SeriesSources] {
			a.BySource = sources[:min(top, len(sources))]
		}
		return nil
	}
}

func (a *Analytics) readAbandon(s *Store) analyticsReader {
	return func(ctx context.Context, tenantID string, q AnalyticsQuery, loc, _ *time.Location, _ int) error {
		rows, err := s.pool.Query(ctx, `SELECT to_char(bucket AT TIME ZONE $4, 'YYYY-MM-DD'),
				sum(offered)::bigint, sum(answered)::bigint, sum(abandoned)::bigint, sum(short_abandoned)::bigint
			FROM analytics_queue WHERE tenant_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY 1`,
			tenantID, q.From, q.To, loc.String())
		if err != nil {
			return fmt.Errorf("abandons: %w", err)
		}
		defer rows.Close()
		days := make([]AbandonDay, len(a.dayList))
		for i, d := range a.dayList {
			days[i].Date = d
		}
		for rows.Next() {
			var day string
			var d AbandonDay
			if err := rows.Scan(&day, &d.Offered, &d.Answered, &d.Abandoned, &d.ShortAbandoned); err != nil {
				return fmt.Errorf("abandons: %w", err)
			}
			if i, ok := a.days[day]; ok {
				d.Date = day
				days[i] = d
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("abandons: %w", err)
		}
		t := &a.Totals
		for i := range days {
			d := &days[i]
			d.AbandonRate = ratio64(d.Abandoned, d.Answered+d.Abandoned)
			d.AbandonRateLong = ratio64(d.Abandoned-d.ShortAbandoned, d.Answered+d.Abandoned-d.ShortAbandoned)
			t.Offered += d.Offered
			t.Answered += d.Answered
			t.Abandoned += d.Abandoned
			t.ShortAbandoned += d.ShortAbandoned
		}
		t.AbandonRate = ratio64(t.Abandoned, t.Answered+t.Abandoned)
		a.Abandon = days
		return nil
	}
}

func (a *Analytics) readCSAT(s *Store) analyticsReader {
	return func(ctx context.Context, tenantID string, q AnalyticsQuery, loc, _ *time.Location, _ int) error {
		rows, err := s.pool.Query(ctx, `SELECT to_char(bucket AT TIME ZONE $4, 'YYYY-MM-DD'), sum(answers)::bigint, sum(satisfied)::bigint
			FROM analytics_csat WHERE tenant_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY 1`,
			tenantID, q.From, q.To, loc.String())
		if err != nil {
			return fmt.Errorf("csat: %w", err)
		}
		defer rows.Close()
		days := make([]CSATDay, len(a.dayList))
		for i, d := range a.dayList {
			days[i].Date = d
		}
		for rows.Next() {
			var day string
			var d CSATDay
			if err := rows.Scan(&day, &d.Answers, &d.Satisfied); err != nil {
				return fmt.Errorf("csat: %w", err)
			}
			if i, ok := a.days[day]; ok {
				d.Date = day
				days[i] = d
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("csat: %w", err)
		}
		for i := range days {
			days[i].CSAT = ratio64(days[i].Satisfied, days[i].Answers)
			a.Totals.CSATAnswers += days[i].Answers
			a.Totals.Satisfied += days[i].Satisfied
		}
		a.Totals.CSAT = ratio64(a.Totals.Satisfied, a.Totals.CSATAnswers)
		a.CSAT = days
		return nil
	}
}

// termDays is the range of the tenant's calendar days that terms and
// intents are read over: every day the range touches, whole.
func termDays(q AnalyticsQuery, tenantLoc *time.Location) (first, last string) {
	return q.From.In(tenantLoc).Format(time.DateOnly), q.To.Add(-time.Nanosecond).In(tenantLoc).Format(time.DateOnly)
}

func (a *Analytics) readKeywords(s *Store) analyticsReader {
	return func(ctx context.Context, tenantID string, q AnalyticsQuery, _, tenantLoc *time.Location, top int) error {
		first, last := termDays(q, tenantLoc)
		rows, err := s.pool.Query(ctx, `SELECT term, sum(n)::bigint AS total,
				coalesce(sum(n) FILTER (WHERE source = 'chat'), 0)::bigint,
				coalesce(sum(n) FILTER (WHERE source = 'speech'), 0)::bigint
			FROM analytics_terms WHERE tenant_id = $1 AND day >= $2::date AND day <= $3::date
			GROUP BY term HAVING sum(n) > 0 ORDER BY total DESC, term LIMIT $4`, tenantID, first, last, top)
		if err != nil {
			return fmt.Errorf("keywords: %w", err)
		}
		defer rows.Close()
		a.Keywords = []TermCount{}
		for rows.Next() {
			var t TermCount
			if err := rows.Scan(&t.Term, &t.Count, &t.Chat, &t.Speech); err != nil {
				return fmt.Errorf("keywords: %w", err)
			}
			a.Keywords = append(a.Keywords, t)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("keywords: %w", err)
		}
		return nil
	}
}

func (a *Analytics) readIntents(s *Store) analyticsReader {
	return func(ctx context.Context, tenantID string, q AnalyticsQuery, _, tenantLoc *time.Location, top int) error {
		first, last := termDays(q, tenantLoc)
		rows, err := s.pool.Query(ctx, `SELECT intent, source, sum(n)::bigint AS total
			FROM analytics_intents WHERE tenant_id = $1 AND day >= $2::date AND day <= $3::date
			GROUP BY intent, source HAVING sum(n) > 0 ORDER BY total DESC, intent, source LIMIT $4`, tenantID, first, last, top)
		if err != nil {
			return fmt.Errorf("intents: %w", err)
		}
		defer rows.Close()
		a.Intents = []IntentCount{}
		for rows.Next() {
			var it IntentCount
			if err := rows.Scan(&it.Intent, &it.Source, &it.Count); err != nil {
				return fmt.Errorf("intents: %w", err)
			}
			a.Intents = append(a.Intents, it)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("intents: %w", err)
		}
		return nil
	}
}

// interior is the part of [from, to) made of whole units (UTC hours or
// days: Truncate counts from the zero time, a UTC midnight); when there is
// none it is empty, at to, so the caller's edges [from, a) and [b, to)
// cover the range.
func interior(from, to time.Time, unit time.Duration) (a, b time.Time) {
	a, b = from.Truncate(unit), to.Truncate(unit)
	if a.Before(from) {
		a = a.Add(unit)
	}
	if !a.Before(b) {
		return to, to
	}
	return a, b
}

// wholeHourZone reports whether loc is a whole number of hours from UTC
// all through [from, to), so its hours are UTC hours. An offset lasts
// months, so a look a day is enough.
func wholeHourZone(loc *time.Location, from, to time.Time) bool {
	for t := from; t.Before(to); t = t.Add(24 * time.Hour) {
		if _, off := t.In(loc).Zone(); off%3600 != 0 {
			return false
		}
	}
	_, off := to.Add(-time.Nanosecond).In(loc).Zone()
	return off%3600 == 0
}

func ratio64(num, den int64) *float64 {
	if den <= 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}
