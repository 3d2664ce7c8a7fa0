package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"hotline/auth"
	"hotline/desk"
	"hotline/queue"
)

// ACDs finds a tenant's running ACD and what one of its agents serves.
type ACDs interface {
	// ACD is the tenant's runtime; nil when the tenant has no queues.
	ACD(tenantID string) *queue.Runtime
	AgentProfile(tenantID, username string) desk.Profile
}

const (
	// revalidateEvery: a logout, expiry or disabled account elsewhere ends
	// the agent's socket within about this long.
	revalidateEvery = time.Minute
	// outboxSize absorbs bursts (offers, states, an SDP); an agent whose
	// browser cannot keep up with that is disconnected rather than letting
	// the ACD's owner wait on them.
	outboxSize   = 64
	writeTimeout = 5 * time.Second
	maxWSMessage = 64 << 10
)

// agentWS is GET /api/v1/agent/ws, the agent's desk (docs/agent-protocol.md).
// The session gate has authenticated the handshake (cookie with our Origin,
// or a bearer token), as auth.AuthenticateUpgrade would.
func (s *Server) agentWS(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	if s.Desk == nil || s.ACD == nil {
		writeError(w, http.StatusServiceUnavailable, "the agent desk is not configured on this server")
		return
	}
	p := sess.Principal
	rt := s.ACD.ACD(p.TenantID)
	if rt == nil {
		writeError(w, http.StatusConflict, "your tenant has no queues")
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(maxWSMessage)
	ctx, cancel := context.WithCancel(r.Context())
	out := &outbox{ch: make(chan desk.Msg, outboxSize), gone: make(chan struct{})}

	var wg sync.WaitGroup
	defer func() {
		cancel()
		conn.CloseNow()
		wg.Wait()
	}()
	wg.Go(func() {
		defer cancel()
		out.write(ctx, conn)
	})
	wg.Go(func() {
		defer cancel()
		s.revalidate(ctx, sess, out, auth.RoleAgent, "the agent desk")
	})

	id := desk.Identity{ID: queue.AgentID(p.UserID), Username: p.Username, DisplayName: sess.DisplayName, Tenant: p.TenantID}
	ds, err := s.Desk.Open(ctx, rt, id, s.ACD.AgentProfile(p.TenantID, p.Username), out)
	if err != nil {
		if s.Logger != nil {
			s.Logger.Warn("agent desk refused", "agent", p.Username, "tenant", p.TenantID, "error", err)
		}
		conn.Close(websocket.StatusInternalError, "desk unavailable")
		return
	}
	defer ds.Close()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			out.Send(desk.Msg{"type": "error", "message": "send JSON text messages"})
			continue
		}
		ds.Handle(ctx, data)
	}
}

// revalidate ends the connection (via out.Close) once the session is gone
// or its user no longer has role.
func (s *Server) revalidate(ctx context.Context, sess *auth.Session, out *outbox, role, what string) {
	tick := time.NewTicker(revalidateEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-out.gone:
			return
		case <-tick.C:
		}
		next, err := s.Auth.Revalidate(ctx, sess)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if auth.StatusOf(err) == http.StatusInternalServerError {
				// The database blipped: keep the agent on the line and try
				// again at the next tick.
				if s.Logger != nil {
					s.Logger.Warn("session revalidation failed", "for", what, "error", err)
				}
				continue
			}
			out.Close("session ended: " + err.Error())
			return
		}
		if !next.Principal.Has(role) {
			out.Close("role no longer allows " + what)
			return
		}
		sess = next
	}
}

// outbox is desk.Outbox over the socket: a bounded queue the writer
// goroutine drains, so senders (the ACD's owner among them) never block.
type outbox struct {
	ch   chan desk.Msg
	mu   sync.Mutex
	gone chan struct{} // closed by Close
	why  string
}

func (o *outbox) Send(m desk.Msg) bool {
	select {
	case <-o.gone:
		return false
	default:
	}
	select {
	case o.ch <- m:
		return true
	default:
		o.Close("too many messages waiting; reconnect")
		return false
	}
}

func (o *outbox) Close(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.gone:
	default:
		o.why = reason
		close(o.gone)
	}
}

func (o *outbox) reason() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.why
}

func (o *outbox) write(ctx context.Context, conn *websocket.Conn) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.gone:
			// Queued messages first, so a closing desk still says why.
			for {
				select {
				case m := <-o.ch:
					if o.writeOne(ctx, conn, m) != nil {
						return
					}
					continue
				default:
				}
				break
			}
			conn.Close(websocket.StatusPolicyViolation, truncate(o.reason(), 120))
			return
		case m := <-o.ch:
			if err := o.writeOne(ctx, conn, m); err != nil {
				return
			}
		}
	}
}

func (o *outbox) writeOne(ctx context.Context, conn *websocket.Conn, m desk.Msg) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := wsjson.Write(wctx, conn, m); err != nil {
		if !errors.Is(err, context.Canceled) {
			o.Close("write failed")
		}
		return err
	}
	return nil
}

// truncate keeps a close reason within the 123 bytes a close frame allows.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
