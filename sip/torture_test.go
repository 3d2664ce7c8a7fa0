package sip

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"hotline/call"
	"hotline/media"
)

// The SIP torture tests of RFC 4475 and RFC 5118, sent to a real server as
// one UDP datagram each (and the framing cases over TCP), then the PROTOS
// c07-sip suite. The corpora live in shared/ beside the checkout (as CI
// lays it out); without them the tests skip, except in CI, where they fail.
var (
	corpusDir = sharedCorpus("rfc4475")
	protosTgz = sharedCorpus("protos-c07-sip.tgz")
)

// sharedCorpus finds a corpus in ../shared/corpora beside the repository,
// else in the workplace's shared folder.
func sharedCorpus(name string) string {
	beside := filepath.Join("..", "..", "shared", "corpora", name)
	if _, err := os.Stat(beside); err == nil {
		return beside
	}
	return filepath.Join("/work/shared/corpora", name)
}

// corpusMissing skips the test, or fails it in CI, where .ci/run's layout
// guarantees the corpora.
func corpusMissing(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not available in CI: %v", what, err)
	}
	t.Skipf("%s not available: %v", what, err)
}

// tortureAnswers is how Hotline, a UAS (endpoint, not a proxy, not a
// registrar), answers each torture message: the final status, 0 for none
// (responses, which a UAS never answers). INDEX.tsv's expectation for the
// file is read from the corpus; when our code is not the one it names, why
// says which of INDEX's endpoint rules or allowances we follow.
//
// Who answers: "filter" is the read filter (readFilter/scanMessage: sipgo
// cannot parse the message, or it breaks an RFC 3261 rule sipgo does not
// check); "app" is the server's handlers after sipgo parsed it (REGISTER,
// MESSAGE: 405; unknown methods: 501; OPTIONS: 200; BYE outside a dialog:
// 481; INVITE: the test router knows no torture number, so 404).
var tortureAnswers = []struct {
	file string
	code int
	by   string
	why  string
}{
	{"wsinv.dat", 481, "app", "parsed (folding, compact forms, LWS, made canonical for sipgo); its To has a tag, so it is a re-INVITE of a dialog we do not have (RFC 3261 12.2.2)"},
	{"intmeth.dat", 501, "app", ""},
	{"esc01.dat", 404, "app", "parsed; reaches routing, unknown number"},
	{"escnull.dat", 405, "app", "non-registrar: REGISTER is 405 with Allow"},
	{"esc02.dat", 501, "app", ""},
	{"lwsdisp.dat", 200, "app", "accepted: OPTIONS answered"},
	{"longreq.dat", 404, "app", "accepted; reaches routing, unknown number (answer is 3.6 kB: needs sipgo's UDP size limit raised)"},
	{"dblreq.dat", 405, "app", "the REGISTER (CL 0) is handled (405: non-registrar); the trailing INVITE is ignored"},
	{"semiuri.dat", 200, "app", "accepted: OPTIONS answered"},
	{"transports.dat", 200, "app", "accepted: OPTIONS answered"},
	{"mpart01.dat", 405, "app", "parsed, body framed by Content-Length; MESSAGE is not served: 405"},
	{"unreason.dat", 0, "", "a response: a UAS never answers one (no transaction matches)"},
	{"noreason.dat", 0, "", "a response: a UAS never answers one (no transaction matches)"},
	{"badinv01.dat", 400, "filter", ""},
	{"clerr.dat", 400, "filter", ""},
	{"ncl.dat", 400, "filter", ""},
	{"scalar02.dat", 400, "filter", ""},
	{"scalarlg.dat", 0, "filter", "response: silently discarded"},
	{"quotbal.dat", 400, "filter", ""},
	{"ltgtruri.dat", 400, "filter", ""},
	{"lwsruri.dat", 400, "filter", ""},
	{"lwsstart.dat", 400, "filter", "rejected (INDEX: reject acceptable)"},
	{"trws.dat", 400, "filter", "rejected (INDEX: reject acceptable)"},
	{"escruri.dat", 400, "filter", ""},
	{"baddate.dat", 404, "app", "liberal: the Date header is not used, so it is ignored; reaches routing, unknown number"},
	{"regbadct.dat", 405, "app", "non-registrar: method inspection (RFC 3261 8.2.1) refuses REGISTER before its Contact matters (INDEX: 400 reasonable)"},
	{"badaspec.dat", 400, "filter", ""},
	{"baddn.dat", 200, "app", "liberal, as INDEX allows: the unquoted display names are read as if quoted (sipgo parses them); no proxying, so nothing propagates"},
	{"badvers.dat", 505, "filter", ""},
	{"mismatch01.dat", 400, "filter", ""},
	{"mismatch02.dat", 501, "filter", ""},
	{"bigcode.dat", 0, "filter", "response: dropped"},
	{"badbranch.dat", 200, "app", "the RFC 2543 fallback: sipgo matches the transaction without a usable branch; OPTIONS answered"},
	{"insuf.dat", 400, "filter", ""},
	{"unkscm.dat", 416, "filter", ""},
	{"novelsc.dat", 416, "filter", ""},
	{"unksm2.dat", 405, "app", "non-registrar: REGISTER is 405 (the registrar's 400 for a non-SIP To does not apply)"},
	{"bext01.dat", 420, "filter", ""},
	{"invut.dat", 415, "filter", ""},
	{"regaut01.dat", 405, "app", ""},
	{"multi01.dat", 400, "filter", ""},
	{"mcl01.dat", 400, "filter", ""},
	{"bcast.dat", 0, "", "a response: the endpoint discards it (no transaction matches)"},
	{"zeromf.dat", 200, "app", "endpoint: processed normally (Max-Forwards 0 matters to proxies only)"},
	{"cparam01.dat", 405, "app", "non-registrar: REGISTER is 405"},
	{"cparam02.dat", 405, "app", "non-registrar: REGISTER is 405"},
	{"regescrt.dat", 405, "app", "non-registrar: REGISTER is 405"},
	{"sdp01.dat", 406, "filter", ""},
	{"inv2543.dat", 404, "app", "accepted (no branch, no From tag, body to the end of the datagram); reaches routing, unknown number"},
	{"rfc5118/ipv6-good.dat", 405, "app", "accepted; non-registrar: REGISTER is 405"},
	{"rfc5118/ipv6-bad.dat", 400, "filter", ""},
	{"rfc5118/port-ambiguous.dat", 405, "app", "parsed ([2001:db8::10:5070] is an address); non-registrar: REGISTER is 405"},
	{"rfc5118/port-unambiguous.dat", 405, "app", "accepted; non-registrar: REGISTER is 405"},
	{"rfc5118/via-received-param-with-delim.dat", 481, "app", "accepted; a BYE outside any dialog is 481"},
	{"rfc5118/via-received-param-no-delim.dat", 200, "app", "accepted: OPTIONS answered"},
	{"rfc5118/ipv6-in-sdp.dat", 404, "app", "accepted; reaches routing, unknown number"},
	{"rfc5118/mult-ip-in-header.dat", 481, "app", "accepted; a BYE outside any dialog is 481"},
	{"rfc5118/mult-ip-in-sdp.dat", 404, "app", "accepted; reaches routing, unknown number"},
	{"rfc5118/ipv4-mapped-ipv6.dat", 404, "app", "accepted; reaches routing, unknown number"},
	{"rfc5118/ipv6-correct-abnf-2-colons.dat", 200, "app", "accepted: OPTIONS answered"},
	{"rfc5118/ipv6-bug-abnf-3-colons.dat", 400, "filter", ""},
}

// --- fakes and a server ----------------------------------------------------

// testRouter takes calls to "service" (the PROTOS target) and knows no
// other number.
type testRouter struct{}

func (testRouter) Route(src netip.Addr, did string) (*Route, error) {
	if did == "service" {
		return &Route{TenantID: "test", Flow: "test", Run: func(c *call.Call) {}}, nil
	}
	return nil, call.CauseUnknownNumber
}

type testRecorder struct{ started, ended atomic.Int64 }

func (r *testRecorder) CallEvent(call.Event)            {}
func (r *testRecorder) CallStarted(call.Info)           { r.started.Add(1) }
func (r *testRecorder) CallAnswered(string, time.Time)  {}
func (r *testRecorder) CallEnded(c *call.Call, end End) { r.ended.Add(1) }
func (r *testRecorder) counts() (started, ended int64)  { return r.started.Load(), r.ended.Load() }
func (r *testRecorder) waitIdle(t *testing.T, d time.Duration) {
	waitFor(t, d, func() bool { s, e := r.counts(); return s == e })
}

// logSink counts every log record of the server and of sipgo (whose
// default logger is pointed here once), so a test can assert the log is
// not flooded.
type logSink struct {
	mu     sync.Mutex
	counts map[slog.Level]int
	last   []string
}

var (
	testLogs     = &logSink{counts: map[slog.Level]int{}}
	testLogsOnce sync.Once
)

func (h *logSink) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *logSink) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *logSink) WithGroup(string) slog.Handler                { return h }
func (h *logSink) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		b.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(a slog.Attr) bool {
			if s := a.Value.String(); len(s) < 200 {
				b.WriteString(" " + a.Key + "=" + s)
			}
			return true
		})
		if len(h.last) < 50 {
			h.last = append(h.last, b.String())
		}
	}
	return nil
}

// warnings is the number of records at Warn and above since reset.
func (h *logSink) warnings() (int, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for l, c := range h.counts {
		if l >= slog.LevelWarn {
			n += c
		}
	}
	return n, append([]string(nil), h.last...)
}

func (h *logSink) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts = map[slog.Level]int{}
	h.last = nil
}

type testServer struct {
	*Server
	port  int
	udp   string
	tcp   string
	rec   *testRecorder
	serve chan error
}

// startServer serves a Server on 127.0.0.1 (UDP and TCP, one random
// port); setup runs before Serve. The filter is in symmetric mode: answers
// go to the test socket whatever the message's Via says (the torture
// messages name port 5060, which may be some other server on this host).
func startServer(t *testing.T, setup ...func(*Server)) *testServer {
	t.Helper()
	testLogsOnce.Do(func() { sipmsg.SetDefaultLogger(slog.New(testLogs)) })
	eng, err := media.NewEngine(media.Config{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 0, PortMax: 0})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	rec := &testRecorder{}
	s, err := New(Config{Listen: "127.0.0.1:" + strconv.Itoa(port), Logger: slog.New(testLogs)}, testRouter{}, rec, eng)
	if err != nil {
		t.Fatal(err)
	}
	s.filter().symmetric = true
	for _, f := range setup {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(engDone) }()
	ts := &testServer{Server: s, port: port, rec: rec, serve: make(chan error, 1),
		udp: "127.0.0.1:" + strconv.Itoa(port), tcp: "127.0.0.1:" + strconv.Itoa(port)}
	go func() { ts.serve <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-ts.serve:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.serve:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
		<-engDone
	})
	return ts
}

// alive fails the test if Serve has returned.
func (ts *testServer) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-ts.serve:
		t.Fatalf("server stopped serving: %v", err)
	default:
	}
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", u.LocalAddr().String())
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// --- UDP exchanges -----------------------------------------------------------

// udpPeer is a test socket.
type udpPeer struct {
	c *net.UDPConn
	// callID, when set, makes final ignore answers to other requests (the
	// unACKed failures of earlier INVITEs are retransmitted to the same
	// addresses for a while).
	callID *string
}

func (p *udpPeer) only(req []byte) *udpPeer {
	id := string(readRawHeaders(req).callID)
	p.callID = &id
	return p
}

func newPeer(t *testing.T, port int) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("bind 127.0.0.1:%d: %v", port, err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{c: c}
}

func (p *udpPeer) send(t *testing.T, to string, data []byte) {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.c.WriteToUDP(data, ua); err != nil {
		t.Fatal(err)
	}
}

// final reads until a final response (skipping 1xx) or the timeout; it
// returns the response, or nil and every provisional status seen.
func (p *udpPeer) final(timeout time.Duration) (*sipmsg.Response, []int) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65535)
	var prov []int
	for {
		_ = p.c.SetReadDeadline(deadline)
		n, _, err := p.c.ReadFromUDP(buf)
		if err != nil {
			return nil, prov
		}
		msg, err := sipmsg.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			prov = append(prov, -1)
			continue
		}
		res, ok := msg.(*sipmsg.Response)
		if !ok {
			continue
		}
		if p.callID != nil {
			id := ""
			if res.CallID() != nil {
				id = res.CallID().Value()
			}
			if id != *p.callID {
				continue
			}
		}
		if res.StatusCode < 200 {
			prov = append(prov, res.StatusCode)
			continue
		}
		return res, prov
	}
}

// --- the torture tests --------------------------------------------------------

type indexRow struct{ class, expect string }

func readIndex(t *testing.T) map[string]indexRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "INDEX.tsv"))
	if err != nil {
		corpusMissing(t, "torture corpus", err)
	}
	defer f.Close()
	rows := map[string]indexRow{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 6 {
			t.Fatalf("INDEX.tsv: short row %q", line)
		}
		rows[cols[0]] = indexRow{class: cols[4], expect: cols[5]}
	}
	return rows
}

// TestTortureTable keeps the answer table honest: one row per INDEX.tsv
// row, and a reason wherever our code is not the one INDEX names.
func TestTortureTable(t *testing.T) {
	index := readIndex(t)
	seen := map[string]bool{}
	for _, c := range tortureAnswers {
		if seen[c.file] {
			t.Errorf("%s: twice in the table", c.file)
		}
		seen[c.file] = true
		row, ok := index[c.file]
		if !ok {
			t.Errorf("%s: not in INDEX.tsv", c.file)
			continue
		}
		named := c.code != 0 && strings.Contains(row.expect, strconv.Itoa(c.code))
		if !named && c.why == "" {
			t.Errorf("%s: we answer %d, INDEX says %q: document why", c.file, c.code, row.expect)
		}
	}
	for f := range index {
		if !seen[f] {
			t.Errorf("%s: in INDEX.tsv, not in the answer table", f)
		}
	}
}

func TestTortureUDP(t *testing.T) {
	index := readIndex(t)
	// Many torture messages share a branch and sent-by (z9hG4bKkdjuw...):
	// to a server that saw the first, the next of the same method is its
	// retransmission (RFC 3261 17.2.3) and gets the first one's answer. So
	// each message goes to a server that has not seen its transaction key.
	data := make([][]byte, len(tortureAnswers))
	serverOf := make([]int, len(tortureAnswers))
	var keys []map[string]bool
	for i, c := range tortureAnswers {
		b, err := os.ReadFile(filepath.Join(corpusDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		data[i] = b
		key := txKey(b)
		n := 0
		for key != "" && n < len(keys) && keys[n][key] {
			n++
		}
		if n == len(keys) {
			keys = append(keys, map[string]bool{})
		}
		keys[n][key] = true
		serverOf[i] = n
	}
	servers := make([]*testServer, len(keys))
	for i := range servers {
		servers[i] = startServer(t)
	}
	testLogs.reset()
	for i, c := range tortureAnswers {
		t.Run(strings.TrimSuffix(filepath.Base(c.file), ".dat"), func(t *testing.T) {
			p := newPeer(t, 0).only(data[i])
			p.send(t, servers[serverOf[i]].udp, data[i])
			wait := 2 * time.Second
			if c.code == 0 {
				wait = 300 * time.Millisecond
			}
			res, prov := p.final(wait)
			got := 0
			if res != nil {
				got = res.StatusCode
			}
			if got != c.code || c.code == 0 && len(prov) > 0 {
				t.Fatalf("answered %d (provisional %v), want %d; INDEX: %s", got, prov, c.code, index[c.file].expect)
			}
			if res != nil {
				checkAnswer(t, data[i], res)
			}
		})
	}
	for _, ts := range servers[1:] {
		ts.alive(t)
		if code := ts.options(t); code != 200 {
			t.Fatalf("OPTIONS after the torture: %d", code)
		}
	}
	ts := servers[0]
	ts.alive(t)
	// The ACK of inv2543's 404 (RFC 2543: no branch, no From tag) finds the
	// INVITE's transaction through the branch the filter makes for both:
	// the 404 is no longer retransmitted.
	t.Run("inv2543-ack", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(corpusDir, "inv2543.dat"))
		if err != nil {
			t.Fatal(err)
		}
		ts := startServer(t) // one that has not seen inv2543 yet
		p := newPeer(t, 0).only(data)
		p.send(t, ts.udp, data)
		res, _ := p.final(2 * time.Second)
		if res == nil || res.StatusCode != 404 {
			t.Fatalf("answer %v, want 404", res)
		}
		tag, _ := res.To().Params.Get("tag")
		ack := "ACK sip:UserB@example.com SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP iftgw.example.com\r\n" +
			"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n" +
			"To: sip:+16505552222@ss1.example.net;user=phone;tag=" + tag + "\r\n" +
			"Call-ID: inv2543.1717@ift.client.example.com\r\n" +
			"CSeq: 56 ACK\r\n" +
			"Content-Length: 0\r\n\r\n"
		p.send(t, ts.udp, []byte(ack))
		time.Sleep(200 * time.Millisecond)
		for res != nil { // those already sent
			res, _ = p.final(50 * time.Millisecond)
		}
		if res, _ := p.final(2500 * time.Millisecond); res != nil {
			t.Fatalf("%d retransmitted after the ACK: the ACK missed the transaction", res.StatusCode)
		}
	})
	t.Run("options-after", func(t *testing.T) {
		if code := ts.options(t); code != 200 {
			t.Fatalf("OPTIONS after the torture: %d", code)
		}
	})
	if n, last := testLogs.warnings(); n > 2*len(servers) {
		t.Errorf("%d warnings logged for %d messages: %q", n, len(tortureAnswers), last)
	}
	t.Logf("%d servers; filter on the first: %+v", len(servers), ts.FilterStats())
}

// txKey is what sipgo keys a server transaction by (branch, sent-by,
// method), "" when it cannot tell.
func txKey(data []byte) string {
	msg, err := sipmsg.ParseMessage(append([]byte(nil), data...))
	if err != nil {
		return ""
	}
	req, ok := msg.(*sipmsg.Request)
	if !ok || req.Via() == nil || req.CSeq() == nil {
		return ""
	}
	v := req.Via()
	branch, _ := v.Params.Get("branch")
	return fmt.Sprintf("%s|%s|%d|%s", branch, v.Host, v.Port, req.CSeq().MethodName)
}

// checkAnswer checks what every answer must carry (RFC 3261 8.2.6): the
// request's Call-ID and CSeq, a To tag, the top Via's branch.
func checkAnswer(t *testing.T, reqData []byte, res *sipmsg.Response) {
	t.Helper()
	h := readRawHeaders(reqData)
	if res.CallID() == nil && h.callID != nil {
		t.Errorf("answer without Call-ID")
	}
	if _, _, ok := cseqParse(h.cseq); ok && res.CSeq() == nil {
		t.Errorf("answer without CSeq")
	}
	if to := res.To(); to != nil && !to.Params.Has("tag") {
		t.Errorf("answer %d without To tag", res.StatusCode)
	}
	if res.Via() == nil {
		t.Errorf("answer without Via")
	}
	switch res.StatusCode {
	case 420:
		u := res.GetHeader("Unsupported")
		if u == nil || !strings.Contains(u.Value(), "nothingSupportsThis") || !strings.Contains(u.Value(), "nothingSupportsThisEither") {
			t.Errorf("420 Unsupported: %v", u)
		}
		if strings.Contains(u.Value(), "noProxiesSupportThis") {
			t.Errorf("420 lists Proxy-Require tags: %v", u)
		}
	case 415:
		if a := res.GetHeader("Accept"); a == nil || a.Value() != "application/sdp" {
			t.Errorf("415 Accept: %v", a)
		}
	case 405, 501:
		if res.GetHeader("Allow") == nil {
			t.Errorf("%d without Allow", res.StatusCode)
		}
	}
}

// options sends a well-formed OPTIONS and returns the final status.
func (ts *testServer) options(t *testing.T) int {
	t.Helper()
	p := newPeer(t, 0)
	res := p.transaction(t, ts.udp, []byte(testRequest("OPTIONS", "hotline", p.c.LocalAddr().String(), "")), 16*time.Second)
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// transaction sends a request as a UAC does over UDP (RFC 3261 17.1.2.2:
// retransmitted at T1, doubling to T2, until answered or timeout) and
// returns the final response.
func (p *udpPeer) transaction(t *testing.T, to string, req []byte, timeout time.Duration) *sipmsg.Response {
	t.Helper()
	p.only(req)
	deadline := time.Now().Add(timeout)
	for wait := sipmsg.T1; time.Now().Before(deadline); wait = min(2*wait, sipmsg.T2) {
		p.send(t, to, req)
		res, prov := p.final(min(wait, time.Until(deadline)))
		if res != nil {
			return res
		}
		if len(prov) > 0 {
			// Provisional: the server has it; wait for the final answer.
			res, _ := p.final(time.Until(deadline))
			return res
		}
	}
	return nil
}

// testRequest is a well-formed request with rport, so answers come back to
// the sending socket.
func testRequest(method, user, from, body string) string {
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@127.0.0.1 SIP/2.0\r\n", method, user)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", from, id)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:tester@%s>;tag=%s\r\n", from, id)
	fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>\r\n", user)
	fmt.Fprintf(&b, "Call-ID: %s@test\r\n", id)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	fmt.Fprintf(&b, "Contact: <sip:tester@%s>\r\n", from)
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9876 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

// --- streams --------------------------------------------------------------

type tcpPeer struct {
	c  net.Conn
	br *bufio.Reader
}

func dialTCP(t *testing.T, addr string) *tcpPeer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tcpPeer{c: c, br: bufio.NewReader(c)}
}

// read reads one response from the stream (io.EOF when the server closed
// it, a timeout error when nothing came).
func (p *tcpPeer) read(timeout time.Duration) (*sipmsg.Response, error) {
	_ = p.c.SetReadDeadline(time.Now().Add(timeout))
	var head bytes.Buffer
	for {
		line, err := p.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" && head.Len() == 0 {
			continue // a keep-alive pong (RFC 5626 4.4.1) between messages
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	msg, err := sipmsg.ParseMessage(head.Bytes())
	if err != nil {
		return nil, fmt.Errorf("unparseable answer: %w: %q", err, head.String())
	}
	res, ok := msg.(*sipmsg.Response)
	if !ok {
		return nil, fmt.Errorf("not a response: %q", head.String())
	}
	if res.ContentLength() != nil && *res.ContentLength() > 0 {
		body := make([]byte, int(*res.ContentLength()))
		if _, err := io.ReadFull(p.br, body); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// finalTCP skips provisional responses.
func (p *tcpPeer) final(timeout time.Duration) (*sipmsg.Response, error) {
	for {
		res, err := p.read(timeout)
		if err != nil || res.StatusCode >= 200 {
			return res, err
		}
	}
}

// closed: the server closed the connection (a reset when it had unread
// data).
func closed(err error) bool { return err == io.EOF || errors.Is(err, syscall.ECONNRESET) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestTortureTCP: the cases INDEX frames differently on a stream.
func TestTortureTCP(t *testing.T) {
	readIndex(t)
	const stall = 800 * time.Millisecond
	ts := startServer(t, func(s *Server) { s.filter().streamStall = stall })
	testLogs.reset()
	load := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// ncl (negative Content-Length) and mcl01 (two of them): 400, and the
	// connection is closed since the message boundary is unknown.
	for _, name := range []string{"ncl.dat", "mcl01.dat"} {
		t.Run(strings.TrimSuffix(name, ".dat"), func(t *testing.T) {
			p := dialTCP(t, ts.tcp)
			if _, err := p.c.Write(load(name)); err != nil {
				t.Fatal(err)
			}
			res, err := p.final(2 * time.Second)
			if err != nil || res.StatusCode != 400 {
				t.Fatalf("answer %v, %v; want 400", res, err)
			}
			if _, err := p.read(2 * time.Second); !closed(err) {
				t.Fatalf("connection not closed after %s: %v", name, err)
			}
		})
	}

	// clerr: Content-Length 9999 on a stream is not an error yet: the
	// server waits for the rest, then closes the stalled connection.
	t.Run("clerr", func(t *testing.T) {
		p := dialTCP(t, ts.tcp)
		if _, err := p.c.Write(load("clerr.dat")); err != nil {
			t.Fatal(err)
		}
		if res, err := p.read(300 * time.Millisecond); !isTimeout(err) {
			t.Fatalf("answered %v, %v; want a wait for the body", res, err)
		}
		start := time.Now()
		if _, err := p.read(10 * stall); !closed(err) {
			t.Fatalf("stalled connection not closed: %v", err)
		}
		t.Logf("closed %v after the wait", time.Since(start).Round(10*time.Millisecond)+300*time.Millisecond)
	})

	// A refused message with a usable Content-Length is skipped and the
	// stream goes on: mismatch01 (400), a keep-alive ping, then an OPTIONS
	// (200) on the same connection, the OPTIONS cut in small pieces.
	t.Run("resync", func(t *testing.T) {
		p := dialTCP(t, ts.tcp)
		local := p.c.LocalAddr().String()
		opts := []byte(strings.Replace(testRequest("OPTIONS", "hotline", local, ""), "SIP/2.0/UDP", "SIP/2.0/TCP", 1))
		if _, err := p.c.Write(append(load("mismatch01.dat"), "\r\n\r\n"...)); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(opts); i += 7 {
			if _, err := p.c.Write(opts[i:min(i+7, len(opts))]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		for _, want := range []int{400, 200} {
			res, err := p.final(2 * time.Second)
			if err != nil || res.StatusCode != want {
				t.Fatalf("answer %v, %v; want %d", res, err, want)
			}
		}
	})
	ts.alive(t)
	if code := ts.options(t); code != 200 {
		t.Fatalf("OPTIONS after the stream cases: %d", code)
	}
}

// --- PROTOS ------------------------------------------------------------------

// extractProtos unpacks the suite's cases, in order.
func extractProtos(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(protosTgz)
	if err != nil {
		corpusMissing(t, "PROTOS suite", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".sip") {
			continue
		}
		p := filepath.Join(dir, filepath.Base(h.Name))
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, p)
	}
	sort.Strings(names)
	cases := make([][]byte, len(names))
	for i, n := range names {
		if cases[i], err = os.ReadFile(n); err != nil {
			t.Fatal(err)
		}
	}
	return cases
}

// TestProtos replays the 4527 PROTOS c07-sip INVITEs as UDP datagrams
// (the answers and the BYEs of the calls they set up come back to the test
// socket: symmetric mode), then checks that the server still answers. "service", their target, is routed: the valid ones become calls
// that are answered and hung up at once, so their SDP is parsed too.
func TestProtos(t *testing.T) {
	cases := extractProtos(t)
	if len(cases) != 4527 {
		t.Fatalf("%d PROTOS cases, want 4527", len(cases))
	}
	ts := startServer(t)
	p := newPeer(t, 0)
	_ = p.c.SetReadBuffer(8 << 20)
	testLogs.reset()

	// The peer's side: count answers, answer the BYEs of answered calls.
	var finals, provisionals, byes atomic.Int64
	codes := make(map[int]int)
	var codesMu sync.Mutex
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 65535)
		for {
			n, from, err := p.c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			msg := buf[:n]
			if bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
				code, _ := strconv.Atoi(string(msg[8:min(11, n)]))
				if code < 200 {
					provisionals.Add(1)
				} else {
					finals.Add(1)
				}
				codesMu.Lock()
				codes[code]++
				codesMu.Unlock()
				continue
			}
			if bytes.HasPrefix(msg, []byte("BYE ")) {
				byes.Add(1)
				h := readRawHeaders(msg)
				_, _ = p.c.WriteToUDP(buildAnswer(nil, &h, 200, "OK", netip.AddrPort{}, ""), from)
			}
		}
	}()

	// Paced at about 2000 datagrams a second, the rate the server must
	// take; the kernel drops what the socket buffer cannot hold, as it
	// would for any sender.
	start := time.Now()
	const batch = 32
	for i, c := range cases {
		p.send(t, ts.udp, c)
		if i%batch == batch-1 {
			time.Sleep(16 * time.Millisecond)
			ts.alive(t)
		}
	}
	sent := time.Since(start)
	ts.alive(t)

	// Still answering: OPTIONS, and an INVITE to an unknown number.
	if code := ts.options(t); code != 200 {
		t.Fatalf("OPTIONS after PROTOS: %d", code)
	}
	q := newPeer(t, 0)
	inv := []byte(testRequest("INVITE", "+15550999", q.c.LocalAddr().String(), testSDP))
	if res := q.transaction(t, ts.udp, inv, 16*time.Second); res == nil || res.StatusCode != 404 {
		t.Fatalf("INVITE after PROTOS: %v, want 404", res)
	}
	// And a call to the routed number still goes through.
	inv = []byte(testRequest("INVITE", "service", q.c.LocalAddr().String(), testSDP))
	if res := q.transaction(t, ts.udp, inv, 16*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("INVITE to service after PROTOS: %v, want 200", res)
	}
	ts.rec.waitIdle(t, 20*time.Second)
	ts.alive(t)

	st := ts.FilterStats()
	warnings, last := testLogs.warnings()
	codesMu.Lock()
	t.Logf("PROTOS: %d cases sent in %v; answers (with retransmissions): %d final, %d provisional, codes %v; %d calls set up and hung up (%d BYEs); filter %+v; %d warnings logged %q",
		len(cases), sent.Round(time.Millisecond), finals.Load(), provisionals.Load(), codes, ts.rec.started.Load(), byes.Load(), st, warnings, last)
	codesMu.Unlock()
	if warnings > 10 {
		t.Errorf("log flooded: %d warnings for %d cases", warnings, len(cases))
	}
	if time.Since(start) > 60*time.Second {
		t.Errorf("PROTOS replay took %v", time.Since(start))
	}
}

// TestGarbage: random bytes, binary, empty and huge datagrams, partial
// messages, junk on streams: no answer to what cannot be answered, no flood
// in the log, and the server keeps answering.
func TestGarbage(t *testing.T) {
	ts := startServer(t)
	testLogs.reset()
	p := newPeer(t, 0)
	rnd := uint64(1)
	next := func() byte { rnd = rnd*6364136223846793005 + 1442695040888963407; return byte(rnd >> 56) }
	valid := []byte(testRequest("OPTIONS", "hotline", p.c.LocalAddr().String(), ""))
	var sent int
	send := func(b []byte) { p.send(t, ts.udp, b); sent++ }
	for i := range 300 {
		b := make([]byte, 1+i*7)
		for j := range b {
			b[j] = next()
		}
		send(b)
	}
	send(nil) // an empty datagram
	send([]byte{0})
	send([]byte("\r\n\r\n\r\n\r\n\r\n"))
	send(bytes.Repeat([]byte{0xff}, 1400))
	send(bytes.Repeat([]byte("A"), 65000))
	huge := append([]byte(strings.Replace(string(valid), "Content-Length: 0", "Content-Length: 64000", 1)), bytes.Repeat([]byte("x"), 64000)...)
	send(huge[:min(len(huge), 65507)])
	for i := 1; i < len(valid); i += 13 {
		send(valid[:i]) // partial messages
	}
	// A partial message with a Via is answered (400); keep the reads short.
	deadline := time.Now().Add(time.Second)
	answered := 0
	for {
		res, _ := p.final(time.Until(deadline))
		if res == nil {
			break
		}
		if res.StatusCode != 400 && res.StatusCode != 513 {
			t.Errorf("garbage answered %d", res.StatusCode)
		}
		answered++
	}
	// On streams: a line that never ends, and binary with a blank line in
	// it. Both lose the framing: the connection is closed.
	for _, junk := range [][]byte{
		bytes.Repeat([]byte("A"), 70000),
		append(bytes.Repeat([]byte{0xfe, 0x01, '\r', 0x80}, 500), "\r\n\r\n"...),
	} {
		c := dialTCP(t, ts.tcp)
		if _, err := c.c.Write(junk); err != nil {
			t.Fatal(err)
		}
		if res, err := c.read(2 * time.Second); !closed(err) {
			t.Errorf("stream of garbage: %v, %v; want the connection closed", res, err)
		}
	}
	ts.alive(t)
	if code := ts.options(t); code != 200 {
		t.Fatalf("OPTIONS after garbage: %d", code)
	}
	if n, last := testLogs.warnings(); n > 3 {
		t.Errorf("log flooded: %d warnings for %d datagrams: %q", n, sent, last)
	}
	t.Logf("%d datagrams of garbage, %d answered; filter %+v", sent, answered, ts.FilterStats())
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
