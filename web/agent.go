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
	k := s.openSocket(w, r, sess, auth.RoleAgent, "the agent desk")
	if k == nil {
		return // Accept has answered
	}
	defer k.close()

	id := desk.Identity{ID: queue.AgentID(p.UserID), Username: p.Username, DisplayName: sess.DisplayName, Tenant: p.TenantID}
	ds, err := s.Desk.Open(k.ctx, rt, id, s.ACD.AgentProfile(p.TenantID, p.Username), k.out)
	if err != nil {
		if s.Logger != nil {
			s.Logger.Warn("agent desk refused", "agent", p.Username, "tenant", p.TenantID, "error", err)
		}
		k.conn.Close(websocket.StatusInternalError, "desk unavailable")
		return
	}
	defer ds.Close()
	k.readText(func(data []byte) { ds.Handle(k.ctx, data) })
}

// socket is an accepted WebSocket of ours (the desk, the wallboard): its
// outbox writer and the session's revalidation run until close.
type socket struct {
	conn   *websocket.Conn
	out    *outbox
	ctx    context.Context // ends when the socket does
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openSocket accepts the WebSocket and starts the writer and the
// revalidation (ending it when the session loses role); nil when Accept
// failed (it has answered).
func (s *Server) openSocket(w http.ResponseWriter, r *http.Request, sess *auth.Session, role, what string) *socket {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil
	}
	conn.SetReadLimit(maxWSMessage)
	k := &socket{conn: conn, out: &outbox{ch: make(chan desk.Msg, outboxSize), gone: make(chan struct{})}}
	k.ctx, k.cancel = context.WithCancel(r.Context())
	k.run(func() { k.out.write(k.ctx, conn) })
	k.run(func() { s.revalidate(k.ctx, sess, k.out, role, what) })
	return k
}

// run starts fn on a goroutine the socket owns; fn returning ends the
// socket.
func (k *socket) run(fn func()) {
	k.wg.Go(func() {
		defer k.cancel()
		fn()
	})
}

// readText hands each text message to handle until the socket ends; other
// frames get an error back.
func (k *socket) readText(handle func(data []byte)) {
	for {
		typ, data, err := k.conn.Read(k.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			k.out.Send(desk.Msg{"type": "error", "message": "send JSON text messages"})
			continue
		}
		handle(data)
	}
}

// close ends the socket and waits for its goroutines.
func (k *socket) close() {
	k.cancel()
	k.conn.CloseNow()
	k.wg.Wait()
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
