package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeStatus struct{ ready bool }

func (f *fakeStatus) Ready() bool        { return f.ready }
func (f *fakeStatus) ActiveCalls() int64 { return 3 }

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestHealthzFollowsReadiness(t *testing.T) {
	st := &fakeStatus{}
	s := &Server{Status: st, Registry: prometheus.NewRegistry()}
	h := s.Handler()
	if rec := get(t, h, "/healthz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before ready = %d", rec.Code)
	}
	st.ready = true
	if rec := get(t, h, "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz when ready = %d", rec.Code)
	}
}

func TestAPIStatusOpenAPIAndErrors(t *testing.T) {
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Version: "test"}
	h := s.Handler()
	rec := get(t, h, "/api/v1/status")
	var st map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st["active_calls"] != float64(3) {
		t.Fatalf("status = %s (%v)", rec.Body, err)
	}
	rec = get(t, h, "/api/v1/openapi.json")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"openapi":"3.1.0"`) {
		t.Fatalf("openapi = %d %s", rec.Code, rec.Body)
	}
	rec = get(t, h, "/api/v1/nothing")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("unknown resource = %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/metrics"); rec.Code != 200 {
		t.Fatalf("metrics = %d", rec.Code)
	}
}
