package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/google/uuid"

	"hotline/auth"
	"hotline/chat"
	"hotline/desk"
	"hotline/queue"
	"hotline/store"
)

// Chats are the tenants' chat services (package chat, docs/chat.md).
type Chats interface {
	// Tenant is the tenant's chats; nil when chat is not enabled for it.
	Tenant(id string) *chat.Service
}

// ChatStore reads chats for /api/v1/chats; *store.Store implements it.
type ChatStore interface {
	ListChats(ctx context.Context, f store.ChatFilter) ([]store.Chat, error)
	GetChat(ctx context.Context, tenantID string, id uuid.UUID) (*store.Chat, []store.ChatMessage, error)
}

const (
	// visitorReadLimit bounds one visitor frame: a 4,000-character message
	// JSON-escaped at worst (6 bytes a character) and the envelope. A
	// larger frame closes the socket (status 1009) before it is read.
	visitorReadLimit = 6*chat.MaxMessage + 1024
	// visitorPing is how often a visitor's socket is checked.
	visitorPing = 30 * time.Second
	// webhookBodyLimit bounds an inbound channel message.
	webhookBodyLimit = 64 << 10
)

func (s *Server) chatRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	mux.HandleFunc("GET /chat/widget.js", s.chatWidget)
	mux.HandleFunc("GET /chat/ws", s.chatVisitorWS)
	mux.HandleFunc("GET /chat/demo", s.chatDemo)
	mux.HandleFunc("POST /chat/webhook/{tenant}/{channel}", s.chatWebhook)
	mux.Handle("GET /api/v1/chat/agent/ws", agent(http.HandlerFunc(s.chatAgentWS)))
	mux.Handle("GET /api/v1/chats", agent(http.HandlerFunc(s.listChats)))
	mux.Handle("GET /api/v1/chats/{id}", agent(http.HandlerFunc(s.getChat)))
}

func (s *Server) chatService(tenant string) *chat.Service {
	if s.Chat == nil {
		return nil
	}
	return s.Chat.Tenant(tenant)
}

// chatWidget serves the script companies embed in their pages. It is
// fetched cross-origin by a <script> tag, so it carries no page policy.
func (s *Server) chatWidget(w http.ResponseWriter, r *http.Request) {
	data, err := staticFiles.ReadFile("static/chat/widget.js")
	if err != nil {
		writeError(w, http.StatusNotFound, "no chat widget in this build")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}

// chatDemo is GET /chat/demo?tenant=T&queue=Q: a stand-in company page
// with the widget embedded, so a tenant's chat can be tried without a web
// site of its own.
func (s *Server) chatDemo(w http.ResponseWriter, r *http.Request) {
	data, err := staticFiles.ReadFile("static/chat/demo.html")
	if err != nil {
		writeError(w, http.StatusNotFound, "no chat demo page in this build")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(data)
}

// sameOrigin reports whether a browser's Origin header names this server
// as the request reached it.
func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return origin != "" && strings.EqualFold(origin, scheme+r.Host)
}

// peerOut is an outbox as a chat.Peer.
type peerOut struct{ o *outbox }

func (p *peerOut) Send(m chat.Msg) bool { return p.o.Send(desk.Msg(m)) }
func (p *peerOut) Close(reason string)  { p.o.Close(reason) }

// chatVisitorWS is GET /chat/ws?tenant=T&queue=Q: a visitor's chat from
// the widget. No login: the tenant must have chat enabled and list the
// page's origin.
func (s *Server) chatVisitorWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	svc := s.chatService(q.Get("tenant"))
	if svc == nil {
		writeError(w, http.StatusNotFound, "chat is not enabled for tenant "+strconv.Quote(q.Get("tenant")))
		return
	}
	if !svc.HasQueue(q.Get("queue")) {
		writeError(w, http.StatusNotFound, "no chat queue "+strconv.Quote(q.Get("queue")))
		return
	}
	// Pages Hotline serves itself (the /chat/demo page) are always allowed;
	// a company's own pages must be listed.
	if origin := r.Header.Get("Origin"); !sameOrigin(r, origin) && !svc.AllowOrigin(origin) {
		writeError(w, http.StatusForbidden, "chat is not allowed from origin "+strconv.Quote(origin))
		return
	}
	release, why := s.chatAddrs.take(r, svc.Tenant(), svc.PerAddress(), time.Now())
	if release == nil {
		writeError(w, http.StatusTooManyRequests, why)
		return
	}
	defer release()
	// The origin is checked above, against the tenant's list.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	conn.SetReadLimit(visitorReadLimit)
	out := &outbox{ch: make(chan desk.Msg, outboxSize), gone: make(chan struct{})}
	ctx, cancel := context.WithCancel(r.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		out.write(ctx, conn)
	}()
	defer func() {
		cancel()
		conn.CloseNow()
		<-done
	}()
	peer := &peerOut{out}
	name := strings.TrimSpace(q.Get("name"))
	if name == "" {
		name = "Web visitor"
	}
	id, err := svc.StartChat(ctx, chat.Start{Channel: "web", Visitor: name, Queue: q.Get("queue"), Peer: peer})
	if err != nil {
		out.Close(err.Error())
		<-done
		return
	}
	defer svc.Leave(id)
	// A visitor whose connection died without a close (a laptop shut
	// with the page open) stops answering pings: the chat ends as if the
	// socket had closed. Silence alone is no reason: waiting in line is
	// silent.
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		tick := time.NewTicker(visitorPing)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, visitorPing/2)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				cancel()
				return
			}
		}
	}()
	defer func() { cancel(); <-pinged }()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return // closed, gone, or a frame over the limit (closed with 1009)
		}
		if typ != websocket.MessageText {
			out.Send(desk.Msg{"type": "error", "message": "send JSON text messages"})
			continue
		}
		var m struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			out.Send(desk.Msg{"type": "error", "message": "malformed message: " + err.Error()})
			continue
		}
		switch m.Type {
		case "message":
			err = svc.Say(ctx, id, m.Text)
		case "person":
			err = svc.RequestPerson(ctx, id)
		default:
			err = errors.New("unknown message type " + strconv.Quote(m.Type))
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			out.Send(desk.Msg{"type": "error", "message": err.Error()})
		}
	}
}

// chatAgentWS is GET /api/v1/chat/agent/ws: the agent page's chats panel
// (docs/agent-protocol.md, "Chats").
func (s *Server) chatAgentWS(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	p := sess.Principal
	svc := s.chatService(p.TenantID)
	if svc == nil {
		// Said on the socket rather than with a 409, which a browser's
		// WebSocket cannot tell from a network failure: the page stops
		// asking instead of retrying.
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
		defer cancel()
		_ = wsjson.Write(ctx, conn, desk.Msg{"type": "chat_disabled", "message": "chat is not enabled for your tenant"})
		conn.Close(websocket.StatusNormalClosure, "chat is not enabled")
		return
	}
	k := s.openChatSocket(w, r, sess)
	if k == nil {
		return
	}
	defer k.close()
	info := chat.AgentInfo{ID: p.UserID, Name: sess.DisplayName}
	if info.Name == "" {
		info.Name = p.Username
	}
	if s.ACD != nil {
		info.Queues = s.ACD.AgentProfile(p.TenantID, p.Username).Queues
	}
	if s.Desk != nil {
		info.State, _ = s.Desk.AgentState(p.TenantID, queue.AgentID(p.UserID))
	}
	peer := &peerOut{k.out}
	if err := svc.AgentJoin(k.ctx, info, peer); err != nil {
		k.conn.Close(websocket.StatusInternalError, "chats unavailable")
		return
	}
	defer svc.AgentLeave(p.UserID, peer)
	k.readText(func(data []byte) {
		var m struct {
			Type string `json:"type"`
			Chat string `json:"chat"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			k.out.Send(desk.Msg{"type": "error", "message": "malformed message: " + err.Error()})
			return
		}
		var err error
		switch m.Type {
		case "chat_send":
			err = svc.AgentSend(k.ctx, p.UserID, m.Chat, m.Text)
		case "chat_close":
			err = svc.AgentClose(k.ctx, p.UserID, m.Chat)
		default:
			err = errors.New("unknown message type " + strconv.Quote(m.Type))
		}
		if err != nil {
			k.out.Send(desk.Msg{"type": "error", "chat": m.Chat, "message": m.Type + ": " + err.Error()})
		}
	})
}

// chatOutboxSize: an agent with many chats gets bursts far beyond a
// desk's (every visitor line of every chat), so the panel's outbox is
// larger than the desk's before a slow page counts as gone.
const chatOutboxSize = 1024

// openChatSocket is openSocket with the chats panel's outbox.
func (s *Server) openChatSocket(w http.ResponseWriter, r *http.Request, sess *auth.Session) *socket {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil
	}
	conn.SetReadLimit(maxWSMessage)
	k := &socket{conn: conn, out: &outbox{ch: make(chan desk.Msg, chatOutboxSize), gone: make(chan struct{})}}
	k.ctx, k.cancel = context.WithCancel(r.Context())
	k.run(func() { k.out.write(k.ctx, conn) })
	k.run(func() { s.revalidate(k.ctx, sess, k.out, auth.RoleAgent, "chats") })
	return k
}

// chatWebhook is POST /chat/webhook/{tenant}/{channel}: a message from
// an outside channel's user, signed with the channel's secret.
func (s *Server) chatWebhook(w http.ResponseWriter, r *http.Request) {
	svc := s.chatService(r.PathValue("tenant"))
	if svc == nil {
		writeError(w, http.StatusNotFound, "chat is not enabled for tenant "+strconv.Quote(r.PathValue("tenant")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhookBodyLimit))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body over 64 KiB")
		return
	}
	channel := r.PathValue("channel")
	if err := svc.Verify(channel, body, r.Header.Get(chat.SignatureHeader)); err != nil {
		if errors.Is(err, chat.ErrUnknownChannel) {
			writeError(w, http.StatusNotFound, "no chat channel "+strconv.Quote(channel))
			return
		}
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	var m struct {
		User string `json:"user"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: want {\"user\": ..., \"text\": ...}")
		return
	}
	id, err := svc.ChannelMessage(r.Context(), channel, m.User, m.Text)
	switch {
	case errors.Is(err, chat.ErrRateLimited):
		writeError(w, http.StatusTooManyRequests, err.Error())
	case errors.Is(err, chat.ErrStopped):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"chat": id})
	}
}

func (s *Server) chatStore(w http.ResponseWriter) ChatStore {
	cs, _ := s.Calls.(ChatStore)
	if cs == nil {
		writeError(w, http.StatusServiceUnavailable, "chats are not available on this server")
	}
	return cs
}

// listChats is GET /api/v1/chats: a supervisor sees the tenant's chats,
// an agent their own.
func (s *Server) listChats(w http.ResponseWriter, r *http.Request) {
	cs := s.chatStore(w)
	if cs == nil {
		return
	}
	sess, _ := auth.SessionFromContext(r.Context())
	p := sess.Principal
	f := store.ChatFilter{TenantID: p.TenantID}
	if !p.Has(auth.RoleSupervisor) {
		f.AgentID = p.UserID
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1-1000")
			return
		}
		f.Limit = n
	}
	chats, err := cs.ListChats(r.Context(), f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": chats})
}

// getChat is GET /api/v1/chats/{id} with its transcript; another
// tenant's chat, and for an agent a colleague's, is 404.
func (s *Server) getChat(w http.ResponseWriter, r *http.Request) {
	cs := s.chatStore(w)
	if cs == nil {
		return
	}
	sess, _ := auth.SessionFromContext(r.Context())
	p := sess.Principal
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "no such chat")
		return
	}
	c, msgs, err := cs.GetChat(r.Context(), p.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Has(auth.RoleSupervisor) && c.AgentID != p.UserID) {
		writeError(w, http.StatusNotFound, "no such chat")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c, "messages": msgs})
}

func openAPIChats() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "Chats of the caller's tenant, newest first (supervisor: all; agent: their own)",
		"parameters": []any{map[string]any{"name": "limit", "in": "query", "description": "1-1000 (default 100)",
			"schema": apiType("integer")}},
		"responses": map[string]any{
			"200": okJSON("the chats", objectOf(map[string]any{"chats": map[string]any{"type": "array", "items": chatSchema()}})),
			"400": errorResponse("bad limit"),
		},
	})}
}

func openAPIChat() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "One chat with its transcript (bot, visitor, agent and system lines)",
		"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true,
			"schema": map[string]any{"type": "string", "format": "uuid"}}},
		"responses": map[string]any{
			"200": okJSON("the chat", objectOf(map[string]any{"chat": chatSchema(), "messages": map[string]any{"type": "array", "items": objectOf(map[string]any{
				"id": apiType("integer"), "chat_id": apiType("string"), "at": map[string]any{"type": "string", "format": "date-time"},
				"sender":   map[string]any{"type": "string", "enum": []string{"visitor", "agent", "bot", "system"}},
				"agent_id": apiType("string"), "body": map[string]any{"type": "string", "maxLength": chat.MaxMessage},
			})}})),
			"404": errorResponse("no such chat in the caller's tenant (or, for an agent, not theirs)"),
		},
	})}
}

func chatSchema() map[string]any {
	ts := map[string]any{"type": []string{"string", "null"}, "format": "date-time"}
	return objectOf(map[string]any{
		"id": apiType("string"), "tenant": apiType("string"), "channel": apiType("string"), "visitor": apiType("string"),
		"queue": apiType("string"), "agent_id": apiType("string"), "started_at": ts, "queued_at": ts, "answered_at": ts, "ended_at": ts,
		"outcome": map[string]any{"type": "string", "enum": []string{"", "bot", "answered", "abandoned", "closed"}}, "region": apiType("string"),
	})
}
