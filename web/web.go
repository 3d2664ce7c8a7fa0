// Package web is Hotline's HTTP side: health, Prometheus metrics and the
// REST API under /api/v1. Agent and supervisor pages arrive with the ACD.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/auth"
	"hotline/desk"
)

// Status is what the server reports about itself.
type Status interface {
	// Ready reports whether the server takes calls.
	Ready() bool
	ActiveCalls() int64
}

// Server serves HTTP.
type Server struct {
	Addr     string
	Status   Status
	Registry *prometheus.Registry
	Logger   *slog.Logger
	Version  string
	// Auth authenticates /api/v1 requests; without it every route that
	// needs a session answers 503.
	Auth *auth.Service
	// Desk runs agents' desks over /api/v1/agent/ws, with ACD finding each
	// tenant's queues; without them the agent routes answer 503.
	Desk *desk.Desk
	ACD  ACDs
	// Calls reads call records for /api/v1/calls; nil: 503.
	Calls CallStore
	// Recordings serves /api/v1/calls/{id}/recording; nil: 503.
	Recordings Recordings
	// Transcripts serves /api/v1/calls/{id}/transcript; nil: 503.
	Transcripts TranscriptStore
	// Tickets serves /api/v1/tickets; nil: found on Calls (the same
	// store), else 503.
	Tickets TicketStore
	// ARI serves the Asterisk-compatible API under /ari/ (package ari);
	// it authenticates its own users, so it is outside the session gate.
	// nil: /ari is not served.
	ARI http.Handler
	// Knowledge serves /api/v1/kb (docs/knowledge.md); nil: 503.
	Knowledge *Knowledge
	// Chat serves web chat (/chat/...) and the agents' chats panel
	// (docs/chat.md); nil: chat is off.
	Chat Chats
	// Answers serves learned answers under /api/v1/answers (answers.go);
	// nil: 503. AnswerClips cuts replies out of recordings (with
	// Recordings; nil: recorded answers cannot be heard or approved).
	Answers     AnswerStore
	AnswerClips AnswerClips
	// chatAddrs bounds visitors' chats per client address (chatlimit.go).
	chatAddrs chatAddrLimit

	listener net.Listener
}

// Handler builds the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("GET /api/v1/openapi.json", s.openapi)
	s.authRoutes(mux)
	s.agentRoutes(mux)
	s.reportRoutes(mux)
	s.surveyRoutes(mux)
	s.recordingRoutes(mux)
	s.transcriptRoutes(mux)
	s.assistRoutes(mux)
	s.ticketRoutes(mux)
	s.knowledgeRoutes(mux)
	s.callbackRoutes(mux)
	s.chatRoutes(mux)
	s.analyticsRoutes(mux)
	s.demoCRMRoutes(mux)
	s.answerRoutes(mux)
	s.askRoutes(mux)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API resource: "+r.URL.Path)
	})
	if s.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	}
	if s.ARI != nil {
		mux.Handle("/ari/", s.ARI)
	}
	s.staticRoutes(mux)
	return s.sessionGate(mux)
}

// Listen binds the address (so a caller knows the port before Serve).
func (s *Server) Listen() error {
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.Addr, err)
	}
	s.listener = l
	return nil
}

// Serve serves until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	if s.listener == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{
		Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		// Hijacked connections (agents' WebSockets) are not closed by
		// Shutdown; their handlers end with ctx instead.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if s.Logger != nil {
		s.Logger.Info("http listening", "addr", s.listener.Addr().String())
	}
	if err := hs.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http serve: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.Status == nil || !s.Status.Ready() {
		writeError(w, http.StatusServiceUnavailable, "starting")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"ready":        s.Status != nil && s.Status.Ready(),
		"active_calls": s.Status.ActiveCalls(),
		"version":      s.Version,
	})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, openAPIDoc)
}

var openAPIDoc = map[string]any{
	"openapi":    "3.1.0",
	"info":       map[string]any{"title": "Hotline API", "version": "1"},
	"components": withTicketSchemas(openAPIComponents()),
	"paths": map[string]any{
		"/api/v1/login":                     openAPILogin(),
		"/api/v1/logout":                    openAPILogout(),
		"/api/v1/me":                        openAPIMe(),
		"/api/v1/users":                     openAPIUsers(),
		"/api/v1/agent/ws":                  openAPIAgentWS(),
		"/api/v1/queues":                    openAPIQueues(),
		"/api/v1/agents":                    openAPIAgents(),
		"/api/v1/wallboard":                 openAPIWallboard(),
		"/api/v1/calls":                     openAPICalls(),
		"/api/v1/calls/{id}":                openAPICall(),
		"/api/v1/calls/search":              openAPICallSearch(),
		"/api/v1/reports/queues":            openAPIQueueReport(),
		"/api/v1/reports/agents":            openAPIAgentReport(),
		"/api/v1/reports/checklists":        openAPIChecklistReport(),
		"/api/v1/calls/{id}/assist":         openAPICallAssist(),
		"/api/v1/reports/csat":              openAPICSATReport(),
		"/api/v1/calls/{id}/recording":      openAPIRecording(),
		"/api/v1/calls/{id}/recording/meta": openAPIRecordingMeta(),
		"/api/v1/calls/{id}/transcript":     openAPICallTranscript(),
		"/api/v1/tickets":                   openAPITickets(),
		"/api/v1/callbacks":                 openAPICallbacks(),
		"/api/v1/callbacks/{id}":            openAPICallback(),
		"/api/v1/chats":                     openAPIChats(),
		"/api/v1/chats/{id}":                openAPIChat(),
		"/api/v1/tickets/sla":               openAPITicketSLA(),
		"/api/v1/tickets/{id}":              openAPITicket(),
		"/api/v1/tickets/{id}/comments":     openAPITicketComments(),
		"/api/v1/kb/articles":               openAPIKBArticles(),
		"/api/v1/kb/articles/{id}":          openAPIKBArticle(),
		"/api/v1/analytics":                 openAPIAnalytics(),
		"/api/v1/analytics.csv":             openAPIAnalyticsCSV(),

		// Learned answers (answers.go).
		"/api/v1/answers/proposals":              openAPIAnswerProposals(),
		"/api/v1/answers/proposals/{id}/audio":   openAPIAnswerProposalAudio(),
		"/api/v1/answers/proposals/{id}/approve": openAPIAnswerProposalApprove(),
		"/api/v1/answers/proposals/{id}/reject":  openAPIAnswerProposalReject(),
		"/api/v1/answers":                        openAPIAnswers(),
		"/api/v1/answers/{intent}":               openAPIAnswer(),
		"/api/v1/answers/{intent}/audio":         openAPIAnswerAudio(),
		"/api/v1/reports/ask":                    openAPIAskReport(),
		"/api/v1/status": map[string]any{
			"get": map[string]any{
				"summary": "Server status",
				"responses": map[string]any{"200": map[string]any{
					"description": "ready flag and number of active calls",
					"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
						"type": "object",
						"properties": map[string]any{
							"ready":        map[string]any{"type": "boolean"},
							"active_calls": map[string]any{"type": "integer"},
							"version":      map[string]any{"type": "string"},
						},
					}}},
				}},
			},
		},
	},
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
