package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/auth"
	"hotline/recordings"
	"hotline/store"
)

type answersAPI struct {
	*api
	m     *recordings.Manager
	calls map[string]uuid.UUID // tenant → its recorded call
}

// newAnswersAPI serves newAPI's tenants and users, demo and acme each
// with a 3 s recorded call whose agent side is a 1 kHz tone (acme's
// encrypted at rest).
func newAnswersAPI(t *testing.T) *answersAPI {
	t.Helper()
	aa := &answersAPI{calls: map[string]uuid.UUID{}}
	aa.api = newAPIWith(t, func(s *Server, db *store.Store, clk *testClock) {
		m, err := recordings.New(recordings.Config{
			Dir: t.TempDir(), Store: db, Now: clk.Now, RingFrames: 256,
			Tenants: map[string]recordings.TenantConfig{"acme": {KeyEnv: "K"}},
			Getenv:  func(string) string { return strings.Repeat("ab", 32) },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		for _, tenant := range []string{"demo", "acme"} {
			aa.calls[tenant] = recordTone(t, m, tenant, clk.Now())
		}
		s.Recordings, s.AnswerClips, s.Answers = m, m, db
		aa.m = m
	})
	return aa
}

// recordTone records a 3 s call of tenant whose caller side is a 440 Hz
// tone and agent side a 1 kHz one, and returns the call's id.
func recordTone(t *testing.T, m *recordings.Manager, tenant string, at time.Time) uuid.UUID {
	t.Helper()
	id := uuid.New()
	rec, err := m.Start(recordings.Meta{TenantID: tenant, CallID: id.String(), AgentID: "agent", Started: at})
	if err != nil {
		t.Fatal(err)
	}
	left, right := make([]int16, recordings.FrameSamples), make([]int16, recordings.FrameSamples)
	for f := range 150 { // 3 s; 256 ring slots hold it all
		for i := range right {
			n := float64(f*recordings.FrameSamples + i)
			left[i] = int16(6000 * math.Sin(2*math.Pi*440*n/recordings.SampleRate))
			right[i] = int16(9000 * math.Sin(2*math.Pi*1000*n/recordings.SampleRate))
		}
		rec.WriteFrame(left, right)
	}
	if _, err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return id
}

func (aa *answersAPI) propose(tenant, intent string, call uuid.UUID, start, end int64) uuid.UUID {
	aa.t.Helper()
	id := uuid.New()
	if ok, err := aa.db.ProposeAnswer(context.Background(), store.AnswerProposal{ID: id, TenantID: tenant, Intent: intent, CallID: call,
		AgentID: "agent", Question: "what are your opening hours", Answer: "we are open nine to five", StartMS: start, EndMS: end}); err != nil || !ok {
		aa.t.Fatalf("propose: %v %v", ok, err)
	}
	return id
}

func wavSamples(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || binary.LittleEndian.Uint16(b[22:]) != 1 || binary.LittleEndian.Uint32(b[24:]) != 8000 {
		t.Fatalf("not an 8 kHz mono WAV: % x", b[:min(44, len(b))])
	}
	return (len(b) - 44) / 2
}

// TestLearnedAnswersAPI: supervisors list, hear (trimmed) and approve a
// reply; the approved clip is exactly what the trimmed preview played and
// what the intent's answer serves; access is audited like playback; text
// answers are validated; other tenants and agents get nothing.
func TestLearnedAnswersAPI(t *testing.T) {
	aa := newAnswersAPI(t)
	demo := aa.calls["demo"]
	p1 := aa.propose("demo", "opening-hours", demo, 1000, 2000)
	p2 := aa.propose("demo", "opening-hours", uuid.New(), 500, 900) // a call that was not recorded
	sam, ada, alice, dave := bearer(aa.login("demo", "sam")), bearer(aa.login("demo", "ada")), bearer(aa.login("demo", "alice")), bearer(aa.login("acme", "dave"))

	// Roles.
	if rec := aa.do("GET", "/api/v1/answers/proposals", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}
	for _, path := range []string{"/api/v1/answers/proposals", "/api/v1/answers", "/api/v1/answers/proposals/" + p1.String() + "/audio"} {
		if rec := aa.do("GET", path, "", alice...); rec.Code != http.StatusForbidden {
			t.Fatalf("agent %s: %d", path, rec.Code)
		}
	}
	rec := aa.do("GET", "/api/v1/answers/proposals", "", sam...)
	list := decode[struct{ Proposals []store.AnswerProposal }](t, rec)
	if rec.Code != 200 || len(list.Proposals) != 2 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := aa.do("GET", "/api/v1/answers/proposals?status=maybe", "", sam...); rec.Code != 400 || !strings.Contains(rec.Body.String(), "status must be") {
		t.Fatalf("bad status: %d %s", rec.Code, rec.Body)
	}

	// Another tenant: an empty list, and 404 for demo's proposal.
	if l := decode[struct{ Proposals []store.AnswerProposal }](t, aa.do("GET", "/api/v1/answers/proposals?status=all", "", dave...)); len(l.Proposals) != 0 {
		t.Fatalf("acme sees %d proposals", len(l.Proposals))
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/answers/proposals/" + p1.String() + "/audio"},
		{"POST", "/api/v1/answers/proposals/" + p1.String() + "/approve"}, {"POST", "/api/v1/answers/proposals/" + p1.String() + "/reject"},
		{"GET", "/api/v1/answers/proposals/not-a-uuid/audio"},
	} {
		if rec := aa.do(c.method, c.path, "", dave...); rec.Code != http.StatusNotFound {
			t.Fatalf("acme %s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}

	// Listening: the reply as proposed, then trimmed.
	audio := "/api/v1/answers/proposals/" + p1.String() + "/audio"
	rec = aa.do("GET", audio, "", sam...)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "audio/wav" || wavSamples(t, rec.Body.Bytes()) != 8000 {
		t.Fatalf("preview: %d %s %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("cache control %q", cc)
	}
	trimmed := aa.do("GET", audio+"?start_ms=1200&end_ms=2500", "", sam...)
	if trimmed.Code != 200 || wavSamples(t, trimmed.Body.Bytes()) != 1300*8 {
		t.Fatalf("trimmed: %d %s", trimmed.Code, trimmed.Body)
	}
	for _, q := range []string{"?start_ms=-1", "?start_ms=abc", "?start_ms=0&end_ms=2000" /* inside ±2 s: fine */, "?end_ms=4500", "?start_ms=1500&end_ms=1600", "?start_ms=2900&end_ms=4000"} {
		rec := aa.do("GET", audio+q, "", sam...)
		want := http.StatusBadRequest
		if q == "?start_ms=0&end_ms=2000" || q == "?start_ms=2900&end_ms=4000" {
			want = 200
		}
		if rec.Code != want {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
	// (2900-4000 lies within the slack and past the recording's 3 s: it
	// is clamped, not refused, as it overlaps the recording.)
	// The unrecorded call's reply cannot be heard: a clear 409.
	rec = aa.do("GET", "/api/v1/answers/proposals/"+p2.String()+"/audio", "", sam...)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "not recorded") {
		t.Fatalf("unrecorded: %d %s", rec.Code, rec.Body)
	}
	access, err := aa.db.RecordingAccesses(context.Background(), "demo", demo)
	if err != nil || len(access) == 0 || access[0].Action != store.AccessPlay || !strings.Contains(access[0].Reason, "learned answer") ||
		access[0].Username != "sam" {
		t.Fatalf("audit %+v %v", access, err)
	}

	// Approval: bad spans and bodies first.
	approve := "/api/v1/answers/proposals/" + p1.String() + "/approve"
	for _, body := range []string{`{"start_ms":-3000}`, `{"start_ms":1500,"end_ms":1400}`, `{"start":1}`, `[1]`} {
		if rec := aa.do("POST", approve, body, sam...); rec.Code != http.StatusBadRequest {
			t.Fatalf("approve %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	rec = aa.do("POST", approve, `{"start_ms":1200,"end_ms":2500}`, ada...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"intent":"opening-hours"`) {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	if rec := aa.do("POST", approve, "", sam...); rec.Code != http.StatusConflict {
		t.Fatalf("approve twice: %d %s", rec.Code, rec.Body)
	}
	// The stored answer is the trimmed preview, byte for byte.
	stored := aa.do("GET", "/api/v1/answers/opening-hours/audio", "", sam...)
	if stored.Code != 200 || !bytes.Equal(stored.Body.Bytes(), trimmed.Body.Bytes()) {
		t.Fatalf("stored answer: %d, %d bytes, preview %d bytes", stored.Code, stored.Body.Len(), trimmed.Body.Len())
	}
	kind, text, wav, ok, err := aa.db.IntentAnswer(context.Background(), "demo", "opening-hours")
	if err != nil || !ok || kind != "audio" || text != "we are open nine to five" || !bytes.Equal(wav, trimmed.Body.Bytes()) {
		t.Fatalf("intent answer %q %q %d %v %v", kind, text, len(wav), ok, err)
	}
	answers := decode[struct{ Answers []store.IntentAnswer }](t, aa.do("GET", "/api/v1/answers", "", sam...))
	if len(answers.Answers) != 1 || answers.Answers[0].Kind != "audio" || answers.Answers[0].AudioBytes != len(wav) ||
		answers.Answers[0].ApprovedBy != "ada" {
		t.Fatalf("answers %+v", answers)
	}
	if rec := aa.do("GET", "/api/v1/answers/opening-hours/audio", "", dave...); rec.Code != http.StatusNotFound {
		t.Fatalf("acme hears demo's answer: %d", rec.Code)
	}

	// The unrecorded reply cannot be approved; it can be rejected, once.
	if rec := aa.do("POST", "/api/v1/answers/proposals/"+p2.String()+"/approve", "", sam...); rec.Code != http.StatusConflict {
		t.Fatalf("approve unrecorded: %d %s", rec.Code, rec.Body)
	}
	reject := "/api/v1/answers/proposals/" + p2.String() + "/reject"
	if rec := aa.do("POST", reject, "", sam...); rec.Code != 200 {
		t.Fatalf("reject: %d %s", rec.Code, rec.Body)
	}
	if rec := aa.do("POST", reject, "", sam...); rec.Code != http.StatusConflict {
		t.Fatalf("reject twice: %d %s", rec.Code, rec.Body)
	}
	if l := decode[struct{ Proposals []store.AnswerProposal }](t, aa.do("GET", "/api/v1/answers/proposals", "", sam...)); len(l.Proposals) != 0 {
		t.Fatalf("open proposals left: %+v", l.Proposals)
	}

	// Encrypted at rest (acme): approved the same way.
	pa := aa.propose("acme", "opening-hours", aa.calls["acme"], 1000, 2000)
	if rec := aa.do("POST", "/api/v1/answers/proposals/"+pa.String()+"/approve", `{}`, dave...); rec.Code != 200 {
		t.Fatalf("acme approve: %d %s", rec.Code, rec.Body)
	}
	if rec := aa.do("GET", "/api/v1/answers/opening-hours/audio", "", dave...); rec.Code != 200 || wavSamples(t, rec.Body.Bytes()) != 8000 {
		t.Fatalf("acme answer: %d", rec.Code)
	}

	// A span wholly past the end of the recording.
	pb := aa.propose("acme", "late", aa.calls["acme"], 2800, 2950)
	rec = aa.do("GET", "/api/v1/answers/proposals/"+pb.String()+"/audio?start_ms=3000&end_ms=4000", "", dave...)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "outside the call's recording") {
		t.Fatalf("past the end: %d %s", rec.Code, rec.Body)
	}
	rows, _ := aa.db.RecordingAccesses(context.Background(), "acme", aa.calls["acme"])
	denied := false
	for _, r := range rows {
		denied = denied || (r.Action == store.AccessDenied && strings.Contains(r.Reason, "span outside"))
	}
	if !denied {
		t.Fatalf("the refused clip is not audited: %+v", rows)
	}

	// Text answers.
	for _, c := range []struct{ path, body, msg string }{
		{"/api/v1/answers/balance", `{"text":""}`, "empty"},
		{"/api/v1/answers/balance", `{"text":"Your balance is ${crm.balance"}`, "closing"},
		{"/api/v1/answers/balance", `{"text":"Your balance is ${crm balance}"}`, "not a valid name"},
		{"/api/v1/answers/proposals", `{"text":"x"}`, "intent must be"},
		{"/api/v1/answers/bad%20name", `{"text":"x"}`, "intent must be"},
		{"/api/v1/answers/balance", `{"txt":"x"}`, "unknown field"},
	} {
		rec := aa.do("PUT", c.path, c.body, sam...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.msg) {
			t.Fatalf("PUT %s %s: %d %s", c.path, c.body, rec.Code, rec.Body)
		}
	}
	if rec := aa.do("PUT", "/api/v1/answers/balance", `{"text":"Your balance is ${crm.balance}."}`, sam...); rec.Code != 200 {
		t.Fatalf("text answer: %d %s", rec.Code, rec.Body)
	}
	if rec := aa.do("PUT", "/api/v1/answers/balance", `{"text":"x"}`, alice...); rec.Code != http.StatusForbidden {
		t.Fatalf("agent sets an answer: %d", rec.Code)
	}
	kind, text, _, _, _ = aa.db.IntentAnswer(context.Background(), "demo", "balance")
	if kind != "text" || text != "Your balance is ${crm.balance}." {
		t.Fatalf("text answer %q %q", kind, text)
	}
	if rec := aa.do("GET", "/api/v1/answers/balance/audio", "", sam...); rec.Code != http.StatusNotFound {
		t.Fatalf("audio of a text answer: %d", rec.Code)
	}
	if rec := aa.do("DELETE", "/api/v1/answers/balance", "", dave...); rec.Code != http.StatusNotFound {
		t.Fatalf("acme deletes demo's answer: %d", rec.Code)
	}
	if rec := aa.do("DELETE", "/api/v1/answers/balance", "", sam...); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := aa.do("DELETE", "/api/v1/answers/balance", "", sam...); rec.Code != http.StatusNotFound {
		t.Fatalf("delete twice: %d", rec.Code)
	}

	// OpenAPI.
	doc := decode[struct{ Paths map[string]map[string]any }](t, aa.do("GET", "/api/v1/openapi.json", ""))
	for path, m := range map[string]string{"/api/v1/answers/proposals": "get", "/api/v1/answers/proposals/{id}/audio": "get",
		"/api/v1/answers/proposals/{id}/approve": "post", "/api/v1/answers/proposals/{id}/reject": "post", "/api/v1/answers": "get",
		"/api/v1/answers/{intent}": "put", "/api/v1/answers/{intent}/audio": "get"} {
		if doc.Paths[path][m] == nil {
			t.Errorf("openapi lacks %s %s", m, path)
		}
	}
}

// TestLearnedAnswersWithoutRecordings: without recordings, replies cannot
// be heard or approved (503 saying why); text answers still work.
func TestLearnedAnswersWithoutRecordings(t *testing.T) {
	a := newAPI(t)
	svc, err := auth.New(a.db, auth.Config{Password: auth.CheapParams(), Now: a.clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc, Answers: a.db}
	a.h = s.Handler()
	id := uuid.New()
	if _, err := a.db.ProposeAnswer(context.Background(), store.AnswerProposal{ID: id, TenantID: "demo", Intent: "hours", CallID: uuid.New(), StartMS: 0, EndMS: 900}); err != nil {
		t.Fatal(err)
	}
	sam := bearer(a.login("demo", "sam"))
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/answers/proposals/" + id.String() + "/audio"}, {"POST", "/api/v1/answers/proposals/" + id.String() + "/approve"}} {
		if rec := a.do(c.method, c.path, "", sam...); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "text answer") {
			t.Fatalf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
	if rec := a.do("PUT", "/api/v1/answers/hours", `{"text":"We open at nine."}`, sam...); rec.Code != 200 {
		t.Fatalf("text answer: %d %s", rec.Code, rec.Body)
	}
}
