package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/internal/inbox"
	"hotline/store"
)

// Msg is one protocol message to a peer (a JSON object with a "type").
type Msg = map[string]any

// Peer is one side's connection: a visitor's widget socket, a channel's
// user, an agent's page. Send must not block (the owner calls it); false
// means the message was not taken. Close ends the connection.
type Peer interface {
	Send(m Msg) bool
	Close(reason string)
}

// Store records chats and their transcripts; *store.Store implements it.
// Calls come from the Service's writer goroutine, one at a time, in order.
type Store interface {
	SaveChat(ctx context.Context, c store.Chat) error
	AddChatMessage(ctx context.Context, m store.ChatMessage) error
}

// MaxMessage is the longest message, in characters, anyone may send.
const MaxMessage = 4000

// Config configures one tenant's Service.
type Config struct {
	TenantID string
	// Queues are the tenant's ACD queues, in configuration order; a chat
	// that names none goes to the first.
	Queues      []string
	MaxPerAgent int // default 3
	// MessagesPerMinute bounds a visitor's messages (default 30).
	MessagesPerMinute int
	// PerAddress bounds the chats one client address holds (default 8);
	// the web layer enforces it before a chat starts.
	PerAddress int
	// Origins are the web pages allowed to open chats; "*" is any.
	Origins  []string
	Answerer Answerer // nil: DefaultFakeAnswerer
	Store    Store    // nil: nothing recorded
	Channels []Channel
	// MaxOpen bounds the chats open at once (default 5,000): visitors
	// need no login, so this is what stops a flood of sockets.
	MaxOpen int
	// Idle ends a chat still with the bot after this long without a
	// visitor message (default 30 minutes); channel users have no socket
	// whose closing would end it.
	Idle time.Duration
	// HTTP posts webhook replies (default: a client without a timeout of
	// its own; every post has ChannelTimeout).
	HTTP   *http.Client
	Logger *slog.Logger
}

// Errors the Service answers with; their text is shown to users.
var (
	ErrStopped      = errors.New("chat: the chat service has stopped")
	ErrUnknownChat  = errors.New("no such chat")
	ErrUnknownQueue = errors.New("no such queue")
	ErrEmpty        = errors.New("empty message")
	ErrTooLong      = fmt.Errorf("message too long: at most %d characters", MaxMessage)
	ErrRateLimited  = errors.New("too many messages; wait a moment")
	ErrEnded        = errors.New("the chat has ended")
	ErrNotYours     = errors.New("that chat is not yours")
	ErrNotAgent     = errors.New("not connected as a chat agent")
	ErrBusy         = errors.New("too many chats open right now; try again later")
)

type phase int

const (
	phaseBot phase = iota
	phaseWaiting
	phaseAssigned
)

// transcriptKeep bounds the transcript a chat keeps in memory for the
// agent who takes it; the store has all of it.
const transcriptKeep = 200

type session struct {
	id        string
	row       store.Chat
	peer      Peer
	phase     phase
	agentName string
	log       []Msg
	key       string // channel and user, for channel chats
	tokens    float64
	refilled  time.Time
	active    time.Time // the visitor's last message (or the start)
	position  int
	asked     int // questions out at the bot
}

type agentConn struct {
	id, name string
	queues   []string
	peer     Peer
	chats    []string // in assignment order
}

// Service is one tenant's chats. Its methods are safe for concurrent use;
// Run must be running for them to take effect.
type Service struct {
	cfg      Config
	log      *slog.Logger
	answerer Answerer
	channels map[string]*sender

	inbox   *inbox.Inbox
	done    chan struct{}
	running atomic.Bool
	w       *writer

	// Owned by Run.
	ctx    context.Context
	wg     sync.WaitGroup // the bot's questions
	r      *router
	chats  map[string]*session
	byKey  map[string]string // channel + "\x00" + user -> chat id
	agents map[string]*agentConn
	states map[string]acd.State // last ACD state heard, by agent
	assign []assignment
	// Counters for benchmarks and the logs.
	delivered atomic.Int64
}

// New makes a tenant's Service.
func New(cfg Config) (*Service, error) {
	if len(cfg.Queues) == 0 {
		return nil, fmt.Errorf("chat: tenant %s has no queues", cfg.TenantID)
	}
	if cfg.MaxPerAgent <= 0 {
		cfg.MaxPerAgent = 3
	}
	if cfg.PerAddress <= 0 {
		cfg.PerAddress = 8
	}
	if cfg.MessagesPerMinute <= 0 {
		cfg.MessagesPerMinute = 30
	}
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = 5000
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger.With("tenant", cfg.TenantID), answerer: cfg.Answerer,
		channels: map[string]*sender{}, done: make(chan struct{}),
		r: newRouter(cfg.MaxPerAgent), chats: map[string]*session{}, byKey: map[string]string{},
		agents: map[string]*agentConn{}, states: map[string]acd.State{},
	}
	if s.answerer == nil {
		s.answerer = DefaultFakeAnswerer()
	}
	s.inbox = inbox.New(s.done, ErrStopped)
	s.w = newWriter(cfg.Store, s.log)
	for _, ch := range cfg.Channels {
		if ch.Queue != "" && !slices.Contains(cfg.Queues, ch.Queue) {
			return nil, fmt.Errorf("chat: tenant %s: channel %s: queue %q is not among the tenant's queues", cfg.TenantID, ch.Name, ch.Queue)
		}
		s.channels[ch.Name] = newSender(ch, cfg.HTTP, s.log)
	}
	return s, nil
}

// Tenant is the tenant the Service serves.
func (s *Service) Tenant() string { return s.cfg.TenantID }

// MaxPerAgent is the chats an agent may hold.
func (s *Service) MaxPerAgent() int { return s.cfg.MaxPerAgent }

// PerAddress is how many chats one client address may hold at once.
func (s *Service) PerAddress() int { return s.cfg.PerAddress }

// AllowOrigin reports whether a web page of origin may open chats.
func (s *Service) AllowOrigin(origin string) bool {
	origin = strings.ToLower(strings.TrimSuffix(origin, "/"))
	for _, o := range s.cfg.Origins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// Run owns the chats until ctx ends; chats still open then end (closed).
func (s *Service) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("chat: Run called twice")
	}
	s.ctx = ctx
	var senders sync.WaitGroup
	for _, c := range s.channels {
		senders.Go(func() { c.run(ctx) })
	}
	// The writer outlives ctx by a few seconds, for the rows of the
	// chats the shutdown ends.
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	written := make(chan struct{})
	go func() {
		defer close(written)
		s.w.run(wctx)
	}()
	defer func() {
		s.wg.Wait()
		s.w.flushAndStop()
		select {
		case <-written:
		case <-time.After(5 * time.Second):
			stopWriter()
			<-written
		}
		stopWriter()
		senders.Wait()
		close(s.done)
	}()
	sweep := time.NewTicker(min(s.cfg.Idle/2, time.Minute))
	defer sweep.Stop()
	for {
		s.inbox.Drain()
		select {
		case <-ctx.Done():
			s.shutdown()
			return nil
		case <-s.inbox.Wake():
		case now := <-sweep.C:
			s.endIdle(now)
		}
	}
}

// endIdle ends the chats left with the bot for longer than Idle. Chats
// waiting for a person or with one are left alone: the visitor's socket
// closing, or the agent, ends those.
func (s *Service) endIdle(now time.Time) {
	for _, c := range s.chats {
		if c.phase == phaseBot && now.Sub(c.active) > s.cfg.Idle {
			s.end(now, c, store.ChatBot, "This chat was closed after a while without a message.")
		}
	}
}

// HasQueue reports whether chats may name queue ("" is the first).
func (s *Service) HasQueue(queue string) bool {
	return queue == "" || slices.Contains(s.cfg.Queues, queue)
}

func (s *Service) shutdown() {
	s.inbox.Stop()
	s.inbox.Drain()
	now := time.Now()
	for _, c := range s.chats {
		s.end(now, c, s.outcomeOf(c, store.ChatClosed), "The chat service is restarting; please start a new chat.")
	}
	for _, a := range s.agents {
		a.peer.Close("chat service stopped")
	}
}

// submit queues fn for the owner; false once the Service has stopped.
func (s *Service) submit(fn func(now time.Time)) bool { return s.inbox.Submit(fn) }

// do runs fn on the owner and waits for its result.
func (s *Service) do(ctx context.Context, fn func(now time.Time) error) error {
	return s.inbox.Do(ctx, fn)
}

// Start is a visitor opening a chat.
type Start struct {
	Channel string // "web" or a webhook channel's name
	Visitor string // the visitor's name or the channel's user id
	Queue   string // "": the tenant's first queue
	Region  string
	Peer    Peer
}

// StartChat opens a chat in the bot's hands and greets the visitor; the
// result is the chat's id.
func (s *Service) StartChat(ctx context.Context, st Start) (string, error) {
	var id string
	err := s.do(ctx, func(now time.Time) error {
		c, err := s.start(now, st)
		if err == nil {
			id = c.id
		}
		return err
	})
	return id, err
}

func (s *Service) start(now time.Time, st Start) (*session, error) {
	q := st.Queue
	if q == "" {
		q = s.cfg.Queues[0]
	}
	if !slices.Contains(s.cfg.Queues, q) {
		return nil, fmt.Errorf("%w %q", ErrUnknownQueue, q)
	}
	if len(s.chats) >= s.cfg.MaxOpen {
		return nil, ErrBusy
	}
	if st.Channel == "" {
		st.Channel = "web"
	}
	id := uuid.New()
	c := &session{
		id: id.String(), peer: st.Peer, tokens: s.burst(), refilled: now, active: now,
		row: store.Chat{ID: id, TenantID: s.cfg.TenantID, Channel: st.Channel, Visitor: truncateRunes(st.Visitor, 200), Queue: q, StartedAt: now, Region: st.Region},
	}
	s.chats[c.id] = c
	s.w.saveChat(c.row)
	c.peer.Send(Msg{"type": "welcome", "chat": c.id, "queue": q, "max_message": MaxMessage})
	s.say(now, c, "bot", "", "Hi! Ask me a question, or ask for a person at any time.", nil)
	return c, nil
}

// burst is how many messages a visitor may send at once.
func (s *Service) burst() float64 { return float64(max(5, s.cfg.MessagesPerMinute/3)) }

// say adds a line to the chat's transcript (memory and store) and sends
// it to the visitor and, once assigned, the agent. extra fields ride
// along (a bot answer's title and article).
func (s *Service) say(now time.Time, c *session, sender, agentID, text string, extra Msg) {
	s.w.addMessage(store.ChatMessage{TenantID: s.cfg.TenantID, ChatID: c.row.ID, At: now, Sender: sender, AgentID: agentID, Body: text})
	m := Msg{"type": "message", "chat": c.id, "sender": sender, "text": text, "at": now.UTC()}
	if sender == "agent" {
		m["agent"] = c.agentName
	}
	for k, v := range extra {
		m[k] = v
	}
	c.log = append(c.log, m)
	if len(c.log) > transcriptKeep {
		c.log = slices.Delete(c.log, 0, len(c.log)-transcriptKeep)
	}
	if sender != "visitor" {
		c.peer.Send(m)
	}
	if c.phase == phaseAssigned {
		if a := s.agents[c.row.AgentID]; a != nil {
			fwd := maps(m)
			fwd["type"] = "chat_message"
			a.peer.Send(fwd)
		}
	}
	s.delivered.Add(1)
}

func maps(m Msg) Msg {
	out := make(Msg, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkText validates a message anyone sends.
func checkText(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", ErrEmpty
	}
	if !utf8.ValidString(text) {
		return "", errors.New("message is not valid UTF-8")
	}
	if utf8.RuneCountInString(text) > MaxMessage {
		return "", ErrTooLong
	}
	return text, nil
}

// Say is the visitor writing: the bot answers it, or the agent gets it.
func (s *Service) Say(ctx context.Context, chatID, text string) error {
	text, err := checkText(text)
	if err != nil {
		return err
	}
	return s.do(ctx, func(now time.Time) error {
		c := s.chats[chatID]
		if c == nil {
			return ErrEnded
		}
		return s.visitorSays(now, c, text)
	})
}

func (s *Service) visitorSays(now time.Time, c *session, text string) error {
	perMin := float64(s.cfg.MessagesPerMinute)
	c.tokens = min(s.burst(), c.tokens+now.Sub(c.refilled).Minutes()*perMin)
	c.refilled = now
	if c.tokens < 1 {
		return ErrRateLimited
	}
	c.tokens--
	c.active = now
	s.say(now, c, "visitor", "", text, nil)
	if c.phase != phaseBot {
		return nil
	}
	if wantsPerson(text) {
		s.queueChat(now, c)
		return nil
	}
	s.ask(c, text)
	return nil
}

// ask puts the visitor's question to the knowledge base off the owner;
// the answer comes back through the inbox.
func (s *Service) ask(c *session, text string) {
	if c.asked >= 3 {
		return // a visitor typing faster than the bot answers gets the latest answers only
	}
	c.asked++
	id := c.id
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		ans, ok := s.answerer.Answer(ctx, s.cfg.TenantID, text)
		cancel()
		s.submit(func(now time.Time) {
			c := s.chats[id]
			if c == nil {
				return
			}
			c.asked--
			if c.phase != phaseBot {
				return // a person is on the way; the bot keeps quiet
			}
			if ok {
				s.say(now, c, "bot", "", ans.Title+"\n"+ans.Body, Msg{"title": ans.Title, "article_id": ans.ArticleID, "offer_person": true})
				return
			}
			s.say(now, c, "bot", "", "I could not find an answer to that. Would you like to talk to a person?", Msg{"offer_person": true})
		})
	})
}

// RequestPerson is the visitor asking for a person (the widget's button).
func (s *Service) RequestPerson(ctx context.Context, chatID string) error {
	return s.do(ctx, func(now time.Time) error {
		c := s.chats[chatID]
		if c == nil {
			return ErrEnded
		}
		if c.phase == phaseBot {
			s.queueChat(now, c)
		}
		return nil
	})
}

func (s *Service) queueChat(now time.Time, c *session) {
	c.phase = phaseWaiting
	c.row.QueuedAt = &now
	s.w.saveChat(c.row)
	s.r.enqueue(c.id, c.row.Queue)
	s.dispatch(now)
	if c.phase == phaseWaiting {
		c.position = s.r.position(c.id)
		s.say(now, c, "system", "", fmt.Sprintf("You are number %d in line for a person.", c.position), Msg{"position": c.position})
	}
}

// Leave is the visitor going away (the widget's socket closed).
func (s *Service) Leave(chatID string) {
	s.submit(func(now time.Time) {
		if c := s.chats[chatID]; c != nil {
			s.end(now, c, s.outcomeOf(c, store.ChatAbandoned), "")
			s.dispatch(now)
		}
	})
}

// outcomeOf is how a chat ending now ends: waiting is whenWaiting.
func (s *Service) outcomeOf(c *session, whenWaiting string) string {
	switch c.phase {
	case phaseBot:
		return store.ChatBot
	case phaseWaiting:
		return whenWaiting
	}
	return store.ChatAnswered
}

// end closes a chat: its row, the agent's tab, the visitor's side (told
// why when why is not empty).
func (s *Service) end(now time.Time, c *session, outcome, why string) {
	if why != "" {
		s.say(now, c, "system", "", why, nil)
	}
	switch c.phase {
	case phaseWaiting:
		s.r.withdraw(c.id)
	case phaseAssigned:
		s.r.release(c.row.AgentID)
		if a := s.agents[c.row.AgentID]; a != nil {
			a.chats = slices.DeleteFunc(a.chats, func(id string) bool { return id == c.id })
			a.peer.Send(Msg{"type": "chat_ended", "chat": c.id, "outcome": outcome})
		}
	}
	c.row.EndedAt, c.row.Outcome = &now, outcome
	s.w.saveChat(c.row)
	c.peer.Send(Msg{"type": "ended", "chat": c.id, "outcome": outcome})
	c.peer.Close("chat ended")
	delete(s.chats, c.id)
	if c.key != "" {
		delete(s.byKey, c.key)
	}
}

// dispatch hands waiting chats to agents with room and tells those still
// waiting when their place changed.
func (s *Service) dispatch(now time.Time) {
	s.assign = s.r.dispatch(s.assign[:0])
	for _, as := range s.assign {
		c, a := s.chats[as.chat], s.agents[as.agent]
		if c == nil || a == nil {
			// Cannot happen (withdrawn chats leave the line, gone agents
			// the router); give the slot back rather than leak it.
			s.r.release(as.agent)
			continue
		}
		c.phase = phaseAssigned
		c.agentName = a.name
		c.row.AgentID = a.id
		if c.row.AnsweredAt == nil {
			c.row.AnsweredAt = &now
		}
		s.w.saveChat(c.row)
		a.chats = append(a.chats, c.id)
		a.peer.Send(Msg{
			"type": "chat_offer", "chat": c.id, "queue": c.row.Queue, "channel": c.row.Channel, "visitor": c.row.Visitor,
			"started_at": c.row.StartedAt.UTC(), "auto_accepted": true, "transcript": slices.Clone(c.log),
		})
		s.say(now, c, "system", "", a.name+" joined the chat.", Msg{"agent": a.name, "joined": true})
	}
	if len(s.assign) == 0 && len(s.r.line) == 0 {
		return
	}
	counts := map[string]int{}
	for _, w := range s.r.line {
		counts[w.queue]++
		c := s.chats[w.chat]
		if c != nil && c.position != counts[w.queue] {
			c.position = counts[w.queue]
			c.peer.Send(Msg{"type": "queued", "chat": c.id, "position": c.position})
		}
	}
}

// AgentInfo is an agent opening the chats panel.
type AgentInfo struct {
	ID, Name string
	Queues   []string
	// State is the agent's ACD state as the desk saw it when the panel
	// connected; a state change heard since wins.
	State acd.State
}

// eligibleState: chats go to agents who are working, on a call or not.
func eligibleState(st acd.State) bool {
	switch st {
	case acd.StateAvailable, acd.StateRinging, acd.StateOnCall, acd.StateWrapUp:
		return true
	}
	return false
}

// AgentJoin connects an agent's chats panel; a newer connection takes
// over an older one.
func (s *Service) AgentJoin(ctx context.Context, ai AgentInfo, peer Peer) error {
	return s.do(ctx, func(now time.Time) error {
		st, heard := s.states[ai.ID]
		if !heard {
			st = ai.State
			s.states[ai.ID] = st
		}
		a := s.agents[ai.ID]
		if a != nil && a.peer != peer {
			a.peer.Close("taken over by a newer connection")
		}
		if a == nil {
			a = &agentConn{id: ai.ID}
			s.agents[ai.ID] = a
		}
		a.name, a.peer = ai.Name, peer
		if a.name == "" {
			a.name = "An agent"
		}
		var qs []string
		for _, q := range ai.Queues {
			if slices.Contains(s.cfg.Queues, q) {
				qs = append(qs, q)
			}
		}
		a.queues = qs
		s.r.setAgent(a.id, qs, eligibleState(st))
		open := []Msg{}
		for _, id := range a.chats {
			if c := s.chats[id]; c != nil {
				open = append(open, Msg{"chat": c.id, "queue": c.row.Queue, "channel": c.row.Channel, "visitor": c.row.Visitor,
					"started_at": c.row.StartedAt.UTC(), "transcript": slices.Clone(c.log)})
			}
		}
		peer.Send(Msg{"type": "chat_hello", "max_per_agent": s.cfg.MaxPerAgent, "queues": qs, "state": st.String(),
			"taking": eligibleState(st), "chats": open, "max_message": MaxMessage})
		s.dispatch(now)
		return nil
	})
}

// AgentLeave is an agent's chats panel closing: their chats go back to
// the front of the line.
func (s *Service) AgentLeave(agentID string, peer Peer) {
	s.submit(func(now time.Time) {
		a := s.agents[agentID]
		if a == nil || a.peer != peer {
			return
		}
		s.requeueOf(now, a, "The agent left; you are back at the front of the line.")
		s.r.removeAgent(a.id)
		delete(s.agents, a.id)
		s.dispatch(now)
	})
}

// requeueOf sends an agent's chats back to the front of the line, in the
// order they were assigned.
func (s *Service) requeueOf(now time.Time, a *agentConn, why string) {
	var ws []waiting
	for _, id := range a.chats {
		c := s.chats[id]
		if c == nil {
			continue
		}
		s.r.release(a.id)
		c.phase = phaseWaiting
		c.row.AgentID = ""
		c.agentName = ""
		c.position = 0
		s.w.saveChat(c.row)
		a.peer.Send(Msg{"type": "chat_ended", "chat": c.id, "outcome": "requeued"})
		s.say(now, c, "system", "", why, nil)
		ws = append(ws, waiting{chat: c.id, queue: c.row.Queue})
	}
	a.chats = nil
	s.r.requeueFront(ws)
}

// AgentState is the agent's ACD state changing (desk.Config.OnState):
// break and offline stop new chats; offline (a log-out) also sends their
// chats back to the line. It never blocks.
func (s *Service) AgentState(agentID string, st acd.State) {
	s.submit(func(now time.Time) {
		s.states[agentID] = st
		a := s.agents[agentID]
		if a == nil {
			if st == acd.StateOffline {
				delete(s.states, agentID)
			}
			return
		}
		s.r.setEligible(agentID, eligibleState(st))
		if st == acd.StateOffline {
			s.requeueOf(now, a, "The agent signed out; you are back at the front of the line.")
		}
		a.peer.Send(Msg{"type": "chat_state", "state": st.String(), "taking": eligibleState(st)})
		s.dispatch(now)
	})
}

// AgentSend is an agent writing in one of their chats.
func (s *Service) AgentSend(ctx context.Context, agentID, chatID, text string) error {
	text, err := checkText(text)
	if err != nil {
		return err
	}
	return s.do(ctx, func(now time.Time) error {
		c, err := s.agentChat(agentID, chatID)
		if err != nil {
			return err
		}
		s.say(now, c, "agent", agentID, text, nil)
		return nil
	})
}

// AgentClose is an agent ending one of their chats.
func (s *Service) AgentClose(ctx context.Context, agentID, chatID string) error {
	return s.do(ctx, func(now time.Time) error {
		c, err := s.agentChat(agentID, chatID)
		if err != nil {
			return err
		}
		s.end(now, c, store.ChatAnswered, c.agentName+" closed the chat. Thank you!")
		s.dispatch(now)
		return nil
	})
}

func (s *Service) agentChat(agentID, chatID string) (*session, error) {
	if s.agents[agentID] == nil {
		return nil, ErrNotAgent
	}
	c := s.chats[chatID]
	if c == nil {
		return nil, ErrEnded
	}
	if c.phase != phaseAssigned || c.row.AgentID != agentID {
		return nil, ErrNotYours
	}
	return c, nil
}

// Stats is a snapshot for tests and benchmarks.
type Stats struct {
	Open, Waiting, Agents int
	Delivered             int64 // transcript lines so far
}

// Stats reads the Service's figures.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.do(ctx, func(time.Time) error {
		st = Stats{Open: len(s.chats), Waiting: len(s.r.line), Agents: len(s.agents), Delivered: s.delivered.Load()}
		return nil
	})
	return st, err
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
