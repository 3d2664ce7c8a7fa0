package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/auth"
	"hotline/recordings"
	"hotline/store"
	"hotline/store/storetest"
)

type recAPI struct {
	*api
	users map[string]string // username → user id
	wav   []byte            // the demo call's file
	call  uuid.UUID         // demo's recorded call; alice was on it
	acme  uuid.UUID         // acme's recorded call (encrypted)
	svc   *auth.Service
}

// newRecAPI serves tenants demo (alice, bob agents; sam supervisor) and
// acme (carol agent, dave supervisor) with one recording each: demo's in
// plain WAV with alice on the call, acme's encrypted with carol.
func newRecAPI(t *testing.T) *recAPI {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := storetest.NewStore(t)
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Date(2030, 5, 6, 8, 0, 0, 0, time.UTC)}
	svc, err := auth.New(db, auth.Config{Password: auth.CheapParams(), Now: clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, u := range []struct{ tenant, name, role string }{
		{"demo", "alice", auth.RoleAgent}, {"demo", "bob", auth.RoleAgent}, {"demo", "sam", auth.RoleSupervisor},
		{"acme", "carol", auth.RoleAgent}, {"acme", "dave", auth.RoleSupervisor},
	} {
		nu, err := svc.CreateUser(ctx, u.tenant, auth.NewUser{Username: u.name, Role: u.role, Password: u.name + "-demo"})
		if err != nil {
			t.Fatal(err)
		}
		users[u.name] = nu.ID.String()
	}
	m, err := recordings.New(recordings.Config{
		Dir: t.TempDir(), Store: db, Now: clk.Now, RingFrames: 256, // holds the whole call: no drops however slow the writer
		Tenants: map[string]recordings.TenantConfig{"acme": {KeyEnv: "K"}},
		Getenv:  func(string) string { return strings.Repeat("ab", 32) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ra := &recAPI{users: users, svc: svc}
	record := func(tenant, agent string) (uuid.UUID, string) {
		id := uuid.New()
		rec, err := m.Start(recordings.Meta{TenantID: tenant, CallID: id.String(), AgentID: users[agent], Started: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		left, right := make([]int16, recordings.FrameSamples), make([]int16, recordings.FrameSamples)
		for f := range 120 {
			for i := range left {
				left[i], right[i] = int16(f*1000+i), int16(-f*1000-i)
			}
			rec.WriteFrame(left, right)
		}
		info, err := rec.Close()
		if err != nil {
			t.Fatal(err)
		}
		return id, info.Path
	}
	var path string
	ra.call, path = record("demo", "alice")
	ra.acme, _ = record("acme", "carol")
	if ra.wav, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc, Recordings: m}
	ra.api = &api{t: t, h: s.Handler(), db: db, clk: clk}
	return ra
}

func (ra *recAPI) audit(tenant string, call uuid.UUID) []store.RecordingAccess {
	ra.t.Helper()
	rows, err := ra.db.RecordingAccesses(context.Background(), tenant, call)
	if err != nil {
		ra.t.Fatal(err)
	}
	return rows
}

func TestRecordingPlaybackAccessAndAudit(t *testing.T) {
	ra := newRecAPI(t)
	url := "/api/v1/calls/" + ra.call.String() + "/recording"
	sam, alice, bob, dave := ra.login("demo", "sam"), ra.login("demo", "alice"), ra.login("demo", "bob"), ra.login("acme", "dave")

	// The tenant's supervisor: the whole file.
	rec := ra.do("GET", url, "", bearer(sam)...)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "audio/wav" || !bytes.Equal(rec.Body.Bytes(), ra.wav) {
		t.Fatalf("supervisor: %d %s, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	if rec.Header().Get("Accept-Ranges") != "bytes" || rec.Header().Get("Content-Disposition") != "" {
		t.Fatalf("headers %v", rec.Header())
	}
	// The agent who was on the call, a range.
	rec = ra.do("GET", url, "", append(bearer(alice), "Range", "bytes=100-1099")...)
	if rec.Code != http.StatusPartialContent || rec.Header().Get("Content-Range") != fmt.Sprintf("bytes 100-1099/%d", len(ra.wav)) ||
		!bytes.Equal(rec.Body.Bytes(), ra.wav[100:1100]) {
		t.Fatalf("agent range: %d %q %d bytes", rec.Code, rec.Header().Get("Content-Range"), rec.Body.Len())
	}
	// A suffix range and a download.
	rec = ra.do("GET", url+"?download=1", "", append(bearer(sam), "Range", "bytes=-10")...)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), ra.wav[len(ra.wav)-10:]) ||
		!strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", rec.Code, rec.Header())
	}
	// Another agent of the same tenant: 403.
	if rec := ra.do("GET", url, "", bearer(bob)...); rec.Code != http.StatusForbidden {
		t.Fatalf("other agent: %d", rec.Code)
	}
	if rec := ra.do("GET", url+"/meta", "", bearer(bob)...); rec.Code != http.StatusForbidden {
		t.Fatalf("other agent meta: %d", rec.Code)
	}
	// Another tenant's supervisor: 404, exactly like a call that does not exist.
	other := ra.do("GET", url, "", bearer(dave)...)
	none := ra.do("GET", "/api/v1/calls/"+uuid.NewString()+"/recording", "", bearer(dave)...)
	if other.Code != http.StatusNotFound || none.Code != http.StatusNotFound || other.Body.String() != none.Body.String() {
		t.Fatalf("other tenant: %d %s; missing: %d %s", other.Code, other.Body, none.Code, none.Body)
	}
	// Not logged in: the session gate answers, nothing to audit.
	if rec := ra.do("GET", url, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}

	rows := ra.audit("demo", ra.call)
	type row struct {
		user, action string
		code         int
		rng          string
	}
	want := []row{
		{"sam", store.AccessPlay, 200, ""},
		{"alice", store.AccessPlay, 200, "bytes=100-1099"},
		{"sam", store.AccessDownload, 200, "bytes=-10"},
		{"bob", store.AccessDenied, 403, ""},
		{"bob", store.AccessDenied, 403, ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("demo audit has %d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Username != w.user || r.Action != w.action || r.StatusCode != w.code || r.Range != w.rng ||
			r.RecordingID == nil || r.UserID == nil || r.UserID.String() != ra.users[w.user] || r.RemoteAddr == "" {
			t.Fatalf("audit row %d = %+v, want %+v", i, r, w)
		}
	}
	// dave's attempt is audited in acme, naming no demo recording.
	rows = ra.audit("acme", ra.call)
	if len(rows) != 1 || rows[0].Action != store.AccessDenied || rows[0].StatusCode != 404 || rows[0].RecordingID != nil || rows[0].Username != "dave" {
		t.Fatalf("acme audit %+v", rows)
	}
}

func TestRecordingMetaAndEncryptedPlayback(t *testing.T) {
	ra := newRecAPI(t)
	carol, dave, sam := ra.login("acme", "carol"), ra.login("acme", "dave"), ra.login("demo", "sam")
	meta := decode[struct{ Recording store.Recording }](t, ra.do("GET", "/api/v1/calls/"+ra.acme.String()+"/recording/meta", "", bearer(carol)...)).Recording
	if !meta.Encrypted || meta.DurationMs != 2400 || meta.Status != store.RecordingComplete || len(meta.SHA256) != 64 {
		t.Fatalf("meta %+v", meta)
	}
	// The encrypted recording plays as the same WAV the plain one is
	// (same frames), ranges included, decrypted on the fly.
	url := "/api/v1/calls/" + ra.acme.String() + "/recording"
	whole := ra.do("GET", url, "", bearer(dave)...)
	if whole.Code != 200 || !bytes.Equal(whole.Body.Bytes(), ra.wav) {
		t.Fatalf("encrypted playback: %d, %d bytes (want %d)", whole.Code, whole.Body.Len(), len(ra.wav))
	}
	rec := ra.do("GET", url, "", append(bearer(carol), "Range", "bytes=15990-16100")...)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), ra.wav[15990:16101]) {
		t.Fatalf("encrypted range across a chunk boundary: %d", rec.Code)
	}
	// Meta hides the other tenant's recording too.
	if rec := ra.do("GET", url+"/meta", "", bearer(sam)...); rec.Code != http.StatusNotFound {
		t.Fatalf("demo supervisor on acme meta: %d", rec.Code)
	}
	rows := ra.audit("acme", ra.acme)
	if len(rows) != 3 || rows[0].Action != store.AccessMeta || rows[1].Action != store.AccessPlay || rows[2].Range != "bytes=15990-16100" {
		t.Fatalf("audit %+v", rows)
	}
}

func TestRecordingDeletedIsGoneAndUnconfiguredIs503(t *testing.T) {
	ra := newRecAPI(t)
	if err := ra.db.MarkRecordingDeleted(context.Background(), "demo", ra.call, ra.clk.Now()); err != nil {
		t.Fatal(err)
	}
	sam := ra.login("demo", "sam")
	if rec := ra.do("GET", "/api/v1/calls/"+ra.call.String()+"/recording", "", bearer(sam)...); rec.Code != http.StatusGone {
		t.Fatalf("deleted: %d", rec.Code)
	}
	if rec := ra.do("GET", "/api/v1/calls/not-a-uuid/recording", "", bearer(sam)...); rec.Code != http.StatusNotFound {
		t.Fatalf("malformed id: %d", rec.Code)
	}

	// A server without recordings configured.
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: ra.svc}
	ra.h = s.Handler()
	if rec := ra.do("GET", "/api/v1/calls/"+ra.call.String()+"/recording", "", bearer(sam)...); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("without recordings: %d", rec.Code)
	}
}
