package chat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Channel is an outside messaging channel plugged in by webhook: its
// users' messages arrive signed at /chat/webhook/{tenant}/{Name}, and
// what the bot and agents say is POSTed, signed likewise, to OutboundURL.
type Channel struct {
	Name        string
	Secret      []byte
	OutboundURL string
	Queue       string // "": the tenant's first queue
}

// SignatureHeader carries hex(HMAC-SHA256(secret, body)) as "sha256=HEX",
// both ways.
const SignatureHeader = "X-Hotline-Signature"

// Sign is the SignatureHeader value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Webhook errors.
var (
	ErrUnknownChannel = errors.New("no such chat channel")
	ErrBadSignature   = errors.New("bad or missing " + SignatureHeader)
)

// Verify checks an inbound webhook body's signature for channel.
func (s *Service) Verify(channel string, body []byte, signature string) error {
	c := s.channels[channel]
	if c == nil {
		return ErrUnknownChannel
	}
	want := Sign(c.ch.Secret, body)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(strings.TrimSpace(signature)))) {
		return ErrBadSignature
	}
	return nil
}

// ChannelMessage is a channel user's message: it goes to their open chat
// on the channel, or starts one, exactly as a web visitor's would.
func (s *Service) ChannelMessage(ctx context.Context, channel, user, text string) (string, error) {
	snd := s.channels[channel]
	if snd == nil {
		return "", ErrUnknownChannel
	}
	if user == "" || len(user) > 200 {
		return "", errors.New("user: want a channel user id of 1-200 bytes")
	}
	text, err := checkText(text)
	if err != nil {
		return "", err
	}
	var id string
	err = s.do(ctx, func(now time.Time) error {
		key := channel + "\x00" + user
		c := s.chats[s.byKey[key]]
		if c == nil {
			started, serr := s.start(now, Start{Channel: channel, Visitor: user, Queue: snd.ch.Queue, Peer: &channelPeer{s: snd, user: user}})
			if serr != nil {
				return serr
			}
			c = started
			c.key = key
			s.byKey[key] = c.id
		}
		id = c.id
		return s.visitorSays(now, c, text)
	})
	return id, err
}

// Outbound is the JSON POSTed to a channel's outbound_url.
type Outbound struct {
	Chat   string    `json:"chat"`
	User   string    `json:"user"`
	Sender string    `json:"sender"` // bot, agent, system
	Agent  string    `json:"agent,omitempty"`
	Text   string    `json:"text"`
	Ended  bool      `json:"ended,omitempty"`
	At     time.Time `json:"at"`
}

// channelPeer is a channel user as the chat's visitor side: what the
// visitor would see goes out as Outbound posts.
type channelPeer struct {
	s    *sender
	user string
}

func (p *channelPeer) Send(m Msg) bool {
	o := Outbound{User: p.user, At: time.Now().UTC()}
	o.Chat, _ = m["chat"].(string)
	switch m["type"] {
	case "message":
		o.Sender, _ = m["sender"].(string)
		o.Text, _ = m["text"].(string)
		o.Agent, _ = m["agent"].(string)
	case "ended":
		o.Sender, o.Ended = "system", true
	default:
		return true // places in line and the like stay on the web
	}
	return p.s.queue(o)
}

func (p *channelPeer) Close(string) {}

// Channel posting: a bounded queue and one goroutine per channel, so a
// slow or dead endpoint never holds up the distributor; each post has a
// timeout and a few retries with back-off.
const (
	ChannelTimeout  = 5 * time.Second
	channelAttempts = 3
	channelBacklog  = 1024
)

type sender struct {
	ch   Channel
	http *http.Client
	log  *slog.Logger
	out  chan Outbound
	// backoff is the first retry's delay (doubling).
	backoff time.Duration
}

func newSender(ch Channel, hc *http.Client, log *slog.Logger) *sender {
	return &sender{ch: ch, http: hc, log: log.With("channel", ch.Name), out: make(chan Outbound, channelBacklog), backoff: 500 * time.Millisecond}
}

func (s *sender) queue(o Outbound) bool {
	select {
	case s.out <- o:
		return true
	default:
		s.log.Warn("chat channel backlog full; reply dropped", "chat", o.Chat)
		return false
	}
}

func (s *sender) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-s.out:
			s.deliver(ctx, o)
		}
	}
}

func (s *sender) deliver(ctx context.Context, o Outbound) {
	body, err := json.Marshal(o)
	if err != nil {
		return
	}
	wait := s.backoff
	for attempt := 1; ; attempt++ {
		err := s.post(ctx, body)
		if err == nil {
			return
		}
		if attempt == channelAttempts || ctx.Err() != nil {
			s.log.Warn("chat channel reply not delivered", "chat", o.Chat, "attempts", attempt, "error", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (s *sender) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, ChannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ch.OutboundURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.ch.Secret, body))
	res, err := s.http.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("outbound_url answered %s", res.Status)
	}
	return nil
}
