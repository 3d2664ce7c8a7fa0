package assist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/call"
)

// fakeHistory answers PreviousCalls from a fixed list and records the
// question.
type fakeHistory struct {
	calls  []PreviousCall
	err    error
	tenant string
	number string
	before time.Time
	limit  int
}

func (h *fakeHistory) PreviousCalls(_ context.Context, tenantID, number string, before time.Time, limit int) ([]PreviousCall, error) {
	h.tenant, h.number, h.before, h.limit = tenantID, number, before, limit
	return h.calls, h.err
}

// journalCall is a call whose timeline holds a typical IVR run: region,
// a spoken menu choice, a masked gather, a queue and an overflow.
func journalCall(t *testing.T, start time.Time) *call.Call {
	t.Helper()
	now := start
	c := call.New(t.Context(), call.Info{
		ID: "c-1", TenantID: "demo", From: "+12125550100", To: "+15550100", Started: start,
	}, call.Config{Now: func() time.Time { return now }})
	ev := func(d time.Duration, kind, step string, data map[string]string) {
		now = start.Add(d)
		c.Event(kind, step, data)
	}
	ev(0, "region", "", map[string]string{"region": "east", "country": "US", "number": "+12125550100"})
	ev(time.Second, "step", "welcome", map[string]string{"kind": "play"})
	ev(2*time.Second, "step", "main_menu", map[string]string{"kind": "menu"})
	ev(3*time.Second, "speech", "main_menu", map[string]string{"text": "lost card", "confidence": "0.91", "choice": "lost_card"})
	ev(3*time.Second, "menu", "main_menu", map[string]string{"choice": "lost_card", "next": "pin", "input": "speech"})
	ev(4*time.Second, "step", "pin", map[string]string{"kind": "gather"})
	ev(4*time.Second, "step", "pin", map[string]string{"kind": "gather"}) // a retry stays one step
	ev(9*time.Second, "gather", "pin", map[string]string{"var": "pin", "value": "****"})
	ev(10*time.Second, "lookup", "verify_pin", map[string]string{"into": "verify", "status": "200", "ms": "12", "verify.verified": "true", "verify.pin": "****"})
	ev(10*time.Second, "lookup_failed", "balance", map[string]string{"into": "bal", "reason": "HTTP 500", "status": "500", "ms": "3"})
	ev(10*time.Second, "step", "queue_cards", map[string]string{"kind": "queue"})
	ev(10*time.Second, "queue", "queue_cards", map[string]string{"queue": "cards", "music": "moh"})
	ev(70*time.Second, "queue_overflow", "queue_cards", map[string]string{"from": "cards", "queue": "general"})
	return c
}

func TestLocalContextFromJournal(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := journalCall(t, start)
	b := NewContextBuilder(ContextConfig{})
	cc := b.Local(c, start.Add(95*time.Second))
	if cc.Number != "+12125550100" || cc.Dialled != "+15550100" || cc.Call != "c-1" {
		t.Errorf("number %q dialled %q call %q", cc.Number, cc.Dialled, cc.Call)
	}
	if cc.Region == nil || cc.Region.Name != "east" || cc.Region.Country != "US" {
		t.Errorf("region %+v", cc.Region)
	}
	if want := []string{"welcome", "main_menu", "pin", "queue_cards"}; !slices.Equal(cc.Path, want) {
		t.Errorf("path %q, want %q", cc.Path, want)
	}
	if len(cc.Choices) != 4 {
		t.Fatalf("choices %+v", cc.Choices)
	}
	if m := cc.Choices[0]; m.Kind != "menu" || m.Input != "speech" || m.Value != "lost_card" || m.Said != "lost card" || m.Next != "pin" {
		t.Errorf("menu choice %+v", m)
	}
	if g := cc.Choices[1]; g.Kind != "gather" || g.Var != "pin" || g.Value != "****" || g.Input != "key" {
		t.Errorf("gather %+v", g)
	}
	if l := cc.Choices[2]; l.Kind != "lookup" || l.Var != "verify" || l.Value != "ok" || len(l.Detail) != 2 ||
		l.Detail["verified"] != "true" || l.Detail["pin"] != "****" {
		t.Errorf("lookup %+v", l)
	}
	if l := cc.Choices[3]; l.Kind != "lookup" || l.Var != "bal" || l.Value != "failed" || l.Detail["reason"] != "HTTP 500" || l.Detail["status"] != "500" {
		t.Errorf("failed lookup %+v", l)
	}
	// The overflow moved the caller; the wait runs from the first queue.
	if cc.Queue != "general" || cc.QueuedAt == nil || !cc.QueuedAt.Equal(start.Add(10*time.Second)) || cc.WaitMS != 85000 || !cc.Waiting {
		t.Errorf("queue %q queued at %v wait %d", cc.Queue, cc.QueuedAt, cc.WaitMS)
	}
	if cc.CRM.Status != CRMNone || cc.PreviousStatus != PreviousNone || cc.Complete {
		t.Errorf("lookups without sources: crm %q previous %q complete %v", cc.CRM.Status, cc.PreviousStatus, cc.Complete)
	}
	// The page reads empty lists, never null.
	js, _ := json.Marshal(cc)
	for _, want := range []string{`"previous":[]`, `"fields":[]`, `"wait_ms":85000`, `"ivr_path":["welcome"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON %s lacks %s", js, want)
		}
	}
}

// Time in queue stops at the answer and runs again after a transfer.
func TestLocalContextWaitAcrossTransfer(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	journal := []call.Event{
		{Kind: "queue", Step: "q", At: at(10), Data: map[string]string{"queue": "cards"}},
		{Kind: "queue_connect", Step: "q", At: at(40), Data: map[string]string{"queue": "cards", "agent": "u1"}},
	}
	info := call.Info{ID: "c", From: "+1555"}
	if cc := LocalContext(info, journal, at(100)); cc.WaitMS != 30000 || cc.Waiting || cc.Queue != "cards" {
		t.Errorf("answered: wait %d waiting %v queue %q", cc.WaitMS, cc.Waiting, cc.Queue)
	}
	journal = append(journal, call.Event{Kind: "queue_transfer", Step: "q", At: at(160), Data: map[string]string{"from": "cards", "queue": "accounts"}})
	if cc := LocalContext(info, journal, at(170)); cc.WaitMS != 40000 || !cc.Waiting || cc.Queue != "accounts" || !cc.QueuedAt.Equal(at(10)) {
		t.Errorf("transferred: wait %d waiting %v queue %q", cc.WaitMS, cc.Waiting, cc.Queue)
	}
}

func TestLocalContextAnonymous(t *testing.T) {
	c := call.New(t.Context(), call.Info{ID: "c-2", TenantID: "demo"}, call.Config{})
	cc := LocalContext(c.Info, c.Journal(), time.Now())
	if cc.Region != nil || cc.QueuedAt != nil || cc.WaitMS != 0 || len(cc.Path) != 0 || cc.Path == nil || cc.Choices == nil {
		t.Errorf("empty call: %+v", cc)
	}
	h := &fakeHistory{}
	b := NewContextBuilder(ContextConfig{History: h})
	l := b.Lookup(t.Context(), c.Info)
	if l.PreviousStatus != PreviousNone || h.limit != 0 {
		t.Errorf("a caller without a number: status %q, history asked %d", l.PreviousStatus, h.limit)
	}
}

func crmServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var last atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last.Store(r.URL.String())
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func TestCRMLookupOK(t *testing.T) {
	srv, last := crmServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		fmt.Fprint(w, `{"name":"Ada Lovelace","segment":"gold","balance":1234.5,"vip":true,"cards":["visa","amex"],"note":null,"city":"New York"}`)
	})
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := journalCall(t, start)
	h := &fakeHistory{calls: []PreviousCall{
		{ID: "c-1", StartedAt: start}, // the call itself, should a store return it, is left out
		{ID: "p-1", StartedAt: start.Add(-time.Hour), Disposition: "resolved", Summary: "Card blocked", Intent: "lost_card"},
	}}
	b := NewContextBuilder(ContextConfig{History: h, CRM: map[string]CRMConfig{
		"demo": {URL: "${crm}/customer?number=${caller}&line=${dnis}&t=${tenant}", Vars: map[string]string{"crm": srv.URL + "/demo/crm"}},
	}})
	if p := b.Local(c, start); p.CRM.Status != CRMLoading || p.PreviousStatus != PreviousLoading {
		t.Errorf("pending: crm %q previous %q", p.CRM.Status, p.PreviousStatus)
	}
	cc := b.Build(t.Context(), c, start.Add(time.Minute))
	if got, _ := last.Load().(string); got != "/demo/crm/customer?number=%2B12125550100&line=%2B15550100&t=demo" {
		t.Errorf("CRM asked %q", got)
	}
	if !cc.Complete || cc.CRM.Status != CRMOK || cc.CRM.Error != "" {
		t.Fatalf("crm %+v complete %v", cc.CRM, cc.Complete)
	}
	want := []CRMField{{"name", "Ada Lovelace"}, {"segment", "gold"}, {"balance", "1234.5"}, {"vip", "true"},
		{"cards", `["visa","amex"]`}, {"note", ""}, {"city", "New York"}}
	if !slices.Equal(cc.CRM.Fields, want) {
		t.Errorf("fields %q, want %q", cc.CRM.Fields, want)
	}
	if h.tenant != "demo" || h.number != "+12125550100" || !h.before.Equal(start) || h.limit != PreviousLimit {
		t.Errorf("history asked %+v", h)
	}
	if cc.PreviousStatus != PreviousOK || len(cc.Previous) != 1 || cc.Previous[0].ID != "p-1" {
		t.Errorf("previous %q %+v", cc.PreviousStatus, cc.Previous)
	}

	// An allowlist picks and orders.
	b.SetCRM("demo", &CRMConfig{URL: srv.URL + "/c?n=${caller}", Fields: []string{"city", "name", "missing"}})
	cc = b.Build(t.Context(), c, start)
	if want := []CRMField{{"city", "New York"}, {"name", "Ada Lovelace"}}; !slices.Equal(cc.CRM.Fields, want) {
		t.Errorf("allowlisted fields %q, want %q", cc.CRM.Fields, want)
	}
	b.SetCRM("demo", nil)
	if cc = b.Build(t.Context(), c, start); cc.CRM.Status != CRMNone {
		t.Errorf("after removal: %+v", cc.CRM)
	}
}

func TestExpandCRMURL(t *testing.T) {
	info := call.Info{ID: "c 1", TenantID: "demo", From: "+1555/../x", To: "+15550100"}
	vars := map[string]string{"crm": "http://h/crm", "key": "a&b=c"}
	got := ExpandCRMURL("${crm}/customer/${caller}?n=${caller}&k=${key}&d=${dnis}&c=${call}&t=${tenant}&u=${gone}&x=${open", info, vars)
	want := "http://h/crm/customer/%2B1555%2F..%2Fx?n=%2B1555%2F..%2Fx&k=a%26b%3Dc&d=%2B15550100&c=c+1&t=demo&u=&x=${open"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCRMLookupFailures(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	cases := []struct {
		name    string
		handler http.HandlerFunc
		status  string
		err     string
		notFnd  bool
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, CRMUnavailable, "HTTP 500", false},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, CRMUnavailable, "no answer within 150ms", false},
		{"not json", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>") }, CRMUnavailable, "answer is not a JSON object", false},
		{"array", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `[1,2]`) }, CRMUnavailable, "answer is not a JSON object", false},
		{"truncated", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"name":"Ada"`) }, CRMUnavailable, "answer is not valid JSON", false},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, `{"x":"%s"}`, strings.Repeat("a", crmMaxBody))
		}, CRMUnavailable, "answer too large", false},
		{"unknown caller", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, CRMOK, "", true},
	}
	c := call.New(t.Context(), call.Info{ID: "c", TenantID: "demo", From: "+15551230000", Started: time.Now()}, call.Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := crmServer(t, tc.handler)
			b := NewContextBuilder(ContextConfig{CRM: map[string]CRMConfig{"demo": {URL: srv.URL + "/?n=${caller}", Timeout: 150 * time.Millisecond}}})
			began := time.Now()
			l := b.Lookup(t.Context(), c.Info)
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("lookup took %v", took)
			}
			if l.CRM.Status != tc.status || l.CRM.Error != tc.err || l.CRM.NotFound != tc.notFnd || l.CRM.Fields == nil || len(l.CRM.Fields) != 0 {
				t.Errorf("got %+v, want status %q error %q", l.CRM, tc.status, tc.err)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		addr := srv.URL
		srv.Close()
		b := NewContextBuilder(ContextConfig{CRM: map[string]CRMConfig{"demo": {URL: addr + "/?key=secret&n=${caller}"}}})
		l := b.Lookup(t.Context(), c.Info)
		if l.CRM.Status != CRMUnavailable || l.CRM.Error == "" || strings.Contains(l.CRM.Error, "secret") || strings.Contains(l.CRM.Error, "http") {
			t.Errorf("refused: %+v (the error must not carry the URL)", l.CRM)
		}
	})
	t.Run("default timeout", func(t *testing.T) {
		srv, _ := crmServer(t, cases[1].handler)
		b := NewContextBuilder(ContextConfig{CRM: map[string]CRMConfig{"demo": {URL: srv.URL}}})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		began := time.Now()
		l := b.Lookup(ctx, c.Info)
		if took := time.Since(began); took < DefaultCRMTimeout || took > DefaultCRMTimeout+time.Second {
			t.Errorf("took %v, want about %v", took, DefaultCRMTimeout)
		}
		if l.CRM.Error != "no answer within 2s" {
			t.Errorf("got %+v", l.CRM)
		}
	})
	t.Run("call ends", func(t *testing.T) {
		srv, _ := crmServer(t, cases[1].handler)
		b := NewContextBuilder(ContextConfig{CRM: map[string]CRMConfig{"demo": {URL: srv.URL}}})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		if l := b.Lookup(ctx, c.Info); l.CRM.Status != CRMUnavailable || l.CRM.Error != "call ended" {
			t.Errorf("got %+v", l.CRM)
		}
	})
	t.Run("history fails", func(t *testing.T) {
		b := NewContextBuilder(ContextConfig{History: &fakeHistory{err: errors.New("db down")}})
		if l := b.Lookup(t.Context(), c.Info); l.PreviousStatus != PreviousUnavailable || l.CRM.Status != CRMNone || !l.Complete {
			t.Errorf("got %+v", l)
		}
	})
}

func TestCRMLookupsBounded(t *testing.T) {
	release := make(chan struct{})
	in := make(chan struct{}, 4)
	srv, _ := crmServer(t, func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		<-release
		fmt.Fprint(w, `{"name":"x"}`)
	})
	b := NewContextBuilder(ContextConfig{MaxLookups: 1, CRM: map[string]CRMConfig{"demo": {URL: srv.URL, Timeout: 5 * time.Second}}})
	info := call.Info{ID: "a", TenantID: "demo", From: "1"}
	first := make(chan Lookups, 1)
	go func() { first <- b.Lookup(t.Context(), info) }()
	<-in
	if l := b.Lookup(t.Context(), info); l.CRM.Status != CRMUnavailable || l.CRM.Error != "too many lookups in progress" {
		t.Errorf("over the bound: %+v", l.CRM)
	}
	close(release)
	if l := <-first; l.CRM.Status != CRMOK {
		t.Errorf("first: %+v", l.CRM)
	}
}

func TestCRMFieldClipping(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range crmMaxFields + 5 {
		fmt.Fprintf(&sb, `"f%d":"%s",`, i, strings.Repeat("é", crmMaxValue))
	}
	sb.WriteString(`"f0":"dup"}`)
	fields, err := crmFields([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != crmMaxFields+5 || fields[0].Name != "f0" || fields[0].Value == "dup" {
		t.Fatalf("%d fields, first %q", len(fields), fields[0].Name)
	}
	picked := pickFields(fields, nil)
	if len(picked) != crmMaxFields || len(picked[0].Value) > crmMaxValue || !strings.HasPrefix(picked[0].Value, "éé") {
		t.Errorf("%d fields, value of %d bytes", len(picked), len(picked[0].Value))
	}
}
