package e2e

// A small SIP user agent over UDP with its own RTP stream, for what SIPp
// and baresip cannot do or cannot show: audio carrying in-band DTMF tones,
// recording what the server sends, garbage datagrams to a live call's RTP
// port, an INVITE whose 200 is never acknowledged.

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sipMsg is a parsed SIP message.
type sipMsg struct {
	Raw     string
	Request bool
	Method  string // request method, or the CSeq method of a response
	URI     string
	Code    int
	Reason  string
	headers [][2]string // lower-case name, value
	Body    string
	At      time.Time
}

var compactHeaders = map[string]string{
	"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
	"l": "content-length", "c": "content-type", "k": "supported", "x": "session-expires",
}

func parseSIP(b []byte) (*sipMsg, error) {
	head, body, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	if !ok {
		return nil, fmt.Errorf("no end of headers")
	}
	lines := strings.Split(string(head), "\r\n")
	m := &sipMsg{Raw: string(b), Body: string(body), At: time.Now()}
	first := strings.SplitN(lines[0], " ", 3)
	if len(first) < 3 {
		return nil, fmt.Errorf("bad start line %q", lines[0])
	}
	if first[0] == "SIP/2.0" {
		code, err := strconv.Atoi(first[1])
		if err != nil {
			return nil, fmt.Errorf("bad status %q", lines[0])
		}
		m.Code, m.Reason = code, first[2]
	} else {
		m.Request, m.Method, m.URI = true, first[0], first[1]
	}
	for _, ln := range lines[1:] {
		name, val, ok := strings.Cut(ln, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if full, ok := compactHeaders[name]; ok {
			name = full
		}
		m.headers = append(m.headers, [2]string{name, strings.TrimSpace(val)})
	}
	if !m.Request {
		if _, method, ok := strings.Cut(m.Header("cseq"), " "); ok {
			m.Method = strings.TrimSpace(method)
		}
	}
	return m, nil
}

// Header is the first value of a header (case-insensitive name).
func (m *sipMsg) Header(name string) string {
	name = strings.ToLower(name)
	for _, h := range m.headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// Headers is every value of a header, in order.
func (m *sipMsg) Headers(name string) []string {
	name = strings.ToLower(name)
	var out []string
	for _, h := range m.headers {
		if h[0] == name {
			out = append(out, h[1])
		}
	}
	return out
}

func (m *sipMsg) String() string {
	if m.Request {
		return m.Method + " " + m.URI
	}
	return fmt.Sprintf("%d %s (%s)", m.Code, m.Reason, m.Method)
}

func tagOf(hdr string) string {
	for _, p := range strings.Split(hdr, ";")[1:] {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "tag") {
			return v
		}
	}
	return ""
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sdpInfo is what the tests read from the server's SDP.
type sdpInfo struct {
	Addr      *net.UDPAddr
	PTs       []int
	Rtpmap    map[int]string
	Direction string
}

func parseSDP(body string) (sdpInfo, error) {
	info := sdpInfo{Rtpmap: map[int]string{}, Direction: "sendrecv"}
	var ip string
	var port int
	for _, ln := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		ln = strings.TrimSpace(ln)
		switch {
		case strings.HasPrefix(ln, "c=IN IP4 "):
			ip = strings.TrimPrefix(ln, "c=IN IP4 ")
		case strings.HasPrefix(ln, "m=audio "):
			f := strings.Fields(ln)
			if len(f) < 4 {
				return info, fmt.Errorf("bad m= line %q", ln)
			}
			port, _ = strconv.Atoi(f[1])
			for _, s := range f[3:] {
				pt, _ := strconv.Atoi(s)
				info.PTs = append(info.PTs, pt)
			}
		case strings.HasPrefix(ln, "a=rtpmap:"):
			ptS, enc, _ := strings.Cut(strings.TrimPrefix(ln, "a=rtpmap:"), " ")
			pt, _ := strconv.Atoi(ptS)
			info.Rtpmap[pt] = enc
		case ln == "a=sendrecv" || ln == "a=sendonly" || ln == "a=recvonly" || ln == "a=inactive":
			info.Direction = strings.TrimPrefix(ln, "a=")
		}
	}
	if ip == "" || port == 0 {
		return info, fmt.Errorf("SDP without c= address or audio port:\n%s", body)
	}
	info.Addr = &net.UDPAddr{IP: net.ParseIP(ip), Port: port}
	return info, nil
}

// ---- the user agent ----

type sipUA struct {
	t      testing.TB
	conn   *net.UDPConn
	server *net.UDPAddr
	local  *net.UDPAddr
	From   string // caller number

	CallID  string
	fromTag string
	toTag   string
	cseq    int
	branch  string // of the INVITE

	msgs  chan *sipMsg
	trace *logBuffer // every message in and out, for failure reports

	byeMu       sync.Mutex
	byeReceived *sipMsg
	byeCh       chan *sipMsg
	byes        atomic.Int32 // BYEs received, retransmissions included
	requests    []*sipMsg    // in-dialog requests received (under byeMu)

	RTP *rtpStream

	// Extra holds header lines ("Name: value\r\n") added to the next INVITEs.
	Extra string
}

// newUA makes a caller towards a server's SIP port, with an RTP socket.
func newUA(t testing.TB, srv *server) *sipUA {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &sipUA{
		t:       t,
		conn:    conn,
		server:  &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.SIPPort},
		local:   conn.LocalAddr().(*net.UDPAddr),
		From:    "+15557000" + fmt.Sprint(time.Now().UnixNano()%1000),
		CallID:  "e2e-go-" + randHex(8) + "@127.0.0.1",
		fromTag: randHex(6),
		cseq:    1,
		msgs:    make(chan *sipMsg, 256),
		trace:   &logBuffer{},
		byeCh:   make(chan *sipMsg, 1),
	}
	u.RTP = newRTPStream(t)
	go u.readLoop()
	t.Cleanup(func() {
		u.conn.Close()
		u.RTP.Close()
		if t.Failed() {
			t.Logf("--- SIP messages of %s ---\n%s", u.CallID, u.trace.String())
		}
	})
	return u
}

func (u *sipUA) logMsg(dir string, b []byte) {
	first, _, _ := strings.Cut(string(b), "\r\n")
	fmt.Fprintf(u.trace, "%s %s %s\n", time.Now().Format("15:04:05.000"), dir, first)
}

func (u *sipUA) send(b []byte) {
	u.logMsg(">>", b)
	if _, err := u.conn.WriteToUDP(b, u.server); err != nil {
		u.t.Errorf("send SIP: %v", err)
	}
}

func (u *sipUA) readLoop() {
	buf := make([]byte, 65535)
	for {
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		u.logMsg("<<", buf[:n])
		m, err := parseSIP(append([]byte(nil), buf[:n]...))
		if err != nil {
			fmt.Fprintf(u.trace, "unparseable: %v\n", err)
			continue
		}
		if m.Request {
			u.answerRequest(m)
		}
		select {
		case u.msgs <- m:
		default:
		}
	}
}

// answerRequest answers what the server sends inside the dialog: 200 to a
// BYE (remembered) and to anything else.
func (u *sipUA) answerRequest(m *sipMsg) {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, v := range m.Headers("via") {
		b.WriteString("Via: " + v + "\r\n")
	}
	for _, h := range []string{"From", "To", "Call-ID", "CSeq"} {
		b.WriteString(h + ": " + m.Header(h) + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	u.send([]byte(b.String()))
	u.byeMu.Lock()
	u.requests = append(u.requests, m)
	u.byeMu.Unlock()
	if m.Method == "BYE" {
		u.byes.Add(1)
		u.byeMu.Lock()
		first := u.byeReceived == nil
		if first {
			u.byeReceived = m
		}
		u.byeMu.Unlock()
		if first {
			u.byeCh <- m
		}
	}
}

// Received returns the requests of method the far end sent in the dialog.
func (u *sipUA) Received(method string) []*sipMsg {
	u.byeMu.Lock()
	defer u.byeMu.Unlock()
	var out []*sipMsg
	for _, m := range u.requests {
		if m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

func (u *sipUA) via(branch string) string {
	return fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", u.local, branch)
}

func (u *sipUA) fromHdr() string {
	return fmt.Sprintf("From: <sip:%s@127.0.0.1>;tag=%s\r\n", u.From, u.fromTag)
}

func (u *sipUA) toHdr(did string) string {
	s := fmt.Sprintf("To: <sip:%s@127.0.0.1:%d>", did, u.server.Port)
	if u.toTag != "" {
		s += ";tag=" + u.toTag
	}
	return s + "\r\n"
}

// offer is our SDP: PCMU, plus telephone-event/8000 as PT 101 when dtmf.
func (u *sipUA) offer(dtmf bool, direction string) string {
	port := u.RTP.LocalPort()
	fmts := "0"
	if dtmf {
		fmts = "0 101"
	}
	s := fmt.Sprintf("v=0\r\no=e2e 1 %d IN IP4 127.0.0.1\r\ns=e2e\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP %s\r\na=rtpmap:0 PCMU/8000\r\n",
		u.cseq, port, fmts)
	if dtmf {
		s += "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
	}
	s += "a=ptime:20\r\na=" + direction + "\r\n"
	return s
}

// Invite sends an INVITE for did with body (SDP) and waits for the final
// response, retransmitting as RFC 3261 timer A says until a provisional
// arrives. A failure response is acknowledged; a 2xx is not (call Ack), so
// tests can also leave it unacknowledged.
func (u *sipUA) Invite(did, body string) *sipMsg {
	u.t.Helper()
	u.branch = "z9hG4bK" + randHex(8)
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	msg := fmt.Sprintf("INVITE sip:%s@127.0.0.1:%d SIP/2.0\r\n%s%s%sCall-ID: %s\r\nCSeq: %d INVITE\r\nContact: <sip:%s@%s>\r\nMax-Forwards: 70\r\n%s%sContent-Length: %d\r\n\r\n%s",
		did, u.server.Port, u.via(u.branch), u.fromHdr(), u.toHdr(did), u.CallID, u.cseq, u.From, u.local, u.Extra, ct, len(body), body)
	res := u.transact(msg)
	if res.Code < 300 {
		u.toTag = tagOf(res.Header("to"))
		if info, err := parseSDP(res.Body); err == nil {
			u.RTP.SetRemote(info.Addr)
		}
	} else {
		u.ackFailure(did, res)
	}
	return res
}

// transact sends an INVITE and returns its final response, resending it
// (timer A) until a provisional response or the final one arrives.
func (u *sipUA) transact(msg string) *sipMsg {
	u.t.Helper()
	cseq := fmt.Sprintf("%d INVITE", u.cseq)
	u.send([]byte(msg))
	retrans := 500 * time.Millisecond
	timer := time.NewTimer(retrans)
	defer timer.Stop()
	deadline := time.After(20 * time.Second)
	provisional := false
	for {
		select {
		case m := <-u.msgs:
			if m.Request || m.Method != "INVITE" || m.Header("call-id") != u.CallID || m.Header("cseq") != cseq {
				continue
			}
			if m.Code < 200 {
				provisional = true
				continue
			}
			return m
		case <-timer.C:
			if !provisional {
				u.send([]byte(msg))
				retrans = min(2*retrans, 4*time.Second)
			}
			timer.Reset(retrans)
		case <-deadline:
			u.t.Fatalf("no final response to INVITE (CSeq %s) of %s within 20s\n%s", cseq, u.CallID, u.trace.String())
			return nil
		}
	}
}

// Reinvite sends a new offer inside the dialog (hold, resume) and
// acknowledges the answer.
func (u *sipUA) Reinvite(did, body string) *sipMsg {
	u.t.Helper()
	u.cseq++
	branch := "z9hG4bK" + randHex(8)
	msg := fmt.Sprintf("INVITE sip:hotline@127.0.0.1:%d SIP/2.0\r\n%s%s%sCall-ID: %s\r\nCSeq: %d INVITE\r\nContact: <sip:%s@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		u.server.Port, u.via(branch), u.fromHdr(), u.toHdr(did), u.CallID, u.cseq, u.From, u.local, len(body), body)
	res := u.transact(msg)
	if res.Code < 300 {
		u.Ack(did)
	}
	return res
}

// ackFailure acknowledges a non-2xx final response (same branch).
func (u *sipUA) ackFailure(did string, res *sipMsg) {
	msg := fmt.Sprintf("ACK sip:%s@127.0.0.1:%d SIP/2.0\r\n%s%sTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		did, u.server.Port, u.via(u.branch), u.fromHdr(), res.Header("to"), u.CallID, u.cseq)
	u.send([]byte(msg))
}

// Ack acknowledges the 2xx of the INVITE (a new transaction).
func (u *sipUA) Ack(did string) {
	msg := fmt.Sprintf("ACK sip:hotline@127.0.0.1:%d SIP/2.0\r\n%s%s%sCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		u.server.Port, u.via("z9hG4bK"+randHex(8)), u.fromHdr(), u.toHdr(did), u.CallID, u.cseq)
	u.send([]byte(msg))
}

// Bye ends the call from our side and returns the response code.
func (u *sipUA) Bye(did string) int {
	u.t.Helper()
	u.cseq++
	branch := "z9hG4bK" + randHex(8)
	msg := fmt.Sprintf("BYE sip:hotline@127.0.0.1:%d SIP/2.0\r\n%s%s%sCall-ID: %s\r\nCSeq: %d BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		u.server.Port, u.via(branch), u.fromHdr(), u.toHdr(did), u.CallID, u.cseq)
	return u.request(msg, "BYE")
}

// request sends a non-INVITE request and waits for its final response.
func (u *sipUA) request(msg, method string) int {
	u.t.Helper()
	u.send([]byte(msg))
	retrans := 500 * time.Millisecond
	timer := time.NewTimer(retrans)
	defer timer.Stop()
	deadline := time.After(10 * time.Second)
	cseq := ""
	if m, err := parseSIP([]byte(msg)); err == nil {
		cseq = m.Header("cseq")
	}
	for {
		select {
		case m := <-u.msgs:
			if !m.Request && m.Method == method && m.Header("cseq") == cseq && m.Code >= 200 {
				return m.Code
			}
		case <-timer.C:
			u.send([]byte(msg))
			retrans = min(2*retrans, 4*time.Second)
			timer.Reset(retrans)
		case <-deadline:
			u.t.Fatalf("no final response to %s within 10s\n%s", method, u.trace.String())
			return 0
		}
	}
}

// Options sends an out-of-dialog OPTIONS and returns the response code.
func (u *sipUA) Options() int {
	u.t.Helper()
	branch := "z9hG4bK" + randHex(8)
	msg := fmt.Sprintf("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n%sFrom: <sip:probe@127.0.0.1>;tag=%s\r\nTo: <sip:127.0.0.1:%d>\r\nCall-ID: e2e-options-%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n",
		u.server.Port, u.via(branch), randHex(4), u.server.Port, randHex(8))
	return u.request(msg, "OPTIONS")
}

// WaitBye waits for the server to hang up.
func (u *sipUA) WaitBye(timeout time.Duration) (*sipMsg, bool) {
	select {
	case m := <-u.byeCh:
		u.byeCh <- m // keep it for later callers
		return m, true
	case <-time.After(timeout):
		return nil, false
	}
}

// ---- RTP ----

// rtpStream sends PCMU every 20 ms (silence unless audio or events are
// queued) and records what arrives, placed by RTP timestamp.
type rtpStream struct {
	t    testing.TB
	conn *net.UDPConn

	mu      sync.Mutex
	remote  *net.UDPAddr
	sending bool
	queue   []int16 // audio to send before silence resumes
	events  []rune  // RFC 4733 keys to send
	seq     uint16
	ts      uint32
	ssrc    uint32

	// received audio
	rxMu      sync.Mutex
	rxPackets int
	rxEvents  int
	rxFirstTS uint32
	rxStarted bool
	rxAudio   []int16
	rxFirstAt time.Time
	rxPT      map[int]int

	sent atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func newRTPStream(t testing.TB) *rtpStream {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var b [10]byte
	_, _ = rand.Read(b[:])
	r := &rtpStream{
		t: t, conn: conn,
		seq:  binary.BigEndian.Uint16(b[0:]),
		ts:   binary.BigEndian.Uint32(b[2:]),
		ssrc: binary.BigEndian.Uint32(b[6:]),
		rxPT: map[int]int{},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go r.recvLoop()
	go r.sendLoop()
	return r
}

func (r *rtpStream) LocalPort() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// Conn is the RTP socket, for sending odd datagrams from the caller's own
// address.
func (r *rtpStream) Conn() *net.UDPConn { return r.conn }

func (r *rtpStream) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	r.conn.Close()
}

func (r *rtpStream) SetRemote(a *net.UDPAddr) {
	r.mu.Lock()
	r.remote = a
	r.mu.Unlock()
}

func (r *rtpStream) Remote() *net.UDPAddr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remote
}

// Start the outgoing stream (silence, or the audio and events queued).
func (r *rtpStream) Start() { r.mu.Lock(); r.sending = true; r.mu.Unlock() }

// Play queues audio; it goes out in real time, then silence again.
func (r *rtpStream) Play(s []int16) {
	r.mu.Lock()
	r.queue = append(r.queue, s...)
	r.mu.Unlock()
}

// SendDigit queues an RFC 4733 key press (100 ms).
func (r *rtpStream) SendDigit(k rune) {
	r.mu.Lock()
	r.events = append(r.events, k)
	r.mu.Unlock()
}

func (r *rtpStream) Sent() int64 { return r.sent.Load() }

func eventCode(k rune) byte {
	switch {
	case k >= '0' && k <= '9':
		return byte(k - '0')
	case k == '*':
		return 10
	case k == '#':
		return 11
	}
	return 0
}

func (r *rtpStream) sendLoop() {
	defer close(r.done)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+160)
	var ev struct {
		active bool
		key    byte
		ts     uint32
		dur    uint16
		ends   int
	}
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		if !r.sending || r.remote == nil {
			r.ts += 160
			r.mu.Unlock()
			continue
		}
		pkt[0] = 0x80
		marker := false
		var n int
		if !ev.active && len(r.events) > 0 {
			ev.active, ev.key, ev.ts, ev.dur, ev.ends = true, eventCode(r.events[0]), r.ts, 0, 0
			r.events = r.events[1:]
			marker = true
		}
		if ev.active {
			end := false
			if ev.dur < 800 { // 100 ms
				ev.dur += 160
			}
			if ev.dur >= 800 {
				end = true
				ev.ends++
			}
			pkt[1] = 101
			binary.BigEndian.PutUint32(pkt[4:], ev.ts)
			pkt[12] = ev.key
			pkt[13] = 10
			if end {
				pkt[13] |= 0x80
			}
			binary.BigEndian.PutUint16(pkt[14:], ev.dur)
			n = 16
			if ev.ends >= 3 {
				ev.active = false
			}
		} else {
			pkt[1] = 0
			binary.BigEndian.PutUint32(pkt[4:], r.ts)
			for i := 0; i < 160; i++ {
				var s int16
				if len(r.queue) > 0 {
					s = r.queue[0]
					r.queue = r.queue[1:]
				}
				pkt[12+i] = ulawEncode(s)
			}
			n = 172
		}
		if marker {
			pkt[1] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[2:], r.seq)
		binary.BigEndian.PutUint32(pkt[8:], r.ssrc)
		r.seq++
		r.ts += 160
		dst := r.remote
		r.mu.Unlock()
		if _, err := r.conn.WriteToUDP(pkt[:n], dst); err == nil {
			r.sent.Add(1)
		}
	}
}

func (r *rtpStream) recvLoop() {
	buf := make([]byte, 2048)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p := buf[:n]
		if n < 12 || p[0]>>6 != 2 {
			continue
		}
		pt := int(p[1] & 0x7F)
		ts := binary.BigEndian.Uint32(p[4:])
		hlen := 12 + 4*int(p[0]&0x0F)
		if hlen > n {
			continue
		}
		payload := p[hlen:]
		r.rxMu.Lock()
		r.rxPT[pt]++
		switch pt {
		case 0, 8:
			r.rxPackets++
			if !r.rxStarted {
				r.rxStarted, r.rxFirstTS, r.rxFirstAt = true, ts, time.Now()
			}
			off := int(int32(ts - r.rxFirstTS))
			if off >= 0 && off < 10*60*sampleRate {
				if need := off + len(payload); need > len(r.rxAudio) {
					r.rxAudio = append(r.rxAudio, make([]int16, need-len(r.rxAudio))...)
				}
				for i, b := range payload {
					if pt == 0 {
						r.rxAudio[off+i] = ulawDecode(b)
					} else {
						r.rxAudio[off+i] = alawDecode(b)
					}
				}
			}
		default:
			r.rxEvents++
		}
		r.rxMu.Unlock()
	}
}

// Received is the audio received so far (silence where nothing came),
// from the first audio packet on, and when that packet arrived.
func (r *rtpStream) Received() ([]int16, time.Time) {
	r.rxMu.Lock()
	defer r.rxMu.Unlock()
	return append([]int16(nil), r.rxAudio...), r.rxFirstAt
}

func (r *rtpStream) ReceivedPackets() int {
	r.rxMu.Lock()
	defer r.rxMu.Unlock()
	return r.rxPackets
}
