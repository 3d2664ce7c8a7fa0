package vosk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"hotline/speech"
)

// Config configures a Client. Zero values take defaults.
type Config struct {
	// URLs of Vosk-protocol servers ("ws://127.0.0.1:2700"); streams go
	// round robin, and a dial that fails moves on to the next URL.
	URLs []string
	// DialTimeout bounds one dial (default 2 s).
	DialTimeout time.Duration
	// MaxBacklog bounds the audio queued while the server is slow
	// (default 3 s); beyond it Write drops audio and counts it.
	MaxBacklog time.Duration
	// CloseTimeout bounds Close's wait for the final result (default 5 s).
	CloseTimeout time.Duration
	Logger       *slog.Logger
}

// Client is a speech.Transcriber over the Vosk protocol; safe for
// concurrent use.
type Client struct {
	cfg  Config
	next atomic.Uint64

	mu   sync.Mutex
	down map[string]time.Time // URLs that failed a dial, until when they are skipped
}

// downFor is how long a server that failed a dial is skipped: a dead or
// restarting worker must not cost every new call a dial timeout.
const downFor = 5 * time.Second

var _ speech.Transcriber = (*Client)(nil)

// New checks cfg and returns a client; it dials nothing until Transcribe.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("vosk: no server URLs")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = 3 * time.Second
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg}, nil
}

// chunkDur is the audio per binary message: Vosk answers each, so
// smaller chunks cost replies and larger ones delay results.
const chunkDur = 40 * time.Millisecond

// eofMsg asks for the final result, in exactly vosk-server's spelling:
// asr_server.py compares the message as a string.
var eofMsg = []byte(`{"eof" : 1}`)

// openStream dials the server at url and sends the stream's config.
func openStream(ctx context.Context, url string, cfg streamConfig) (*websocket.Conn, error) {
	cn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(configMsg{Config: &cfg})
	if err := cn.Write(ctx, websocket.MessageText, b); err != nil {
		cn.CloseNow()
		return nil, err
	}
	return cn, nil
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("vosk: transcription closed")

// Transcribe dials a server (the next in turn, then the others) and sends
// the stream's config. ctx bounds the stream's life, not just the dial.
func (c *Client) Transcribe(ctx context.Context, o speech.TranscribeOptions) (speech.Transcription, error) {
	rate := o.SampleRate
	if rate == 0 {
		rate = speech.SampleRate
	}
	start := c.next.Add(1) - 1
	var errs []error
	var conn *websocket.Conn
	for i := range c.cfg.URLs {
		u := c.cfg.URLs[(int(start)+i)%len(c.cfg.URLs)]
		if c.isDown(u) {
			errs = append(errs, fmt.Errorf("%s: failed a dial less than %v ago", u, downFor))
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		one := 1
		cn, err := openStream(dctx, u, streamConfig{SampleRate: float64(rate), Words: &one, Vocabulary: o.Vocabulary})
		cancel()
		if err == nil {
			conn = cn
			break
		}
		if ctx.Err() == nil {
			c.markDown(u)
		}
		c.cfg.Logger.Warn("vosk: server unavailable, trying the next", "url", u, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	if conn == nil {
		return nil, fmt.Errorf("vosk: no server: %w", errors.Join(errs...))
	}
	conn.SetReadLimit(1 << 20)
	sctx, cancel := context.WithCancel(ctx)
	t := &transcription{
		conn:       conn,
		log:        c.cfg.Logger.With("stream", o.Label),
		rate:       rate,
		chunk:      rate * int(chunkDur) / int(time.Second),
		ctx:        sctx,
		cancel:     cancel,
		timeout:    c.cfg.CloseTimeout,
		phrases:    make(chan speech.Phrase, 16),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		queue:      speech.NewBacklog(rate * int(c.cfg.MaxBacklog/time.Millisecond) / 1000),
		maxBacklog: c.cfg.MaxBacklog,
		answered:   make(chan struct{}, 1),
	}
	t.maxInFlight = max(int(c.cfg.MaxBacklog/chunkDur), 1)
	go t.writer()
	go t.reader()
	return t, nil
}

func (c *Client) isDown(u string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.down[u]
	if ok && time.Now().After(until) {
		delete(c.down, u)
		return false
	}
	return ok
}

func (c *Client) markDown(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down == nil {
		c.down = map[string]time.Time{}
	}
	c.down[u] = time.Now().Add(downFor)
}

// transcription owns two goroutines: writer sends the queued audio in
// chunks and then eof; reader turns replies into Phrases and closes the
// channel when the server closes (after the final result), on an error,
// or when ctx ends.
type transcription struct {
	conn    *websocket.Conn
	log     *slog.Logger
	rate    int
	chunk   int
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	phrases chan speech.Phrase
	queue   *speech.Backlog
	// maxInFlight bounds the audio messages sent and not yet answered:
	// a server that falls behind would otherwise have the audio queue
	// in socket buffers, unbounded and uncounted, and the transcript
	// fall ever further behind. Held back, it fills queue, which drops.
	maxInFlight int
	answered    chan struct{} // cap 1: the reader took an answer

	readerDone, writerDone chan struct{}

	mu      sync.Mutex
	closing bool
	err     error
	// sent holds the stream position (samples) after each audio message
	// not yet answered, to time phrases a server gives without words.
	sent      []int
	sentTotal int
	eofSent   bool
	lastEnd   time.Duration

	closeOnce  sync.Once
	warnedDrop atomic.Bool
	maxBacklog time.Duration
}

func (t *transcription) Write(pcm []int16) error {
	if err := t.Err(); err != nil {
		return err
	}
	if !t.queue.Write(pcm) {
		return ErrClosed
	}
	if t.queue.Dropped() > 0 && t.warnedDrop.CompareAndSwap(false, true) {
		// Said now, not only at the end: the lines missing from here on
		// are this, not silence.
		t.log.Warn("vosk: server behind, dropping audio", "backlog", t.maxBacklog)
	}
	return nil
}

func (t *transcription) Phrases() <-chan speech.Phrase { return t.phrases }

func (t *transcription) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Dropped is the audio Write dropped because the server fell behind.
func (t *transcription) Dropped() time.Duration {
	return time.Duration(t.queue.Dropped()) * time.Second / time.Duration(t.rate)
}

// fail ends the stream with err, unless Close is already ending it (its
// cancel makes the goroutines' last calls fail).
func (t *transcription) fail(err error) {
	t.mu.Lock()
	if t.err == nil && !(t.closing && t.ctx.Err() != nil) {
		t.err = err
	}
	t.mu.Unlock()
	t.cancel()
}

// Close sends what is queued and eof, waits (bounded) for the final
// result, and releases the connection.
func (t *transcription) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closing = true
		t.mu.Unlock()
		t.queue.Close()
		select {
		case <-t.readerDone:
		case <-time.After(t.timeout):
			t.log.Warn("vosk: no final result in time, closing", "timeout", t.timeout)
			t.mu.Lock()
			if t.err == nil {
				t.err = errors.New("vosk: no final result before the close timeout")
			}
			t.mu.Unlock()
		}
		t.cancel()
		t.conn.CloseNow()
		<-t.readerDone
		<-t.writerDone
		if d := t.Dropped(); d > 0 {
			t.log.Warn("vosk: server fell behind, audio dropped", "dropped", d)
		}
	})
	return nil
}

func (t *transcription) writer() {
	defer close(t.writerDone)
	buf := make([]byte, 0, 2*t.chunk)
	var out []int16
	for {
		select {
		case <-t.queue.Wake():
		case <-t.ctx.Done():
			return
		}
		for {
			// Whole chunks while the stream runs; the rest at the end.
			if t.queue.Len() < t.chunk && !t.isClosing() {
				break
			}
			if !t.waitAnswers() {
				return
			}
			var closing bool
			out, closing = t.queue.Take(out, t.chunk)
			if len(out) == 0 && closing {
				t.sendEOF()
				return
			}
			t.mu.Lock()
			t.sentTotal += len(out)
			t.sent = append(t.sent, t.sentTotal)
			t.mu.Unlock()
			buf = buf[:0]
			for _, s := range out {
				buf = binary.LittleEndian.AppendUint16(buf, uint16(s))
			}
			if err := t.conn.Write(t.ctx, websocket.MessageBinary, buf); err != nil {
				t.fail(fmt.Errorf("vosk: send audio: %w", err))
				return
			}
		}
	}
}

// waitAnswers holds the writer while maxInFlight messages await their
// answers; false when the stream ends meanwhile.
func (t *transcription) waitAnswers() bool {
	for {
		t.mu.Lock()
		n := len(t.sent)
		t.mu.Unlock()
		if n < t.maxInFlight {
			return true
		}
		select {
		case <-t.answered:
		case <-t.ctx.Done():
			return false
		}
	}
}

func (t *transcription) sendEOF() {
	// Marked before sending: the answer may come before Write returns.
	t.mu.Lock()
	t.eofSent = true
	t.mu.Unlock()
	if err := t.conn.Write(t.ctx, websocket.MessageText, eofMsg); err != nil {
		t.fail(fmt.Errorf("vosk: send eof: %w", err))
	}
}

func (t *transcription) reader() {
	defer close(t.readerDone)
	defer close(t.phrases)
	for {
		typ, msg, err := t.conn.Read(t.ctx)
		if err != nil {
			switch {
			case t.isClosing() && websocket.CloseStatus(err) == websocket.StatusNormalClosure:
				// the final result came before
			case t.ctx.Err() != nil:
				t.fail(fmt.Errorf("vosk: stream ended: %w", t.ctx.Err()))
			default:
				t.fail(fmt.Errorf("vosk: server lost: %w", err))
			}
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var r reply
		if err := json.Unmarshal(msg, &r); err != nil {
			t.fail(fmt.Errorf("vosk: bad reply %.100q: %w", msg, err))
			return
		}
		if r.Error != "" {
			t.fail(fmt.Errorf("vosk: server: %s", r.Error))
			return
		}
		p, ok, final := t.phrase(r)
		if ok {
			select {
			case t.phrases <- p:
			case <-t.ctx.Done():
				return
			}
		}
		if final {
			// Servers close after the final result; one that does not
			// need not hold Close up.
			return
		}
	}
}

func (t *transcription) isClosing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closing
}

// phrase turns a result into a Phrase; partials and empty results are
// not phrases. final is set on the answer to eof.
func (t *transcription) phrase(r reply) (p speech.Phrase, ok, final bool) {
	t.mu.Lock()
	// Each reply answers the oldest audio message not yet answered; the
	// final one answers eof, after all of them.
	pos := t.sentTotal
	if len(t.sent) > 0 {
		pos = t.sent[0]
		t.sent = t.sent[1:]
		select {
		case t.answered <- struct{}{}:
		default:
		}
	} else {
		final = t.eofSent
	}
	t.mu.Unlock()
	if r.Text == nil || strings.TrimSpace(*r.Text) == "" {
		return speech.Phrase{}, false, final
	}
	p = speech.Phrase{Text: strings.Join(strings.Fields(strings.ToLower(*r.Text)), " ")}
	for _, w := range r.Result {
		p.Words = append(p.Words, speech.Word{Word: strings.ToLower(w.Word), Start: secs(w.Start), End: secs(w.End), Conf: w.Conf})
	}
	if len(p.Words) > 0 {
		p.Start, p.End = p.Words[0].Start, p.Words[len(p.Words)-1].End
	} else {
		// No words: the phrase lies between the last one and the audio
		// this reply answered.
		p.Start = t.lastEnd
		p.End = time.Duration(pos) * time.Second / time.Duration(t.rate)
	}
	t.lastEnd = p.End
	return p, true, final
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Prepare opens a stream with the vocabulary on the server at url and
// ends it at once, before any call needs it: a server that builds state
// per vocabulary when a stream opens (ours builds a search into each
// decoder, ~0.4 s apiece) has it ready for the first phrase; any other
// just answers the eof. ctx bounds the whole exchange, which waits while
// a starting server loads its model.
func Prepare(ctx context.Context, url string, vocabulary []string) error {
	cn, err := openStream(ctx, url, streamConfig{SampleRate: speech.SampleRate, Vocabulary: vocabulary})
	if err != nil {
		return fmt.Errorf("vosk: prepare %s: %w", url, err)
	}
	defer cn.CloseNow()
	if err := cn.Write(ctx, websocket.MessageText, eofMsg); err != nil {
		return fmt.Errorf("vosk: prepare %s: %w", url, err)
	}
	if _, _, err := cn.Read(ctx); err != nil {
		return fmt.Errorf("vosk: prepare %s: %w", url, err)
	}
	cn.Close(websocket.StatusNormalClosure, "")
	return nil
}
