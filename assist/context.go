package assist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"hotline/call"
	"hotline/ivr"
)

// CRM statuses, as CallerContext.CRM.Status says them.
const (
	CRMOK          = "ok"          // the lookup answered (Fields may be empty: NotFound)
	CRMUnavailable = "unavailable" // it failed: Error says how; the call goes on without it
	CRMNone        = "none"        // the tenant has no CRM lookup
	CRMLoading     = "loading"     // asked, no answer yet: a later version has it
)

// Statuses of CallerContext.PreviousStatus.
const (
	PreviousOK          = "ok"
	PreviousLoading     = "loading"
	PreviousUnavailable = "unavailable"
	PreviousNone        = "none" // no history source, or a caller without a number
)

// DefaultCRMTimeout bounds a CRM lookup when the tenant sets no timeout.
const DefaultCRMTimeout = 2 * time.Second

// Bounds on what a CRM answer may put on an agent's page: the page shows
// a short card, and an endpoint returning a whole customer file (or an
// error page) must not be relayed to every offer.
const (
	crmMaxBody   = 64 << 10
	crmMaxFields = 50
	crmMaxName   = 64
	crmMaxValue  = 500
	crmMaxError  = 120
)

// PreviousLimit is how many earlier calls of the number a context lists.
const PreviousLimit = 5

// historyTimeout bounds the previous-calls query: a slow database must not
// hold the full context back longer than a slow CRM.
const historyTimeout = 3 * time.Second

// CallerContext is what an agent sees about a caller before answering:
// who is calling and from where, what they did in the IVR, how long they
// waited, their earlier calls and what the tenant's CRM knows of them.
type CallerContext struct {
	Call    string        `json:"call"`
	Number  string        `json:"number"`            // the caller's number ("" anonymous)
	Dialled string        `json:"dialled,omitempty"` // the number they called
	Region  *CallerRegion `json:"region,omitempty"`  // nil: unknown
	// Path is the IVR steps passed, in order, repeats collapsed.
	Path    []string `json:"ivr_path"`
	Choices []Choice `json:"choices"`
	// Queue is the queue the caller waits in (or was answered from);
	// QueuedAt when they first joined a queue. WaitMS is their time in
	// queues as of the message, overflows included, conversations with
	// agents (before a transfer) not; Waiting says the clock still runs.
	Queue    string     `json:"queue,omitempty"`
	QueuedAt *time.Time `json:"queued_at,omitempty"`
	WaitMS   int64      `json:"wait_ms"`
	Waiting  bool       `json:"waiting"`

	Previous       []PreviousCall `json:"previous"`
	PreviousStatus string         `json:"previous_status"`
	CRM            CRMResult      `json:"crm"`
	// Complete is false on the first version sent while lookups run; the
	// complete one follows.
	Complete bool `json:"complete"`
}

// CallerRegion says where the caller is from (their number's prefix):
// the tenant's region name, else the country's ISO code, and the country.
type CallerRegion struct {
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
}

// Choice is one thing the caller chose or entered in the IVR.
type Choice struct {
	Step  string `json:"step"`
	Kind  string `json:"kind"`            // menu, gather, lookup or ask
	Input string `json:"input,omitempty"` // key or speech
	// Value is the menu option (a key or a spoken option's name), the
	// gathered value masked as the IVR masked it, a lookup's outcome
	// (ok, failed), or the intent an ask step matched ("" none).
	Value string `json:"value,omitempty"`
	Var   string `json:"var,omitempty"`  // the variable a gather or lookup filled
	Said  string `json:"said,omitempty"` // the words a spoken menu choice or an ask step's question was heard as
	Next  string `json:"next,omitempty"`
	// Detail is what a lookup stored (its fields, secrets masked) or why
	// it failed (reason, status).
	Detail map[string]string `json:"detail,omitempty"`
}

// PreviousCall is one earlier call of the same number in the tenant.
type PreviousCall struct {
	ID          string    `json:"id"`
	StartedAt   time.Time `json:"started_at"`
	DurationMS  int64     `json:"duration_ms"`
	Direction   string    `json:"direction"` // inbound, outbound, callback
	Answered    bool      `json:"answered"`
	Queue       string    `json:"queue,omitempty"`
	Agent       string    `json:"agent,omitempty"` // username
	Disposition string    `json:"disposition,omitempty"`
	Note        string    `json:"note,omitempty"`
	Summary     string    `json:"summary,omitempty"`
	Intent      string    `json:"intent,omitempty"`
}

// CRMField is one field of a CRM answer; values are text.
type CRMField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CRMResult is the tenant's CRM lookup of the caller.
type CRMResult struct {
	Status   string     `json:"status"`
	Fields   []CRMField `json:"fields"`
	Error    string     `json:"error,omitempty"`
	NotFound bool       `json:"not_found,omitempty"` // the CRM answered 404: it does not know the caller
}

// Lookups is the slow part of a context: what needs the database and the
// CRM. The desk fetches it once per call and pairs it with a fresh Local
// view for every offer.
type Lookups struct {
	Previous       []PreviousCall
	PreviousStatus string
	CRM            CRMResult
	Complete       bool
}

// History finds a number's earlier calls; *store.Store does (through an
// adapter in cmd/hotline).
type History interface {
	PreviousCalls(ctx context.Context, tenantID, number string, before time.Time, limit int) ([]PreviousCall, error)
}

// CRMConfig is a tenant's CRM lookup: an HTTP GET of URL, a template
// where ${caller} is the caller's number, ${dnis} the number dialled,
// ${call} the call's id, ${tenant} the tenant's id and ${NAME} the
// tenant's variable NAME (the built-in names win).
// Fields, when given, is which of the answer's fields are shown, in
// that order; otherwise all are, in the answer's order.
type CRMConfig struct {
	URL     string
	Timeout time.Duration // 0: DefaultCRMTimeout
	Fields  []string
	Vars    map[string]string
}

// ContextConfig configures a ContextBuilder.
type ContextConfig struct {
	History History              // nil: no previous calls
	CRM     map[string]CRMConfig // by tenant id; a tenant not here has none
	// Client makes the CRM requests; nil: a client of the builder's own.
	// Timeouts come from each tenant's configuration either way.
	Client *http.Client
	// MaxLookups bounds CRM requests in flight across tenants (default
	// 64): when a CRM hangs, calls keep arriving, and each lookup over the
	// bound is reported unavailable at once rather than queued.
	MaxLookups int
	Logger     *slog.Logger
}

// ContextBuilder builds callers' contexts. It is safe for concurrent use.
type ContextBuilder struct {
	cfg ContextConfig
	log *slog.Logger
	sem chan struct{}
	mu  sync.Mutex
	crm map[string]CRMConfig
}

// NewContextBuilder makes a builder.
func NewContextBuilder(cfg ContextConfig) *ContextBuilder {
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.MaxLookups <= 0 {
		cfg.MaxLookups = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &ContextBuilder{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxLookups), crm: cfg.CRM}
}

// SetCRM replaces a tenant's CRM lookup (nil: none), for a configuration
// reload; lookups already running keep what they read.
func (b *ContextBuilder) SetCRM(tenant string, cfg *CRMConfig) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := make(map[string]CRMConfig, len(b.crm)+1)
	for k, v := range b.crm {
		next[k] = v
	}
	if cfg == nil {
		delete(next, tenant)
	} else {
		next[tenant] = *cfg
	}
	b.crm = next
}

func (b *ContextBuilder) crmOf(tenant string) (CRMConfig, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.crm[tenant]
	return c, ok && c.URL != ""
}

// Build is c's whole context: Local, then Lookup (which may take up to
// the CRM's timeout).
func (b *ContextBuilder) Build(ctx context.Context, c *call.Call, now time.Time) CallerContext {
	cc := b.Local(c, now)
	cc.Apply(b.Lookup(ctx, c.Info))
	return cc
}

// Local is the part of c's context its own timeline holds: no I/O, so
// the desk may call it on the ACD's owner. Its lookups are Pending's.
func (b *ContextBuilder) Local(c *call.Call, now time.Time) CallerContext {
	cc := LocalContext(c.Info, c.Journal(), now)
	cc.Apply(b.Pending(c.TenantID))
	return cc
}

// Pending is the lookups' placeholder while they run.
func (b *ContextBuilder) Pending(tenant string) Lookups {
	l := Lookups{PreviousStatus: PreviousNone, CRM: CRMResult{Status: CRMNone, Fields: []CRMField{}}}
	if b.cfg.History != nil {
		l.PreviousStatus = PreviousLoading
	}
	if _, ok := b.crmOf(tenant); ok {
		l.CRM.Status = CRMLoading
	}
	return l
}

// Apply sets the context's lookups.
func (cc *CallerContext) Apply(l Lookups) {
	cc.Previous = l.Previous
	if cc.Previous == nil {
		cc.Previous = []PreviousCall{}
	}
	cc.PreviousStatus = l.PreviousStatus
	cc.CRM = l.CRM
	if cc.CRM.Fields == nil {
		cc.CRM.Fields = []CRMField{}
	}
	cc.Complete = l.Complete
}

// Lookup runs the slow part: the number's previous calls and the CRM,
// side by side. Failures are reported in the result, never returned: the
// call goes on without them. ctx bounds it (the call's context: a caller
// who hangs up stops the lookups).
func (b *ContextBuilder) Lookup(ctx context.Context, info call.Info) Lookups {
	l := Lookups{Complete: true}
	var wg sync.WaitGroup
	wg.Go(func() { l.Previous, l.PreviousStatus = b.previous(ctx, info) })
	l.CRM = b.lookupCRM(ctx, info)
	wg.Wait()
	return l
}

func (b *ContextBuilder) previous(ctx context.Context, info call.Info) ([]PreviousCall, string) {
	if b.cfg.History == nil || !hasDigit(info.From) {
		return nil, PreviousNone
	}
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	before := info.Started
	if before.IsZero() {
		before = time.Now()
	}
	calls, err := b.cfg.History.PreviousCalls(ctx, info.TenantID, info.From, before, PreviousLimit)
	if err != nil {
		b.log.Warn("caller context: previous calls", "tenant", info.TenantID, "call", info.ID, "error", err)
		return nil, PreviousUnavailable
	}
	out := calls[:0:0]
	for _, p := range calls {
		if p.ID != info.ID {
			out = append(out, p)
		}
	}
	return out, PreviousOK
}

func hasDigit(s string) bool {
	return strings.ContainsAny(s, "0123456789")
}

// lookupCRM asks the tenant's CRM about the caller.
func (b *ContextBuilder) lookupCRM(ctx context.Context, info call.Info) CRMResult {
	cfg, ok := b.crmOf(info.TenantID)
	if !ok {
		return CRMResult{Status: CRMNone, Fields: []CRMField{}}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultCRMTimeout
	}
	fail := func(msg string) CRMResult {
		b.log.Info("caller context: CRM lookup failed", "tenant", info.TenantID, "call", info.ID, "error", msg)
		return CRMResult{Status: CRMUnavailable, Fields: []CRMField{}, Error: msg}
	}
	select {
	case b.sem <- struct{}{}:
		defer func() { <-b.sem }()
	default:
		return fail("too many lookups in progress")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := ExpandCRMURL(cfg.URL, info, cfg.Vars)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail("bad lookup URL")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Hotline caller context")
	resp, err := b.cfg.Client.Do(req)
	if err != nil {
		return fail(shortError(err, timeout))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		// The CRM is up and does not know this caller: an answer, not a
		// failure.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, crmMaxBody))
		return CRMResult{Status: CRMOK, Fields: []CRMField{}, NotFound: true}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, crmMaxBody))
		return fail(fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, crmMaxBody+1))
	if err != nil {
		return fail(shortError(err, timeout))
	}
	if len(body) > crmMaxBody {
		return fail("answer too large")
	}
	fields, err := crmFields(body)
	if err != nil {
		return fail(err.Error())
	}
	return CRMResult{Status: CRMOK, Fields: pickFields(fields, cfg.Fields)}
}

// ExpandCRMURL fills a CRM URL template for a call. The call's own
// values (the caller's number is whatever their phone sent) are always
// query-escaped; a tenant variable is inserted as written before the
// template's first '?', where it usually holds a base URL, and escaped
// after it, as lookup steps do (docs/flows.md).
func ExpandCRMURL(tmpl string, info call.Info, vars map[string]string) string {
	var sb strings.Builder
	rest, query := tmpl, false
	for {
		i := strings.Index(rest, "${")
		j := -1
		if i >= 0 {
			j = strings.IndexByte(rest[i:], '}')
		}
		if i < 0 || j < 0 {
			sb.WriteString(rest)
			return sb.String()
		}
		sb.WriteString(rest[:i])
		query = query || strings.Contains(rest[:i], "?")
		name := rest[i+2 : i+j]
		switch name {
		case "caller":
			sb.WriteString(url.QueryEscape(info.From))
		case "dnis":
			sb.WriteString(url.QueryEscape(info.To))
		case "call":
			sb.WriteString(url.QueryEscape(info.ID))
		case "tenant":
			sb.WriteString(url.QueryEscape(info.TenantID))
		default:
			// The configuration refuses unknown names; one removed by a
			// reload expands to nothing rather than reaching the CRM raw.
			if query {
				sb.WriteString(url.QueryEscape(vars[name]))
			} else {
				sb.WriteString(vars[name])
			}
		}
		rest = rest[i+j+1:]
	}
}

// crmFields reads a JSON object's members in the order the CRM wrote
// them (a map would lose it). Strings are shown as they are, null as
// nothing, numbers, booleans, arrays and objects as their JSON text.
func crmFields(body []byte) ([]CRMField, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("answer is not a JSON object")
	}
	var out []CRMField
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("answer is not valid JSON")
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("answer is not valid JSON")
		}
		name = clip(strings.TrimSpace(name), crmMaxName)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, CRMField{Name: name, Value: clip(fieldText(raw), crmMaxValue)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("answer is not valid JSON")
	}
	return out, nil
}

func fieldText(raw json.RawMessage) string {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return ""
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// pickFields keeps the allowed fields in the allowlist's order, or the
// first crmMaxFields without one.
func pickFields(fields []CRMField, allow []string) []CRMField {
	if len(allow) == 0 {
		if len(fields) > crmMaxFields {
			fields = fields[:crmMaxFields]
		}
		if fields == nil {
			fields = []CRMField{}
		}
		return fields
	}
	by := make(map[string]CRMField, len(fields))
	for _, f := range fields {
		by[f.Name] = f
	}
	out := make([]CRMField, 0, len(allow))
	for _, name := range allow {
		if f, ok := by[name]; ok {
			out = append(out, f)
		}
	}
	return out
}

// shortError is a lookup failure as the agent reads it: no URL (it may
// carry a key in its query) and no Go error chain.
func shortError(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", timeout)
	case errors.Is(err, context.Canceled):
		return "call ended"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return clip(err.Error(), crmMaxError)
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// LocalContext reads a call's context from its timeline: region, IVR
// path and choices, queue and time in queue as of now. Lookups are left
// empty (Apply sets them).
func LocalContext(info call.Info, journal []call.Event, now time.Time) CallerContext {
	cc := CallerContext{Call: info.ID, Number: info.From, Dialled: info.To, Path: []string{}, Choices: []Choice{}}
	said := map[string]string{}   // the last words heard at each step
	var queuedAt, since time.Time // since: in line from then on; zero while with an agent
	var waited time.Duration
	for _, e := range journal {
		d := e.Data
		switch e.Kind {
		case "region":
			cc.Region = &CallerRegion{Name: d["region"], Country: d["country"]}
		case ivr.EventStep:
			if n := len(cc.Path); e.Step != "" && (n == 0 || cc.Path[n-1] != e.Step) {
				cc.Path = append(cc.Path, e.Step)
			}
		case ivr.EventSpeech:
			said[e.Step] = d["text"]
		case ivr.EventMenu:
			ch := Choice{Step: e.Step, Kind: "menu", Input: "key", Value: d["choice"], Next: d["next"]}
			if d["input"] == "speech" {
				ch.Input, ch.Said = "speech", said[e.Step]
			}
			cc.Choices = append(cc.Choices, ch)
		case ivr.EventGather:
			ch := Choice{Step: e.Step, Kind: "gather", Input: "key", Var: d["var"], Value: d["value"]}
			if d["input"] == "speech" {
				ch.Input = "speech"
			}
			cc.Choices = append(cc.Choices, ch)
		case ivr.EventLookup:
			// The fields stored (secrets already masked by the flow),
			// named without their INTO. prefix.
			into := d["into"]
			fields := map[string]string{}
			for k, v := range d {
				if name, ok := strings.CutPrefix(k, into+"."); ok && into != "" {
					fields[name] = v
				}
			}
			cc.Choices = append(cc.Choices, Choice{Step: e.Step, Kind: "lookup", Var: into, Value: "ok", Detail: fields})
		case ivr.EventLookupFailed:
			detail := map[string]string{"reason": d["reason"]}
			if st := d["status"]; st != "" {
				detail["status"] = st
			}
			cc.Choices = append(cc.Choices, Choice{Step: e.Step, Kind: "lookup", Var: d["into"], Value: "failed", Detail: detail})
		case ivr.EventAsk:
			// The caller's question in their own words, so the agent
			// need not ask it again.
			detail := map[string]string{"outcome": d["outcome"]}
			for _, k := range []string{"intent", "confidence", "answer", "reason"} {
				if v := d[k]; v != "" {
					detail[k] = v
				}
			}
			cc.Choices = append(cc.Choices, Choice{Step: e.Step, Kind: "ask", Input: "speech", Value: d["intent"],
				Said: d["question"], Next: d["next"], Detail: detail})
		case ivr.EventQueue:
			if queuedAt.IsZero() {
				queuedAt = e.At
			}
			if since.IsZero() {
				since = e.At
			}
			cc.Queue = d["queue"]
		case "queue_overflow":
			if q := d["queue"]; q != "" {
				cc.Queue = q
			}
		case "queue_connect":
			if !since.IsZero() {
				waited += max(e.At.Sub(since), 0)
				since = time.Time{}
			}
		case "queue_transfer", "queue_requeue":
			// Back in line after an agent: the clock runs again.
			if q := d["queue"]; q != "" {
				cc.Queue = q
			}
			if since.IsZero() {
				since = e.At
			}
		}
	}
	if !since.IsZero() {
		waited += max(now.Sub(since), 0)
		cc.Waiting = true
	}
	if !queuedAt.IsZero() {
		cc.QueuedAt = &queuedAt
		cc.WaitMS = waited.Milliseconds()
	}
	return cc
}
