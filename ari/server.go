// Package ari serves an Asterisk REST Interface (ARI) compatible API under
// /ari, so applications written for Asterisk's ARI can drive Hotline calls.
// This package holds what every ARI resource needs: per-tenant users,
// Asterisk's JSON models, the event hub behind /ari/events, the asterisk,
// applications and (read-only) channels resources, and the Swagger 1.2
// documents generic clients load. Call control arrives with the call side
// implementing Calls (docs/ari.md).
package ari

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"hotline/call"
	"hotline/media"
)

// Options configure the ARI server.
type Options struct {
	Users []User
	// Hub delivers events; nil: a new one.
	Hub *Hub
	// Originator places calls for POST /channels; nil: 501.
	Originator Originator
	// Sounds resolves sound:, digits:, number:, characters: and tone:
	// URIs (recording: is resolved here) and serves /sounds; nil: the
	// Asterisk sounds under DefaultSoundsDir.
	Sounds *Sounds
	// Prompts are a tenant's own prompts, which sound: finds first.
	Prompts func(tenant string) call.Prompts
	// Music is a tenant's music on hold (nil: silence).
	Music func(tenant string) *media.Prompt
	// RecordingsDir holds stored recordings, one directory per tenant.
	RecordingsDir string
	// Endpoints lists a tenant's endpoints (trunks, agents).
	Endpoints func(tenant string) []Endpoint
	// SystemName and Version show in /asterisk/info (system.version is
	// what clients print as the Asterisk version).
	SystemName string
	Version    string
	// Globals are the global variables /asterisk/variable answers.
	Globals map[string]string
	Logger  *slog.Logger
	// Started is the process start, for /asterisk/info's status.
	Started time.Time
}

// Server is the /ari HTTP handler.
type Server struct {
	opt     Options
	users   users
	hub     *Hub
	reg     *registry
	handler http.Handler
}

// AsteriskVersion is the Asterisk release whose ARI this API follows; ARI
// clients choose features by it.
const AsteriskVersion = "18.0.0"

// New builds the server; it fails on an invalid user list.
func New(opt Options) (*Server, error) {
	us, err := newUsers(opt.Users)
	if err != nil {
		return nil, err
	}
	if opt.Hub == nil {
		opt.Hub = NewHub(opt.SystemName)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Sounds == nil {
		opt.Sounds = NewSounds(nil)
	}
	if opt.Started.IsZero() {
		opt.Started = time.Now()
	}
	if opt.SystemName == "" {
		opt.SystemName = "hotline"
	}
	s := &Server{opt: opt, users: us, hub: opt.Hub, reg: newRegistry()}
	mux := http.NewServeMux()
	for _, o := range s.operations() {
		mux.HandleFunc(o.Method+" /ari"+o.Path, o.handle)
	}
	mux.HandleFunc("GET /ari/api-docs/{doc}", s.apiDocs)
	// Sound ids have slashes (digits/1); the documented path has one
	// segment, so the router also takes the rest.
	mux.HandleFunc("GET /ari/sounds/{soundId...}", opt.Sounds.handleGet)
	// Fixed paths that would otherwise be taken for a channel id.
	for _, p := range []string{"POST /ari/channels/create", "POST /ari/channels/externalMedia"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotImplemented, "Not implemented")
		})
	}
	// Everything else of ARI (and device states, mailboxes) answers 501, so
	// an application learns at once that Hotline lacks it.
	mux.HandleFunc("/ari/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotImplemented, "Not implemented")
	})
	s.handler = us.authenticate(mux)
	return s, nil
}

// Hub returns the event hub (the call side publishes through it).
func (s *Server) Hub() *Hub { return s.hub }

// ServeHTTP serves /ari/...
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Asterisk's error body, {"message": "..."}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	info := AsteriskInfo{
		Build: BuildInfo{OS: runtime.GOOS, Kernel: runtime.GOOS, Machine: runtime.GOARCH,
			Options: "hotline " + s.opt.Version, User: "hotline"},
		System: SystemInfo{Version: AsteriskVersion, EntityID: s.opt.SystemName},
		Config: ConfigInfo{Name: s.opt.SystemName, DefaultLanguage: "en", SetID: SetID{User: "hotline", Group: "hotline"}},
		Status: StatusInfo{StartupTime: Time(s.opt.Started), LastReloadTime: Time(s.opt.Started)},
	}
	only := r.URL.Query().Get("only")
	if only == "" {
		writeJSON(w, http.StatusOK, info)
		return
	}
	// only=build,status keeps those objects, as Asterisk does.
	full := map[string]any{"build": info.Build, "system": info.System, "config": info.Config, "status": info.Status}
	out := map[string]any{}
	for _, k := range strings.Split(only, ",") {
		v, ok := full[k]
		if !ok {
			writeError(w, http.StatusBadRequest, "Filter type '"+k+"' is not valid")
			return
		}
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) variable(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	v, ok := s.opt.Globals[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Variable not found")
		return
	}
	writeJSON(w, http.StatusOK, Variable{Value: v})
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) {
	apps := s.hub.Applications(tenantOf(r))
	if apps == nil {
		apps = []Application{}
	}
	writeJSON(w, http.StatusOK, apps)
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) {
	a, ok := s.hub.Application(tenantOf(r), r.PathValue("applicationName"))
	if !ok {
		writeError(w, http.StatusNotFound, "Application not found")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// subscription handles POST (subscribe) and DELETE (unsubscribe) of
// eventSource, a comma-separated (or repeated) list of
// channel:ID, bridge:ID, endpoint:TECH[/RESOURCE] and deviceState:NAME.
func (s *Server) subscription(w http.ResponseWriter, r *http.Request) {
	tenant, name := tenantOf(r), r.PathValue("applicationName")
	var sources []string
	for _, v := range r.URL.Query()["eventSource"] {
		for src := range strings.SplitSeq(v, ",") {
			if src = strings.TrimSpace(src); src != "" {
				sources = append(sources, src)
			}
		}
	}
	if len(sources) == 0 {
		writeError(w, http.StatusBadRequest, "Missing parameter eventSource")
		return
	}
	if _, ok := s.hub.Application(tenant, name); !ok {
		writeError(w, http.StatusNotFound, "Application not found")
		return
	}
	on := r.Method == http.MethodPost
	for _, src := range sources {
		kind, id, _ := strings.Cut(src, ":")
		if id == "" || !slices.Contains([]string{"channel", "bridge", "endpoint", "deviceState"}, kind) {
			writeError(w, http.StatusBadRequest, "Invalid event source URI scheme")
			return
		}
		if on && !s.sourceExists(tenant, kind, id) {
			writeError(w, http.StatusUnprocessableEntity, "Event source does not exist")
			return
		}
		if !on && !s.hub.Subscribed(tenant, name, src) {
			writeError(w, http.StatusConflict, "Application not subscribed to event source")
			return
		}
	}
	a, ok := s.hub.Subscribe(tenant, name, sources, on)
	if !ok { // the application disconnected meanwhile
		writeError(w, http.StatusNotFound, "Application not found")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// sourceExists: channels come from Calls; device states are created on
// first use in Asterisk, so any name is accepted; bridges and endpoints do
// not exist until their resources are implemented.
func (s *Server) sourceExists(tenant, kind, id string) bool {
	switch kind {
	case "channel":
		return s.reg.channel(tenant, id) != nil
	case "bridge":
		return s.reg.bridge(tenant, id) != nil
	case "endpoint":
		return s.endpointExists(tenant, id)
	case "deviceState":
		return true
	}
	return false
}

// userEvent raises a ChannelUserevent for an application, with the JSON
// body's "variables" as userevent. It is Asterisk's
// POST /events/user/{eventName}; sources (channel:, bridge:...) are not
// resolvable until those resources exist, so naming one answers 422.
func (s *Server) userEvent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appName := q.Get("application")
	if appName == "" {
		writeError(w, http.StatusBadRequest, "Missing parameter application")
		return
	}
	var body struct {
		Variables map[string]any `json:"variables"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "Invalid JSON body")
			return
		}
	}
	if q.Get("source") != "" {
		writeError(w, http.StatusUnprocessableEntity, "Event source not found")
		return
	}
	if body.Variables == nil {
		body.Variables = map[string]any{}
	}
	ev := &ChannelUserevent{Event: Event{Type: "ChannelUserevent"}, EventName: r.PathValue("eventName"), UserEvent: body.Variables}
	ok, err := s.hub.Publish(tenantOf(r), appName, ev)
	switch {
	case err != nil:
		s.opt.Logger.Error("ari user event", "err", err)
		writeError(w, http.StatusInternalServerError, "Error processing request")
	case !ok:
		writeError(w, http.StatusNotFound, "Application not found")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// events upgrades to the event WebSocket of one or more applications.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, v := range r.URL.Query()["app"] {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		writeError(w, http.StatusBadRequest, "Missing parameter app")
		return
	}
	subscribeAll := r.URL.Query().Get("subscribeAll") == "true"
	// ARI authenticates each request by its credentials, never a cookie, so
	// a cross-origin page gains nothing a plain HTTP request would not:
	// the Origin check is off, as ARI clients send arbitrary origins.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: []string{"ari"}})
	if err != nil {
		s.opt.Logger.Info("ari websocket accept", "err", err)
		return
	}
	tenant := tenantOf(r)
	c, detach := s.hub.register(tenant, names, subscribeAll)
	defer detach()
	log := s.opt.Logger.With("tenant", tenant, "apps", strings.Join(names, ","))
	log.Info("ari application connected")
	// CloseRead answers pings and closes, and ends ctx when the peer goes.
	ctx := ws.CloseRead(r.Context())
	for {
		select {
		case data := <-c.out:
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := ws.Write(wctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				log.Info("ari application disconnected", "err", err)
				ws.CloseNow()
				return
			}
		case <-c.done:
			log.Warn("ari application dropped", "reason", c.reason)
			ws.Close(websocket.StatusPolicyViolation, truncate(c.reason, 120))
			return
		case <-ctx.Done():
			log.Info("ari application disconnected", "cause", fmt.Sprint(context.Cause(ctx)))
			ws.Close(websocket.StatusGoingAway, "")
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
