package vosk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"hotline/speech"
)

// Stream is one audio stream in a local engine, driven synchronously by
// the connection: Write returns the phrases the audio finished, Flush those
// left when the stream ends, and Close (called once, when the connection
// ends however it ends) frees what the stream holds, such as a decoder
// busy with a phrase. pocketsphinx.DictationStream is one.
type Stream interface {
	Write(pcm []int16) []speech.Phrase
	Flush() []speech.Phrase
	Close()
}

// Engine opens streams; o.SampleRate is 8000 or 16000 (the engine may
// refuse others with an error, which the client is told).
type Engine interface {
	Open(o speech.TranscribeOptions) (Stream, error)
}

// OpenFunc adapts a function to Engine, e.g. a closure around
// (*pocketsphinx.Dictation).Open.
type OpenFunc func(o speech.TranscribeOptions) (Stream, error)

// Open implements Engine.
func (f OpenFunc) Open(o speech.TranscribeOptions) (Stream, error) { return f(o) }

// ServerConfig bounds what one server accepts. Zero values take defaults.
type ServerConfig struct {
	// MaxMessage bounds one client message (default 256 KiB, 8 s of
	// 16 kHz audio); a larger one closes the connection.
	MaxMessage int64
	// MaxConns bounds concurrent streams (default 256); beyond it the
	// upgrade is refused with 503, so a client tries another server.
	MaxConns int
	// IdleTimeout closes a stream that sends nothing for this long
	// (default 60 s).
	IdleTimeout time.Duration
}

// Server is an http.Handler serving one stream per WebSocket.
type Server struct {
	engine Engine
	log    *slog.Logger
	cfg    ServerConfig
	conns  atomic.Int64
}

// NewServer serves engine with the default limits.
func NewServer(engine Engine, logger *slog.Logger) *Server {
	return NewServerConfig(engine, logger, ServerConfig{})
}

// NewServerConfig serves engine with cfg's limits.
func NewServerConfig(engine Engine, logger *slog.Logger, cfg ServerConfig) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 256 << 10
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 256
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	return &Server{engine: engine, log: logger, cfg: cfg}
}

// Conns is the number of open streams, for metrics.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// errProtocol ends a stream with a message to the client.
type errProtocol struct {
	code websocket.StatusCode
	msg  string
}

func (e *errProtocol) Error() string { return e.msg }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := s.conns.Add(1); n > int64(s.cfg.MaxConns) {
		s.conns.Add(-1)
		http.Error(w, "too many streams", http.StatusServiceUnavailable)
		return
	}
	defer s.conns.Add(-1)
	// Speech clients are programs, not browsers: no origin to check,
	// and compressing PCM gains little for its CPU.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	defer c.CloseNow()
	c.SetReadLimit(s.cfg.MaxMessage)
	err = s.serve(r.Context(), c)
	var pe *errProtocol
	switch {
	case err == nil:
		c.Close(websocket.StatusNormalClosure, "")
	case errors.As(err, &pe):
		s.log.Info("vosk: stream refused", "remote", r.RemoteAddr, "err", pe.msg)
		b, _ := json.Marshal(reply{Error: pe.msg})
		wctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		c.Write(wctx, websocket.MessageText, b)
		cancel()
		c.Close(pe.code, truncate(pe.msg, 120))
	default:
		// The client went away or broke the framing (the library has
		// answered that, e.g. 1009 for an oversized message).
		s.log.Debug("vosk: stream ended", "remote", r.RemoteAddr, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// serve runs one stream; nil when the client sent eof and got the final
// result.
func (s *Server) serve(ctx context.Context, c *websocket.Conn) error {
	opts := speech.TranscribeOptions{SampleRate: 8000}
	words := false
	var st Stream
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	var pcm []int16
	open := func() error {
		if st != nil {
			return nil
		}
		var err error
		st, err = s.engine.Open(opts)
		if err != nil {
			return &errProtocol{websocket.StatusUnsupportedData, fmt.Sprintf("cannot open stream: %v", err)}
		}
		return nil
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.IdleTimeout)
		typ, msg, err := c.Read(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("vosk: read: %w", err)
		}
		var out reply
		if typ == websocket.MessageBinary {
			if len(msg)%2 != 0 {
				return &errProtocol{websocket.StatusUnsupportedData, "audio must be 16-bit samples (odd message length)"}
			}
			if err := open(); err != nil {
				return err
			}
			pcm = pcm[:0]
			for i := 0; i+1 < len(msg); i += 2 {
				pcm = append(pcm, int16(binary.LittleEndian.Uint16(msg[i:])))
			}
			out = result(st.Write(pcm), words, false)
		} else {
			var m configMsg
			if err := json.Unmarshal(msg, &m); err != nil {
				return &errProtocol{websocket.StatusUnsupportedData, "bad JSON: " + err.Error()}
			}
			switch {
			case m.Config != nil:
				if st != nil {
					return &errProtocol{websocket.StatusPolicyViolation, "config must come before audio"}
				}
				if r := m.Config.SampleRate; r != 0 {
					if r != 8000 && r != 16000 {
						return &errProtocol{websocket.StatusUnsupportedData, fmt.Sprintf("unsupported sample_rate %v: 8000 or 16000", r)}
					}
					opts.SampleRate = int(r)
				}
				if m.Config.Words != nil {
					words = *m.Config.Words != 0
				}
				opts.Vocabulary = m.Config.Vocabulary
				continue // Vosk does not answer a config
			case m.EOF != nil && m.EOF.String() != "0":
				if err := open(); err != nil {
					return err
				}
				b, _ := json.Marshal(result(st.Flush(), words, true))
				return c.Write(ctx, websocket.MessageText, b)
			case m.Reset != nil && m.Reset.String() != "0":
				if err := open(); err != nil {
					return err
				}
				out = result(st.Flush(), words, true)
			default:
				return &errProtocol{websocket.StatusUnsupportedData, "unknown message: want config, audio, eof or reset"}
			}
		}
		b, _ := json.Marshal(out)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			return fmt.Errorf("vosk: write: %w", err)
		}
	}
}

// result is the reply for the phrases a message finished: a partial
// when none, else one result holding them all (a message long enough to
// finish two phrases gets both, since there is one reply per message).
// final answers eof with {"text": ""} rather than a partial.
func result(ps []speech.Phrase, words, final bool) reply {
	if len(ps) == 0 {
		empty := ""
		if final {
			return reply{Text: &empty}
		}
		return reply{Partial: &empty}
	}
	var texts []string
	var r reply
	for _, p := range ps {
		texts = append(texts, p.Text)
		if words {
			for _, w := range p.Words {
				r.Result = append(r.Result, wordJSON{Conf: w.Conf, Start: w.Start.Seconds(), End: w.End.Seconds(), Word: w.Word})
			}
		}
	}
	text := strings.Join(texts, " ")
	r.Text = &text
	return r
}
