package sip

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// readFilter sees every datagram and stream chunk before sipgo parses it.
// It is where malformed messages get their 400 (sipgo drops what it cannot
// parse, leaving the sender retransmitting into silence).
//
// A datagram is checked whole (scanMessage). A stream is framed here by
// Content-Length, so each header section is checked once it is complete;
// what passes reaches sipgo unchanged and in order. A refused request is
// answered statelessly from its raw lines; on a stream it is skipped when
// its Content-Length is usable, else the connection is closed. Malformed
// responses and garbage are dropped without a word. Nothing is logged per
// message: counters, and a summary line at most every defaultLogEvery.
//
// The filter never returns an error: sipgo stops the UDP listener on one.
func (s *Server) readFilter(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	f := s.filter()
	switch info.Transport {
	case "UDP", "udp":
		return f.datagram(info, data), nil
	case "TCP", "tcp", "TLS", "tls":
		return f.stream(info, data), nil
	}
	return data, nil
}

// Defaults of the filter's tunables (filterState fields; tests shorten
// them before Serve).
const (
	// defaultAnswerRate bounds the filter's own answers per second (burst
	// a quarter of it), so a flood of junk with spoofed sources is not
	// reflected at full rate.
	defaultAnswerRate = 2000
	// defaultLogEvery spaces the filter's summary log lines.
	defaultLogEvery = 10 * time.Second
	// defaultStreamStall closes a connection whose message stays
	// incomplete this long (RFC 4475 3.1.2.2: wait for the rest, then
	// close). 64*T1, the transaction timeout.
	defaultStreamStall = 64 * 500 * time.Millisecond
	// defaultStreamIdle forgets the framing state of an idle connection.
	defaultStreamIdle = 2 * time.Minute
)

// FilterStats counts what the read filter did instead of logging it.
type FilterStats struct {
	Answered         uint64 // invalid requests answered by the filter (4xx/5xx)
	Unanswerable     uint64 // invalid requests dropped: ACK, no Via, garbage
	DroppedResponses uint64 // malformed responses, dropped silently
	KeepAlives       uint64 // CRLF-only datagrams
	ClosedStreams    uint64 // connections closed for lost framing or stalls
	RateLimited      uint64 // answers not sent: over defaultAnswerRate
}

// FilterStats reports the read filter's counters.
func (s *Server) FilterStats() FilterStats {
	f := s.filter()
	return FilterStats{
		Answered:         f.answered.Load(),
		Unanswerable:     f.unanswerable.Load(),
		DroppedResponses: f.droppedResponses.Load(),
		KeepAlives:       f.keepAlives.Load(),
		ClosedStreams:    f.closedStreams.Load(),
		RateLimited:      f.rateLimited.Load(),
	}
}

// filterState is the filter's state for one Server. It lives outside the
// Server struct (server.go is not this file's), found by pointer.
type filterState struct {
	s       *Server
	answers *tokenBucket

	logEvery, streamStall, streamIdle time.Duration
	// symmetric: answer every UDP request at its source port, as if its
	// top Via had rport (RFC 3581; force_rport elsewhere). Off: answers go
	// where RFC 3261 18.2.2 says, the source address and the Via's port.
	symmetric bool

	answered, unanswerable, droppedResponses, keepAlives, closedStreams, rateLimited atomic.Uint64
	lastLog                                                                          atomic.Int64

	mu       sync.Mutex
	streams  map[streamKey]*streamState
	sweeping bool
}

var filterStates sync.Map // *Server -> *filterState

func (s *Server) filter() *filterState {
	if v, ok := filterStates.Load(s); ok {
		return v.(*filterState)
	}
	v, _ := filterStates.LoadOrStore(s, &filterState{
		s:           s,
		answers:     newTokenBucket(defaultAnswerRate),
		logEvery:    defaultLogEvery,
		streamStall: defaultStreamStall,
		streamIdle:  defaultStreamIdle,
		streams:     make(map[streamKey]*streamState),
	})
	return v.(*filterState)
}

// datagram checks one UDP datagram; it returns what sipgo should parse,
// nil to drop it.
func (f *filterState) datagram(info sipmsg.TransportReadProps, data []byte) []byte {
	n := len(data)
	// Leading CRLFs (keep-alives, sloppy senders) would fail sipgo's start
	// line; a datagram of nothing else is a keep-alive.
	i := 0
	for i < len(data) && (data[i] == '\r' || data[i] == '\n') {
		i++
	}
	if i == len(data) {
		f.keepAlives.Add(1)
		return nil
	}
	data = data[i:]
	r := scanMessage(data, false)
	if r.code == 0 && (r.rewrite || f.symmetric && r.kind == kindRequest) {
		if out := rewritten(data, r, false, f.symmetric && r.kind == kindRequest); out != nil {
			return out
		}
		r.code, r.reason = 400, "Bad Request (malformed Via, From or To)"
	}
	if r.code == 0 {
		return data
	}
	if n >= int(sipmsg.TransportBufferReadSize) {
		// The socket read was cut at sipgo's buffer: a bigger datagram.
		r.code, r.reason = 513, "Message Too Large"
	}
	f.refuse(info, data, r, nil)
	return nil
}

// rewritten is msg as sipgo needs it (validate_rewrite.go), nil should the
// rewrite not scan clean (the headers are then too odd to be worth it).
func rewritten(msg []byte, r scanResult, stream, rport bool) []byte {
	out := rewriteMessage(msg, r.hdrEnd, r.branch2543, rport)
	if r2 := scanMessage(out, stream); r2.code != 0 || r2.rewrite {
		return nil
	}
	return out
}

// refuse answers (or drops) a message the scan refused. w is the stream
// connection to answer on; nil for UDP.
func (f *filterState) refuse(info sipmsg.TransportReadProps, msg []byte, r scanResult, w io.Writer) {
	if r.kind == kindResponse {
		f.droppedResponses.Add(1)
		f.note(info, "malformed response dropped")
		return
	}
	h := readRawHeaders(msg)
	if !h.answerable() {
		f.unanswerable.Add(1)
		f.note(info, r.reason)
		return
	}
	if !f.answers.take() {
		f.rateLimited.Add(1)
		f.note(info, r.reason)
		return
	}
	src := addrPortOf(info.RemoteAddr)
	ans := buildAnswer(make([]byte, 0, 512), &h, r.code, r.reason, src, f.s.cfg.UserAgent)
	var err error
	if w != nil {
		_, err = w.Write(ans)
	} else {
		err = f.sendUDP(info, ans)
	}
	if err != nil {
		f.unanswerable.Add(1)
		f.note(info, "answer failed: "+err.Error())
		return
	}
	f.answered.Add(1)
	if r.code < len(f.s.metrics.Responses) {
		f.s.metrics.Responses[r.code].Add(1)
	}
	f.note(info, r.reason)
}

// sendUDP sends from the listener the datagram came in on, so the answer
// has the source port the sender expects.
func (f *filterState) sendUDP(info sipmsg.TransportReadProps, b []byte) error {
	if info.LocalAddr == nil || info.RemoteAddr == nil || f.s.ua == nil {
		return errNoConn
	}
	c := f.s.ua.TransportLayer().Pool("udp").Get(info.LocalAddr.String())
	if c == nil {
		return errNoConn
	}
	defer c.Ref(-1)
	uc, ok := c.(*sipmsg.UDPConnection)
	if !ok {
		return errNoConn
	}
	_, err := uc.WriteTo(b, info.RemoteAddr)
	return err
}

type filterError string

func (e filterError) Error() string { return string(e) }

const errNoConn = filterError("no connection to answer on")

// note logs a summary of the counters, at most every logEvery.
func (f *filterState) note(info sipmsg.TransportReadProps, last string) {
	now := time.Now().UnixNano()
	prev := f.lastLog.Load()
	if prev != 0 && now-prev < int64(f.logEvery) || !f.lastLog.CompareAndSwap(prev, now) {
		return
	}
	from := ""
	if info.RemoteAddr != nil {
		from = info.RemoteAddr.String()
	}
	st := f.s.FilterStats()
	f.s.log.Warn("sip: malformed input refused",
		"answered", st.Answered, "unanswerable", st.Unanswerable,
		"dropped_responses", st.DroppedResponses, "closed_streams", st.ClosedStreams,
		"rate_limited", st.RateLimited, "last", last, "last_from", from, "transport", info.Transport)
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// --- streams --------------------------------------------------------------

type streamKey struct{ local, remote netip.AddrPort }

// streamState frames one connection. Only its reader goroutine touches the
// buffers and counts; the sweeper reads the atomics.
type streamState struct {
	raddr    net.Addr // identity of the connection (sipgo passes the same value every read)
	raddrStr string   // its key in sipgo's connection pool
	network  string   // and the pool's transport
	pending  []byte   // an incomplete header section, held back from sipgo
	body     int      // body bytes of a passed message still to come
	skip     int      // body bytes of a refused message still to drop
	out      []byte   // output when it is not a slice of the input
	last     atomic.Int64
	midMsg   atomic.Bool
}

var crlfcrlf = []byte("\r\n\r\n")

// stream frames a chunk read from a connection and returns the bytes sipgo
// may parse: whole checked header sections and their bodies.
func (f *filterState) stream(info sipmsg.TransportReadProps, data []byte) []byte {
	local, remote := addrPortOf(info.LocalAddr), addrPortOf(info.RemoteAddr)
	if !remote.IsValid() {
		return data
	}
	key := streamKey{local, remote}
	f.mu.Lock()
	st := f.streams[key]
	if st == nil || st.raddr != info.RemoteAddr {
		st = &streamState{raddr: info.RemoteAddr, raddrStr: info.RemoteAddr.String(), network: info.Transport}
		f.streams[key] = st
		if !f.sweeping {
			f.sweeping = true
			go f.sweep()
		}
	}
	f.mu.Unlock()
	st.last.Store(time.Now().UnixNano())

	in, held := data, len(st.pending) > 0
	if held {
		// The chunk continues a held-back header section.
		st.pending = append(st.pending, data...)
		in = st.pending
	}
	e := emitter{in: in, out: st.out[:0], copying: held}
	i := 0
	for i < len(in) {
		if st.body > 0 {
			n := min(st.body, len(in)-i)
			e.emit(i, i+n)
			st.body -= n
			i += n
			continue
		}
		if st.skip > 0 {
			n := min(st.skip, len(in)-i)
			e.gap()
			st.skip -= n
			i += n
			continue
		}
		// Between messages: CRLF keep-alives go to sipgo as they are.
		j := i
		for j+1 < len(in) && in[j] == '\r' && in[j+1] == '\n' {
			j += 2
		}
		if j > i {
			e.emit(i, j)
			i = j
			continue
		}
		end := bytes.Index(in[i:], crlfcrlf)
		if end < 0 {
			if len(in)-i > maxMessage {
				f.closeStream(info, st)
				return e.result()
			}
			break // hold the partial header section back
		}
		end += i + len(crlfcrlf)
		r := scanMessage(in[i:end], true)
		if r.code == 0 && r.rewrite {
			if out := rewritten(in[i:end], r, true, false); out != nil {
				e.emitCopy(out)
				st.body = r.clen
				i = end
				continue
			}
			r.code, r.reason = 400, "Bad Request (malformed Via, From or To)"
		}
		if r.code == 0 {
			e.emit(i, end)
			st.body = r.clen
			i = end
			continue
		}
		f.refuse(info, in[i:end], r, streamWriter{f, st})
		if r.close {
			f.closeStream(info, st)
			return e.result()
		}
		e.gap()
		st.skip = r.clen
		i = end
	}
	out := e.result()
	// Keep what is left: the start of the next header section.
	rest := in[i:]
	if e.copying {
		st.out = e.out // reused by the next chunk; sipgo copies what it gets
	}
	if held {
		n := copy(st.pending, rest) // rest lies inside pending, at or past the front
		st.pending = st.pending[:n]
	} else {
		st.pending = append(st.pending[:0], rest...)
	}
	st.midMsg.Store(len(st.pending) > 0 || st.body > 0 || st.skip > 0)
	return out
}

// emitter collects the output of a chunk: a slice of the input while it is
// one contiguous run, a copy once there is a gap.
type emitter struct {
	in         []byte
	out        []byte
	start, end int
	started    bool
	copying    bool
	gapped     bool
}

func (e *emitter) emit(a, b int) {
	switch {
	case e.copying:
		e.out = append(e.out, e.in[a:b]...)
	case !e.started:
		e.start, e.end, e.started = a, b, true
	case e.end == a && !e.gapped:
		e.end = b
	default:
		e.copying = true
		e.out = append(append(e.out, e.in[e.start:e.end]...), e.in[a:b]...)
	}
}

// emitCopy emits bytes from elsewhere.
func (e *emitter) emitCopy(b []byte) {
	if !e.copying {
		e.copying = true
		if e.started {
			e.out = append(e.out, e.in[e.start:e.end]...)
		}
	}
	e.out = append(e.out, b...)
}

// gap marks dropped input: what follows cannot extend the current run.
func (e *emitter) gap() { e.gapped = e.started }

func (e *emitter) result() []byte {
	if e.copying {
		return e.out
	}
	if !e.started {
		return nil
	}
	return e.in[e.start:e.end]
}

// streamWriter answers on a connection found in sipgo's pool.
type streamWriter struct {
	f  *filterState
	st *streamState
}

func (w streamWriter) Write(b []byte) (int, error) {
	c := w.f.conn(w.st)
	if c == nil {
		return 0, errNoConn
	}
	defer c.Ref(-1)
	wr, ok := c.(io.Writer)
	if !ok {
		return 0, errNoConn
	}
	return wr.Write(b)
}

func (f *filterState) closeStream(info sipmsg.TransportReadProps, st *streamState) {
	f.closedStreams.Add(1)
	f.note(info, "stream closed: framing lost")
	st.pending, st.body, st.skip = st.pending[:0], 0, 0
	st.midMsg.Store(false)
	f.closeConn(st)
}

func (f *filterState) closeConn(st *streamState) {
	if c := f.conn(st); c != nil {
		c.Ref(-1)
		_ = c.Close()
	}
}

// sweep closes connections stalled inside a message and forgets gone or
// idle ones. It runs while there is state to watch.
func (f *filterState) sweep() {
	period := min(max(f.streamStall/2, 50*time.Millisecond), 5*time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for range t.C {
		now := time.Now().UnixNano()
		var stalled []*streamState
		f.mu.Lock()
		for k, st := range f.streams {
			idle := time.Duration(now - st.last.Load())
			switch {
			case st.midMsg.Load() && idle > f.streamStall:
				stalled = append(stalled, st)
				delete(f.streams, k)
			case idle > f.streamIdle, idle > period && !f.connAlive(st):
				delete(f.streams, k)
			}
		}
		done := len(f.streams) == 0
		if done {
			f.sweeping = false
		}
		f.mu.Unlock()
		for _, st := range stalled {
			f.closedStreams.Add(1)
			f.closeConn(st)
		}
		if done {
			return
		}
	}
}

func (f *filterState) connAlive(st *streamState) bool {
	c := f.conn(st)
	if c == nil {
		return false
	}
	c.Ref(-1)
	return true
}

// conn finds a stream's connection in sipgo's pool, referenced: the caller
// must Ref(-1) it.
func (f *filterState) conn(st *streamState) sipmsg.Connection {
	if f.s.ua == nil {
		return nil
	}
	pool := f.s.ua.TransportLayer().Pool(st.network)
	if pool == nil {
		return nil
	}
	return pool.Get(st.raddrStr)
}
