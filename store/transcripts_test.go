package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

func TestTranscriptLines(t *testing.T) {
	s := recordingsDB(t) // tenants demo and acme
	ctx := testCtx(t)
	call := uuid.New()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	line := func(side string, start int64, text string) store.TranscriptLine {
		return store.TranscriptLine{TenantID: "demo", CallID: call, Side: side, AgentID: "a1",
			StartMS: start, EndMS: start + 900, At: at.Add(time.Duration(start) * time.Millisecond), Text: text}
	}
	// Written out of order, as two speech workers finish them; two lines
	// start at the same instant and keep the batch's order.
	first := []store.TranscriptLine{line(store.SideAgent, 2000, "How can I help?"), line(store.SideCaller, 0, "Hello")}
	if err := s.AddTranscriptLines(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := []store.TranscriptLine{line(store.SideCaller, 4000, "My invoice is wrong"), line(store.SideAgent, 4000, "Oh")}
	second[1].AgentID = "a2"
	if err := s.AddTranscriptLines(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTranscriptLines(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	got, err := s.CallTranscript(ctx, "demo", call)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range got {
		texts = append(texts, l.Text)
	}
	if want := []string{"Hello", "How can I help?", "My invoice is wrong", "Oh"}; !slices.Equal(texts, want) {
		t.Fatalf("order %q, want %q", texts, want)
	}
	g := got[0]
	if g.ID == 0 || g.TenantID != "demo" || g.CallID != call || g.Side != store.SideCaller || g.AgentID != "a1" ||
		g.StartMS != 0 || g.EndMS != 900 || !g.At.Equal(at) || g.At.Location() != time.UTC {
		t.Fatalf("first line %+v", g)
	}
	if got[3].AgentID != "a2" || got[3].Side != store.SideAgent {
		t.Fatalf("last line %+v", got[3])
	}

	// Tenant isolation: acme reads nothing of demo's call.
	if other, err := s.CallTranscript(ctx, "acme", call); err != nil || len(other) != 0 {
		t.Fatalf("acme reads demo's transcript: %v %v", other, err)
	}
	if none, err := s.CallTranscript(ctx, "demo", uuid.New()); err != nil || len(none) != 0 {
		t.Fatalf("unknown call: %v %v", none, err)
	}
}

func TestTranscriptLinesRejected(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	call := uuid.New()
	good := store.TranscriptLine{TenantID: "demo", CallID: call, Side: store.SideCaller, StartMS: 10, EndMS: 20,
		At: time.Now(), Text: "fine"}
	cases := map[string]func(l *store.TranscriptLine){
		"side":       func(l *store.TranscriptLine) { l.Side = "supervisor" },
		"empty text": func(l *store.TranscriptLine) { l.Text = "  \n" },
		"long text":  func(l *store.TranscriptLine) { l.Text = strings.Repeat("é", store.MaxTranscriptText+1) },
		"nul":        func(l *store.TranscriptLine) { l.Text = "a\x00b" },
		"bad utf8":   func(l *store.TranscriptLine) { l.Text = "a\xffb" },
		"negative":   func(l *store.TranscriptLine) { l.StartMS = -1 },
		"backwards":  func(l *store.TranscriptLine) { l.EndMS = 5 },
		"too late":   func(l *store.TranscriptLine) { l.EndMS = 1 << 40 },
		"no tenant":  func(l *store.TranscriptLine) { l.TenantID = "" },
		"no call":    func(l *store.TranscriptLine) { l.CallID = uuid.Nil },
		"no time":    func(l *store.TranscriptLine) { l.At = time.Time{} },
	}
	for name, spoil := range cases {
		bad := good
		spoil(&bad)
		err := s.AddTranscriptLines(ctx, []store.TranscriptLine{good, bad})
		if !errors.Is(err, store.ErrInvalidTranscriptLine) || !strings.Contains(err.Error(), "line 2 of 2") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Exactly the limit is fine, in characters rather than bytes.
	edge := good
	edge.Text = strings.Repeat("é", store.MaxTranscriptText)
	if err := s.AddTranscriptLines(ctx, []store.TranscriptLine{edge}); err != nil {
		t.Fatalf("4000 characters: %v", err)
	}
	// The refused batches stored nothing, not even their good line.
	got, err := s.CallTranscript(ctx, "demo", call)
	if err != nil || len(got) != 1 || got[0].Text != edge.Text {
		t.Fatalf("after refusals: %d lines, %v", len(got), err)
	}
}

func TestSearchCallsByTranscript(t *testing.T) {
	d := newScriptedDay(t) // acme's calls c1..c9 and globex's g1
	ctx := testCtx(t)
	at := local(9, 2, 0)
	say := func(tenant string, call uuid.UUID, side, text string) store.TranscriptLine {
		return store.TranscriptLine{TenantID: tenant, CallID: call, Side: side, AgentID: d.alice, StartMS: 100, EndMS: 900, At: at, Text: text}
	}
	if err := d.s.AddTranscriptLines(ctx, []store.TranscriptLine{
		say("acme", d.calls["c1"], store.SideCaller, "I want to cancel my subscription"),
		say("acme", d.calls["c1"], store.SideAgent, "Sorry to hear that, let me check your account"),
		say("acme", d.calls["c3"], store.SideCaller, "The invoice was charged twice"),
		say("acme", d.calls["c6"], store.SideAgent, "Your subscriptions are renewed yearly"),
		// globex's call says the same words: acme must not find it, and
		// globex must not find acme's.
		say("globex", d.calls["g1"], store.SideCaller, "Please cancel the invoice"),
	}); err != nil {
		t.Fatal(err)
	}
	names := func(tenant string, f store.CallFilter) []string {
		t.Helper()
		ms, err := d.s.SearchCalls(ctx, tenant, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			for n, id := range d.calls {
				if id == m.Call.ID {
					out = append(out, n)
				}
			}
		}
		return out
	}
	cases := []struct {
		name   string
		tenant string
		f      store.CallFilter
		want   []string
	}{
		{"one word", "acme", store.CallFilter{Text: "cancel"}, []string{"c1"}},
		{"stemmed, case-insensitive", "acme", store.CallFilter{Text: "Subscription"}, []string{"c6", "c1"}},
		{"every word, either side", "acme", store.CallFilter{Text: "cancel account"}, []string{"c1"}},
		{"words on different calls", "acme", store.CallFilter{Text: "cancel invoice"}, nil},
		{"with other filters", "acme", store.CallFilter{Text: "subscription", Disposition: "sale", Agent: "b0b"}, []string{"c6"}},
		{"stop words only", "acme", store.CallFilter{Text: "the"}, nil},
		{"other tenant's words", "acme", store.CallFilter{Text: "please"}, nil},
		{"globex sees its own only", "globex", store.CallFilter{Text: "invoice"}, []string{"g1"}},
		{"globex cannot find acme's", "globex", store.CallFilter{Text: "subscription"}, nil},
	}
	for _, c := range cases {
		if got := names(c.tenant, c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
