package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

func recordingsDB(t *testing.T) *store.Store {
	t.Helper()
	s := storetest.NewStore(t)
	if err := s.SyncTenants(testCtx(t), []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRecordingRowLifecycle(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	call := uuid.New()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	r := store.Recording{TenantID: "demo", CallID: call, AgentIDs: []string{"a1"}, Path: "demo/2030/01/02/x.wav",
		StartedAt: at, Status: store.RecordingActive, PausedSpans: []store.PausedSpan{{StartMs: 100, EndMs: -1}}}
	if err := s.SaveRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.DurationMs, r.SizeBytes = store.RecordingComplete, 5000, 40044
	r.SHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r.PausedSpans = []store.PausedSpan{{StartMs: 100, EndMs: 900}}
	r.AgentIDs = []string{"a1", "a2"}
	if err := s.SaveRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	// A late "recording" write does not reopen a finished row.
	late := r
	late.Status, late.DurationMs = store.RecordingActive, 0
	if err := s.SaveRecording(ctx, late); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecording(ctx, "demo", call)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RecordingComplete || got.DurationMs != 5000 || len(got.AgentIDs) != 2 ||
		len(got.PausedSpans) != 1 || got.PausedSpans[0].EndMs != 900 || !got.StartedAt.Equal(at) {
		t.Fatalf("row %+v", got)
	}
	// Tenant-scoped: acme does not see it.
	if _, err := s.GetRecording(ctx, "acme", call); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme: %v", err)
	}
	if err := s.MarkRecordingDeleted(ctx, "acme", call, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme deletes demo's: %v", err)
	}

	// Retention.
	exp, err := s.ExpiredRecordings(ctx, "demo", at.Add(time.Hour), 10)
	if err != nil || len(exp) != 1 {
		t.Fatalf("expired %v %v", exp, err)
	}
	if exp, _ := s.ExpiredRecordings(ctx, "demo", at, 10); len(exp) != 0 {
		t.Fatalf("not yet expired: %v", exp)
	}
	if err := s.MarkRecordingDeleted(ctx, "demo", call, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Deleted stays deleted, whatever a late writer says.
	if err := s.SaveRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetRecording(ctx, "demo", call)
	if got.Status != store.RecordingDeleted || got.DeletedAt == nil {
		t.Fatalf("after delete %+v", got)
	}
	if exp, _ := s.ExpiredRecordings(ctx, "demo", at.Add(time.Hour), 10); len(exp) != 0 {
		t.Fatalf("deleted listed as expired: %v", exp)
	}
	if open, err := s.RecordingsInStatus(ctx, "demo", store.RecordingActive); err != nil || len(open) != 0 {
		t.Fatalf("open %v %v", open, err)
	}
}

func TestRecordingAccessCannotNameAnotherTenantsRecording(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	call := uuid.New()
	if err := s.SaveRecording(ctx, store.Recording{TenantID: "demo", CallID: call, Path: "demo/x.wav", StartedAt: time.Now(), Status: store.RecordingComplete}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.GetRecording(ctx, "demo", call)
	if err != nil {
		t.Fatal(err)
	}
	u := addUser(t, s, "demo", "sam", "supervisor")
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ok := store.RecordingAccess{TenantID: "demo", RecordingID: &rec.ID, CallID: &call, UserID: &u.ID, Username: "sam", Role: "supervisor",
		Action: store.AccessPlay, Range: "bytes=0-99", StatusCode: 200, RemoteAddr: "192.0.2.7", At: at}
	if err := s.AddRecordingAccess(ctx, ok); err != nil {
		t.Fatal(err)
	}
	// The composite foreign key refuses an acme row naming demo's recording.
	bad := ok
	bad.TenantID, bad.UserID = "acme", nil
	if err := s.AddRecordingAccess(ctx, bad); err == nil {
		t.Fatal("acme audit row referenced demo's recording")
	}
	rows, err := s.RecordingAccesses(ctx, "demo", call)
	if err != nil || len(rows) != 1 || rows[0].RemoteAddr != "192.0.2.7" || rows[0].Range != "bytes=0-99" || *rows[0].UserID != u.ID {
		t.Fatalf("rows %+v %v", rows, err)
	}
	if rows, _ := s.RecordingAccesses(ctx, "acme", call); len(rows) != 0 {
		t.Fatalf("acme sees demo's audit: %+v", rows)
	}
}
